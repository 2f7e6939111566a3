"""The token's user: who it is, sign-out-everywhere, and a password change."""

from __future__ import annotations

from flask import g

from ..extensions import db
from ..schemas.account import PasswordChangeSchema
from ..schemas.answers import ErrorSchema, MeSchema
from ..services import accounts, passwords
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_me", __name__, url_prefix="/api/v1", description="Current user")


@blp.get("/me")
@blp.response(200, MeSchema)
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def me_show():
    """The authenticated user and its organisation."""
    return {"user": g.api_user, "organisation": g.api_user.organisation}


@blp.post("/me/sign-out-everywhere")
@blp.response(204)
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def me_sign_out_everywhere():
    """Revoke every API token of the user (this one too) and end every web session."""
    accounts.sign_out_everywhere(db.session, g.api_user)
    db.session.commit()


@blp.post("/me/password")
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def me_password(body: dict):
    """Change the password (the current one asked; 400 with the field at fault). Every
    API token (this one too) and every web session ends; the user is told by mail."""
    passwords.change_password(
        db.session, g.api_user, body["current_password"], body["new_password"]
    )
    db.session.commit()
    passwords.mail_changed(g.api_user)
