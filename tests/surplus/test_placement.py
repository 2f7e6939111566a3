"""Continuous placement: the scheduler places new lots with the matcher and books every
claim of the network onto an existing run; it writes nothing when nothing is new."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import delete, event, func, select

import matching
from matching.distance import great_circle_km
from surplus import clock, jobs
from surplus.extensions import db
from surplus.models import (
    AllocationBatch,
    BatchStatus,
    Claim,
    ClaimStatus,
    Event,
    JobOutcome,
    LotOffer,
    Notification,
    NotificationKind,
    Run,
    Stop,
    StopKind,
)
from surplus.services import booking, claims, job_runs, placement, runs, waves
from surplus.services.booking import WEEKDAYS
from surplus.services.lot_dates import local_today
from surplus.services.notifications import text
from tests import factories


def _claims(lot) -> list[Claim]:
    return list(
        db.session.scalars(
            select(Claim).where(Claim.lot_id == lot.id, Claim.status == ClaimStatus.ACTIVE)
        )
    )


def _stops(claim) -> list[Stop]:
    return list(db.session.scalars(select(Stop).where(Stop.claim_id == claim.id)))


def _batches() -> int:
    return db.session.scalar(select(func.count()).select_from(AllocationBatch))


@pytest.fixture(autouse=True)
def _moving_clock():
    """Time stands still but for the scheduler: each placement happens 15 minutes after
    the one before (what is done in between happens at the time of the next one)."""
    clock.set_time(datetime.now(UTC))
    yield
    clock.set_time(None)


@pytest.fixture(autouse=True)
def _any_detour(app):
    """The test region's rounds have no stops: every pickup and drop-off is a detour from
    the depot. These tests are about placement's steps, so any detour is accepted here;
    ``test_only_organisations_a_run_reaches_are_given_the_lot`` tests the budget."""
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 10_000.0


def _place(**kw) -> dict[str, int]:
    counts = placement.run(db.session, clock.now(), **kw)
    db.session.commit()
    clock.set_time(clock.now() + timedelta(minutes=15))
    return counts


def _notices(kind, claim) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(
                Notification.kind == kind, Notification.subject_id == claim.id
            )
        )
    )


def test_a_posted_lot_is_claimed_and_booked_on_a_run_and_the_beneficiary_is_told(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts")
    db.session.commit()

    counts = _place()

    placed = _claims(lot)
    assert placed and sum(c.grams for c in placed) == 40_000, "the matcher placed it all"
    assert {c.platform_id for c in placed} == {w.platform.id}
    n = len(placed)
    assert counts == {
        "platforms": 1,
        "claimed": n,
        "skipped": 0,
        "booked": n,
        "unbooked": 0,
        "given_back": 0,
    }
    batch = db.session.scalars(select(AllocationBatch)).one()
    assert batch.unattended and batch.created_by_id is None
    assert batch.status == BatchStatus.CONFIRMED and batch.summary["booked"] == n
    for claim in placed:
        stops = _stops(claim)
        assert sorted(s.kind for s in stops) == sorted([StopKind.PICKUP, StopKind.DROPOFF])
        run = db.session.get(Run, stops[0].run_id)
        assert run.platform_id == w.platform.id and runs.timetable(run).problems == []
    booked = db.session.scalars(
        select(Event).where(Event.subject_type == "claim", Event.action == "booked")
    ).all()
    assert {e.subject_id for e in booked} == {c.id for c in placed}
    assert all(e.actor_id is None for e in booked), "the scheduler booked them"

    claim = placed[0]
    person = {w.cpas.id: w.cpas_user, w.asbl.id: w.asbl_user}[claim.beneficiary_id]
    stops = _stops(claim)
    [allocated] = _notices(NotificationKind.CLAIM_ALLOCATED, claim)
    assert allocated.user_id == person.id
    with force_locale("fr"):
        body = text.text(allocated)
    assert f"{claim.kg:g} kg" in body and "Yaourts" in body and "Hub Libramont" in body
    notice = next(n for n in _notices(NotificationKind.BOOKING, claim) if n.user_id == person.id)
    pickup, drop = (
        next(s for s in stops if s.kind == kind) for kind in (StopKind.PICKUP, StopKind.DROPOFF)
    )
    assert notice.params["run_id"] == stops[0].run_id and notice.params["kg"] == claim.kg
    assert notice.params["pickup"] and notice.params["delivery"]
    assert datetime.fromisoformat(notice.params["delivery"]) <= drop.window_end
    assert datetime.fromisoformat(notice.params["pickup"]) >= pickup.window_start


def test_a_social_workers_own_claim_is_booked_and_nothing_else_happens(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)  # all of it
    db.session.commit()

    counts = _place()

    assert counts == {
        "platforms": 1,
        "claimed": 0,
        "skipped": 0,
        "booked": 1,
        "unbooked": 0,
        "given_back": 0,
    }
    assert len(_stops(claim)) == 2 and _claims(lot) == [claim]
    assert [n.user_id for n in _notices(NotificationKind.BOOKING, claim)].count(w.cpas_user.id) == 1
    assert not _notices(NotificationKind.CLAIM_ALLOCATED, claim), "nobody allocated it"


def test_a_self_collected_claim_is_left_alone(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    booking.self_collect(db.session, w.cpas_user, claim)
    db.session.commit()
    assert _place()["booked"] == 0 and _stops(claim) == []


def test_a_claim_no_run_fits_stays_unbooked_until_a_run_appears(daily_rounds):
    w = daily_rounds
    w.van.refrigerated = False  # a chilled lot never rides it
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()

    counts = _place()

    assert counts["booked"] == 0 and counts["unbooked"] == 1 and _stops(claim) == []
    batch = db.session.scalars(select(AllocationBatch)).one()
    reasons = batch.summary["placement"]["unbooked"][str(claim.id)]
    assert reasons, "the proposal's reasons say why"
    [told] = [n for n in _notices(NotificationKind.BOOKING, claim) if n.params.get("no_run")]
    assert told.user_id == w.cpas_user.id
    with force_locale("fr"):
        line = text.text(told)
    assert "Aucune tournée" in line and w.donor.name in line and "30" in line
    before = _batches()
    assert _place() == dict.fromkeys(
        ("platforms", "claimed", "skipped", "booked", "unbooked", "given_back"), 0
    )
    assert _batches() == before, "not tried again while nothing changed"
    assert len(_notices(NotificationKind.BOOKING, claim)) == 1, "told once"

    # A refrigerated van and a new run of it tomorrow: tried again, and booked.
    fridge = type(w.van)(
        platform_id=w.platform.id, name="Frigo", capacity_kg=500, refrigerated=True
    )
    db.session.add(fridge)
    db.session.flush()
    tomorrow = local_today() + timedelta(days=1)
    db.session.add(
        Run(
            platform_id=w.platform.id,
            vehicle_id=fridge.id,
            depot_id=w.depot.id,
            name="Frigo",
            start_at=datetime.combine(tomorrow, datetime.min.time(), tzinfo=UTC)
            + timedelta(hours=6),
            max_duration_min=600,
        )
    )
    db.session.commit()
    assert _place()["booked"] == 1 and len(_stops(claim)) == 2


def test_room_that_comes_back_is_looked_at_within_the_hour(daily_rounds):
    w = daily_rounds
    w.asbl_convention.chilled_capacity_kg = 0  # the CPAS alone keeps chilled food
    w.cpas_convention.chilled_capacity_kg = 40
    first = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts")
    second = factories.lot(w.donor, kg=30, days=5, hours_open=60, title="Fromage")
    for lot in (first, second):
        lot.created_at = clock.now() - timedelta(hours=2)
    mine, _ = claims.claim_lot(db.session, w.cpas_user, first.id, 40)  # its room, all of it
    db.session.commit()
    assert _place() == {
        "platforms": 1,
        "claimed": 0,
        "skipped": 0,
        "booked": 1,
        "unbooked": 0,
        "given_back": 0,
    }

    claims.cancel_claim(db.session, w.cpas_user, mine)  # room again, and 40 kg back
    db.session.commit()
    quiet = [_place()["platforms"] for _ in range(3)]  # 15, 30 and 45 minutes later
    assert quiet == [0, 0, 0] and _claims(first) == [] and _claims(second) == []
    counts = _place()  # an hour after the last placement
    assert counts["claimed"] >= 1 and counts["booked"] == counts["claimed"]
    placed = _claims(first) + _claims(second)
    assert sum(c.grams for c in placed) == 40_000, "the CPAS's room, filled again"


def test_lots_not_offered_to_the_network_are_not_placed(daily_rounds):
    w = daily_rounds
    elsewhere = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    elsewhere.created_at = clock.now() - timedelta(hours=1)  # long before the placements
    elsewhere.wave = 1  # offered to the other platform's network only, for now
    db.session.add(LotOffer(lot_id=elsewhere.id, platform_id=w.other_platform.id, wave=1))
    db.session.commit()
    assert _place()["claimed"] == 0 and _claims(elsewhere) == []
    assert _batches() == 0, "nothing to do: no batch row"

    other = factories.lot(w.donor, kg=10, days=5, hours_open=60, title="Autre")
    db.session.commit()
    assert _place()["claimed"] >= 1 and _claims(elsewhere) == [], "the other lot only"
    assert _place()["platforms"] == 0 and sum(c.grams for c in _claims(other)) == 10_000

    elsewhere.wave = 2  # the next wave reaches this platform: placed at the next tick
    db.session.add(LotOffer(lot_id=elsewhere.id, platform_id=w.platform.id, wave=2))
    db.session.commit()
    assert _place()["claimed"] >= 1 and sum(c.grams for c in _claims(elsewhere)) == 30_000


def test_a_lot_that_reaches_the_last_wave_is_placed_at_the_next_tick(daily_rounds, app):
    w = daily_rounds
    app.config["WAVE_URGENT_HOURS"] = 0  # only the delay moves it on
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    lot.created_at = clock.now() - timedelta(hours=1)  # long before the placements
    lot.wave, lot.next_wave_at = 2, clock.now() + timedelta(minutes=20)
    db.session.add(LotOffer(lot_id=lot.id, platform_id=w.other_platform.id, wave=2))
    other = factories.lot(w.donor, kg=10, days=5, hours_open=60, title="Autre")
    db.session.commit()
    assert _place()["claimed"] >= 1 and _claims(lot) == [], "the other lot only"
    assert _place()["platforms"] == 0
    assert sum(c.grams for c in _claims(other)) == 10_000

    assert waves.escalate(db.session)["lots"] == 1  # its delay is over: wave 3, everyone
    db.session.commit()
    assert lot.wave == 3 and not db.session.scalar(
        select(func.count()).select_from(LotOffer).where(LotOffer.platform_id == w.platform.id)
    ), "no offer row: only the escalation event says it reached this platform"
    assert _place()["claimed"] >= 1 and sum(c.grams for c in _claims(lot)) == 30_000


def test_a_platform_without_runs_places_nothing(w):
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    db.session.commit()
    assert _place()["platforms"] == 0 and _claims(lot) == [] and _batches() == 0


def test_nothing_new_writes_nothing(daily_rounds):
    w = daily_rounds
    assert _place()["platforms"] == 0 and _batches() == 0, "no lot, no claim"
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    db.session.commit()
    assert _place()["claimed"] >= 1
    rows = (_batches(), db.session.scalar(select(func.count()).select_from(Event)))
    assert _place()["platforms"] == 0
    assert (_batches(), db.session.scalar(select(func.count()).select_from(Event))) == rows
    assert sum(c.grams for c in _claims(lot)) == 30_000


@contextmanager
def _statements():
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_tick_with_nothing_new_is_five_reads_whatever_is_pending(daily_rounds):
    w = daily_rounds
    w.van.refrigerated = False  # the chilled claims find no run
    for i in range(6):
        lot = factories.lot(w.donor, kg=30, days=5, hours_open=60, title=f"Lot {i}")
        claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
        factories.lot(w.donor, kg=900, divisible=False, storage="frozen", title=f"Gel {i}")
    db.session.commit()
    first = _place()
    assert first["unbooked"] == 6 and first["claimed"] == 0, "too big for anyone's freezer"
    again = _place()  # lots posted at the very instant of a placement are looked at twice
    assert again == {
        "platforms": 1,
        "claimed": 0,
        "skipped": 0,
        "booked": 0,
        "unbooked": 0,
        "given_back": 0,
    }

    with _statements() as statements:
        assert _place()["platforms"] == 0, "15 minutes later, nothing new"
    reads = [s for s in statements if s == "SELECT"]
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements)
    assert len(reads) == 5, "runs, agreements, claims, last states, new lots"


def test_lots_wait_the_hold_minutes(daily_rounds, app):
    w = daily_rounds
    app.config["PLACEMENT_HOLD_MINUTES"] = 20
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    db.session.commit()
    assert _place()["claimed"] == 0 and _claims(lot) == [], "posted 0 minutes ago"
    assert _place()["claimed"] == 0 and _claims(lot) == [], "15 minutes ago"
    assert _place()["claimed"] >= 1 and sum(c.grams for c in _claims(lot)) == 30_000, "30"


def test_another_allocator_goes_through_the_same_service(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    db.session.commit()
    used = []

    def greedy(lots, beneficiaries, params, **options):
        used.append([x.id for x in lots])
        return matching.greedy_allocate(lots, beneficiaries, params, **options)

    counts = _place(allocate=greedy)
    assert used == [[lot.id]]
    assert counts["claimed"] >= 1 and counts["booked"] == counts["claimed"]


def test_a_lot_claimed_while_the_matcher_runs_is_skipped_with_its_reason(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    db.session.commit()
    taken = []

    def meanwhile(lots, beneficiaries, params, **options):
        result = matching.allocate(lots, beneficiaries, params, **options)
        # A social worker claims it all between the matcher's reading and its claims.
        taken.append(claims.claim_lot(db.session, w.asbl_user, lot.id, 30)[0])
        return result

    counts = _place(allocate=meanwhile)

    assert counts["claimed"] == 0 and counts["skipped"] >= 1
    batch = db.session.scalars(select(AllocationBatch)).one()
    assert all(line.note for line in batch.lines), "each skipped line says why"
    assert _claims(lot) == taken and counts["booked"] == 0
    assert _place()["booked"] == 1 and len(_stops(taken[0])) == 2, "hers, at the next tick"


def test_the_job_is_registered_and_runs_under_the_job_runner(daily_rounds, app, job_log):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    db.session.commit()
    job = jobs.find(app.config, "place_lots")
    assert job is not None and job.schedule.minutes == 15
    with force_locale("en"):
        assert str(job.label) == "Place new lots and book them on runs"
    assert jobs.find(app.config, "daily_allocation") is None, "folded into place_lots"

    result = job_runs.run(app, job)

    assert result.outcome == JobOutcome.OK and result.counts["claimed"] >= 1
    assert result.counts["booked"] == result.counts["claimed"]
    [logged] = job_log()
    assert logged.job == "place_lots" and logged.outcome == JobOutcome.OK
    db.session.rollback()
    assert sum(c.grams for c in _claims(lot)) == 30_000

    app.config["PLACEMENT_ENABLED"] = False
    assert jobs.find(app.config, "place_lots") is None


def test_only_organisations_a_run_reaches_are_given_the_lot(app, daily_rounds):
    """Placement gives a lot only to organisations a planned run reaches within the detour
    budget; with every run too far out of the way, the lot waits with the reason."""
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts")
    db.session.commit()
    route = [(w.depot.lat, w.depot.lon)]
    detour = reachability_km(route, (lot.pickup_lat, lot.pickup_lon), app.config["ROAD_CIRCUITY"])
    assert detour > 1, "the donor is off the depot's empty rounds"
    app.config["PLACEMENT_DETOUR_MIN_KM"] = detour / 2
    app.config["PLACEMENT_DETOUR_KM_PER_KG"] = 0.0
    counts = _place()
    assert counts["claimed"] == 0 and _claims(lot) == []
    batch = db.session.scalars(select(AllocationBatch)).one()
    assert batch.unallocated[str(lot.id)] == [40.0, "no_run_nearby"]

    # A budget that covers the detour to the donor and back, and to either organisation.
    to_orgs = max(
        reachability_km(route, (o.lat, o.lon), app.config["ROAD_CIRCUITY"])
        for o in (w.cpas, w.asbl)
    )
    app.config["PLACEMENT_DETOUR_MIN_KM"] = detour + to_orgs + 1
    factories.lot(w.donor, kg=10, days=5, hours_open=60, title="Pain")  # news for the platform
    db.session.commit()
    _place()
    assert sum(c.grams for c in _claims(lot)) == 40_000


def reachability_km(route, point, circuity) -> float:
    """Road km added by visiting ``point`` on a return trip from the route's only place."""
    (lat, lon) = route[0]
    return 2 * circuity * float(great_circle_km(lat, lon, point[0], point[1]))


