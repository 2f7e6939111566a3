"""Reports through the API: the summary of a period, scoped to the caller."""

from __future__ import annotations

from flask import current_app, g

from .. import access
from ..extensions import db
from ..schemas.answers import ErrorSchema
from ..schemas.report import PeriodQuerySchema, period_of
from ..schemas.summary import ReportSummarySchema
from ..services.reports.summary import summary
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_reports", __name__, url_prefix="/api/v1", description="Reports")


@blp.get("/reports/summary")
@blp.arguments(PeriodQuerySchema, location="query")
@blp.response(200, ReportSummarySchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@token_required
def report_summary(values: dict):
    """Kilograms posted, claimed, delivered, expired and withdrawn, match rate, median
    times, need met, CO2e and breakdowns of the lots posted from ``from`` to ``to``
    (both included; the twelve months to today by default). Scoped to the caller (site
    admin: everything; coordinator: its platform; donor: its lots; beneficiary: its
    claims); 403 for an organisation not yet verified or a platform member who does not
    coordinate it; 400 for a bad date."""
    scope = access.report_scope(g.api_user)
    kg_per_person = current_app.config["MATCH_KG_PER_PERSON"]
    return summary(db.session, scope, period_of(values), kg_per_person)
