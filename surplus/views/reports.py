"""Reports pages: the report of a period (figures, charts, tables, CO2 factors), its CSV
and XLSX exports and chart images, and a platform's public headline figures."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import Invalid
from ..extensions import db
from ..schemas.base import load
from ..schemas.report import PeriodQuerySchema, period_of
from ..services import events
from ..services.exports import csv_response, xlsx_response
from ..services.reports import charts, co2
from ..services.reports.period import Period
from ..services.reports.summary import Summary, summary

bp = Blueprint("reports", __name__)

FIGURES = ["kg_posted", "kg_claimed", "kg_delivered", "kg_expired", "kg_withdrawn"]


def _report(args) -> Summary:
    """The signed-in user's report of the period in ``args`` (Invalid on bad dates)."""
    scope = access.report_scope(current_user)
    period = period_of(load(PeriodQuerySchema(), args))
    kg_per_person = current_app.config["MATCH_KG_PER_PERSON"]
    return summary(db.session, scope, period, kg_per_person)


def _code(value) -> str:
    return value.value if hasattr(value, "value") else str(value)


TABLES: dict[str, tuple[Callable[[], str], list[str], Callable[[Summary], list]]] = {
    "months": (
        lambda: _("By month"),
        ["month", *FIGURES],
        lambda r: [[g.key, *(getattr(g, f) for f in FIGURES)] for g in r.by_month],
    ),
    "donors": (
        lambda: _("By donor"),
        ["organisation_id", "donor", *FIGURES],
        lambda r: [[g.key, g.name, *(getattr(g, f) for f in FIGURES)] for g in r.by_donor],
    ),
    "beneficiaries": (
        lambda: _("By beneficiary"),
        ["organisation_id", "beneficiary", "kg_claimed", "kg_delivered", "kg_received"]
        + ["persons_per_week", "kg_per_person_week", "need_met"],
        lambda r: [
            [b.organisation_id, b.name, b.kg_claimed, b.kg_delivered, b.kg_received]
            + [b.persons_per_week, b.kg_per_person_week, b.need_met]
            for b in r.by_beneficiary
        ],
    ),
    "categories": (
        lambda: _("By category"),
        ["category", *FIGURES, "co2e_kg"],
        lambda r: [
            [_code(g.key), *(getattr(g, f) for f in FIGURES), g.co2e_kg] for g in r.by_category
        ],
    ),
    "storage": (
        lambda: _("By storage"),
        ["storage", *FIGURES],
        lambda r: [[_code(g.key), *(getattr(g, f) for f in FIGURES)] for g in r.by_storage],
    ),
    "fairness": (
        lambda: _("Fairness"),
        ["window_start", "window_end", "jain_index"],
        lambda r: [[w.start, w.end, w.jain] for w in r.windows],
    ),
    # A platform's depots (services/reports/depot.py); empty for other readers.
    "depot_months": (
        lambda: _("Depots by month"),
        ["month", "kg_in", "kg_out", "kg_lost"],
        lambda r: (
            [[m.key, m.kg_in, m.kg_out, m.kg_lost] for m in r.depots.months] if r.depots else []
        ),
    ),
    "depot_zones": (
        lambda: _("Stock by zone"),
        ["depot", "zone", "storage", "kg_on_hand", "capacity_kg", "used"],
        lambda r: (
            [[z.depot, z.zone, z.storage, z.held_kg, z.capacity_kg, z.used] for z in r.depots.zones]
            if r.depots
            else []
        ),
    ),
    "depot_cover": (
        lambda: _("Days of cover"),
        ["depot_id", "depot", "kg_on_hand", "kg_out_per_day_28d", "days_of_cover"],
        lambda r: (
            [
                [c.depot_id, c.depot, c.kg_on_hand, c.daily_out_kg, c.days_of_cover]
                for c in r.depots.cover
            ]
            if r.depots
            else []
        ),
    ),
}