def test_a_lot_goes_nowhere_when_no_run_meets_the_opening_hours(daily_rounds):
    """Near enough is not enough: the booking planner must fit the drop-off in the
    organisation's opening hours; open only before the vans leave, nobody is reached."""
    w = daily_rounds
    for conv in (w.cpas_convention, w.asbl_convention):
        conv.opening_hours = {day: [["05:00", "05:30"]] for day in WEEKDAYS}
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts")
    db.session.commit()

    counts = _place()

    assert counts["claimed"] == 0 and _claims(lot) == []
    batch = db.session.scalars(select(AllocationBatch)).one()
    assert batch.unallocated[str(lot.id)] == [40.0, "no_run_reaches"]


def test_a_chilled_lot_with_no_refrigerated_run_waits_with_that_reason(daily_rounds, login_as):
    w = daily_rounds
    w.van.refrigerated = False
    w.van.freezer = False
    chilled = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts")
    dry = factories.lot(
        w.donor,
        kg=20,
        days=5,
        hours_open=60,
        storage="ambient",
        category="dry_goods",
        title="Pâtes",
    )
    db.session.commit()

    _place()

    batch = db.session.scalars(select(AllocationBatch)).one()
    assert batch.unallocated[str(chilled.id)] == [40.0, "no_cold_run"]
    assert str(dry.id) not in batch.unallocated and _claims(dry), "the van carries dry food"
    # the coordinator reads it on the proposal, in French
    page = login_as(w.coordinator).get(f"/platform/allocation/{batch.id}")
    assert page.status_code == 200
    assert "ni camionnette frigorifique ni congélateur" in page.get_data(as_text=True)


