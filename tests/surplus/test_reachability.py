"""Reach (services/reachability.py): the organisations a lot's transport can reach,
directly or through a hub relay, by the rule booking applies (services/relay.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from matching import reach as matching_reach
from surplus.extensions import db
from surplus.models import RunStatus
from surplus.services import allocation, booking, claims, reachability, relay, runs
from surplus.services.booking import WEEKDAYS
from surplus.services.lot_dates import local_today
from tests import factories


@pytest.fixture
def w(shared_world, agree, add_run, app):
    """``shared_world`` where Namur's platform carries for the hub's (its day-1 run, the
    only one to pass by the donor in its pickup window) and the CPAS and the association
    receive on day 2 only: no single run reaches them. The hub's van leaves its depot on
    day 2 (``w.hub_run``). Any detour is accepted unless a test says otherwise."""
    w = shared_world
    agree(w)
    for conv in (w.cpas_convention, w.asbl_convention):
        conv.opening_hours = {WEEKDAYS[w.day2.weekday()]: [["08:00", "17:00"]]}
    w.hub_run = add_run(w.platform, w.hub_depot, w.hub_van, w.day2)
    db.session.commit()
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 10_000.0
    app.config["PLACEMENT_DETOUR_KM_PER_KG"] = 0.0
    return w


def _reach(w) -> set[int]:
    now = datetime.now(UTC)
    network = allocation._network(db.session, w.platform, now)
    return set(reachability.reach(db.session, w.platform.id, [w.lot], network, now)[w.lot.id])


def test_a_relay_reaches_the_organisations_no_single_run_does(w):
    assert booking.propose(db.session, w.claim).insertion is None, "no single run fits"
    assert booking.propose(db.session, w.claim).relay is not None, "booking relays it"

    assert _reach(w) == {w.cpas.id, w.asbl.id}


@pytest.mark.parametrize("missing", ["second_run", "cold_room"])
def test_no_relay_reaches_when_booking_could_not_carry_one(w, missing):
    if missing == "second_run":
        db.session.delete(w.hub_run)
    else:
        w.hub_depot.cold_room = False  # a chilled lot cannot wait at a dry hub
    db.session.commit()
    assert booking.propose(db.session, w.claim).relay is None

    assert _reach(w) == set()


def test_an_ambient_lot_may_wait_at_a_hub_without_a_cold_room(w):
    w.hub_depot.cold_room = False
    w.lot.storage = w.lot.storage.AMBIENT
    db.session.commit()
    assert booking.propose(db.session, w.claim).relay is not None

    assert w.cpas.id in _reach(w)


def test_both_legs_count_in_the_detour_budget(w, app):
    """The relay is within the budget when the km booking's relay adds (both legs) are."""
    km = booking.propose(db.session, w.claim).relay.added_km
    assert km > 2, "the donor is off the Namur van's empty round"
    app.config["PLACEMENT_DETOUR_MIN_KM"] = km - 1
    assert w.cpas.id not in _reach(w)
    app.config["PLACEMENT_DETOUR_MIN_KM"] = km + 1
    assert w.cpas.id in _reach(w)


def test_leg_one_is_asked_once_per_lot_and_hub_and_leg_two_once_per_run(w, monkeypatch):
    """Two organisations wait for the relay: the donor → hub leg is asked of the planner
    once (it does not depend on them), the hub → organisation legs once, together."""
    firsts, seconds = [], []
    real_insert, real_fits = reachability.insert, matching_reach.fits_alone
    monkeypatch.setattr(
        reachability,
        "insert",
        lambda plans, ship, p: firsts.append(ship) or real_insert(plans, ship, p),
    )
    monkeypatch.setattr(
        reachability,
        "fits_alone",
        lambda plan, ships, p: seconds.append((plan.id, len(ships))) or real_fits(plan, ships, p),
    )

    assert _reach(w) == {w.cpas.id, w.asbl.id}

    assert [(s.drop_lat, s.drop_lon) for s in firsts] == [(w.hub_depot.lat, w.hub_depot.lon)]
    assert seconds == [(w.hub_run.id, 2)]


def test_pairs_a_single_run_reaches_ask_nothing_of_relays(w, monkeypatch):
    asked = []
    monkeypatch.setattr(relay, "lot_first_leg", lambda *a: asked.append(a))
    for conv in (w.cpas_convention, w.asbl_convention):
        conv.opening_hours = {WEEKDAYS[w.day1.weekday()]: [["08:00", "17:00"]]}
    db.session.commit()
    assert booking.propose(db.session, w.claim).insertion is not None, "the day-1 run fits"

    assert _reach(w) == {w.cpas.id, w.asbl.id}
    assert asked == []


