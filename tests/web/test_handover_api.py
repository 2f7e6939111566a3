"""Stop confirmation through the API: a missing, non-finite or implausible temperature is
a 400 that records nothing; a hand-over refused by the check (too warm for chilled
poultry, or past the use-by) is a 409 with the limit and the reason, recorded; a
self-collection past the use-by is a 409."""

from datetime import UTC, datetime, timedelta

import pytest

from surplus.extensions import db
from surplus.models import ClaimStatus, Lot, ProductKind, Stop, StopStatus
from surplus.services import booking, claims
from tests import factories


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, category="meat_fish")
    lot.product_kind = ProductKind.POULTRY
    w.lot_id = lot.id
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()
    return w


@pytest.fixture
def booked(w):
    booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    w.pickup, w.drop = booking.booked_stops(db.session, w.claim)
    return w


def _post(client, headers, stop_id, body=None, raw=None):
    url = f"/api/v1/stops/{stop_id}/confirm"
    if raw is not None:
        return client.post(url, data=raw, content_type="application/json", headers=headers)
    return client.post(url, json=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        ({}, None),
        ({"temperature": None}, None),
        ({"temperature": "NaN"}, None),
        ({"temperature": "inf"}, None),
        ({"temperature": "-inf"}, None),
        (None, '{"temperature": 1e999}'),
        (None, '{"temperature": -1e999}'),
        ({"temperature": 80}, None),
    ],
)
def test_missing_non_finite_or_implausible_is_400(booked, client, api_token, body, raw):
    w = booked
    answer = _post(client, api_token(w.driver), w.pickup.id, body, raw)
    assert answer.status_code == 400, answer.get_json()
    assert "temperature" in answer.get_json()["fields"]
    db.session.rollback()
    stop = db.session.get(Stop, w.pickup.id)
    assert stop.status == StopStatus.PLANNED and stop.confirmed_at is None


def test_too_warm_poultry_is_a_409_with_the_limit_and_the_reason(booked, client, api_token):
    w = booked
    headers = api_token(w.driver)
    assert _post(client, headers, w.pickup.id, {"temperature": 3}).status_code == 200
    answer = _post(client, headers, w.drop.id, {"temperature": 5, "receiver": "Marie"})
    body = answer.get_json()
    assert answer.status_code == 409, body
    assert body["refused"] is True and body["limit_c"] == 4.0 and body["reason"] == "too_warm"
    assert body["error"] and "temperature" in body["fields"]
    db.session.rollback()
    assert db.session.get(Stop, w.drop.id).status == StopStatus.REJECTED
    assert db.session.get(type(w.claim), w.claim.id).status == ClaimStatus.REFUSED
    # Confirmed once: a second try is a plain conflict.
    again = _post(client, headers, w.drop.id, {"temperature": 3, "receiver": "Marie"})
    assert again.status_code == 409 and "refused" not in again.get_json()


def test_a_delivery_after_the_use_by_is_a_409_recorded(booked, client, api_token):
    w = booked
    headers = api_token(w.driver)
    assert _post(client, headers, w.pickup.id, {"temperature": 3}).status_code == 200
    db.session.rollback()
    db.session.get(Lot, w.lot_id).expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    answer = _post(client, headers, w.drop.id, {"temperature": 3, "receiver": "Marie"})
    body = answer.get_json()
    assert answer.status_code == 409, body
    assert body["refused"] is True and body["reason"] == "use_by_passed"
    assert body["limit_c"] == 4.0
    db.session.rollback()
    assert db.session.get(Stop, w.drop.id).status == StopStatus.REJECTED
    assert db.session.get(type(w.claim), w.claim.id).status == ClaimStatus.REFUSED


def test_self_collection_after_the_use_by_is_a_409(w, client, api_token):
    db.session.get(Lot, w.lot_id).expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    answer = client.post(
        f"/api/v1/claims/{w.claim.id}/booking",
        json={"self_collect": True},
        headers=api_token(w.cpas_user),
    )
    assert answer.status_code == 409
    assert answer.get_json()["reason"] == "use_by_passed"
    db.session.rollback()
    assert not db.session.get(type(w.claim), w.claim.id).self_collect


def test_the_lot_answer_says_its_kind_and_limit(w, client, api_token):
    answer = client.get(f"/api/v1/lots/{w.lot_id}", headers=api_token(w.donor_user))
    body = answer.get_json()
    assert answer.status_code == 200, body
    assert body["product_kind"] == "poultry" and body["handover_limit_c"] == 4.0
    assert body["max_temperature_c"] is None


def test_the_lot_page_and_the_claim_page_say_the_limit_and_the_refusal(
    booked, client, api_token, login_as
):
    w = booked
    page = login_as(w.donor_user).get(f"/lots/{w.lot_id}").get_data(as_text=True)
    assert 'id="handover-limit"' in page and "4 °C" in page
    headers = api_token(w.driver)
    assert _post(client, headers, w.pickup.id, {"temperature": 6}).status_code == 409
    page = login_as(w.cpas_user).get(f"/claims/{w.claim.id}").get_data(as_text=True)
    assert 'id="refusal"' in page and "status-rejected" in page and "6 °C" in page
