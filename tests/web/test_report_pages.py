"""The report page, its CSV/XLSX exports and chart images, the summary API, and a
platform's public figures."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from surplus.extensions import db
from surplus.models import Organisation, Role
from surplus.services.lot_dates import local_today
from tests import factories
from tests.factories import translated
from tests.surplus.test_reports import reported_world

SUMMARY_KEYS = {
    "kg_posted",
    "kg_claimed",
    "kg_delivered",
    "kg_expired",
    "kg_withdrawn",
    "match_rate",
    "median_minutes_to_first_claim",
    "median_minutes_to_booking",
    "by_month",
    "by_beneficiary",
}
BENEFICIARY_KEYS = {
    "organisation_id",
    "name",
    "kg_claimed",
    "kg_delivered",
    "persons_per_week",
    "kg_per_person_week",
    "need_met",
}
EVIL = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def r(daily_rounds):
    r = reported_world(daily_rounds)
    r.donor.name = EVIL  # a donor whose name a spreadsheet would run
    db.session.commit()
    return r


def _period() -> dict[str, str]:
    today = local_today()
    return {"from": (today - timedelta(days=27)).isoformat(), "to": today.isoformat()}


def test_the_api_summary_has_the_claims_kilograms(r, client, api_token):
    answer = client.get("/api/v1/reports/summary", query_string=_period(),
                        headers=api_token(r.coordinator))  # fmt: skip
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert SUMMARY_KEYS <= set(body)
    assert [body[k] for k in ("kg_posted", "kg_claimed", "kg_delivered")] == [190, 50, 30]
    assert (body["kg_expired"], body["kg_withdrawn"]) == (50, 40)
    assert body["match_rate"] == round(30 / 190, 4) and body["from"] == _period()["from"]
    assert body["by_month"] and {"month", "kg_posted"} <= set(body["by_month"][0])
    assert sum(m["kg_posted"] for m in body["by_month"]) == 190
    for row in body["by_beneficiary"]:
        assert BENEFICIARY_KEYS <= set(row)
    by_org = {row["organisation_id"]: row for row in body["by_beneficiary"]}
    assert by_org[r.cpas.id]["kg_delivered"] == 30 and by_org[r.asbl.id]["kg_claimed"] == 20


def test_the_api_is_scoped_to_the_caller_and_checks_its_input(r, client, api_token):
    other = client.get("/api/v1/reports/summary", headers=api_token(r.other_donor_user))
    assert other.status_code == 200
    body = other.get_json()
    assert (body["kg_posted"], body["kg_claimed"]) == (60, 0) and body["by_beneficiary"] == []
    assert client.get("/api/v1/reports/summary").status_code == 401
    bad = client.get("/api/v1/reports/summary", query_string={"from": "2026-13-01"},
                     headers=api_token(r.donor_user))  # fmt: skip
    assert bad.status_code == 400 and "from" in bad.get_json()["fields"]
    reversed_ = client.get(
        "/api/v1/reports/summary",
        query_string={"from": _period()["to"], "to": _period()["from"]},
        headers=api_token(r.donor_user),
    )
    assert reversed_.status_code == 400


def test_the_page_shows_figures_tables_and_the_co2_sources(r, login_as):
    client = login_as(r.coordinator)
    page = client.get("/reports", query_string=_period())
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "190 kg" in html and "30 kg" in html
    assert "CPAS Test" in html and "ASBL Test" in html
    assert "Poore" in html and "FAO" in html and "12,31" in html  # French decimals
    assert "/reports/chart/monthly.svg?" in html and 'alt="' in html
    assert 'class="overflow-auto"' in html and "<script>" not in html and "style=" not in html
    for table in ("months", "donors", "beneficiaries", "categories", "storage"):
        assert f"/reports/{table}.csv?" in html
    assert "/reports/report.xlsx?" in html and "/reports/publish" in html
    bad = client.get("/reports", query_string={"from": "2026-02-30"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)


def test_who_may_open_the_page(r, login_as, app):
    pending = factories.user(factories.org("shop", verified=False))
    driver = factories.user(r.platform, Role.MEMBER)
    db.session.commit()
    assert login_as(pending).get("/reports").status_code == 403
    assert login_as(driver).get("/reports").status_code == 403
    other = login_as(r.other_coordinator).get("/reports").get_data(as_text=True)
    assert "CPAS Test" not in other and "190 kg" not in other
    assert app.test_client().get("/reports").status_code == 302  # to sign in


def _csv(client, table: str) -> list[list[str]]:
    response = client.get(f"/reports/{table}.csv", query_string=_period())
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")),
                           delimiter=";"))  # fmt: skip


def test_csv_and_xlsx_hold_the_same_kilograms_and_are_formula_safe(r, login_as):
    client = login_as(r.coordinator)
    header, *rows = _csv(client, "donors")
    assert header[:3] == ["organisation_id", "donor", "kg_posted"]
    (row,) = rows
    assert row[1] == "'" + EVIL and [float(x) for x in row[2:7]] == [190, 50, 30, 50, 40]
    _header, *bens = _csv(client, "beneficiaries")
    assert {b[1]: float(b[3]) for b in bens} == {"CPAS Test": 30, "ASBL Test": 0}
    assert client.get("/reports/nothing.csv").status_code == 404
    response = client.get("/reports/report.xlsx", query_string=_period())
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert len(book.sheetnames) == 7
    summary = {row[0]: row[1] for row in book.worksheets[0].iter_rows(values_only=True)}
    assert (summary["kg_posted"], summary["kg_delivered"], summary["kg_withdrawn"]) == (
        190,
        30,
        40,
    )
    donors = book.worksheets[2]
    cell = donors.cell(row=2, column=2)
    assert cell.value == EVIL and cell.data_type == "s"  # text, never a formula
    assert donors.cell(row=2, column=3).value == 190


def test_charts_are_svg_images_without_script(r, login_as):
    client = login_as(r.coordinator)
    for name in ("monthly", "categories"):
        response = client.get(f"/reports/chart/{name}.svg", query_string=_period())
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        svg = response.get_data(as_text=True)
        assert svg.startswith("<svg") and "<script" not in svg.lower()
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script" not in csp
    assert client.get("/reports/chart/pie.svg").status_code == 404


def test_the_public_page_exists_only_once_published(r, login_as, app):
    anyone = app.test_client()
    url = f"/platforms/{r.platform.id}/figures"
    assert anyone.get(url).status_code == 404
    assert anyone.get(f"/platforms/{r.cpas.id}/figures").status_code == 404
    assert login_as(r.cpas_user).post("/reports/publish", data={"publish": "1"}).status_code == 403
    coordinator = login_as(r.coordinator)
    assert coordinator.post("/reports/publish", data={"publish": "1"}).status_code == 302
    page = anyone.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "190 kg" in html and "30 kg" in html and "Hub Libramont" in html
    assert "CPAS Test" not in html  # headline figures only
    assert translated("fr", "Stop publishing") in coordinator.get("/reports").get_data(as_text=True)
    coordinator.post("/reports/publish", data={"publish": "0"})
    assert anyone.get(url).status_code == 404
    db.session.rollback()
    assert db.session.get(Organisation, r.platform.id).publish_figures is False
