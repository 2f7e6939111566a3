"""A missed drop-off is recorded once, and its food received back once, however many
taps arrive at the same moment (threads released together by a barrier, each with its
own application context and session, on SQLite and on PostgreSQL). Every loser gets a
Conflict (409), nobody a server error."""

import pytest
from sqlalchemy import func, select

from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Depot,
    Event,
    Notification,
    NotificationKind,
    StockItem,
    StockReceipt,
    Stop,
    StopStatus,
)
from surplus.services import booking, claims, stops
from surplus.services.depots import receipts
from tests import factories
from tests.races import race

THREADS = 8


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, category="dairy")
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    booking.book(db.session, w.coordinator, w.claim)
    w.pickup, w.drop = booking.booked_stops(db.session, w.claim)
    assert stops.confirm(db.session, w.driver, w.pickup, 3).ok
    db.session.commit()
    return w


def _race(app, user_id: int, act) -> list[str]:
    """``act(session, actor)`` in THREADS threads at once: "won" or "lost" for each."""
    return race(app, [user_id] * THREADS, lambda session, actor, _i: act(session, actor))


def _count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(where[0]).where(*where[1:]))


def test_nobody_there_tapped_at_once_is_recorded_once(app, w):
    drop_id = w.drop.id

    def act(session, actor):
        stops.nobody_there(session, actor, session.get(Stop, drop_id), "Fermé")

    outcomes = _race(app, w.driver.id, act)
    assert sorted(outcomes) == ["lost"] * (THREADS - 1) + ["won"]
    assert db.session.get(Stop, drop_id).status == StopStatus.MISSED
    assert db.session.get(Claim, w.claim.id).status == ClaimStatus.RETURNED
    assert _count(Event, Event.subject_type == "stop", Event.action == "missed") == 1
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == NotificationKind.DELIVERY_MISSED)
    ).all()
    assert len(told) == len(set(told)) > 0  # each person told once


def test_the_food_brought_back_is_received_once(app, w):
    stops.nobody_there(db.session, w.driver, w.drop)
    db.session.commit()
    claim_id, depot_id = w.claim.id, w.depot.id

    def act(session, actor):
        depot = session.get(Depot, depot_id)
        receipts.receive_claim(session, actor, depot, claim_id, {"temperature": 4.0})

    outcomes = _race(app, w.coordinator.id, act)
    assert sorted(outcomes) == ["lost"] * (THREADS - 1) + ["won"]
    assert _count(StockReceipt, StockReceipt.claim_id == claim_id) == 1
    assert db.session.scalar(select(func.sum(StockItem.grams))) == 30_000
