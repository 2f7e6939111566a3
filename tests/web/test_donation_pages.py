"""The donor's "my donations" page, its documents (PDF, CSV), and the API."""

from __future__ import annotations

import re
import time
import zlib
from datetime import timedelta

import pytest
from flask import render_template

from surplus import clock
from surplus.extensions import db
from surplus.models import DistributionMode
from surplus.services.lot_dates import local_today
from surplus.services.reports import donations as service
from surplus.views.donations import _common
from tests.factories import translated
from tests.surplus.test_donations import claimed, donated

KEYS = {"number", "date", "claim_id", "donor", "recipient", "kg", "lines"}
LINE_KEYS = {"lot_id", "product", "lot_number", "kg", "units"}


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    w.donor.enterprise_number = "0123.456.789"
    w.cpas.enterprise_number = "0212.345.678"
    w.cpas_convention.distribution_mode = DistributionMode.FREE_PARCELS
    w.asbl_convention.distribution_mode = DistributionMode.SOCIAL_GROCERY
    db.session.commit()
    w.gift = donated(w, w.cpas_user, 30, units=200, title="Yaourts nature")
    w.sold = donated(w, w.asbl_user, 20, title="Fromage blanc")  # social grocery
    w.waiting = claimed(w, w.cpas_user, 5, title="Beurre")  # not picked up yet
    w.month = local_today().strftime("%Y-%m")
    w.number = f"D-{local_today().year}-00001"
    return w


def _inflated(pdf: bytes) -> bytes:
    """The PDF's bytes with its compressed streams inflated."""
    parts = [pdf]
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(stream.group(1)))
        except zlib.error:
            continue
    return b"".join(parts)


def _says(pdf_text: bytes, words: str) -> bool:
    """Whether a PDF string holds ``words``: plain, or UTF-16 in hexadecimal (pydyf's
    form for any text beyond ASCII, such as the document's title and subject)."""
    hexa = words.encode("utf-16-be").hex().encode()
    return words.encode() in pdf_text or hexa in pdf_text.lower()


def test_my_donations_lists_documents_recaps_and_those_without(w, login_as):
    page = login_as(w.donor_user).get("/donations")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert w.number in html and w.cpas.name in html
    assert f"/donations/{w.gift.id}.pdf" in html and f"/donations/{w.gift.id}.csv" in html
    assert f"/donations/recap/{w.month}.pdf" in html and f"/donations/recap/{w.month}.csv" in html
    # The social grocery's donation is listed apart, with the reason and no document.
    without = html.split("no-document", 1)[1]
    assert w.asbl.name in without
    grocery = translated("fr", "Social grocery")
    reason = "Distributed as: %(mode)s — not free distribution."
    assert translated("fr", reason, mode=grocery) in without
    assert f"/donations/{w.sold.id}.pdf" not in html
    assert "Beurre" not in html  # not handed over: no donation
    assert 'type="month"' in html and "overflow-auto" in html
    assert html.count('class="num"') >= 12 * 2  # twelve months of kilograms


def test_the_month_picker(w, login_as):
    client = login_as(w.donor_user)
    earlier = client.get("/donations", query_string={"month": "2026-01"})
    assert earlier.status_code == 200 and w.number not in earlier.get_data(as_text=True)
    for bad in ("2026-13", "soon", "9999-01"):
        wrong = client.get("/donations", query_string={"month": bad})
        assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.get_data(as_text=True)


def test_a_beneficiary_has_no_donations_page(w, login_as, client, api_token):
    cpas = login_as(w.cpas_user)
    assert cpas.get("/donations").status_code == 403
    assert cpas.get(f"/donations/{w.gift.id}.pdf").status_code == 403
    assert cpas.get(f"/donations/recap/{w.month}.csv").status_code == 403
    assert client.get("/api/v1/donations", headers=api_token(w.cpas_user)).status_code == 403


def test_another_donors_claim_is_not_found(w, login_as):
    other = login_as(w.other_donor_user)
    for path in (f"/donations/{w.gift.id}.pdf", f"/donations/{w.gift.id}.csv"):
        assert other.get(path).status_code == 404
    assert w.cpas.name not in other.get("/donations").get_data(as_text=True)
    donor = login_as(w.donor_user)
    # No document for food not handed over, nor for a social grocery's.
    assert donor.get(f"/donations/{w.waiting.id}.pdf").status_code == 404
    assert donor.get(f"/donations/{w.sold.id}.csv").status_code == 404
    assert donor.get("/donations/99999999999.pdf").status_code == 404


