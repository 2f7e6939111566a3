"""Run pages and API: timetable, booking, driver confirmation, and the walls around them."""

import re

import pytest

from surplus.extensions import db
from surplus.services import booking, claims
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60)
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()
    return w


def test_coordinator_books_from_the_claim_page(w, login_as):
    client = login_as(w.coordinator)
    page = client.get(f"/claims/{w.claim.id}").get_data(as_text=True)
    assert 'id="proposal"' in page and 'id="book-proposal"' in page
    assert client.post(f"/claims/{w.claim.id}/booking").status_code == 302
    db.session.rollback()
    stops = booking.booked_stops(db.session, w.claim)
    assert [s.kind.value for s in stops] == ["pickup", "dropoff"]
    run_page = client.get(f"/runs/{stops[0].run_id}").get_data(as_text=True)
    assert run_page.count('<tr id="stop-') >= 2 and "data-map" in run_page
    assert "stop-pickup" in run_page and "stop-dropoff" in run_page
    assert login_as(w.cpas_user).get(f"/claims/{w.claim.id}").status_code == 200
    assert login_as(w.other_donor_user).get(f"/claims/{w.claim.id}").status_code == 404


def test_runs_are_walled(w, login_as, client, api_token):
    proposal = booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    run_id = proposal.run.id
    stop_id = booking.booked_stops(db.session, w.claim)[0].id
    for user in (w.other_coordinator, w.cpas_user, w.donor_user):
        browser = login_as(user)
        assert browser.get(f"/runs/{run_id}").status_code == 404
        assert browser.get(f"/runs/{run_id}/sheet").status_code == 404
        assert (
            browser.post(f"/runs/stops/{stop_id}/confirm", data={"temperature": "3"}).status_code
            == 404
        )
        headers = api_token(user)
        assert client.get(f"/api/v1/runs/{run_id}", headers=headers).status_code == 404
        assert (
            client.post(
                f"/api/v1/stops/{stop_id}/confirm", json={"temperature": 3}, headers=headers
            ).status_code
            == 404
        )
    assert login_as(w.driver).post(f"/runs/stops/{stop_id}/remove").status_code == 403


def test_api_booking_run_detail_and_confirmation(w, client, api_token):
    coordinator, driver = api_token(w.coordinator), api_token(w.driver)
    booked = client.post(f"/api/v1/claims/{w.claim.id}/booking", json={}, headers=coordinator)
    assert booked.status_code == 201, booked.get_json()
    body = booked.get_json()
    assert body["run_id"] and body["pickup_eta"] < body["drop_eta"]
    detail = client.get(f"/api/v1/runs/{body['run_id']}", headers=driver).get_json()
    kinds = [s["kind"] for s in detail["stops"]]
    assert kinds.index("pickup") < kinds.index("dropoff") and detail["km"] > 0
    assert all(s["planned_at"] for s in detail["stops"])
    pickup = next(s for s in detail["stops"] if s["kind"] == "pickup")
    drop = next(s for s in detail["stops"] if s["kind"] == "dropoff")
    missing = client.post(f"/api/v1/stops/{pickup['id']}/confirm", json={}, headers=driver)
    assert missing.status_code == 400 and "temperature" in missing.get_json()["fields"]
    ok = client.post(
        f"/api/v1/stops/{pickup['id']}/confirm", json={"temperature": 4}, headers=driver
    )
    assert ok.status_code == 200 and ok.get_json()["status"] == "done"
    warm = client.post(
        f"/api/v1/stops/{drop['id']}/confirm",
        json={"temperature": 8.5, "receiver": "Marie"},
        headers=driver,
    )
    assert warm.status_code == 409 and "8,5" in warm.get_json()["error"]
    listed = client.get("/api/v1/runs", headers=driver).get_json()
    assert body["run_id"] in [r["id"] for r in listed]
    again = client.post(
        f"/api/v1/claims/{w.claim.id}/booking", json={"run_id": "x"}, headers=coordinator
    )
    assert again.status_code == 400


def test_driver_sheet_refuses_warm_food_with_htmx(w, login_as):
    proposal = booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    pickup, drop = booking.booked_stops(db.session, w.claim)
    driver = login_as(w.driver)
    sheet = driver.get(f"/runs/{proposal.run.id}/sheet").get_data(as_text=True)
    assert re.findall(r'id="stop-(\d+)"', sheet) == [str(s.id) for s in proposal.run.stops]
    assert (
        driver.post(
            f"/runs/stops/{pickup.id}/confirm", data={"temperature": "4"}, headers=HX
        ).status_code
        == 200
    )
    refused = driver.post(
        f"/runs/stops/{drop.id}/confirm",
        data={"temperature": "12", "receiver": "Marie"},
        headers=HX,
    )
    assert refused.status_code == 422 and "flash-error" in refused.get_data(as_text=True)
    printable = driver.get(f"/runs/{proposal.run.id}/sheet?print=1").get_data(as_text=True)
    assert "print.css" in printable
    # The printed sheet keeps what was recorded: both readings, and the refusal.
    assert "<td>4</td>" in printable and "<td>12</td>" in printable
    assert 'class="error"' in printable
