"""The FSE+ register through HTTP: the API's rows, the page, its CSV and XLSX (the same
kilograms as the claims, every text cell safe from formulas), and who gets what."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from flask_babel import force_locale, gettext
from openpyxl import load_workbook

from surplus.extensions import db
from surplus.services.lot_dates import local_today
from tests import factories
from tests.surplus.test_fse_register import register_world


def in_french(msgid: str) -> str:
    """The heading as the test users (French) read it."""
    with force_locale("fr"):
        return gettext(msgid)


ROW_KEYS = {"organisation_id", "product", "lot_number", "kg", "units", "received_on"}
INJECTION = "=cmd|' /C calc'!A0"


@pytest.fixture
def r(daily_rounds):
    return register_world(daily_rounds)


def _today() -> dict[str, str]:
    today = local_today().isoformat()
    return {"from": today, "to": today}


def test_the_api_answers_the_rows_of_the_claims(r, client, api_token):
    answer = client.get(
        "/api/v1/fse-register", query_string=_today(), headers=api_token(r.coordinator)
    )
    assert answer.status_code == 200, answer.get_json()
    rows = answer.get_json()
    assert isinstance(rows, list) and all(ROW_KEYS <= set(row) for row in rows)
    by_claim = {row["claim_id"]: row for row in rows}
    assert set(by_claim) == {r.cpas_claim.id, r.asbl_claim.id, r.peas_claim.id}
    milk = by_claim[r.cpas_claim.id]
    assert milk | {"organisation_name": None, "platform_name": None, "lot_id": None} == {
        "organisation_id": r.cpas.id,
        "organisation_name": None,
        "platform_id": r.platform.id,
        "platform_name": None,
        "product": "Lait UHT demi-écrémé",
        "lot_number": "FSE-2026-001",
        "kg": 30.0,
        "units": 60,
        "received_on": local_today().isoformat(),
        "approval_number": "FSE+/BE/1234",
        "claim_id": r.cpas_claim.id,
        "lot_id": None,
    }
    assert by_claim[r.peas_claim.id]["units"] is None
    assert sum(row["kg"] for row in rows) == r.cpas_claim.kg + r.asbl_claim.kg + r.peas_claim.kg


def test_the_api_is_scoped_to_the_caller(r, client, api_token):
    def get(user, **query):
        return client.get(
            "/api/v1/fse-register", query_string=_today() | query, headers=api_token(user)
        )

    mine = get(r.cpas_user).get_json()
    assert {row["claim_id"] for row in mine} == {r.cpas_claim.id, r.peas_claim.id}
    assert get(r.other_coordinator).get_json() == []
    assert [
        row["claim_id"] for row in get(r.coordinator, organisation_id=r.asbl.id).get_json()
    ] == [r.asbl_claim.id]
    outside = get(r.other_coordinator, organisation_id=r.cpas.id)
    assert outside.status_code == 404 and "error" in outside.get_json()
    assert get(r.cpas_user, organisation_id=r.asbl.id).status_code == 404
    assert get(r.donor_user).status_code == 403
    assert get(r.coordinator, to="2020-13-01").status_code == 400
    assert client.get("/api/v1/fse-register").status_code == 401


def test_the_page_groups_by_organisation_with_totals(r, login_as):
    client = login_as(r.coordinator)
    page = client.get("/fse-register", query_string=_today())
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "15,125 kg" in html  # to the gram, in French
    for text in ("Lait UHT demi-écrémé", "FSE-2026-001", "FSE+/BE/5678", r.cpas.name, r.asbl.name):
        assert text in html
    assert "Pâtes" not in html
    assert 'name="organisation_id"' in html and f'value="{r.asbl.id}"' in html
    assert "/fse-register.csv?" in html and "/fse-register.xlsx?" in html
    assert "overflow-auto" in html and 'style="' not in html
    narrowed = client.get("/fse-register", query_string=_today() | {"organisation_id": r.asbl.id})
    shown = narrowed.get_data(as_text=True).split('class="no-print fse-actions"')[1]
    assert r.asbl.name in shown and r.cpas.name not in shown


def test_the_page_for_a_beneficiary_and_for_others(r, login_as):
    own = login_as(r.asbl_user).get("/fse-register", query_string=_today())
    html = own.get_data(as_text=True)
    assert own.status_code == 200 and "FSE+/BE/5678" in html and "FSE+/BE/1234" not in html
    assert 'name="organisation_id"' not in html
    assert login_as(r.donor_user).get("/fse-register").status_code == 403
    assert login_as(r.donor_user).get("/fse-register.csv").status_code == 403
    invalid = login_as(r.coordinator).get("/fse-register", query_string={"from": "yesterday"})
    assert invalid.status_code == 422 and 'aria-invalid="true"' in invalid.get_data(as_text=True)
    elsewhere = factories.org("cpas", name="CPAS Ailleurs")
    db.session.commit()
    assert (
        login_as(r.coordinator)
        .get("/fse-register", query_string={"organisation_id": elsewhere.id})
        .status_code
        == 404
    )


@pytest.fixture
def injected(r):
    r.milk.title = INJECTION
    db.session.commit()
    return r


def test_the_csv_is_formula_safe_with_the_same_kilograms(injected, login_as):
    r = injected
    answer = login_as(r.coordinator).get("/fse-register.csv", query_string=_today())
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert len(body) == 3
    product, kg = 2, 4  # received on, organisation, product, lot number, kilograms, ...
    assert header[product] == in_french("Product") and header[kg] == in_french("Kilograms")
    assert sorted(row[product] for row in body) == sorted(
        ["'" + INJECTION, "'" + INJECTION, "Petits pois en conserve"]
    )
    assert not any(cell.startswith("=") for row in body for cell in row)
    total = sum(Decimal(row[kg]) for row in body)
    assert total * 1000 == r.cpas_claim.grams + r.asbl_claim.grams + r.peas_claim.grams


def test_the_xlsx_has_rows_and_totals_as_text_never_formulas(injected, login_as):
    r = injected
    answer = login_as(r.coordinator).get("/fse-register.xlsx", query_string=_today())
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.get_data()))
    assert len(book.sheetnames) == 3
    rows, products, months = (list(book[name].iter_rows()) for name in book.sheetnames)
    product, kg = 2, 4
    assert rows[0][product].value == in_french("Product")
    titles = [line[product] for line in rows[1:]]
    assert sorted(c.value for c in titles) == sorted(
        [INJECTION, INJECTION, "Petits pois en conserve"]
    )
    assert all(c.data_type == "s" for c in titles)
    grams = r.cpas_claim.grams + r.asbl_claim.grams + r.peas_claim.grams
    assert round(sum(line[kg].value for line in rows[1:]) * 1000) == grams
    assert [(line[0].value, line[0].data_type) for line in products[1:]][0] == (INJECTION, "s")
    assert round(sum(line[1].value for line in products[1:]) * 1000) == grams
    assert [line[0].value for line in months[1:]] == [local_today().strftime("%Y-%m")]
    assert round(months[1][1].value * 1000) == grams
