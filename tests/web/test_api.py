"""The JSON API: tokens, errors as JSON, lots and claims through the same services."""

from datetime import datetime, timedelta

import pytest

from surplus.extensions import db
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories


def _lot_json(**overrides):
    start = datetime.now(BRUSSELS) + timedelta(hours=1)
    body = {
        "title": "Lait demi-écrémé",
        "category": "dairy",
        "weight_kg": 80,
        "units": 80,
        "date_kind": "use_by",
        "date": (local_today() + timedelta(days=6)).isoformat(),
        "storage": "chilled",
        "allergens": ["milk"],
        "fse_plus": False,
        "divisible": True,
        "min_part_kg": 5,
        "pickup_from": start.isoformat(),
        "pickup_until": (start + timedelta(hours=6)).isoformat(),
        "postcode": "6800",
        "locality": "Recogne",
    }
    body.update(overrides)
    return body


def test_token_and_me(w, client, api_token):
    headers = api_token(w.cpas_user)
    body = client.get("/api/v1/me", headers=headers).get_json()
    assert body["user"]["email"] == w.cpas_user.email
    assert body["organisation"]["id"] == w.cpas.id and body["organisation"]["kind"] == "cpas"


def test_bad_credentials_and_missing_token_are_json(w, client):
    response = client.post("/api/v1/token", json={"email": w.cpas_user.email, "password": "x"})
    assert response.status_code == 401 and "error" in response.get_json()
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.get_json()["error"]
    response = client.post("/api/v1/token", data="not json")
    assert response.status_code == 400 and set(response.get_json()["fields"]) == {
        "email",
        "password",
    }


def test_openapi_document_is_generated(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "Maillon API"
    assert "/api/v1/lots/{lot_id}/claims" in spec["paths"]


def test_post_lot_and_errors_per_field(w, client, api_token):
    headers = api_token(w.donor_user)
    created = client.post("/api/v1/lots", json=_lot_json(), headers=headers)
    assert created.status_code == 201, created.get_json()
    lot = created.get_json()
    assert lot["remaining_kg"] == 80 and lot["status"] == "open"
    assert lot["donor"]["id"] == w.donor.id and lot["locality"] == "Recogne"
    # The hub in the donor's commune gets it first; the next wave is announced.
    assert lot["wave"] == 1 and lot["next_wave_at"]
    bad = client.post(
        "/api/v1/lots",
        json=_lot_json(weight_kg=-1, postcode="0000", storage="warm"),
        headers=headers,
    )
    assert bad.status_code == 400
    assert {"weight_kg", "postcode", "storage"} <= set(bad.get_json()["fields"])
    assert client.post("/api/v1/lots", data="[", headers=headers).status_code == 400


def test_claim_flow_through_the_api(w, client, api_token):
    lot = factories.lot(w.donor, kg=50, min_part_kg=5)
    db.session.commit()
    cpas, asbl = api_token(w.cpas_user), api_token(w.asbl_user)
    listed = client.get("/api/v1/lots?storage=chilled", headers=cpas).get_json()
    assert lot.id in [item["id"] for item in listed["items"]]
    response = client.post(f"/api/v1/lots/{lot.id}/claims", json={"kg": 45}, headers=cpas)
    assert response.status_code == 201
    claim = response.get_json()
    assert claim["kg"] == 45 and claim["platform_id"] == w.platform.id
    assert claim["status"] == "active" and claim["lot_id"] == lot.id
    late = client.post(f"/api/v1/lots/{lot.id}/claims", json={"kg": 10}, headers=asbl)
    assert late.status_code == 409 and late.get_json()["available_kg"] == 5
    assert (
        client.post(f"/api/v1/lots/{lot.id}/claims", json={"kg": "lots"}, headers=asbl).status_code
        == 400
    )
    mine = client.get("/api/v1/claims", headers=cpas).get_json()
    assert [c["id"] for c in mine] == [claim["id"]]
    assert client.delete(f"/api/v1/claims/{claim['id']}", headers=asbl).status_code == 404
    cancelled = client.delete(f"/api/v1/claims/{claim['id']}", headers=cpas)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = client.get(f"/api/v1/lots/{lot.id}", headers=cpas).get_json()
    assert again["remaining_kg"] == 50


def test_ineligible_lot_answers_403_with_the_reason(w, client, api_token):
    lot = factories.lot(
        w.platform,
        kg=100,
        fse_plus=True,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=60,
    )
    db.session.commit()
    headers = api_token(w.asbl_user)
    response = client.get(f"/api/v1/lots/{lot.id}", headers=headers)
    assert response.status_code == 403 and "FSE+" in response.get_json()["error"]
    response = client.post(f"/api/v1/lots/{lot.id}/claims", json={"kg": 10}, headers=headers)
    assert response.status_code == 403
    listed = client.get("/api/v1/lots", headers=headers).get_json()
    assert lot.id not in [item["id"] for item in listed["items"]]


def test_missing_lot_is_404_json(w, client, api_token):
    response = client.post(
        "/api/v1/lots/999999/claims", json={"kg": 1}, headers=api_token(w.cpas_user)
    )
    assert response.status_code == 404 and response.get_json()["error"]


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"kg": ' + "9" * 5000 + "}", '{"kg": 1', "\ufeff"],
    ids=["nesting beyond the stack", "integer beyond 4300 digits", "truncated", "bom only"],
)
def test_unreadable_json_is_a_400_that_changes_nothing(w, client, api_token, body):
    lot = factories.lot(w.donor, kg=40)
    db.session.commit()
    answer = client.post(
        f"/api/v1/lots/{lot.id}/claims",
        data=body.encode(),
        content_type="application/json",
        headers=api_token(w.cpas_user),
    )
    assert answer.status_code == 400 and answer.get_json()["error"]
    db.session.refresh(lot)
    assert lot.remaining_g == 40_000 and not lot.claims


def test_a_request_without_a_token_is_a_401_whatever_its_body(client):
    answer = client.post("/api/v1/lots", json={"weight_kg": "nonsense"})
    assert answer.status_code == 401


def test_an_undeclared_method_is_a_405_with_allow(client):
    answer = client.open("/api/v1/lots", method="TRACE")
    assert answer.status_code == 405 and "GET" in answer.headers["Allow"]
