"""POST /api/v1/token: exchange e-mail and password for a bearer token."""

from __future__ import annotations

from flask import current_app

from ..errors import DomainError
from ..extensions import db
from ..schemas.account import TokenRequestSchema
from ..schemas.answers import ErrorSchema, TokenSchema
from ..services import accounts, api_tokens
from .auth import Unauthorised
from .blueprint import Blueprint

blp = Blueprint(
    "api_tokens", __name__, url_prefix="/api/v1", description="Authentication", public=True
)


@blp.post("/token")
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
def token_create(body: dict):
    """Return a bearer token for valid credentials; 401 otherwise (throttled)."""
    try:
        user = accounts.authenticate(
            db.session,
            body["email"],
            body["password"],
        )
    except DomainError as error:
        db.session.commit()
        raise Unauthorised(error.message) from error
    lifetime = current_app.config["API_TOKEN_MAX_AGE"]
    token, secret = api_tokens.issue(db.session, user, body.get("name") or "API", lifetime)
    db.session.commit()
    return {
        "id": token.id,
        "name": token.name,
        "token": secret,
        "token_type": "Bearer",
        "expires_in": current_app.config["API_TOKEN_MAX_AGE"],
    }