def test_a_lot_picked_up_only_between_two_runs_waits_with_that_reason(daily_rounds):
    """Its pickup window opens after a run has left and closes before the next leaves."""
    w = daily_rounds
    first = db.session.scalar(select(func.min(Run.start_at)).where(Run.start_at > clock.now()))
    clock.set_time(first + timedelta(minutes=1))
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts")
    lot.pickup_from = first
    lot.pickup_until = first + timedelta(hours=3)
    db.session.commit()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Run)
            .where(Run.start_at > clock.now(), Run.start_at < lot.pickup_until)
        )
        == 0
    )

    _place()

    batch = db.session.scalars(select(AllocationBatch)).one()
    assert batch.unallocated[str(lot.id)] == [40.0, "no_run_in_time"]


def test_a_claim_of_the_schedulers_no_run_fits_goes_back_and_is_never_proposed_again(
    daily_rounds,
):
    w = daily_rounds
    # The van carries 10 kg: reach asks the planner about the smallest part (1 kg), so
    # the matcher gives more than a run can take and the booking fails.
    w.van.capacity_kg = 10
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts")
    db.session.commit()

    counts = _place()

    made = list(
        db.session.scalars(
            select(Claim).where(Claim.lot_id == lot.id, Claim.created_by_id.is_(None))
        )
    )
    back = [c for c in made if c.status == ClaimStatus.CANCELLED]
    assert back and counts["given_back"] == len(back)
    assert counts["unbooked"] == 0, "none of the scheduler's claims waits for a van"
    for claim in made:
        assert claim.status == ClaimStatus.CANCELLED or len(_stops(claim)) == 2
    db.session.refresh(lot)
    live = sum(c.grams for c in made if c.status == ClaimStatus.ACTIVE)
    assert lot.remaining_g + live == 40_000, "the kilograms went back to the lot"
    for claim in back:
        assert claim.status_reason == str(placement.NO_RUN_MESSAGE)
        assert not _notices(NotificationKind.CLAIM_ALLOCATED, claim), "never told"
        [cancelled] = db.session.scalars(
            select(Event).where(
                Event.subject_type == "claim",
                Event.subject_id == claim.id,
                Event.action == "cancelled",
            )
        ).all()
        assert cancelled.actor_id is None and cancelled.after["given_back"] is True

    refused = {(c.lot_id, c.beneficiary_id) for c in back}
    lot.created_at = clock.now()  # new again to the matcher at the next tick
    db.session.commit()
    _place()
    again = db.session.scalars(
        select(Claim).where(Claim.lot_id == lot.id, Claim.id.not_in([c.id for c in made]))
    ).all()
    assert not {(c.lot_id, c.beneficiary_id) for c in again} & refused


