"""Traceability pages: a lot's sheet (A4 page, PDF, CSV) and the inspection search."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access
from ..errors import Invalid
from ..extensions import db
from ..models import Claim, Lot, Organisation
from ..schemas.base import form_values, load
from ..schemas.trace import TraceSearchSchema
from ..services import pdf
from ..services import trace as trace_service
from ..services.exports import csv_response
from ..services.lot_dates import local_today

bp = Blueprint("trace", __name__)

SHEET_COLUMNS = [
    "lot_id",
    "title",
    "lot_number",
    "date_kind",
    "date",
    "storage",
    "allergens",
    "posted_at",
    "donor",
    "donor_enterprise_number",
    "donor_afsca_number",
    "recipient",
    "recipient_enterprise_number",
    "recipient_afsca_number",
    "platform",
    "claim_id",
    "kg_claimed",
    "kg_picked_up",
    "kg_delivered",
    "status",
    "handover",
    "at_hub",
    "at",
    "temperature_c",
    "receiver",
    "accepted",
    "carrier",
    "vehicle",
]
SEARCH_COLUMNS = [
    "moved_at",
    "lot_id",
    "title",
    "lot_number",
    "date",
    "storage",
    "donor",
    "donor_enterprise_number",
    "donor_afsca_number",
    "recipient",
    "recipient_enterprise_number",
    "recipient_afsca_number",
    "platform",
    "carriers",
    "kg_claimed",
    "status",
]


@bp.app_template_global("may_trace")
def may_trace(lot: Lot) -> bool:
    """Pages ask access.py: may the signed-in user read this lot's traceability sheet?"""
    return access.may_trace(current_user, lot)


def _trace(lot_id: int) -> trace_service.Trace:
    lot = db.session.get(Lot, lot_id)
    return trace_service.lot_trace(db.session, lot, access.trace_part(current_user, lot))


@bp.get("/lots/<int:lot_id>/trace")
@login_required
def trace_show(lot_id: int):
    """The lot's traceability sheet, printable on A4; 404 unless the user may read it
    (access.trace_part: a receiving organisation sees its own part)."""
    return render_template("trace/sheet.html", trace=_trace(lot_id), printed=local_today())


@bp.get("/lots/<int:lot_id>/trace.pdf")
@login_required
def trace_pdf(lot_id: int):
    """The same sheet as a PDF (WeasyPrint); 404 as for the page."""
    html = render_template("trace/pdf.html", trace=_trace(lot_id), printed=local_today())
    return pdf.response(html, "trace.css", f"lot-{lot_id}-trace.pdf")


@bp.get("/lots/<int:lot_id>/trace.csv")
@login_required
def trace_csv(lot_id: int):
    """The sheet as CSV: one row per hand-over (a claim without one has a row too)."""
    trace = _trace(lot_id)
    lot, donor = trace.lot, trace.donor
    head = [
        lot.id,
        lot.title,
        lot.lot_number,
        lot.date_kind.value if lot.date_kind else "",
        lot.best_date,
        lot.storage.value,
        " ".join(lot.allergens or []),
        lot.created_at,
        donor.name,
        donor.enterprise_number,
        donor.afsca_number,
    ]
    rows = []
    for r in trace.recipients:
        org = r.organisation
        part = [
            org.name,
            org.enterprise_number,
            org.afsca_number,
            r.claim.platform.name,
            r.claim.id,
            r.kg_claimed,
            r.kg_picked_up,
            r.kg_delivered,
            r.status,
        ]
        for h in r.handovers or [None]:
            moved = (
                [h.kind, h.at_hub, h.at, h.temperature_c, h.receiver, h.accepted]
                + [h.carrier.name, h.vehicle]
                if h
                else [""] * 8
            )
            rows.append(head + part + moved)
    return csv_response(f"lot-{lot.id}-trace.csv", SHEET_COLUMNS, rows)


def _search():
    """The search's values (or its errors) and rows from the query string."""
    schema = TraceSearchSchema()
    try:
        values = load(schema, form_values(schema, request.args))
    except Invalid as error:
        return None, error.fields, []
    rows = trace_service.search(
        db.session,
        access.traceable_claims(current_user),
        values["start"],
        values["end"],
        values["organisation_id"],
    )
    return values, {}, rows


@bp.get("/trace")
@login_required
def trace_search():
    """The inspection search: what went from a donor, or to an organisation, between
    two days, among the claims the user may trace; 422 with the form's errors."""
    values, errors, rows = _search()
    scope = access.traceable_claims(current_user).subquery()
    lots = select(Lot.donor_id).join(scope, scope.c.lot_id == Lot.id)
    ids = select(scope.c.beneficiary_id).union(lots)
    organisations = db.session.scalars(
        select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name).limit(500)
    ).all()
    carriers = trace_service.carriers(db.session, [c.id for c, _at in rows])
    page = render_template(
        "trace/search.html",
        values=values or {k: request.args.get(k, "") for k in ("organisation_id", "start", "end")},
        errors=errors,
        rows=rows,
        carriers=carriers,
        organisations=organisations,
    )
    return page, 422 if errors else 200


@bp.get("/trace.csv")
@login_required
def trace_search_csv():
    """The search's rows as CSV; 422 (the page with its errors) on invalid input."""
    values, errors, rows = _search()
    if errors:
        return trace_search()
    carriers = trace_service.carriers(db.session, [c.id for c, _at in rows])
    return csv_response(
        f"trace-{values['start']}-{values['end']}.csv",
        SEARCH_COLUMNS,
        (_search_row(claim, at, carriers.get(claim.id, [])) for claim, at in rows),
    )


def _search_row(claim: Claim, at, carriers: list[str]) -> list:
    lot, donor, org = claim.lot, claim.lot.donor, claim.beneficiary
    return [
        at,
        lot.id,
        lot.title,
        lot.lot_number,
        lot.best_date,
        lot.storage.value,
        donor.name,
        donor.enterprise_number,
        donor.afsca_number,
        org.name,
        org.enterprise_number,
        org.afsca_number,
        claim.platform.name,
        ", ".join(carriers),
        claim.kg,
        claim.status.value,
    ]
