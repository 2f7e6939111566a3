"""Issue 13's check, through the API only: lots are posted, claimed, delivered and
withdrawn; the summary, the FSE+ register and the donation documents then give the same
kilograms as the claims themselves, each to the organisations entitled to them."""

from datetime import datetime, timedelta

import pytest

from surplus.extensions import db
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories


def _lot(**overrides):
    start = datetime.now(BRUSSELS) + timedelta(minutes=30)
    body = {
        "title": "Pâtes",
        "category": "dry_goods",
        "weight_kg": 100,
        "units": 200,
        "date_kind": "best_before",
        "date": (local_today() + timedelta(days=40)).isoformat(),
        "storage": "ambient",
        "divisible": True,
        "min_part_kg": 1,
        "pickup_from": start.isoformat(),
        "pickup_until": (start + timedelta(hours=40)).isoformat(),
        "postcode": "6800",
        "locality": "Recogne",
    }
    body.update(overrides)
    return body


@pytest.fixture
def done(daily_rounds, client, api_token):
    """Three lots through the API: A (donor, 100 kg) 30 kg delivered to the CPAS; B
    (donor, 50 kg) 10 kg claimed by the association, then withdrawn; C (the platform's
    FSE+ stock, 40 kg) 20 kg delivered to the CPAS, which holds an FSE+ approval."""
    w = daily_rounds
    db.session.commit()
    donor, cpas, asbl = api_token(w.donor_user), api_token(w.cpas_user), api_token(w.asbl_user)
    coordinator, driver = api_token(w.coordinator), api_token(w.driver)

    def post(headers, body):
        answer = client.post("/api/v1/lots", json=body, headers=headers)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["id"]

    def claim(headers, lot_id, kg):
        answer = client.post(f"/api/v1/lots/{lot_id}/claims", json={"kg": kg}, headers=headers)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["id"]

    def deliver(claim_id):
        booked = client.post(f"/api/v1/claims/{claim_id}/booking", json={}, headers=coordinator)
        assert booked.status_code == 201, booked.get_json()
        run = client.get(f"/api/v1/runs/{booked.get_json()['run_id']}", headers=driver).get_json()
        stops = [s for s in run["stops"] if s["claim_id"] == claim_id]
        for stop in sorted(stops, key=lambda s: s["position"]):
            body = {"receiver": "Marie"} if stop["kind"] == "dropoff" else {}
            answer = client.post(f"/api/v1/stops/{stop['id']}/confirm", json=body, headers=driver)
            assert answer.status_code == 200, answer.get_json()

    a = post(donor, _lot())
    b = post(donor, _lot(title="Riz", weight_kg=50, units=None))
    c = post(coordinator, _lot(title="Lait UHT FSE+", weight_kg=40, units=40, fse_plus=True))
    w.claim_a = claim(cpas, a, 30)
    claim(asbl, b, 10)
    w.claim_c = claim(cpas, c, 20)
    deliver(w.claim_a)
    deliver(w.claim_c)
    withdrawn = client.post(f"/api/v1/lots/{b}/withdraw", json={"reason": "Abîmé"}, headers=donor)
    assert withdrawn.status_code == 200, withdrawn.get_json()
    w.lots = (a, b, c)
    w.today = local_today().isoformat()
    return w


