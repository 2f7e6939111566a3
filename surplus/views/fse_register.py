"""The FSE+ register pages: the register of a period (by organisation, with totals per
product and per month), and the same as CSV and as an XLSX workbook."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import Invalid
from ..extensions import db
from ..schemas.base import form_values, load
from ..schemas.fse_register import FseRegisterQuerySchema
from ..schemas.report import period_of
from ..services.exports import csv_response, xlsx_response
from ..services.reports import fse_register
from ..services.reports.period import Period

bp = Blueprint("fse_register", __name__)


@bp.app_template_filter("fse_kg")
def fse_kg(value: float) -> str:
    """Kilograms to the gram, in the reader's locale (the register keeps every gram)."""
    return f"{format_decimal(value, format='#,##0.###', locale=str(get_locale()))} kg"


def _stock(values: dict, period: Period):
    """FSE+ stock at the reader's depots: received in the period, and on hand now."""
    depots = access.fse_register_depots(current_user, values["organisation_id"])
    return (
        fse_register.stock_received(db.session, depots, period),
        fse_register.stock_on_hand(db.session, depots),
    )


def _stock_in_columns() -> list[str]:
    return [
        _("Received on"),
        _("Depot"),
        _("Supplier"),
        _("Product"),
        _("Lot number"),
        _("Kilograms"),
        _("Units"),
        _("Date"),
    ]


def _stock_in_row(r: fse_register.StockIn) -> list:
    return [r.received_on, r.depot_name, r.supplier, r.product, r.lot_number, r.kg, r.units] + [
        r.best_date
    ]


def _on_hand_columns() -> list[str]:
    return [_("Depot"), _("Zone"), _("Product"), _("Lot number"), _("Kilograms"), _("Units")] + [
        _("Date")
    ]


def _on_hand_row(r: fse_register.OnHand) -> list:
    return [r.depot_name, r.zone, r.product, r.lot_number, r.kg, r.units, r.best_date]


def _load() -> tuple[dict, Period, list[fse_register.Row]]:
    """The query string's period and organisation, and the register's rows; 403 for who
    keeps no register, 404 for an organisation outside the reader's, Invalid (fields)."""
    access.fse_register_claims(current_user)  # 403 before the query is read: donors keep none
    schema = FseRegisterQuerySchema()
    values = load(schema, form_values(schema, request.args))
    period = period_of(values)
    scope = access.fse_register_claims(current_user, values["organisation_id"])
    return values, period, fse_register.register_rows(db.session, scope, period)


def _columns() -> list[str]:
    return [
        _("Received on"),
        _("Organisation"),
        _("Product"),
        _("Lot number"),
        _("Kilograms"),
        _("Units"),
        _("FSE+ approval number"),
        _("Platform"),
    ]


def _row(row: fse_register.Row, kg: float | Decimal) -> list:
    return [
        row.received_on,
        row.organisation_name,
        row.product,
        row.lot_number,
        kg,
        row.units,
        row.approval_number,
        row.platform_name,
    ]


def _filename(period: Period, extension: str) -> str:
    return f"fse-register-{period.start.isoformat()}-{period.end.isoformat()}.{extension}"


@bp.get("/fse-register")
@login_required
def register_page():
    """The FSE+ register of a period (the twelve months to today by default): each
    organisation's FSE+ products received, then totals per product and per month, then
    the FSE+ stock of the reader's depots (received in the period, on hand now). 403
    for donors; 404 for an organisation outside the reader's network; 422 with the
    form's errors."""
    try:
        values, period, rows = _load()
    except Invalid as error:
        page = render_template(
            "fse_register/page.html",
            errors=error.fields,
            values={k: request.args.get(k, "") for k in ("from", "to", "organisation_id")},
            organisations=access.fse_register_organisations(current_user),
        )
        return page, 422
    shown = {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "organisation_id": values["organisation_id"] or "",
    }
    received, on_hand = _stock(values, period)
    return render_template(
        "fse_register/page.html",
        received=received,
        on_hand=on_hand,
        errors={},
        values=shown,
        period=period,
        rows=rows,
        groups=fse_register.by_organisation(rows),
        products=fse_register.totals_by_product(rows),
        months=fse_register.totals_by_month(rows),
        total_kg=round(sum(r.grams for r in rows) / 1000, 3),
        organisations=access.fse_register_organisations(current_user),
    )


@bp.get("/fse-register.csv")
@login_required
def register_csv():
    """The register's rows as CSV (every text cell safe from formulas); 400 on invalid
    input, 403 and 404 as for the page."""
    _values, period, rows = _load()
    return csv_response(
        _filename(period, "csv"),
        _columns(),
        (_row(r, Decimal(r.grams) / 1000) for r in rows),
    )


@bp.get("/fse-register-stock.csv")
@login_required
def register_stock_csv():
    """FSE+ stock at the reader's depots as CSV: the receipts of the period, then what is
    on hand now (a ``section`` column tells them apart); 400, 403 and 404 as above."""
    values, period, _rows = _load()
    received, on_hand = _stock(values, period)
    header = [_("Section"), *_stock_in_columns(), _("Zone")]
    lines = [[_("Received"), *_stock_in_row(r), ""] for r in received]
    lines += [
        [_("On hand"), "", r.depot_name, "", r.product, r.lot_number, r.kg, r.units]
        + [r.best_date, r.zone]
        for r in on_hand
    ]
    return csv_response(_filename(period, "csv").replace("register", "stock"), header, lines)


@bp.get("/fse-register.xlsx")
@login_required
def register_xlsx():
    """The register as a workbook: its rows, totals per product, totals per month, and,
    when the reader's depots hold FSE+ stock, what they received in the period and what
    is on hand (text cells never formulas); 400, 403 and 404 as for the CSV."""
    values, period, rows = _load()
    received, on_hand = _stock(values, period)
    totals = [_("Kilograms"), _("Units"), _("Deliveries")]
    return xlsx_response(
        _filename(period, "xlsx"),
        [
            (_("FSE+ register"), _columns(), [_row(r, r.kg) for r in rows]),
            (
                _("Totals per product"),
                [_("Product"), *totals],
                [
                    [t.key, t.kg, t.units, t.deliveries]
                    for t in fse_register.totals_by_product(rows)
                ],
            ),
            (
                _("Totals per month"),
                [_("Month"), *totals],
                [
                    [f"{t.key:%Y-%m}", t.kg, t.units, t.deliveries]
                    for t in fse_register.totals_by_month(rows)
                ],
            ),
        ]
        + (  # the reader's depots, once they have FSE+ stock to show
            [
                (
                    _("Received at depots"),
                    _stock_in_columns(),
                    [_stock_in_row(r) for r in received],
                ),
                (_("On hand"), _on_hand_columns(), [_on_hand_row(r) for r in on_hand]),
            ]
            if received or on_hand
            else []
        ),
    )