def test_a_claim_told_of_then_left_without_a_run_goes_back_and_both_sides_are_told(
    daily_rounds,
):
    """A claim the scheduler made and booked in an earlier tick, whose booking went (a
    coordinator took its stops off) and that no run can carry any more: it goes back to
    the lot, and the beneficiary and the donor, who were told of it, are told so, with
    the lot and the kilograms."""
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts")
    db.session.commit()
    _place()
    [claim, *_rest] = [c for c in _claims(lot) if _stops(c)]
    assert _notices(NotificationKind.CLAIM_ALLOCATED, claim)
    booking.unbook(db.session, None, claim)
    w.van.capacity_kg = 1  # no run can carry it any more
    db.session.commit()

    counts = _place()

    db.session.refresh(claim)
    assert claim.status == ClaimStatus.CANCELLED and counts["given_back"] >= 1
    told = {
        n.user_id: n
        for n in _notices(NotificationKind.BOOKING, claim)
        if n.params.get("given_back")
    }
    member = w.cpas_user if claim.beneficiary_id == w.cpas.id else w.asbl_user
    assert set(told) == {member.id, w.donor_user.id}
    with force_locale("fr"):
        line, title = text.text(told[member.id]), text.subject(told[member.id])
    assert "Yaourts" in line and "Aucune tournée" in line and "Yaourts" in title


