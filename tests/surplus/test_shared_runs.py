"""Shared runs: a platform's van carries for another under a transport agreement in
force, and a hub relay books two legs together or not at all."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from matching.booking import validate_route
from surplus.errors import Conflict, Invalid
from surplus.extensions import db
from surplus.models import ClaimStatus, Stop, StopKind
from surplus.services import agreements, booking, matching_adapter, runs, stops
from surplus.services.booking import WEEKDAYS


@pytest.fixture
def w(shared_world):
    return shared_world


def test_without_an_agreement_the_other_platforms_van_is_not_offered(w):
    proposal = booking.propose(db.session, w.claim)
    assert proposal.insertion is None and proposal.relay is None and proposal.reasons
    with pytest.raises(Invalid):
        booking.book(db.session, w.coordinator, w.claim)
    db.session.rollback()
    assert booking.booked_stops(db.session, w.claim) == []


def test_an_agreement_in_force_lets_the_other_platforms_van_carry(w, agree):
    agree(w)
    proposal = booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    assert proposal.run.id == w.namur_run.id
    booked = booking.booked_stops(db.session, w.claim)
    assert {s.run_id for s in booked} == {w.namur_run.id}
    assert all(s.claim.platform_id == w.platform.id and s.leg == 0 for s in booked)
    carried = agreements.monthly(db.session, w.other_platform)
    assert sum(m.for_others_kg for m in carried) == pytest.approx(30)
    assert sum(m.by_others_kg for m in agreements.monthly(db.session, w.platform)) == pytest.approx(
        30
    )


def test_an_agreement_not_yet_in_force_on_the_runs_day_does_not_count(w, agree):
    agree(w, valid_from=w.day2)
    assert booking.propose(db.session, w.claim).insertion is None


def test_a_hub_relay_books_both_legs_and_hands_over_at_the_hub(w, agree, add_run):
    agree(w)
    # The CPAS only receives on day 2; the hub's van leaves its depot on day 2.
    w.cpas_convention.opening_hours = {WEEKDAYS[w.day2.weekday()]: [["08:00", "17:00"]]}
    hub_run = add_run(w.platform, w.hub_depot, w.hub_van, w.day2)
    db.session.commit()
    proposal = booking.propose(db.session, w.claim)
    assert proposal.insertion is None and proposal.relay is not None
    assert (proposal.relay.first_run.id, proposal.relay.second_run.id) == (
        w.namur_run.id,
        hub_run.id,
    )
    booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    booked = booking.booked_stops(db.session, w.claim)
    legs = {(s.run_id, s.leg, s.kind) for s in booked}
    assert legs == {
        (w.namur_run.id, 1, StopKind.PICKUP),
        (w.namur_run.id, 1, StopKind.DROPOFF),
        (hub_run.id, 2, StopKind.PICKUP),
        (hub_run.id, 2, StopKind.DROPOFF),
    }
    hub_drop = next(s for s in booked if s.leg == 1 and s.kind == StopKind.DROPOFF)
    assert (hub_drop.lat, hub_drop.lon) == (w.hub_depot.lat, w.hub_depot.lon)
    params = matching_adapter.params(datetime.now(UTC))
    for run in (w.namur_run, hub_run):
        db.session.refresh(run)
        assert validate_route(runs.to_plan(run), [], params) == []
    # Hand-over: the second leg cannot start before the first reached the hub.
    by = {(s.leg, s.kind): s for s in booked}
    stops.confirm(db.session, w.other_coordinator, by[1, StopKind.PICKUP], 4)
    with pytest.raises(Conflict):
        stops.confirm(db.session, w.coordinator, by[2, StopKind.PICKUP], 4)
    stops.confirm(db.session, w.other_coordinator, by[1, StopKind.DROPOFF], 4, "Quai hub")
    assert w.claim.status == ClaimStatus.COLLECTED
    stops.confirm(db.session, w.coordinator, by[2, StopKind.PICKUP], 4)
    stops.confirm(db.session, w.coordinator, by[2, StopKind.DROPOFF], 5, "Mme Dupont")
    db.session.commit()
    assert w.claim.status == ClaimStatus.DELIVERED


def test_unbooking_a_relay_removes_both_legs(w, agree, add_run):
    agree(w)
    w.cpas_convention.opening_hours = {WEEKDAYS[w.day2.weekday()]: [["08:00", "17:00"]]}
    add_run(w.platform, w.hub_depot, w.hub_van, w.day2)
    db.session.commit()
    booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    assert booking.unbook(db.session, w.coordinator, w.claim) == 4
    db.session.commit()
    assert db.session.scalars(select(Stop).where(Stop.claim_id == w.claim.id)).all() == []


@pytest.mark.parametrize("missing", ["second_run", "cold_room"])
def test_no_relay_is_booked_when_a_leg_is_impossible(w, missing, agree, add_run):
    agree(w)
    w.cpas_convention.opening_hours = {WEEKDAYS[w.day2.weekday()]: [["08:00", "17:00"]]}
    if missing == "cold_room":
        w.hub_depot.cold_room = False  # a chilled lot cannot wait at a dry hub
        add_run(w.platform, w.hub_depot, w.hub_van, w.day2)
    db.session.commit()
    assert booking.propose(db.session, w.claim).relay is None
    with pytest.raises(Invalid):
        booking.book(db.session, w.coordinator, w.claim)
    db.session.rollback()
    assert db.session.scalars(select(Stop).where(Stop.claim_id == w.claim.id)).all() == []
