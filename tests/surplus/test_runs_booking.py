"""Runs and booking: templates materialise once, claims ride on existing runs, drivers
confirm with the cold chain checked, and cancelling takes the stops off again."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from matching.booking import validate_route
from surplus.errors import Conflict, Forbidden, Invalid
from surplus.extensions import db
from surplus.models import (
    ClaimStatus,
    Event,
    Run,
    RunTemplate,
    Stop,
    StopKind,
    StopStatus,
)
from surplus.services import booking, claims, matching_adapter, runs, stops
from surplus.services.lot_dates import local_today
from tests import factories


@pytest.fixture
def w(app, make_fleet):
    w = factories.world()
    for conv in (w.cpas_convention, w.asbl_convention):
        conv.opening_hours = {
            d: [["08:00", "12:00"], ["13:00", "17:00"]]
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        }
    w.depot, w.van, w.template = make_fleet(w)
    for day in range(7):  # a template per weekday so that a run exists tomorrow
        if day:
            db.session.add(
                RunTemplate(
                    platform_id=w.platform.id,
                    vehicle_id=w.van.id,
                    depot_id=w.depot.id,
                    name=f"Tournée {day}",
                    weekday=day,
                    departure="07:30",
                    max_duration_min=600,
                )
            )
    db.session.commit()
    return w


def _tomorrows_lot(w, **kw):
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, **kw)
    db.session.commit()
    return lot


def test_materialising_twice_creates_nothing_twice(w):
    first = runs.materialise(db.session, local_today())
    second = runs.materialise(db.session, local_today())
    db.session.commit()
    assert first == 14 and second == 0
    mondays = db.session.scalars(select(Run).where(Run.template_id == w.template.id)).all()
    assert len(mondays) == 2 and all(len(r.stops) == 1 for r in mondays)


def test_booking_inserts_pickup_before_drop_and_respects_the_rules(w):
    runs.materialise(db.session, local_today())
    lot = _tomorrows_lot(w)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()
    proposal = booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    ins, run = proposal.insertion, proposal.run
    assert ins.pickup_index < ins.drop_index
    kinds = [s.kind for s in run.stops]
    assert kinds.count(StopKind.PICKUP) == 1 and kinds.count(StopKind.DROPOFF) == 1
    assert [s.position for s in run.stops] == list(range(len(run.stops)))
    plan = runs.to_plan(run)
    params = matching_adapter.params(datetime.now(UTC))
    assert validate_route(plan, [], params) == []  # the stored route breaks no rule
    assert runs.timetable(run).problems == []
    with pytest.raises(Conflict):
        booking.book(db.session, w.coordinator, claim)


def test_chilled_lot_never_rides_a_van_without_refrigeration(w):
    w.van.refrigerated = False
    runs.materialise(db.session, local_today())
    lot = _tomorrows_lot(w)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()
    proposal = booking.propose(db.session, claim)
    assert proposal.insertion is None and proposal.reasons
    with pytest.raises(Invalid):
        booking.book(db.session, w.coordinator, claim)


def test_only_the_claims_platform_books(w):
    runs.materialise(db.session, local_today())
    claim, _ = claims.claim_lot(db.session, w.cpas_user, _tomorrows_lot(w).id, 30)
    with pytest.raises(Forbidden):
        booking.book(db.session, w.other_coordinator, claim)
    with pytest.raises(Forbidden):
        booking.book(db.session, w.cpas_user, claim)


def test_cancelling_removes_the_stops_and_renumbers(w):
    runs.materialise(db.session, local_today())
    claim, _ = claims.claim_lot(db.session, w.cpas_user, _tomorrows_lot(w).id, 30)
    proposal = booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    claims.cancel_claim(db.session, w.cpas_user, claim)
    db.session.commit()
    run = db.session.get(Run, proposal.run.id)
    assert all(s.claim_id is None for s in run.stops)
    assert [s.position for s in run.stops] == list(range(len(run.stops)))


def test_driver_confirms_pickup_and_delivery_and_warm_food_is_refused(w):
    runs.materialise(db.session, local_today())
    driver = factories.user(w.platform)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, _tomorrows_lot(w).id, 30)
    proposal = booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    pickup, drop = sorted(
        (s for s in proposal.run.stops if s.claim_id == claim.id), key=lambda s: s.position
    )
    with pytest.raises(Invalid):
        stops.confirm(db.session, driver, pickup)  # chilled: temperature required
    with pytest.raises(Conflict):
        stops.confirm(db.session, driver, drop, 4, "Marie")  # not picked up yet
    assert stops.confirm(db.session, driver, pickup, 3.5).ok
    assert claim.status == ClaimStatus.COLLECTED
    refused = stops.confirm(db.session, driver, drop, 9.2, "Marie")
    db.session.commit()
    assert not refused.ok and "9,2" in refused.message  # French: decimal comma
    assert drop.status == StopStatus.REJECTED and claim.status == ClaimStatus.REFUSED
    assert (
        db.session.scalar(
            select(func.count(Event.id)).where(
                Event.action == "rejected", Event.subject_id == drop.id
            )
        )
        == 1
    )
    with pytest.raises(Forbidden):
        stops.confirm(db.session, w.other_coordinator, pickup, 3)


def test_delivery_within_range_completes_the_claim(w):
    runs.materialise(db.session, local_today())
    driver = factories.user(w.platform)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, _tomorrows_lot(w).id, 30)
    proposal = booking.book(db.session, w.coordinator, claim)
    pickup, drop = sorted(
        (s for s in proposal.run.stops if s.claim_id == claim.id), key=lambda s: s.position
    )
    stops.confirm(db.session, driver, pickup, 4)
    assert stops.confirm(db.session, driver, drop, 5, "Marie Dupont").ok
    db.session.commit()
    assert claim.status == ClaimStatus.DELIVERED and drop.receiver_name == "Marie Dupont"
    trace = db.session.scalars(
        select(Event.action).where(Event.subject_type == "lot", Event.subject_id == claim.lot_id)
    ).all()
    assert "picked_up" in trace and "delivered" in trace


def test_self_collection_needs_no_run(w):
    claim, _ = claims.claim_lot(db.session, w.cpas_user, _tomorrows_lot(w).id, 30)
    booking.self_collect(db.session, w.cpas_user, claim)
    assert claim.self_collect and not booking.booked_stops(db.session, claim)
    assert db.session.scalar(select(func.count(Stop.id)).where(Stop.claim_id == claim.id)) == 0
