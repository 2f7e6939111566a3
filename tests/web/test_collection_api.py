"""``POST /api/v1/claims/<id>/collection``: the self-collection's hand-over through the
API. 200 with the claim delivered; 400 naming the fields (nothing recorded); 403 for
who may see the claim but not record it, 404 for another organisation's claim; 409 for
a claim not to be collected, or a hand-over the check refuses (recorded, with the
limit and the reason); and the operation in the OpenAPI document."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from surplus.extensions import db
from surplus.models import Claim, ClaimStatus, Event, ProductKind, Role
from surplus.services import booking, claims
from tests import factories


@pytest.fixture
def w(w):
    """The CPAS claimed 30 kg of chilled poultry (limit 4 °C) and collects it itself."""
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, category="meat_fish")
    lot.product_kind = ProductKind.POULTRY
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    booking.self_collect(db.session, w.cpas_user, w.claim)
    w.carried, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 5)  # a run's to carry
    db.session.commit()
    return w


def _post(client, headers, claim_id, body):
    return client.post(f"/api/v1/claims/{claim_id}/collection", json=body, headers=headers)


def _status(claim_id: int) -> ClaimStatus:
    db.session.rollback()
    return db.session.get(Claim, claim_id).status


def _events() -> int:
    return db.session.scalar(select(func.count(Event.id)))


def test_a_collection_answers_the_claim_delivered(w, client, api_token):
    answer = _post(
        client, api_token(w.cpas_user), w.claim.id, {"temperature_c": 3.5, "receiver": "Marie"}
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["id"] == w.claim.id and body["status"] == "delivered"
    assert _status(w.claim.id) == ClaimStatus.DELIVERED


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"temperature_c", "receiver"}),
        ({"receiver": "Marie"}, {"temperature_c"}),
        ({"temperature_c": 3}, {"receiver"}),
        ({"temperature_c": "3", "receiver": "Marie"}, {"temperature_c"}),  # not a number
        ({"temperature_c": 80, "receiver": "Marie"}, {"temperature_c"}),
        ({"temperature_c": 3, "receiver": "M" * 201}, {"receiver"}),
    ],
)
def test_bad_input_is_a_400_naming_the_field(w, client, api_token, body, fields):
    headers = api_token(w.cpas_user)
    before = _events()
    answer = _post(client, headers, w.claim.id, body)
    assert answer.status_code == 400
    assert set(answer.get_json()["fields"]) == fields and answer.get_json()["error"]
    assert _status(w.claim.id) == ClaimStatus.ACTIVE and _events() == before


def test_too_warm_is_a_409_recorded_as_refused(w, client, api_token):
    answer = _post(
        client, api_token(w.cpas_user), w.claim.id, {"temperature_c": 5, "receiver": "Marie"}
    )
    assert answer.status_code == 409
    body = answer.get_json()
    assert body["refused"] is True and body["limit_c"] == 4.0 and body["reason"] == "too_warm"
    assert set(body["fields"]) == {"temperature_c"}
    assert _status(w.claim.id) == ClaimStatus.REFUSED


def test_a_claim_not_to_be_collected_is_a_409(w, client, api_token):
    headers = api_token(w.cpas_user)
    answer = _post(client, headers, w.carried.id, {"temperature_c": 3, "receiver": "Marie"})
    assert answer.status_code == 409 and answer.get_json()["error"]
    assert "refused" not in answer.get_json()
    done = _post(client, headers, w.claim.id, {"temperature_c": 3, "receiver": "M"})
    assert done.status_code == 200
    again = _post(client, headers, w.claim.id, {"temperature_c": 3, "receiver": "M"})
    assert again.status_code == 409


def test_other_organisations_get_404_and_those_who_only_see_it_403(w, client, api_token):
    platform_member = factories.user(w.platform, Role.MEMBER)
    db.session.commit()
    body = {"temperature_c": 3, "receiver": "Marie"}
    for outsider in (w.asbl_user, w.other_coordinator, w.other_donor_user):
        answer = _post(client, api_token(outsider), w.claim.id, body)
        assert answer.status_code == 404, outsider
        assert answer.get_json()["error"]
    for viewer in (w.donor_user, platform_member):  # they see the claim
        answer = _post(client, api_token(viewer), w.claim.id, body)
        assert answer.status_code == 403, viewer
        assert answer.get_json()["error"]
    assert _post(client, api_token(w.cpas_user), 2_000_000_000, body).status_code == 404
    assert _status(w.claim.id) == ClaimStatus.ACTIVE
    coordinator = _post(client, api_token(w.coordinator), w.claim.id, body)
    assert coordinator.status_code == 200


def test_without_a_token_it_is_a_401(w, client):
    assert _post(client, {}, w.claim.id, {"receiver": "Marie"}).status_code == 401


def test_the_operation_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/claims/{claim_id}/collection"]["post"]
    assert {"200", "400", "401", "403", "404", "409"} <= set(operation["responses"])
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(schema["properties"]) == {"temperature_c", "receiver", "note"}
    assert schema["properties"]["temperature_c"]["maximum"] == 60
