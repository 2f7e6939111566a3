"""The allocation preview on a phone: lines grouped by beneficiary with their totals,
explanations that never compare a figure with itself, messages said once."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import select

from surplus import match_labels
from surplus.extensions import db
from surplus.models import AllocationLine
from tests import factories
from tests.factories import translated

HX = {"HX-Request": "true"}
SAME = re.compile(r"(\S+\s(?:km|%)) (?:contre|vs|tegen) \1")


@pytest.fixture(scope="module")
def page(make_app):
    with make_app("sqlite://") as app, app.test_request_context():
        yield app


def _explained(reason: str, km: float, other_km: float, unmet: float, other_unmet: float):
    return {
        "reason": reason,
        "km": km,
        "runner_up_id": 3,
        "runner_up_km": other_km,
        "unmet_before": unmet,
        "runner_up_unmet": other_unmet,
    }


@pytest.mark.parametrize("reason", ["closer_and_needier", "greater_need", "closer"])
@pytest.mark.parametrize("language", ["fr", "en", "nl"])
def test_equal_figures_are_never_compared_with_themselves(page, reason, language):
    cases = [
        (12.01, 12.04, 0.5, 0.3),  # same distance once rounded
        (12.0, 20.0, 1.0, 0.999),  # 100 % vs 100 %
        (12.0, 12.0, 0.4, 0.4),  # both the same
        (12.0, 20.0, 0.5, 0.3),  # both differ: the plain comparison
    ]
    with force_locale(language):
        for km, other_km, unmet, other_unmet in cases:
            text = match_labels.why(
                _explained(reason, km, other_km, unmet, other_unmet), {3: "ASBL Test"}
            )
            assert text and "ASBL Test" in text
            assert not SAME.search(text.replace("\u00a0", " ")), text


def test_french_equal_distance_says_as_close(page):
    with force_locale("fr"):
        text = match_labels.why(
            _explained("closer_and_needier", 12.01, 12.04, 0.5, 0.3), {3: "ASBL Test"}
        )
    assert text.startswith("Aussi proche que ASBL Test (12\u00a0km)")
    assert "50\u00a0% contre 30\u00a0%" in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "ajoute 0,5\u00a0km à une tournée, contre 9,5\u00a0km pour ASBL Test"),
        ("en", "adds 0.5\u00a0km to a run, against 9.5\u00a0km for ASBL Test"),
        ("nl", "0,5\u00a0km aan een rit toe, tegenover 9,5\u00a0km voor ASBL Test"),
    ],
)
def test_a_lot_sent_where_a_van_passes_says_what_each_delivery_adds(page, language, expected):
    explained = _explained("on_the_way", 14.0, 9.0, 0.5, 0.5) | {
        "detour_km": 0.5,
        "runner_up_detour_km": 9.5,
    }
    with force_locale(language):
        assert expected in match_labels.why(explained, {3: "ASBL Test"})


def test_preview_groups_lines_and_confirmation_is_said_once(login_as):
    w = factories.world()
    factories.lot(w.donor, kg=40, title="Yaourts")
    factories.lot(
        w.donor,
        kg=60,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=30,
        title="Pâtes",
    )
    db.session.commit()
    client = login_as(w.coordinator)
    location = client.post("/platform/allocation/").headers["Location"]
    batch_id = int(location.rstrip("/").rsplit("/", 1)[1])
    html = client.get(location).get_data(as_text=True)
    db.session.rollback()
    lines = db.session.scalars(
        select(AllocationLine).where(AllocationLine.batch_id == batch_id)
    ).all()
    beneficiaries = {line.beneficiary_id for line in lines}
    assert lines and html.count('<details class="alloc-group"') == len(beneficiaries)
    for org_id in beneficiaries:
        assert f'id="group-{org_id}-sum"' in html
    assert len(re.findall(r'<tr id="line-\d+"', html)) == len(lines)
    assert html.count('name="kg" value="') == len(lines) and 'name="kg" value=""' not in html

    # A changed line answers its row and, out of band, its group's new total.
    line = next(line for line in lines if line.grams >= 2000)
    row = client.post(
        f"/platform/allocation/{batch_id}/lines/{line.id}", data={"kg": "1"}, headers=HX
    ).get_data(as_text=True)
    assert f'id="group-{line.beneficiary_id}-sum"' in row and 'hx-swap-oob="true"' in row

    confirmed = client.post(f"/platform/allocation/{batch_id}/confirm", follow_redirects=True)
    text = confirmed.get_data(as_text=True)
    assert confirmed.status_code == 200
    assert text.count('id="batch-result"') == 1
    assert text.count("flash-success") == 1


def test_a_failed_sign_in_says_so_once(w, client):
    answer = client.post("/login", data={"email": w.cpas_user.email, "password": "wrong-one"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert html.count(str(escape(translated("fr", "Wrong e-mail address or password.")))) == 1
