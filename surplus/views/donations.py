"""A donor's donation documents (Belgian VAT): the "my donations" page, each
*document de don* and the monthly *document récapitulatif*, as PDF and CSV."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import Invalid, NotFound
from ..extensions import db
from ..schemas.base import form_values, load
from ..schemas.report import MonthQuerySchema, month_of
from ..services import pdf
from ..services.exports import csv_response
from ..services.lot_dates import local_today
from ..services.reports import donations as service
from ..services.reports.period import Period

bp = Blueprint("donations", __name__)

COLUMNS = [
    "number",
    "date",
    "donor",
    "donor_address",
    "donor_enterprise_number",
    "donor_vat_number",
    "recipient",
    "recipient_address",
    "recipient_enterprise_number",
    "standing",
    "claim_id",
    "lot_id",
    "product",
    "category",
    "lot_number",
    "date_kind",
    "best_date",
    "kg",
    "units",
]


@bp.get("/donations")
@login_required
def donation_list():
    """The user's organisation's donations of ``month`` (kilograms per month over the
    last twelve, each document, the month's recap, and the donations without a document
    with the reason); 403 for a beneficiary, 422 with the picker's error."""
    donor = access.donor_of_documents(current_user)
    schema = MonthQuerySchema()
    try:
        values, errors = load(schema, form_values(schema, request.args)), {}
    except Invalid as error:
        values, errors = {}, error.fields
    month = month_of(values)
    found = service.donations(db.session, donor.id, month)
    page = render_template(
        "donations/list.html",
        donor=donor,
        month=month,
        picked=request.args.get("month", "") if errors else month.start.strftime("%Y-%m"),
        errors=errors,
        documents=[d for d in found if d.eligible],
        without=[d for d in found if not d.eligible],
        by_month=service.kg_by_month(db.session, donor.id, local_today()),
        standings=service.STANDINGS,
    )
    return page, 422 if errors else 200


def _document(claim_id: int) -> service.Donation:
    claim = access.donation_claim(current_user, claim_id)
    found = service.donation(db.session, claim)
    if found is None or found.number is None:
        raise NotFound(_("No donation document: not handed over, or not for free distribution."))
    return found


def _month(month: str) -> Period:
    return month_of(load(MonthQuerySchema(), {"month": month}))


@bp.get("/donations/<int:claim_id>.pdf")
@login_required
def donation_pdf(claim_id: int):
    """The *document de don* of a donation as PDF; the same data gives the same bytes.
    403 for a beneficiary; 404 for another donor's claim or one without a document."""
    d = _document(claim_id)
    html = render_template("donations/document.html", d=d, **_common())
    return pdf.response(html, "donation.css", f"{d.number}.pdf")


@bp.get("/donations/<int:claim_id>.csv")
@login_required
def donation_csv(claim_id: int):
    """The *document de don* as CSV, one row per product; 403/404 as for the PDF."""
    d = _document(claim_id)
    return csv_response(f"{d.number}.csv", COLUMNS, _rows([d]))


@bp.get("/donations/recap/<month>.pdf")
@login_required
def recap_pdf(month: str):
    """The month's *document récapitulatif* (YYYY-MM) of the user's organisation as PDF:
    every donation with a document, totals per recipient and in all; 400 for a bad
    month, 403 for a beneficiary."""
    donor = access.donor_of_documents(current_user)
    recap = service.recap(db.session, donor, _month(month))
    html = render_template("donations/recap.html", recap=recap, **_common())
    return pdf.response(html, "donation.css", f"{recap.number}.pdf")


@bp.get("/donations/recap/<month>.csv")
@login_required
def recap_csv(month: str):
    """The month's recap as CSV: one row per product of each donation with a document."""
    donor = access.donor_of_documents(current_user)
    recap = service.recap(db.session, donor, _month(month))
    return csv_response(f"{recap.number}.csv", COLUMNS, _rows(recap.donations))


def _common() -> dict:
    return {
        "statements": service.statements(str(get_locale())),
        "standings": service.STANDINGS,
        "vat_number": service.vat_number,
        "standing_of": service.standing,
    }


def _rows(found: list[service.Donation]) -> list[list]:
    rows = []
    for d in found:
        donor, org = d.donor, d.recipient
        for line in d.lines:
            lot = line.lot
            rows.append(
                [
                    d.number,
                    d.day,
                    donor.name,
                    f"{donor.address} {donor.postcode} {donor.locality}".strip(),
                    donor.enterprise_number,
                    service.vat_number(donor.enterprise_number),
                    org.name,
                    f"{org.address} {org.postcode} {org.locality}".strip(),
                    org.enterprise_number,
                    d.standing,
                    d.claim_id,
                    lot.id,
                    lot.title,
                    lot.category.value,
                    lot.lot_number,
                    lot.date_kind.value if lot.date_kind else "",
                    lot.best_date,
                    line.kg,
                    line.units,
                ]
            )
    return rows
