"""Nobody at a drop-off, through the driver's sheet and the API, then the food received
back at the platform's depot page; the walls around both."""

import pytest

from surplus.extensions import db
from surplus.models import Claim, ClaimStatus, Stop, StopStatus
from surplus.services import booking, claims, stops
from surplus.services.depots import receipts
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, category="dairy")
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    w.run = booking.book(db.session, w.coordinator, w.claim).run
    w.pickup, w.drop = booking.booked_stops(db.session, w.claim)
    assert stops.confirm(db.session, w.driver, w.pickup, 3).ok
    db.session.commit()
    return w


def _status(stop_id: int) -> tuple[StopStatus, ClaimStatus]:
    db.session.rollback()
    stop = db.session.get(Stop, stop_id)
    return stop.status, db.session.get(Claim, stop.claim_id).status


def test_the_driver_records_nobody_there_on_the_sheet(w, login_as):
    driver = login_as(w.driver)
    sheet = driver.get(f"/runs/{w.run.id}/sheet").get_data(as_text=True)
    assert f'action="/runs/stops/{w.drop.id}/nobody-there"' in sheet
    assert f'action="/runs/stops/{w.pickup.id}/nobody-there"' not in sheet
    card = driver.post(
        f"/runs/stops/{w.drop.id}/nobody-there", data={"note": "Porte fermée"}, headers=HX
    )
    page = card.get_data(as_text=True)
    assert card.status_code == 200 and "Personne sur place" in page and "Porte fermée" in page
    assert "nobody-there" not in page  # nothing left to record on this stop
    assert _status(w.drop.id) == (StopStatus.MISSED, ClaimStatus.RETURNED)
    again = driver.post(f"/runs/stops/{w.drop.id}/nobody-there", data={}, headers=HX)
    assert again.status_code == 422 and "flash-error" in again.get_data(as_text=True)


def test_a_note_too_long_comes_back_with_what_was_typed(w, login_as):
    driver = login_as(w.driver)
    typed = "Sonné deux fois " + "x" * 1000
    card = driver.post(f"/runs/stops/{w.drop.id}/nobody-there", data={"note": typed}, headers=HX)
    page = card.get_data(as_text=True)
    assert card.status_code == 422 and typed in page and 'aria-invalid="true"' in page
    assert _status(w.drop.id) == (StopStatus.PLANNED, ClaimStatus.COLLECTED)


def test_the_api_records_it_once_and_only_for_the_runs_platform(w, client, api_token):
    url = f"/api/v1/stops/{w.drop.id}/nobody-there"
    for other, status in ((w.other_coordinator, 404), (w.cpas_user, 404), (w.donor_user, 404)):
        answer = client.post(url, json={}, headers=api_token(other))
        assert answer.status_code == status and answer.get_json()["error"]
    too_long = client.post(url, json={"note": "x" * 1001}, headers=api_token(w.driver))
    assert too_long.status_code == 400 and "note" in too_long.get_json()["fields"]
    assert _status(w.drop.id) == (StopStatus.PLANNED, ClaimStatus.COLLECTED)
    answer = client.post(url, json={"note": "Fermé"}, headers=api_token(w.driver))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "missed"
    again = client.post(url, json={}, headers=api_token(w.driver))
    assert again.status_code == 409 and again.get_json()["error"]
    pickup = client.post(
        f"/api/v1/stops/{w.pickup.id}/nobody-there", json={}, headers=api_token(w.driver)
    )
    assert pickup.status_code == 409


def test_the_depot_receives_what_came_back(w, login_as):
    stops.nobody_there(db.session, w.driver, w.drop)
    db.session.commit()
    coordinator = login_as(w.coordinator)
    page = coordinator.get(f"/depots/{w.depot.id}/receive").get_data(as_text=True)
    assert f'id="claim-{w.claim.id}"' in page and w.cpas.name in page
    answer = coordinator.post(
        f"/depots/{w.depot.id}/receive",
        data={"claim_id": str(w.claim.id), "temperature": "4", "packaging_ok": "y",
              "labels_ok": "y"},
    )  # fmt: skip
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/stock/")
    page = coordinator.get(f"/depots/{w.depot.id}/receive").get_data(as_text=True)
    assert f'id="claim-{w.claim.id}"' not in page


def test_the_lots_trace_says_where_the_food_went(w, login_as):
    stops.nobody_there(db.session, w.driver, w.drop, "Porte fermée")
    db.session.commit()
    got = receipts.receive_claim(db.session, w.coordinator, w.depot, w.claim.id, {"temperature": 4})
    db.session.commit()
    donor = login_as(w.donor_user)
    for path in ("", ".csv", ".pdf"):
        answer = donor.get(f"/lots/{w.claim.lot_id}/trace{path}")
        assert answer.status_code == 200, path
    page = donor.get(f"/lots/{w.claim.lot_id}/trace").get_data(as_text=True)
    assert "Non livré : personne sur place" in page and w.depot.name in page
    assert got.receipt.accepted
