"""The traceability sheet (page, PDF, CSV), its API answer, and the inspection search."""

from __future__ import annotations

import re
import zlib
from datetime import timedelta

import pytest

from surplus.extensions import db
from surplus.services import booking, claims, collection
from surplus.services.lot_dates import local_today
from tests import factories
from tests.factories import translated
from tests.surplus.test_trace import traced_world

RECIPIENT_KEYS = {
    "organisation_id",
    "name",
    "kg_claimed",
    "kg_picked_up",
    "kg_delivered",
    "status",
    "handovers",
}
HANDOVER_KEYS = {"kind", "at", "temperature_c", "receiver", "accepted"}


@pytest.fixture
def t(app, make_fleet, add_run):
    return traced_world(make_fleet, add_run)


def test_the_api_answers_one_step_back_and_one_step_forward(t, client, api_token):
    answer = client.get(f"/api/v1/lots/{t.lot.id}/trace", headers=api_token(t.donor_user))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert {"lot", "donor", "recipients", "events"} <= set(body)
    assert body["lot"]["lot_number"] == "L-2026-07" and body["lot"]["storage"] == "chilled"
    assert body["donor"]["enterprise_number"] == "0123.456.789"
    assert body["donor"]["afsca_number"] == "AFSCA-42"
    by_org = {r["organisation_id"]: r for r in body["recipients"]}
    for r in body["recipients"]:
        assert RECIPIENT_KEYS <= set(r)
        for h in r["handovers"]:
            assert HANDOVER_KEYS <= set(h)
    cpas, asbl = by_org[t.cpas.id], by_org[t.asbl.id]
    assert (cpas["kg_claimed"], cpas["kg_picked_up"], cpas["kg_delivered"]) == (30, 30, 30)
    assert (asbl["kg_picked_up"], asbl["kg_delivered"]) == (20, 0)
    assert asbl["handovers"][-1] | {"at": None} == asbl["handovers"][-1] | {
        "kind": "dropoff",
        "temperature_c": 5.0,
        "receiver": "Jean",
        "accepted": False,
        "at": None,
    }
    assert [h["at_hub"] for h in cpas["handovers"]] == [False, True, True, False]
    assert body["events"] and all(
        {"at", "action", "subject_type"} <= set(e) for e in body["events"]
    )


def test_the_api_shows_a_recipient_its_part_and_hides_the_lot_from_others(t, client, api_token):
    mine = client.get(f"/api/v1/lots/{t.lot.id}/trace", headers=api_token(t.cpas_user))
    assert mine.status_code == 200
    assert [r["organisation_id"] for r in mine.get_json()["recipients"]] == [t.cpas.id]
    assert mine.get_json()["whole"] is False
    outsider = client.get(f"/api/v1/lots/{t.lot.id}/trace", headers=api_token(t.other_donor_user))
    assert outsider.status_code == 404 and "error" in outsider.get_json()
    assert client.get(f"/api/v1/lots/{t.lot.id}/trace").status_code == 401
    missing = client.get("/api/v1/lots/999999/trace", headers=api_token(t.donor_user))
    assert missing.status_code == 404


def test_the_sheet_prints_on_a4_and_the_lot_page_links_to_it(t, login_as):
    client = login_as(t.coordinator)
    lot_page = client.get(f"/lots/{t.lot.id}").get_data(as_text=True)
    assert f"/lots/{t.lot.id}/trace" in lot_page
    page = client.get(f"/lots/{t.lot.id}/trace")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Filets de poulet" in html and "L-2026-07" in html and "AFSCA-42" in html
    assert "Marie" in html and "Jean" in html and "overflow-auto" in html
    css = client.get("/static/trace.css").get_data(as_text=True)
    assert "size: A4" in css and "@media print" in css


def test_a_recipients_sheet_is_its_own_part_and_others_get_404(t, login_as):
    page = login_as(t.asbl_user).get(f"/lots/{t.lot.id}/trace").get_data(as_text=True)
    assert t.asbl.name in page and t.cpas.name not in page and "Marie" not in page
    assert login_as(t.other_donor_user).get(f"/lots/{t.lot.id}/trace").status_code == 404
    assert login_as(t.other_donor_user).get(f"/lots/{t.lot.id}/trace.csv").status_code == 404