def test_the_pdf_is_the_same_bytes_for_the_same_data(w, login_as, monkeypatch):
    client = login_as(w.donor_user)
    first = client.get(f"/donations/{w.gift.id}.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert f"{w.number}.pdf" in first.headers["Content-Disposition"]
    pdf = first.get_data()
    assert pdf.startswith(b"%PDF-")
    # An hour later, by the application's clock and by the process's (embedded fonts
    # carry a timestamp to the second, unless pinned), in a session of its own: the
    # same bytes.
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    with clock.travel(clock.now() + timedelta(hours=1)):
        assert login_as(w.donor_user).get(f"/donations/{w.gift.id}.pdf").get_data() == pdf
    monkeypatch.undo()
    text = _inflated(pdf)
    assert b"/ID [" in text  # a file identifier, drawn from the content
    # The document's metadata: its number, the donor and its VAT number.
    assert _says(text, w.number) and _says(text, w.donor.name) and _says(text, "BE0123456789")
    recap = client.get(f"/donations/recap/{w.month}.pdf")
    assert recap.status_code == 200 and recap.get_data().startswith(b"%PDF-")
    assert client.get(f"/donations/recap/{w.month}.pdf").get_data() == recap.get_data()
    # The reader's language: the statement in French first, then in Dutch.
    nl = client.get(f"/donations/{w.gift.id}.pdf", headers={"Accept-Language": "nl"})
    assert nl.status_code == 200


def test_the_html_behind_the_pdf_names_donor_recipient_goods_and_the_law(w, app):
    d = service.donation(db.session, w.gift)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        html = render_template("donations/document.html", d=d, **_common())
        recap = service.recap(db.session, w.donor, service.Period.month(local_today()))
        summary = render_template("donations/recap.html", recap=recap, **_common())
    assert w.donor.name in html and "BE0123456789" in html and "0123.456.789" in html
    assert w.cpas.name in html and "0212.345.678" in html
    assert translated("fr", "CPAS (public social welfare centre)") in html  # French first
    assert "Yaourts nature" in html and "L-Yao" in html and "30 kg" in html
    assert ">60<" in html  # 30 of 100 kg: 60 of the 200 units
    assert "2026/C/22" in html and 'lang="fr"' in html
    assert recap.number in summary and w.number in summary and "Fromage blanc" not in summary
    assert "30 kg" in summary


def test_the_csv_is_formula_safe_and_has_the_claims_kilograms(w, login_as):
    w.donor.name = '=HYPERLINK("x")'
    w.cpas.name = "+CPAS"
    db.session.commit()
    client = login_as(w.donor_user)
    answer = client.get(f"/donations/{w.gift.id}.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True)
    assert "'=HYPERLINK" in text and ";=HYPERLINK" not in text
    assert ";'+CPAS;" in text
    header, row = text.lstrip("\ufeff").strip().splitlines()
    cells = dict(zip(header.split(";"), row.split(";"), strict=True))
    assert cells["number"] == w.number and cells["kg"] == "30"
    assert cells["donor_vat_number"] == "BE0123456789" and cells["units"] == "60"
    recap = client.get(f"/donations/recap/{w.month}.csv").get_data(as_text=True)
    assert len(recap.strip().splitlines()) == 2 and "'=HYPERLINK" in recap
    assert client.get("/donations/recap/2026-13.csv").status_code == 400


def test_the_api_gives_the_donors_documents_of_the_month(w, client, api_token):
    answer = client.get(
        "/api/v1/donations", query_string={"month": w.month}, headers=api_token(w.donor_user)
    )
    assert answer.status_code == 200, answer.get_json()
    [doc] = answer.get_json()
    assert set(doc) == KEYS
    assert doc["number"] == w.number and doc["claim_id"] == w.gift.id
    assert doc["date"] == local_today().isoformat() and doc["kg"] == 30
    assert doc["donor"] == {"id": w.donor.id, "name": w.donor.name, "vat_number": "BE0123456789"}
    assert doc["recipient"] == {"id": w.cpas.id, "name": w.cpas.name, "standing": "cpas"}
    [line] = doc["lines"]
    assert set(line) == LINE_KEYS
    assert (line["lot_id"], line["kg"], line["units"]) == (w.gift.lot_id, 30, 60)
    other = client.get("/api/v1/donations", headers=api_token(w.other_donor_user))
    assert other.status_code == 200 and other.get_json() == []
    assert client.get("/api/v1/donations").status_code == 401
    bad = client.get(
        "/api/v1/donations", query_string={"month": "2026-13"}, headers=api_token(w.donor_user)
    )
    assert bad.status_code == 400 and "month" in bad.get_json()["fields"]