def test_placement_weighs_the_need_over_four_weeks(daily_rounds):
    w = daily_rounds
    old = factories.lot(w.donor, kg=20, days=5, hours_open=60, title="Fromage")
    earlier, _ = claims.claim_lot(db.session, w.cpas_user, old.id, 20)
    earlier.status = ClaimStatus.DELIVERED
    earlier.created_at = clock.now() - timedelta(days=15)  # out of the week, in the month
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60, title="Yaourts")
    db.session.commit()
    seen = {}

    def spy(lots, beneficiaries, params, **options):
        seen.update({b.id: b for b in beneficiaries})
        return matching.allocate(lots, beneficiaries, params, **options)

    _place(allocate=spy)

    assert lot.id and seen
    cpas, asbl = seen[w.cpas.id], seen[w.asbl.id]
    assert cpas.received_kg == pytest.approx(20.0), "received 15 days ago counts"
    assert asbl.received_kg == 0.0
    assert cpas.persons_per_week == placement.NEED_WEEKS * w.cpas_convention.persons_per_week
    assert asbl.persons_per_week == placement.NEED_WEEKS * w.asbl_convention.persons_per_week


def test_a_lot_only_a_hub_relay_reaches_is_placed_and_booked_through_the_hub(
    shared_world, agree, add_run
):
    """No single run passes by the donor while it is open and by an organisation on a day
    it receives: reach counts the relay booking would use (Namur's van to the hub's depot,
    the hub's van on to the organisation), placement gives the lot, and the booking
    carries every claim it made through the hub: none goes back."""
    from surplus.services.lot_dates import BRUSSELS

    w = shared_world
    agree(w)
    for conv in (w.cpas_convention, w.asbl_convention):
        conv.opening_hours = {WEEKDAYS[w.day2.weekday()]: [["08:00", "17:00"]]}
    hub_run = add_run(w.platform, w.hub_depot, w.hub_van, w.day2)
    lot = factories.lot(w.donor, kg=40, days=6, title="Yaourts")
    lot.pickup_until = datetime.combine(w.day1, datetime.min.time().replace(hour=12)).replace(
        tzinfo=BRUSSELS
    )
    db.session.commit()

    counts = _place()

    made = list(
        db.session.scalars(
            select(Claim).where(Claim.lot_id == lot.id, Claim.created_by_id.is_(None))
        )
    )
    assert made and counts["given_back"] == 0
    for claim in made:
        assert claim.status == ClaimStatus.ACTIVE
        legs = {(s.run_id, s.leg, s.kind) for s in _stops(claim)}
        assert legs == {
            (w.namur_run.id, 1, StopKind.PICKUP),
            (w.namur_run.id, 1, StopKind.DROPOFF),
            (hub_run.id, 2, StopKind.PICKUP),
            (hub_run.id, 2, StopKind.DROPOFF),
        }


