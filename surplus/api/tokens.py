"""Authentication: POST /api/v1/token exchanges e-mail and password for a bearer token;
the caller lists and revokes its tokens."""

from __future__ import annotations

from flask import current_app, g

from ..errors import DomainError
from ..extensions import db
from ..schemas.account import TokenRequestSchema
from ..schemas.answers import ApiTokenSchema, ErrorSchema, ThrottledSchema, TokenSchema
from ..services import accounts, api_tokens, mfa
from .auth import Unauthorised, token_required
from .blueprint import Blueprint

blp = Blueprint(
    "api_tokens", __name__, url_prefix="/api/v1", description="Authentication", public=True
)


@blp.post("/token")
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(429, schema=ThrottledSchema)
def token_create(body: dict):
    """Return a bearer token for valid credentials; 401 otherwise (throttled). With
    two-step verification on, ``otp`` is required too (401, code ``mfa_code_required``);
    a role that requires it without it set up gets 403, code ``mfa_required``."""
    try:
        user = accounts.authenticate(
            db.session,
            body["email"],
            body["password"],
        )
    except DomainError as error:
        db.session.commit()
        raise Unauthorised(error.message) from error
    try:  # the second factor: 403 mfa_required, 401 mfa_code_required
        mfa.check_for_token(db.session, user, body.get("otp"))
    except DomainError:
        db.session.commit()  # the failure is logged
        raise
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


@blp.get("/tokens")
@blp.response(200, ApiTokenSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def token_list():
    """The caller's live tokens, newest first: name and dates, never the secret."""
    return api_tokens.live(db.session, g.api_user)


@blp.delete("/tokens/<int:token_id>")
@blp.response(204)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def token_delete(token_id: int):
    """Revoke one of the caller's tokens (it may be the one in use); 404 for any id that
    is not a live token of the caller."""
    api_tokens.revoke(db.session, g.api_user, token_id)
    db.session.commit()
