"""POST /api/v1/password/forgot: a reset link by mail (the page: views/password.py)."""

from __future__ import annotations

from flask import current_app

from ..extensions import db
from ..schemas.account import PasswordForgotSchema
from ..schemas.answers import ErrorSchema, MessageSchema, ThrottledSchema
from ..services import passwords
from .blueprint import Blueprint

blp = Blueprint(
    "api_password", __name__, url_prefix="/api/v1", description="Password reset", public=True
)


@blp.post("/password/forgot")
@blp.arguments(PasswordForgotSchema)
@blp.response(202, MessageSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(429, schema=ThrottledSchema)
def password_forgot(body: dict):
    """Ask for a password reset link by mail. The answer is the same whether an account
    uses the address or not; the link (valid PASSWORD_RESET_MINUTES, once) goes only to
    an account's address."""
    found = passwords.request_reset(db.session, body["email"])
    db.session.commit()
    if found is not None:
        passwords.mail_reset(*found)
    return {"message": passwords.sent_message(current_app.config["PASSWORD_RESET_MINUTES"])}
