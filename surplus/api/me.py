"""GET /api/v1/me: the token's user and organisation."""

from __future__ import annotations

from flask import g

from ..schemas.answers import ErrorSchema, MeSchema
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
