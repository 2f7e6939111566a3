"""A lot's traceability through the API: one step back, one step forward."""

from __future__ import annotations

from flask import g

from .. import access
from ..extensions import db
from ..models import Lot
from ..schemas.answers import ErrorSchema
from ..schemas.trace import TraceSchema
from ..services import trace as trace_service
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_trace", __name__, url_prefix="/api/v1", description="Traceability")


@blp.get("/lots/<int:lot_id>/trace")
@blp.response(200, TraceSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def lot_trace(lot_id: int):
    """The lot's donor and product, each receiving organisation with its kilograms and
    hand-overs (time, temperature, receiver, carrier), then the lot's events in order.
    The donor, the platforms involved and site admins read all of it; a receiving
    organisation reads its own part (``whole`` false); 404 for anyone else."""
    lot = db.session.get(Lot, lot_id)
    part = access.trace_part(g.api_user, lot)
    return trace_service.lot_trace(db.session, lot, only_org=part)