@bp.get("/reports")
@login_required
def report_page():
    """The report of a period for the user's scope (access.report_scope: 403 for an
    unverified organisation or a platform member who does not coordinate); a bad period
    re-renders the form with its messages (422)."""
    try:
        report = _report(request.args)
        errors, status = {}, 200
    except Invalid as error:
        report = _report({})  # the default period, under the form's messages
        errors, status = error.fields, 422
    org = current_user.organisation
    publishes = org.is_platform and access.coordinates(current_user, org.id)
    page = render_template(
        "reports/page.html",
        report=report,
        period=report.period,
        values={k: request.args.get(k, "") for k in ("from", "to")} if errors else {},
        errors=errors,
        factors=co2.FACTORS,
        publishes=publishes,
        organisation=org,
        month_label=charts.month_label,
    )
    return page, status


def _period_args(period: Period) -> dict[str, str]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


@bp.app_template_global("report_url")
def report_url(endpoint: str, period: Period, **values) -> str:
    """A link to a report export or chart of the same period."""
    return url_for(endpoint, **values, **_period_args(period))


@bp.get("/reports/<table>.csv")
@login_required
def report_csv(table: str):
    """One table of the report as CSV (formula-safe); 404 for an unknown table, 400 for a
    bad period."""
    if table not in TABLES:
        abort(404)
    report = _report(request.args)
    period = report.period
    _title, header, rows = TABLES[table]
    return csv_response(f"report-{table}-{period.start}-{period.end}.csv", header, rows(report))


@bp.get("/reports/report.xlsx")
@login_required
def report_xlsx():
    """Every table of the report in one workbook, a sheet per table, the headline figures
    first; 400 for a bad period."""
    report = _report(request.args)
    period = report.period
    headline = [
        [name, getattr(report, name)]
        for name in [*FIGURES, "match_rate", "median_minutes_to_first_claim"]
        + ["median_minutes_to_booking", "co2e_kg", "km_added_per_kg", "organisations_served"]
        + ["carried_for_others_kg", "carried_by_others_kg", "jain_mean", "jain_worst"]
    ]
    first = [["from", period.start], ["to", period.end], *headline]
    sheets = [(_("Summary"), ["figure", "value"], first)]
    sheets += [
        (title(), header, rows(report))
        for name, (title, header, rows) in TABLES.items()
        if report.depots is not None or not name.startswith("depot_")
    ]
    return xlsx_response(f"report-{period.start}-{period.end}.xlsx", sheets)


@bp.get("/reports/chart/<name>.svg")
@login_required
def report_chart(name: str):
    """A chart of the report as an SVG image without script; its CSP allows only the
    chart's own inline style. 404 for an unknown chart."""
    draw = charts.CHARTS.get(name)
    if draw is None:
        abort(404)
    report = _report(request.args)
    response = Response(draw(report), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = charts.CSP
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.post("/reports/publish")
@login_required
def publish_toggle():
    """A platform's coordinator publishes its headline figures on a public page, or stops
    (``publish`` = "1" or "0"); 403 for anyone else. Recorded as an event."""
    org = access.coordinated_platform(current_user)
    publish = request.form.get("publish") == "1"
    if org.publish_figures != publish:
        before = {"publish_figures": org.publish_figures}
        org.publish_figures = publish
        events.record(
            db.session,
            current_user,
            org,
            "figures_published" if publish else "figures_unpublished",
            before=before,
            after={"publish_figures": publish},
            organisation_id=org.id,
        )
        db.session.commit()
    flash(
        _("Your figures are public.") if publish else _("Your figures are no longer public."),
        "success",
    )
    return redirect(url_for("reports.report_page"))


@bp.get("/platforms/<int:platform_id>/figures")
def public_figures(platform_id: int):
    """A platform's headline figures over the last twelve months, for anyone; 404 unless
    it is a verified platform that publishes them."""
    org = access.published_platform(platform_id)
    scope = access.platform_report_scope(org.id)
    kg_per_person = current_app.config["MATCH_KG_PER_PERSON"]
    report = summary(db.session, scope, Period.default(), kg_per_person)
    return render_template("reports/public.html", platform=org, report=report)
