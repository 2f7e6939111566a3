"""Issue 16's check, through the API: a donor's chilled lot enters a depot by the
platform's claim and its receipt at 3 °C, is split, one part is offered to the network
and claimed by a CPAS, whose trace finds the donor's lot one step back; a receipt at
9 °C is refused; another organisation sees none of it."""

from datetime import datetime, timedelta

import pytest

from surplus.extensions import db
from surplus.models import ClaimStatus, StockItem
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories


@pytest.fixture
def w(make_fleet):
    w = factories.world()
    w.depot, w.van, w.template = make_fleet(w)
    w.team = factories.user(w.platform)  # a depot hand, not a coordinator
    db.session.commit()
    return w


def _chilled(client, headers, **overrides):
    start = datetime.now(BRUSSELS) + timedelta(minutes=5)
    body = {
        "title": "Yaourts nature",
        "category": "dairy",
        "weight_kg": 60,
        "units": 240,
        "lot_number": "Y-2026-12",
        "date_kind": "use_by",
        "date": (local_today() + timedelta(days=6)).isoformat(),
        "storage": "chilled",
        "allergens": ["milk"],
        "pickup_from": start.isoformat(),
        "pickup_until": (start + timedelta(hours=30)).isoformat(),
        "postcode": "6800",
        "locality": "Recogne",
        **overrides,
    }
    answer = client.post("/api/v1/lots", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def _depot_claim(client, headers, lot_id, kg):
    answer = client.post(f"/api/v1/lots/{lot_id}/claims", json={"kg": kg}, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_from_a_donor_s_lot_through_the_depot_to_a_cpas(w, client, api_token):
    donor, coordinator = api_token(w.donor_user), api_token(w.coordinator)
    team, cpas = api_token(w.team), api_token(w.cpas_user)
    lot_id = _chilled(client, donor)
    claim = _depot_claim(client, coordinator, lot_id, 60)
    assert claim["depot_id"] == w.depot.id and claim["platform_id"] == w.platform.id

    received = client.post(
        f"/api/v1/depots/{w.depot.id}/receipts",
        json={"claim_id": claim["id"], "temperature": 3},
        headers=team,
    )
    assert received.status_code == 201, received.get_json()
    item = received.get_json()["item"]
    assert item["kg"] == 60 and item["zone"] == "Chambre froide"
    assert [s["lot_id"] for s in item["sources"]] == [lot_id]

    stock = client.get(f"/api/v1/depots/{w.depot.id}/stock", headers=team).get_json()
    assert [(i["id"], i["product"], i["kg"], i["storage"]) for i in stock] == [
        (item["id"], "Yaourts nature", 60, "chilled")
    ]
    assert stock[0]["lot_number"] == "Y-2026-12" and stock[0]["date_kind"] == "use_by"

    parts = client.post(f"/api/v1/stock/{item['id']}/split", json={"parts": [20, 20]}, headers=team)
    assert parts.status_code == 201, parts.get_json()
    parcel = parts.get_json()[0]
    assert parcel["kg"] == 20 and parcel["units"] == 80
    assert [s["lot_id"] for s in parcel["sources"]] == [lot_id]  # through the pallet
    left = client.get(f"/api/v1/depots/{w.depot.id}/stock", headers=team).get_json()
    assert sorted(i["kg"] for i in left) == [20, 20, 20]

    assert client.post(f"/api/v1/stock/{parcel['id']}/offer", headers=team).status_code == 403
    offered = client.post(f"/api/v1/stock/{parcel['id']}/offer", json={}, headers=coordinator)
    assert offered.status_code == 201, offered.get_json()
    new_lot = offered.get_json()
    assert new_lot["weight_kg"] == 20 and new_lot["donor"]["id"] == w.platform.id

    taken = client.post(f"/api/v1/lots/{new_lot['id']}/claims", json={"kg": 20}, headers=cpas)
    assert taken.status_code == 201, taken.get_json()
    trace = client.get(f"/api/v1/lots/{new_lot['id']}/trace", headers=cpas).get_json()
    assert lot_id in [s["lot_id"] for s in trace["sources"]]


def test_a_receipt_at_9_degrees_is_refused_and_the_claim_goes_back(w, client, api_token):
    lot_id = _chilled(client, api_token(w.donor_user))
    claim = _depot_claim(client, api_token(w.coordinator), lot_id, 30)
    refused = client.post(
        f"/api/v1/depots/{w.depot.id}/receipts",
        json={"claim_id": claim["id"], "temperature": 9},
        headers=api_token(w.team),
    )
    body = refused.get_json()
    assert refused.status_code == 409, body
    assert body["refused"] is True and body["reason"] == "too_warm" and body["limit_c"] == 7.0
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(StockItem)) == 0
    from surplus.models import Claim

    assert db.session.get(Claim, claim["id"]).status == ClaimStatus.REFUSED


def test_other_organisations_see_no_depot(w, client, api_token):
    for person in (w.other_coordinator, w.cpas_user, w.donor_user):
        headers = api_token(person)
        assert client.get(f"/api/v1/depots/{w.depot.id}/stock", headers=headers).status_code == 404
        assert (
            client.post(
                f"/api/v1/depots/{w.depot.id}/receipts",
                json={"claim_id": 1, "temperature": 3},
                headers=headers,
            ).status_code
            == 404
        )


def test_an_adjustment_takes_a_reason_as_a_code_or_in_words(w, client, api_token):
    lot_id = _chilled(client, api_token(w.donor_user))
    claim = _depot_claim(client, api_token(w.coordinator), lot_id, 30)
    team = api_token(w.team)
    item = client.post(
        f"/api/v1/depots/{w.depot.id}/receipts",
        json={"claim_id": claim["id"], "temperature": 2.5},
        headers=team,
    ).get_json()["item"]
    url = f"/api/v1/stock/{item['id']}/adjustments"
    coded = client.post(url, json={"kg": 2, "reason": "damaged"}, headers=team)
    worded = client.post(url, json={"kg": 3, "reason": "Palette percée"}, headers=team)
    assert (coded.status_code, worded.status_code) == (200, 200), worded.get_json()
    assert worded.get_json()["kg"] == 25
    too_much = client.post(url, json={"kg": 26, "reason": "damaged"}, headers=team)
    assert too_much.status_code == 409 and too_much.get_json()["available_kg"] == 25
    db.session.rollback()
    from surplus.models import StockMovement

    reasons = db.session.scalars(
        db.select(StockMovement.reason)
        .where(StockMovement.item_id == item["id"], StockMovement.delta_g < 0)
        .order_by(StockMovement.id)
    ).all()
    assert reasons == ["damaged", "other: Palette percée"]


def test_stock_from_a_recalled_lot_is_never_offered(w, client, api_token):
    donor, coordinator, team = api_token(w.donor_user), api_token(w.coordinator), api_token(w.team)
    lot_id = _chilled(client, donor)
    claim = _depot_claim(client, coordinator, lot_id, 40)
    item = client.post(
        f"/api/v1/depots/{w.depot.id}/receipts",
        json={"claim_id": claim["id"], "temperature": 3},
        headers=team,
    ).get_json()["item"]
    parcel = client.post(
        f"/api/v1/stock/{item['id']}/split", json={"parts": [10]}, headers=team
    ).get_json()[0]
    recalled = client.post(
        f"/api/v1/lots/{lot_id}/recall", json={"reason": "Listeria"}, headers=donor
    )
    assert recalled.status_code in (200, 201), recalled.get_json()
    for stock_id in (item["id"], parcel["id"]):  # the pallet and a parcel split from it
        refused = client.post(f"/api/v1/stock/{stock_id}/offer", json={}, headers=coordinator)
        assert refused.status_code == 409, refused.get_json()