def test_a_social_workers_claim_beyond_the_detour_budget_waits_for_the_coordinator(
    daily_rounds, app
):
    """The scheduler books a person's claim too only within the detour budget of its
    kilograms; beyond, it says by how much and the beneficiary is told; a coordinator
    may still book it by hand."""
    w = daily_rounds
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 0.5
    app.config["PLACEMENT_DETOUR_KM_PER_KG"] = 0.0
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()

    counts = _place()

    assert counts["booked"] == 0 and counts["unbooked"] == 1 and _stops(claim) == []
    batch = db.session.scalars(select(AllocationBatch)).one()
    why = batch.summary["placement"]["unbooked"][str(claim.id)]
    assert "0,5 km" in why and "km de plus" in why, why
    [told] = [n for n in _notices(NotificationKind.BOOKING, claim) if n.params.get("no_run")]
    assert told.user_id == w.cpas_user.id

    proposal = booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    assert proposal.insertion is not None and proposal.insertion.added_km > 0.5
    assert len(_stops(claim)) == 2


def test_a_part_the_matcher_gave_goes_on_a_run_within_the_budget_of_its_lot(daily_rounds, app):
    """The matcher offers a lot to the organisations a run reaches within the budget of the
    lot's kilograms; a part it gives one of them is booked within that same budget, not
    the smaller one of the part. A person's claim: the budget of its own kilograms."""
    w = daily_rounds
    lot = factories.lot(w.donor, kg=300, days=5, hours_open=60)
    mine, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 20)  # a person's part
    given, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 20)
    db.session.flush()
    added = booking.propose(db.session, mine).insertion.added_km
    assert added > 0
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 0.0
    app.config["PLACEMENT_DETOUR_KM_PER_KG"] = added / 100  # 20 kg: 0.2 x; 300 kg: 3 x added
    given.created_by_id = None  # as the matcher's (allocation.confirm)
    db.session.commit()

    assert placement._book(db.session, mine.id, clock.now()), "beyond its own budget: waits"
    assert _stops(mine) == []
    assert placement._book(db.session, given.id, clock.now()) is None
    assert len(_stops(given)) == 2


