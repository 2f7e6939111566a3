"""The self-collection form on the claim's page: shown to the beneficiary (a reading only
for chilled and frozen food), back with a message per field and the user's entries
(422) when something is missing, the claim delivered or refused when sent, and refused
to those who may only see the claim."""

from __future__ import annotations

import re

import pytest

from surplus.extensions import db
from surplus.models import Claim, ClaimStatus, ProductKind
from surplus.services import booking, claims
from tests import factories


@pytest.fixture
def w(w):
    """The CPAS claimed 30 kg of chilled poultry (limit 4 °C) and collects it itself."""
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, category="meat_fish")
    lot.product_kind = ProductKind.POULTRY
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    booking.self_collect(db.session, w.cpas_user, w.claim)
    db.session.commit()
    return w


def _status(claim_id: int) -> ClaimStatus:
    db.session.rollback()
    return db.session.get(Claim, claim_id).status


def _invalid(html: str, name: str) -> bool:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    return tag is not None and 'aria-invalid="true"' in tag.group(0)


def _value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    found = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    return found.group(1) if found else None


def test_the_beneficiary_sees_the_form_with_the_limit(w, login_as):
    html = login_as(w.cpas_user).get(f"/claims/{w.claim.id}").get_data(as_text=True)
    assert 'id="collection"' in html and f"/claims/{w.claim.id}/collection" in html
    assert 'name="temperature_c"' in html and 'name="receiver"' in html


def test_ambient_food_asks_no_reading(w, login_as):
    lot = factories.lot(
        w.donor, kg=10, storage="ambient", category="dry_goods", date_kind="best_before"
    )
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
    booking.self_collect(db.session, w.cpas_user, claim)
    db.session.commit()
    html = login_as(w.cpas_user).get(f"/claims/{claim.id}").get_data(as_text=True)
    assert 'id="collection"' in html and 'name="temperature_c"' not in html


def test_the_donor_sees_the_claim_but_no_form_and_may_not_send_it(w, login_as):
    client = login_as(w.donor_user)
    page = client.get(f"/claims/{w.claim.id}")
    assert page.status_code == 200 and 'id="collection"' not in page.get_data(as_text=True)
    sent = client.post(
        f"/claims/{w.claim.id}/collection", data={"temperature_c": "3", "receiver": "Marie"}
    )
    assert sent.status_code == 403
    assert _status(w.claim.id) == ClaimStatus.ACTIVE


def test_another_organisation_gets_a_404(w, login_as):
    client = login_as(w.asbl_user)
    sent = client.post(
        f"/claims/{w.claim.id}/collection", data={"temperature_c": "3", "receiver": "Marie"}
    )
    assert sent.status_code == 404
    assert _status(w.claim.id) == ClaimStatus.ACTIVE


@pytest.mark.parametrize(
    ("data", "wrong", "kept"),
    [
        ({"temperature_c": "3,5", "receiver": ""}, {"receiver"}, {"temperature_c": "3,5"}),
        ({"temperature_c": "", "receiver": "Marie"}, {"temperature_c"}, {"receiver": "Marie"}),
        ({"temperature_c": "chaud", "receiver": "Marie"}, {"temperature_c"}, {"receiver": "Marie"}),
        ({}, {"temperature_c", "receiver"}, {}),
    ],
)
def test_errors_come_back_per_field_with_the_entries_kept(w, login_as, data, wrong, kept):
    answer = login_as(w.cpas_user).post(f"/claims/{w.claim.id}/collection", data=data)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    for name in ("temperature_c", "receiver"):
        assert _invalid(html, name) == (name in wrong), name
        assert (f'id="collection-{name}-msg"' in html) == (name in wrong), name
    for name, value in {**kept, **{n: data.get(n, "") for n in wrong}}.items():
        assert _value(html, name) == value, name
    assert _status(w.claim.id) == ClaimStatus.ACTIVE


def test_sent_the_claim_is_delivered_and_the_form_gone(w, login_as):
    client = login_as(w.cpas_user)
    sent = client.post(
        f"/claims/{w.claim.id}/collection", data={"temperature_c": "3,5", "receiver": "Marie"}
    )
    assert sent.status_code == 302 and sent.location.endswith(f"/claims/{w.claim.id}")
    assert _status(w.claim.id) == ClaimStatus.DELIVERED
    html = client.get(f"/claims/{w.claim.id}").get_data(as_text=True)
    assert 'id="collection"' not in html
    assert "Reçu par Marie." in html, "who took it is on the claim's page"


def test_too_warm_is_refused_and_said_on_the_page(w, login_as):
    client = login_as(w.cpas_user)
    sent = client.post(
        f"/claims/{w.claim.id}/collection", data={"temperature_c": "6", "receiver": "Marie"}
    )
    assert sent.status_code == 302
    assert _status(w.claim.id) == ClaimStatus.REFUSED
    html = client.get(f"/claims/{w.claim.id}").get_data(as_text=True)
    assert 'id="refusal"' in html and 'id="collection"' not in html
    assert re.search(r'id="refusal">[^<]*\b6\s°C', html)
