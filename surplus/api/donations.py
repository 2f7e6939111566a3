"""Donation documents through the API: a donor's *documents de don* of a month."""

from __future__ import annotations

from flask import g

from .. import access
from ..extensions import db
from ..schemas.answers import ErrorSchema
from ..schemas.donation import DonationSchema
from ..schemas.report import MonthQuerySchema, month_of
from ..services.reports import donations as donation_service
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_donations", __name__, url_prefix="/api/v1", description="Donation documents")


@blp.get("/donations")
@blp.arguments(MonthQuerySchema, location="query")
@blp.response(200, DonationSchema(many=True))
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@token_required
def donation_documents(query: dict):
    """The caller's organisation's donation documents of ``month`` (YYYY-MM, Brussels;
    the current month when missing), in number order: each donation given for free
    distribution whose food left the donor that month, with its products. A donation
    through a social grocery or another channel has no document and is not listed.
    403 for a beneficiary organisation."""
    donor = access.donor_of_documents(g.api_user)
    found = donation_service.donations(db.session, donor.id, month_of(query))
    return [d for d in found if d.eligible]