def test_the_matcher_is_told_what_each_pair_adds_to_the_runs(app, daily_rounds, monkeypatch):
    """Reach's detours go to the matcher: on the empty rounds, about the pickup's
    detour plus the organisation's drop-off's, each organisation its own."""
    w = daily_rounds
    # Empty every round (Monday's has a stop at the association: whether it falls in the
    # lot's window depended on the weekday the test ran).
    db.session.execute(delete(Stop).where(Stop.claim_id.is_(None)))
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts")
    db.session.commit()
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 10_000.0
    circuity = app.config["ROAD_CIRCUITY"]
    route = [(w.depot.lat, w.depot.lon)]
    pickup = reachability_km(route, (lot.pickup_lat, lot.pickup_lon), circuity)
    seen = {}
    inner = matching.allocate

    def spy(lots, beneficiaries, params, **options):
        seen.update(options["detour_km"])
        return inner(lots, beneficiaries, params, **options)

    _place(allocate=spy)
    assert set(seen[lot.id]) == {w.cpas.id, w.asbl.id}
    for org in (w.cpas, w.asbl):
        expected = pickup + reachability_km(route, (org.lat, org.lon), circuity)
        assert seen[lot.id][org.id] == pytest.approx(expected, rel=1e-6)
    assert sum(c.grams for c in _claims(lot)) == 40_000