def _summary(client, headers, today):
    answer = client.get(f"/api/v1/reports/summary?from={today}&to={today}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_the_summary_equals_the_claims_for_each_reader(done, client, api_token):
    w = done
    claims = {
        c["id"]: c for c in client.get("/api/v1/claims", headers=api_token(w.cpas_user)).get_json()
    }
    assert {claims[w.claim_a]["status"], claims[w.claim_c]["status"]} == {"delivered"}
    platform = _summary(client, api_token(w.coordinator), w.today)
    assert platform["kg_posted"] == 190
    assert platform["kg_claimed"] == 50  # B's claim was withdrawn with its lot
    assert platform["kg_delivered"] == 50
    assert platform["kg_withdrawn"] == 50  # B: 40 kg left on it and the 10 kg claimed
    assert platform["kg_expired"] == 0
    assert platform["match_rate"] == pytest.approx(50 / 190, abs=1e-3)
    assert platform["median_minutes_to_first_claim"] is not None
    assert platform["median_minutes_to_booking"] is not None
    months = {row["month"]: row for row in platform["by_month"]}
    assert months[w.today[:7]]["kg_delivered"] == 50
    people = {row["organisation_id"]: row for row in platform["by_beneficiary"]}
    assert people[w.cpas.id]["kg_delivered"] == 50
    assert people.get(w.asbl.id, {"kg_delivered": 0})["kg_delivered"] == 0

    donor = _summary(client, api_token(w.donor_user), w.today)
    assert (donor["kg_posted"], donor["kg_claimed"], donor["kg_delivered"]) == (150, 30, 30)
    assert donor["kg_withdrawn"] == 50
    cpas = _summary(client, api_token(w.cpas_user), w.today)
    assert (cpas["kg_claimed"], cpas["kg_delivered"]) == (50, 50)
    assert [row["organisation_id"] for row in cpas["by_beneficiary"]] == [w.cpas.id]
    stranger = _summary(client, api_token(w.other_coordinator), w.today)
    assert stranger["kg_posted"] == 0 and stranger["kg_delivered"] == 0


def test_the_fse_register_holds_the_fse_delivery(done, client, api_token):
    w = done
    url = f"/api/v1/fse-register?from={w.today}&to={w.today}"
    rows = client.get(url, headers=api_token(w.coordinator)).get_json()
    assert [(r["organisation_id"], r["product"], r["kg"], r["units"]) for r in rows] == [
        (w.cpas.id, "Lait UHT FSE+", 20, 20)
    ]
    assert rows[0]["received_on"] == w.today
    assert client.get(url, headers=api_token(w.cpas_user)).get_json() == rows
    assert client.get(url, headers=api_token(w.asbl_user)).get_json() == []
    assert client.get(url, headers=api_token(w.other_coordinator)).get_json() == []
    assert client.get(url, headers=api_token(w.donor_user)).status_code == 403


def test_the_donation_documents_hold_what_left_the_donor(done, client, api_token):
    w = done
    month = w.today[:7]
    documents = client.get(
        f"/api/v1/donations?month={month}", headers=api_token(w.donor_user)
    ).get_json()
    assert [(d["claim_id"], d["kg"]) for d in documents] == [(w.claim_a, 30)]
    assert documents[0]["recipient"]["id"] == w.cpas.id
    assert [line["kg"] for line in documents[0]["lines"]] == [30]
    platform = client.get(
        f"/api/v1/donations?month={month}", headers=api_token(w.coordinator)
    ).get_json()
    assert [(d["claim_id"], d["kg"]) for d in platform] == [(w.claim_c, 20)]
    other = client.get(f"/api/v1/donations?month={month}", headers=api_token(w.other_donor_user))
    assert other.status_code == 200 and other.get_json() == []
    assert (
        client.get(f"/api/v1/donations?month={month}", headers=api_token(w.cpas_user)).status_code
        == 403
    )


def test_a_social_grocery_never_receives_fse_through_the_api(done, client, api_token):
    w = done
    db.session.rollback()  # the requests above wrote: read afresh before writing
    grocery = factories.org("association", name="Épicerie sociale", mode="social_grocery")
    factories.convention(w.platform, grocery, fse=True)
    person = factories.user(grocery)
    db.session.commit()
    headers = api_token(person)
    fse_lot = w.lots[2]
    listed = client.get("/api/v1/lots?fse_only=true", headers=headers).get_json()
    assert fse_lot not in [item["id"] for item in listed["items"]]
    refused = client.post(f"/api/v1/lots/{fse_lot}/claims", json={"kg": 5}, headers=headers)
    assert refused.status_code == 403
    assert "FSE+" in refused.get_json()["error"]
