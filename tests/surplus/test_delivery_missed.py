"""Nobody at a drop-off (services.stops.nobody_there): the stop ends missed and the claim
returned; the kilograms are neither delivered nor given back to the lot; the beneficiary
and the coordinators are told; the food is then received at a depot of the platform
whose van brought it back, once, and only there."""

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from surplus.errors import Conflict, Forbidden, NotFound
from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Depot,
    Event,
    Lot,
    Notification,
    NotificationKind,
    StockItem,
    Stop,
    StopStatus,
    utcnow,
)
from surplus.services import booking, claims, matching_adapter, stops, trace
from surplus.services.depots import receipts, stock
from surplus.services.lot_dates import BRUSSELS
from surplus.services.notifications.text import text
from tests import factories


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    w.lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, category="dairy")
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, w.lot.id, 30)
    booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    w.pickup, w.drop = booking.booked_stops(db.session, w.claim)
    return w


@pytest.fixture
def missed(w):
    assert stops.confirm(db.session, w.driver, w.pickup, 3).ok
    stops.nobody_there(db.session, w.driver, w.drop, "Porte fermée, appelé à 10:40")
    db.session.commit()
    return w


def _actions(subject_type: str, subject_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(Event.action).where(
                Event.subject_type == subject_type, Event.subject_id == subject_id
            )
        )
    )


def test_the_stop_ends_missed_and_the_claim_returned(missed):
    w = missed
    remaining = w.lot.remaining_g
    db.session.expire_all()
    drop, claim = db.session.get(Stop, w.drop.id), db.session.get(Claim, w.claim.id)
    assert drop.status == StopStatus.MISSED and drop.confirmed_at is not None
    assert drop.confirmed_by_id == w.driver.id and drop.note.startswith("Porte fermée")
    assert claim.status == ClaimStatus.RETURNED
    # Not delivered, and not back at the donor's: the lot's kilograms stay taken.
    assert db.session.get(Lot, w.lot.id).remaining_g == remaining
    assert w.cpas.id not in matching_adapter.received_kg(db.session, [w.cpas.id], utcnow())
    assert "missed" in _actions("stop", w.drop.id)
    assert "returned" in _actions("claim", w.claim.id)
    assert "delivery_missed" in _actions("lot", w.lot.id)
    assert stops.returned_to(db.session, claim) == w.platform.id
    with pytest.raises(Conflict):
        claims.cancel_claim(db.session, w.cpas_user, claim)


def test_the_beneficiary_and_the_coordinator_are_told_what_how_much_and_when(missed, app):
    w = missed
    notes = db.session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.DELIVERY_MISSED)
    ).all()
    told = {n.user_id for n in notes}
    assert {w.cpas_user.id, w.coordinator.id} <= told
    assert w.asbl_user.id not in told and w.donor_user.id not in told
    mine = next(n for n in notes if n.user_id == w.cpas_user.id)
    day = db.session.get(Stop, w.drop.id).confirmed_at.astimezone(BRUSSELS).day
    lines = {}
    for language in ("fr", "en", "nl"):
        with app.test_request_context(), force_locale(language):
            lines[language] = text(mine).replace("\u202f", " ")
            assert "30 kg" in lines[language] and w.lot.title in lines[language]
            assert w.platform.name in lines[language] and "10:40" in lines[language]
            assert f" {day} " in lines[language]  # when: the day of the visit
    assert len(set(lines.values())) == 3  # each in its language
    assert lines["fr"].startswith("Personne n’était sur place")


def test_only_a_planned_delivery_after_its_pickup_can_be_missed(w):
    with pytest.raises(Conflict):  # a pickup
        stops.nobody_there(db.session, w.driver, w.pickup)
    with pytest.raises(Conflict):  # the food was never picked up
        stops.nobody_there(db.session, w.driver, w.drop)
    db.session.rollback()
    assert stops.confirm(db.session, w.driver, w.pickup, 3).ok
    stops.nobody_there(db.session, w.driver, w.drop)
    db.session.commit()
    with pytest.raises(Conflict):  # recorded once
        stops.nobody_there(db.session, w.driver, w.drop)
    with pytest.raises(Conflict):  # and then not delivered either
        stops.confirm(db.session, w.driver, w.drop, 3, "Marie")


def test_another_organisation_cannot_record_it(w):
    assert stops.confirm(db.session, w.driver, w.pickup, 3).ok
    db.session.commit()
    for user in (w.other_coordinator, w.cpas_user, w.donor_user):
        with pytest.raises(Forbidden):
            stops.nobody_there(db.session, user, w.drop)
    db.session.rollback()
    assert db.session.get(Stop, w.drop.id).status == StopStatus.PLANNED


def test_the_platform_receives_the_food_at_its_depot_once(missed):
    w = missed
    assert [c.id for c in receipts.returned_here(db.session, w.depot)] == [w.claim.id]
    got = receipts.receive_claim(
        db.session, w.coordinator, w.depot, w.claim.id, {"temperature": 4.0}
    )
    db.session.commit()
    assert got.receipt.accepted and got.item is not None
    item = db.session.get(StockItem, got.item.id)
    assert item.grams == 30_000 and item.product == w.lot.title
    assert item.zone.storage == w.lot.storage
    db.session.expire_all()
    assert db.session.get(Claim, w.claim.id).status == ClaimStatus.RETURNED  # not delivered
    assert receipts.returned_here(db.session, w.depot) == []
    with pytest.raises(Conflict):
        receipts.receive_claim(db.session, w.coordinator, w.depot, w.claim.id, {"temperature": 4})
    db.session.rollback()
    # Where the kilograms went: the lot's trace follows them to the depot and onward.
    again = stock.offer(db.session, w.coordinator, db.session.get(StockItem, item.id), {})
    db.session.commit()
    (returned,) = trace.lot_trace(db.session, w.lot).recipients
    assert returned.status == "returned" and returned.kg_delivered == 0
    assert returned.receipt.id == got.receipt.id and returned.depot.id == w.depot.id
    assert [o.lot.id for o in returned.onward] == [again.id]


def test_too_warm_back_at_the_depot_it_ends_refused(missed):
    w = missed
    got = receipts.receive_claim(db.session, w.coordinator, w.depot, w.claim.id, {"temperature": 9})
    db.session.commit()
    assert not got.receipt.accepted and got.item is None and got.reason == "too_warm"
    assert db.session.get(Claim, w.claim.id).status == ClaimStatus.REFUSED


def test_another_platforms_depot_cannot_receive_it(missed):
    w = missed
    depot = Depot(
        platform_id=w.other_platform.id,
        name="Dépôt Namur",
        postcode="5000",
        locality="Namur",
        lat=50.46,
        lon=4.87,
        cold_room=True,
    )
    db.session.add(depot)
    db.session.flush()
    factories.zones(depot)
    db.session.commit()
    assert receipts.returned_here(db.session, depot) == []
    with pytest.raises(NotFound):
        receipts.receive_claim(
            db.session, w.other_coordinator, depot, w.claim.id, {"temperature": 4.0}
        )
    # A claim that was not returned is no depot's to receive.
    other = factories.lot(w.donor, kg=10, days=5, hours_open=60, category="dairy")
    claim, _ = claims.claim_lot(db.session, w.asbl_user, other.id, 10)
    db.session.commit()
    with pytest.raises(NotFound):
        receipts.receive_claim(db.session, w.coordinator, w.depot, claim.id, {"temperature": 4})