def test_the_csv_neutralises_formulas(t, login_as):
    t.asbl.name = '=HYPERLINK("http://evil.example","x")'
    db.session.commit()
    answer = login_as(t.donor_user).get(f"/lots/{t.lot.id}/trace.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True)
    assert "'=HYPERLINK" in text and ";=HYPERLINK" not in text
    assert "L-2026-07" in text and "0123.456.789" in text
    assert len(text.strip().splitlines()) == 1 + 6  # one row per hand-over


def _pdf_text(pdf: bytes) -> bytes:
    """The PDF's bytes with its compressed streams inflated."""
    parts = [pdf]
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(stream.group(1)))
        except zlib.error:
            continue
    return b"".join(parts)


def test_the_pdf_is_a_real_pdf_of_the_lot(t, login_as):
    answer = login_as(t.donor_user).get(f"/lots/{t.lot.id}/trace.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    pdf = answer.get_data()
    assert pdf.startswith(b"%PDF-")
    assert b"Filets de poulet" in _pdf_text(pdf)


def test_the_inspection_search_and_its_export(t, login_as):
    client = login_as(t.donor_user)
    today = local_today()
    query = {"organisation_id": t.asbl.id, "start": (today - timedelta(days=2)).isoformat()}
    page = client.get("/trace", query_string=query)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert t.asbl.name in html and t.cpas.name not in html.split("<tbody>", 1)[1]
    export = client.get("/trace.csv", query_string=query)
    assert export.status_code == 200
    lines = export.get_data(as_text=True).strip().splitlines()
    assert len(lines) == 2 and t.asbl.name in lines[1]
    wrong = client.get("/trace", query_string={"start": today.isoformat(), "end": "2024-01-01"})
    assert wrong.status_code == 422
    assert client.get("/trace.csv", query_string={"organisation_id": "x"}).status_code == 422


@pytest.mark.parametrize(
    "query",
    [
        {"organisation_id": "99999999999999"},
        {"organisation_id": "-1"},
        {"organisation_id": "1\x00"},
        {"start": "2026-02-30"},
        {"end": "9999-01-01"},
        "start=%FF%FE",  # broken UTF-8
    ],
)
def test_bad_search_input_is_a_422_with_the_field_marked(t, login_as, query):
    client = login_as(t.donor_user)
    for path in ("/trace", "/trace.csv"):
        answer = client.get(path, query_string=query)
        assert answer.status_code == 422, (path, query)
        assert 'aria-invalid="true"' in answer.get_data(as_text=True)


def test_ids_beyond_the_database_range_name_nothing(t, login_as, client, api_token):
    assert login_as(t.donor_user).get("/lots/99999999999/trace").status_code == 404
    answer = client.get("/api/v1/lots/99999999999/trace", headers=api_token(t.donor_user))
    assert answer.status_code == 404


def test_a_self_collection_is_on_the_sheet_the_csv_and_the_api(app, login_as, client, api_token):
    w = factories.world()
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, category="meat_fish")
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    booking.self_collect(db.session, w.cpas_user, claim)
    collection.confirm_collection(db.session, w.cpas_user, claim, 3.5, "Marie Lambert")
    db.session.commit()
    body = client.get(f"/api/v1/lots/{lot.id}/trace", headers=api_token(w.donor_user)).get_json()
    (recipient,) = body["recipients"]
    (handover,) = recipient["handovers"]
    assert handover | {"at": None} == {
        "kind": "collection",
        "at": None,
        "temperature_c": 3.5,
        "receiver": "Marie Lambert",
        "accepted": True,
        "at_hub": False,
        "leg": None,
        "place": w.donor.name,
        "carrier": {"id": w.cpas.id, "name": w.cpas.name},
        "vehicle": "",
        "run_id": None,
    }
    assert handover["at"] and recipient["kg_delivered"] == 30
    donor = login_as(w.donor_user)
    html = donor.get(f"/lots/{lot.id}/trace").get_data(as_text=True)
    assert translated("fr", "Collected at the donor’s") in html and "Marie Lambert" in html
    assert translated("fr", "its own people") in html
    rows = donor.get(f"/lots/{lot.id}/trace.csv").get_data(as_text=True).strip().splitlines()
    assert len(rows) == 2 and ";collection;" in rows[1] and "Marie Lambert" in rows[1]
