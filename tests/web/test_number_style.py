"""One style for numbers: distances, temperatures and shares through Babel, in the
page's language ("12,5 km" in French, "12.5 km" in English), never "0.0 km"."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from flask import render_template, render_template_string
from flask_babel import force_locale
from sqlalchemy import update

from surplus.extensions import db
from surplus.models import BatchStatus, LineStatus, StorageClass, User
from tests import factories

POINT_DECIMAL = re.compile(r"\d\.\d+\s?(?:km|°C|%)")
COMMA_DECIMAL = re.compile(r"\d,\d+\s?(?:km|°C|%)")


@pytest.fixture(scope="module")
def page(make_app):
    with make_app("sqlite://") as app, app.test_request_context():
        yield app


def _line(km: float) -> SimpleNamespace:
    lot = SimpleNamespace(
        title="Yaourts", donor=SimpleNamespace(name="Ferme"), storage=StorageClass.CHILLED
    )
    return SimpleNamespace(
        id=1,
        lot_id=1,
        lot=lot,
        beneficiary_id=2,
        status=LineStatus.PROPOSED,
        kg=12.5,
        km=km,
        note="",
        explanation={
            "reason": "closer_and_needier",
            "km": km,
            "runner_up_id": 3,
            "runner_up_km": 30.25,
            "unmet_before": 0.62,
            "runner_up_unmet": 0.3,
            "need_before_kg": 40.0,
            "need_after_kg": 27.5,
        },
    )


def _row(language: str, km: float = 12.5) -> str:
    batch = SimpleNamespace(id=1, status=BatchStatus.PREVIEW)
    with force_locale(language):
        return render_template(
            "allocation/_line.html",
            line=_line(km),
            batch=batch,
            error=None,
            typed=None,
            names={3: "ASBL Test"},
        )


def test_a_french_line_reads_in_french_style(page):
    row = _row("fr")
    assert "12,5\u00a0km" in row and "30,2\u00a0km" in row and "62\u00a0%" in row
    assert 'value="12,5"' in row  # the schema's Number field reads a decimal comma
    assert not POINT_DECIMAL.search(row), POINT_DECIMAL.findall(row)


def test_an_english_line_reads_in_english_style(page):
    row = _row("en")
    assert "12.5\u00a0km" in row and "30.2\u00a0km" in row and "62\u00a0%" in row
    assert 'value="12.5"' in row
    assert not COMMA_DECIMAL.search(row), COMMA_DECIMAL.findall(row)


def test_no_zero_point_zero(page):
    row = _row("fr", km=0.0)
    assert "0.0 km" not in row and "0,0" not in row and "0\u00a0km" in row


def test_filters_in_french_and_english(page):
    source = "{{ 9.0|celsius }} | {{ 0.525|percent(1) }} | {{ 12.5|km }} | {{ 1234.5|number(1) }}"
    with force_locale("fr"):
        fr = render_template_string(source)
    with force_locale("en"):
        en = render_template_string(source)
    assert fr == "9\u00a0°C | 52,5\u00a0% | 12,5\u00a0km | 1\u202f234,5"
    assert en == "9\u00a0°C | 52.5\u00a0% | 12.5\u00a0km | 1,234.5"


def test_allocation_page_in_french_and_english(login_as):
    w = factories.world()
    factories.lot(w.donor, kg=40, title="Yaourts")
    db.session.commit()
    client = login_as(w.coordinator)
    location = client.post("/platform/allocation/").headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert "\u00a0km" in html
    assert not POINT_DECIMAL.search(html), POINT_DECIMAL.findall(html)
    db.session.rollback()
    db.session.execute(update(User).where(User.id == w.coordinator.id).values(language="en"))
    db.session.commit()
    english = client.get(location).get_data(as_text=True)
    assert not COMMA_DECIMAL.search(english), COMMA_DECIMAL.findall(english)
