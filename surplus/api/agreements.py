"""Transport agreements through the JSON API (read only for now)."""

from __future__ import annotations

from flask import g

from .. import access
from ..extensions import db
from ..schemas.answers import AgreementSchema, ErrorSchema
from ..services import agreements as service
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint(
    "api_agreements",
    __name__,
    url_prefix="/api/v1",
    description="Transport agreements between platforms",
)


@blp.get("/agreements")
@blp.response(200, AgreementSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@token_required
def agreement_list():
    """Your platform's transport agreements, as carrier or client, newest first
    (coordinators only)."""
    platform = access.coordinated_platform(g.api_user, str(service.ONLY_COORDINATORS))
    return service.of_platform(db.session, platform)