def test_a_pair_given_back_is_not_reached_through_a_relay_either(w, monkeypatch):
    monkeypatch.setattr(reachability, "given_back", lambda session, ids: {(w.lot.id, w.cpas.id)})

    assert _reach(w) == {w.asbl.id}


def test_a_run_view_plans_as_the_run_itself(daily_rounds, add_run):
    """Reach reads the planned runs as plain values (runs.planned_views): the same runs,
    in the same order, each planned exactly as booking plans the run object."""
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=6)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 12)
    db.session.commit()
    assert booking.book(db.session, None, claim) is not None  # a run with booked stops
    cancelled = add_run(w.platform, w.depot, w.van, local_today() + timedelta(days=1))
    cancelled.status = RunStatus.CANCELLED
    db.session.commit()
    since, until = datetime.now(UTC), datetime.now(UTC) + timedelta(days=8)
    found = runs.planned_runs(db.session, [w.platform.id], since, until)
    views = runs.planned_views(db.session, [w.platform.id], since, until)
    assert len(found) >= 6 and any(len(r.stops) > 1 for r in found)
    assert [v.id for v in views] == [r.id for r in found]
    assert cancelled.id not in [v.id for v in views]
    assert [runs.to_plan(v) for v in views] == [runs.to_plan(r) for r in found]
    assert [(v.platform_id, v.depot_id, v.start_at) for v in views] == [
        (r.platform_id, r.depot_id, r.start_at) for r in found
    ]
    assert runs.planned_views(db.session, [w.other_platform.id], since, until) == []


def _as_booking_reads(w, since, until):
    return [
        (r.id, r.start_at, runs.to_plan(r))
        for r in runs.planned_runs(db.session, [w.platform.id], since, until)
    ]


def _as_reach_reads(w, since, until):
    return [
        (v.id, v.start_at, runs.to_plan(v))
        for v in runs.planned_views(db.session, [w.platform.id], since, until)
    ]


def test_the_kept_run_views_follow_every_write_and_the_clock(daily_rounds):
    """Each process keeps the planned runs reach reads while no run, stop, van or depot
    is written (counter ``runs``): what it answers is what the database says after each
    kind of write, in the writing transaction too, and for a later moment."""
    w = daily_rounds
    db.session.commit()
    since, until = datetime.now(UTC), datetime.now(UTC) + timedelta(days=8)
    first = runs.planned_views(db.session, [w.platform.id], since, until)
    again = runs.planned_views(db.session, [w.platform.id], since, until)
    assert again and all(a is b for a, b in zip(first, again, strict=True)), "kept"

    lot = factories.lot(w.donor, kg=40, days=6)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 12)
    db.session.commit()
    assert runs.planned_views(db.session, [w.platform.id], since, until)[0] is first[0], (
        "a lot and a claim are not what runs are read from"
    )
    assert booking.book(db.session, None, claim) is not None  # flushed, not committed
    assert _as_reach_reads(w, since, until) == _as_booking_reads(w, since, until)
    assert any(len(plan.stops) > 0 for _id, _at, plan in _as_reach_reads(w, since, until))
    db.session.commit()
    assert _as_reach_reads(w, since, until) == _as_booking_reads(w, since, until)

    w.van.capacity_kg = 321.0
    db.session.commit()
    assert _as_reach_reads(w, since, until) == _as_booking_reads(w, since, until)
    views = runs.planned_views(db.session, [w.platform.id], since, until)
    assert {v.vehicle.capacity_kg for v in views} == {321.0}

    gone = runs.planned_runs(db.session, [w.platform.id], since, until)[0]
    gone.status = RunStatus.CANCELLED
    db.session.commit()
    views = runs.planned_views(db.session, [w.platform.id], since, until)
    assert gone.id not in [v.id for v in views]

    later = since + timedelta(days=2)
    assert _as_reach_reads(w, later, until) == _as_booking_reads(w, later, until)
    assert _as_reach_reads(w, since, until) == _as_booking_reads(w, since, until)


def test_the_least_detours_are_of_the_same_pairs(w):
    """The pairs are the same whether reach looks for each one's least detour or not
    (here through a relay: both legs' km are counted, none is free)."""
    now = datetime.now(UTC)
    network = allocation._network(db.session, w.platform, now)
    found = reachability.reach(db.session, w.platform.id, [w.lot], network, now, least=True)
    found = found[w.lot.id]
    assert set(found) == _reach(w) == {w.cpas.id, w.asbl.id}
    assert all(km > 0 for km in found.values())
