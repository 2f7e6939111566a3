"""Transport agreements through the JSON API (read only for now)."""

from __future__ import annotations

import marshmallow as ma
from flask import g
from flask_babel import gettext as _
from flask_smorest import Blueprint

from ..errors import Forbidden
from ..extensions import db
from ..services import agreements as service
from .auth import token_required
from .schemas import ErrorSchema

blp = Blueprint("api_agreements", __name__, url_prefix="/api/v1",
                description="Transport agreements between platforms")


class AgreementSchema(ma.Schema):
    id = ma.fields.Integer()
    carrier_id = ma.fields.Integer()
    carrier = ma.fields.Function(lambda a: a.carrier.name)
    client_id = ma.fields.Integer()
    client = ma.fields.Function(lambda a: a.client.name)
    status = ma.fields.Function(lambda a: a.status.value, metadata={
        "enum": ["requested", "active", "refused", "ended"]})
    valid_from = ma.fields.Date()
    valid_until = ma.fields.Date(allow_none=True)
    note = ma.fields.String()
    decision_reason = ma.fields.String()
    requested_by_org_id = ma.fields.Integer()
    deciding_org_id = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)


@blp.get("/agreements")
@blp.response(200, AgreementSchema(many=True))
@blp.alt_response(403, schema=ErrorSchema)
@token_required
def agreement_list():
    """Your platform's transport agreements, as carrier or client, newest first
    (coordinators only)."""
    if not g.api_user.is_coordinator:
        raise Forbidden(_("Only a platform coordinator manages transport agreements."))
    return service.of_platform(db.session, g.api_user.organisation)
