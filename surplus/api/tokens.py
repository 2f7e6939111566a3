"""POST /api/v1/token: exchange e-mail and password for a bearer token."""

from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint

from ..errors import DomainError, Invalid
from ..extensions import db
from ..services import accounts
from .auth import Unauthorised, issue_token
from .schemas import ErrorSchema, TokenRequestSchema, TokenSchema

blp = Blueprint("api_tokens", __name__, url_prefix="/api/v1", description="Authentication")


@blp.post("/token")
@blp.doc(requestBody={"content": {"application/json": {"schema": TokenRequestSchema}}})
@blp.response(200, TokenSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
def token_create():
    """Return a bearer token for valid credentials; 401 otherwise (with lockout)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("email"), str) \
            or not isinstance(body.get("password"), str):
        from flask_babel import gettext as _

        raise Invalid(_("Send a JSON object with email and password."),
                      {"email": _("Required."), "password": _("Required.")})
    try:
        user = accounts.authenticate(
            db.session, body["email"], body["password"],
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lockout_minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    except DomainError as error:
        db.session.commit()
        raise Unauthorised(error.message) from error
    db.session.commit()
    return {"token": issue_token(user), "token_type": "Bearer",
            "expires_in": current_app.config["API_TOKEN_MAX_AGE"]}
