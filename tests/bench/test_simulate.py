"""The simulation engine (bench/sim/engine.py) on a tiny world, on both backends: the
three policies run through the real services, kilograms are conserved, no claim
exceeds its lot; and the figures (bench/sim/metrics.py) of a case built by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bench.sim import metrics, report
from bench.sim.engine import Simulation, local_midnight
from bench.sim.policies import POLICIES
from bench.sim.world import Beneficiary, Donor, Platform, Round, Spec, World, road_km
from surplus import clock
from surplus.extensions import db
from surplus.models import (
    AllocationBatch,
    Category,
    Claim,
    ClaimStatus,
    DateKind,
    Event,
    Lot,
    StockItem,
    StockReceipt,
    Stop,
    StorageClass,
)
from surplus.services import booking, claims, lots, runs, stops
from surplus.services.lot_dates import BRUSSELS, local_today
from tests.factories import World as FactoryWorld

NEED_KG = 10.0


@pytest.fixture(autouse=True)
def _any_detour(app):
    """The test world's rounds have no stops: every pickup and drop-off is a detour from
    the depot, beyond placement's default budget. These tests are about the engine, so
    any detour is accepted (tests/surplus/test_placement.py tests the budget)."""
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 10_000.0


def sim_world(w: FactoryWorld, spec: Spec) -> World:
    """The simulation's view of the ``daily_rounds`` world: one platform driving every
    day, a CPAS and an association open 08:00-17:00 daily, one donor."""

    def ben(org, user, cancel_rate: float) -> Beneficiary:
        return Beneficiary(
            org_id=org.id,
            user_id=user.id,
            name=org.name,
            kind=org.kind.value,
            persons_per_week=4,
            fse_approved=False,
            lat=org.lat,
            lon=org.lon,
            platform_ids=(w.platform.id,),
            looks_at=("09:30", "14:00"),
            open_weekdays=tuple(range(7)),
            cancel_rate=cancel_rate,
            miss_rate=0.0,
            weekly_need_kg=NEED_KG,
        )

    return World(
        spec=spec,
        platforms=(
            Platform(
                w.platform.id,
                w.platform.name,
                w.coordinator.id,
                w.driver.id,
                w.platform.lat,
                w.platform.lon,
                vans=1,
                refrigerated_vans=1,
                cold_room=True,
            ),
        ),
        beneficiaries=(ben(w.cpas, w.cpas_user, 0.0), ben(w.asbl, w.asbl_user, 0.5)),
        donors=(
            Donor(
                w.donor.id,
                w.donor_user.id,
                w.donor.name,
                "producer",
                w.donor.lat,
                w.donor.lon,
                (w.platform.id,),
            ),
        ),
    )


def draft(
    kg: float, category: str, storage: str, kind: str, best, start: datetime, end: datetime
) -> dict:
    return {
        "title": f"{category} {kg} kg",
        "category": Category(category),
        "weight_kg": kg,
        "date_kind": DateKind(kind),
        "date": best,
        "storage": StorageClass(storage),
        "divisible": True,
        "min_part_kg": 2.0,
        "pickup_from": start,
        "pickup_until": end,
    }


class Posting:
    def __init__(self, at, donor, values, withdraw_at=None):
        self.at, self.donor, self.draft, self.withdraw_at = at, donor, values, withdraw_at


def local(day, hhmm: str) -> datetime:
    return runs.local_time(day, hhmm)


def week_figures(session, world: World, monday, expire_at: datetime) -> dict:
    """Expire what is due at ``expire_at``, then the figures of the week from ``monday``."""
    clock.set_time(expire_at)
    lots.expire_lots(session)
    session.commit()
    return metrics.compute(session, world, monday, 7, local_midnight(monday + timedelta(days=7)))


@pytest.mark.parametrize("policy", ["fcfs", "greedy", "maillon"])
def test_three_days_of_each_policy_conserve_kilograms(app, daily_rounds, policy):
    w = daily_rounds
    today = local_today()
    monday = today - timedelta(days=today.weekday())
    spec = Spec("namur", 1, monday, 3)
    world = sim_world(w, spec)
    donor = world.donors[0]
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)
    postings = [
        Posting(
            local(monday, "08:00"),
            donor,
            draft(
                14,
                "fruit_veg",
                "ambient",
                "best_before",
                monday + timedelta(days=5),
                local(monday, "08:00"),
                local(wednesday, "17:00"),
            ),
        ),
        Posting(
            local(monday, "10:00"),
            donor,
            draft(
                6,
                "dairy",
                "chilled",
                "use_by",
                wednesday,
                local(monday, "10:00"),
                local(tuesday, "17:00"),
            ),
        ),
        Posting(
            local(tuesday, "08:30"),
            donor,
            draft(
                30,
                "dry_goods",
                "ambient",
                "best_before",
                monday + timedelta(days=60),
                local(tuesday, "08:30"),
                local(wednesday, "16:00"),
            ),
            withdraw_at=local(wednesday, "15:00"),
        ),
    ]
    db.session.commit()
    app.config["PLACEMENT_ENABLED"] = POLICIES[policy].placement
    try:
        outcome = Simulation(app, world, postings, POLICIES[policy], spec, seed=3).run()
        end = local_midnight(monday + timedelta(days=3))
        figures = metrics.compute(db.session, world, monday, 3, end)
    finally:
        clock.set_time(None)

    assert outcome.events["posted"] == 3
    assert figures["posted_kg"] == 50.0
    assert figures["conservation_error_kg"] == 0
    assert figures["delivered_kg"] > 0, outcome.events
    for lot in db.session.scalars(select(Lot)):
        kept = db.session.scalar(
            select(func.coalesce(func.sum(Claim.grams), 0)).where(
                Claim.lot_id == lot.id, Claim.status != ClaimStatus.CANCELLED
            )
        )
        assert kept + lot.remaining_g <= lot.weight_g
        assert 0 <= lot.remaining_g <= lot.weight_g
    assert figures["lots_booked"] > 0
    assert figures["booking_wait_median_min"] >= 0
    assert figures["placed_share"] <= figures["placed_ceiling"] <= 1
    booked_at = db.session.execute(
        select(Event.at, Claim.lot_id)
        .join(Claim, Claim.id == Event.subject_id)
        .where(Event.subject_type == "claim", Event.action == "booked")
    ).all()
    for at, lot_id in booked_at:
        assert at >= db.session.get(Lot, lot_id).created_at
    if policy == "fcfs":  # booked by the coordinator at office hours, never by the job
        assert "place_lots" not in outcome.jobs
        assert outcome.events["booked_by_coordinator"] > 0
    else:
        assert outcome.jobs["place_lots"]["calls"] > 0


def test_figures_of_a_case_computed_by_hand(app, daily_rounds):
    """Lot A, 20 kg: the CPAS claims 10 kg at 09:00, the coordinator books it at 09:30,
    the driver delivers it on Tuesday; the other 10 kg expire unclaimed. Lot B, 5 kg:
    the association claims it all, nobody books it, its use-by passes."""
    w = daily_rounds
    today = local_today()
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    tuesday = monday + timedelta(days=1)
    spec = Spec("namur", 1, monday, 7)
    world = sim_world(w, spec)
    session = db.session
    try:
        clock.set_time(local(monday, "00:00"))
        runs.materialise(session, monday)
        clock.set_time(local(monday, "08:00"))
        lot_a, _ = lots.create_lot(
            session,
            w.donor_user,
            draft(
                20,
                "fruit_veg",
                "ambient",
                "best_before",
                monday + timedelta(days=4),
                local(monday, "08:00"),
                local(monday + timedelta(days=2), "17:00"),
            ),
        )
        lot_b, _ = lots.create_lot(
            session,
            w.donor_user,
            draft(
                5,
                "dairy",
                "chilled",
                "use_by",
                tuesday,
                local(monday, "08:00"),
                local(tuesday, "12:00"),
            ),
        )
        session.commit()
        clock.set_time(local(monday, "09:00"))
        claim_a, _ = claims.claim_lot(session, w.cpas_user, lot_a.id, 10)
        claims.claim_lot(session, w.asbl_user, lot_b.id, 5)
        session.commit()
        clock.set_time(local(monday, "09:30"))
        booking.book(session, w.coordinator, claim_a)
        session.commit()
        clock.set_time(local(tuesday, "12:00"))
        for stop in session.scalars(
            select(Stop).where(Stop.claim_id == claim_a.id).order_by(Stop.kind.desc())
        ):
            assert stops.confirm(session, w.driver, stop, receiver="Anne").ok
        session.commit()
        # Placement's proposals left A's other 10 kg: once no run passed near enough, at
        # the end no run left before its date (the nearest miss is the first).
        for reason in ("no_run_nearby", "no_run_in_time"):
            session.add(
                AllocationBatch(
                    platform_id=w.platform.id,
                    unattended=True,
                    summary={},
                    unallocated={str(lot_a.id): [10.0, reason]},
                )
            )
        figures = week_figures(session, world, monday, local(monday + timedelta(days=6), "12:00"))
    finally:
        clock.set_time(None)

    added_km = session.scalar(
        select(Event.after).where(Event.subject_type == "claim", Event.action == "booked")
    )["added_km"]
    assert figures["posted_kg"] == 25.0
    assert figures["unplaceable_kg"] == 0.0
    assert figures["delivered_kg"] == 10.0
    assert figures["expired_kg"][metrics.NEVER_CLAIMED] == 10.0
    assert figures["expired_kg"][metrics.NOT_BOOKED] == 5.0
    assert figures["expired_total_kg"] == 15.0
    assert figures["unclaimed_why_kg"] == {"no_run_nearby": 10.0}
    assert figures["open_kg"] == figures["in_transit_kg"] == figures["withdrawn_kg"] == 0
    assert figures["conservation_error_kg"] == 0
    assert figures["placed_share"] == pytest.approx(10 / 25)
    assert figures["booking_wait_median_min"] == pytest.approx(90.0)
    assert figures["lots_booked"] == 1
    assert (figures["lots_never_booked"], figures["never_booked_kg"]) == (1, 5.0)
    assert figures["km_per_kg"] == pytest.approx(added_km / 10)
    # One 7-day window: the CPAS got its whole need, the association nothing.
    assert figures["jain_windows"] == 1
    assert figures["jain_mean"] == pytest.approx(0.5)
    assert figures["nothing_in_month_share"] == pytest.approx(0.5)
    # Per organisation: what each received of its target, the month with nothing.
    orgs = {row["org_id"]: row for row in figures["orgs"]}
    cpas, asbl = orgs[w.cpas.id], orgs[w.asbl.id]
    assert (cpas["received_kg"], cpas["fetched_kg"], cpas["claims"]) == (10.0, 0.0, 1)
    assert cpas["share_of_target"] == pytest.approx(min(1.0, 10.0 / NEED_KG))
    assert (cpas["months_with_nothing"], asbl["months_with_nothing"]) == (0, 1)
    assert (asbl["received_kg"], asbl["share_of_target"], asbl["claims"]) == (0.0, 0.0, 1)
    assert cpas["km_to_depot"] == pytest.approx(
        road_km(w.cpas.lat, w.cpas.lon, w.platform.lat, w.platform.lon), abs=0.05
    )
    delivered_day = figures["daily"][tuesday.isoformat()]["delivered_kg"]
    assert delivered_day == pytest.approx(10.0)
    assert local(tuesday, "12:00").astimezone(BRUSSELS).date() == tuesday


def test_the_ceiling_of_the_share_placed_leaves_out_what_no_round_reaches_and_withdrawals(
    app, daily_rounds
):
    """Lot A, 10 kg, can be picked up during Monday's round and expires unclaimed. Lot E,
    4 kg, can be picked up only on Monday evening, when every round is back, and no
    organisation fetches food itself: it expires, beyond transport. Lot W, 6 kg, is
    withdrawn by its donor. Nothing is delivered: 0 % placed, of the 20 kg settled at most
    the 10 kg of lot A could have been."""
    w = daily_rounds
    today = local_today()
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    spec = Spec("namur", 1, monday, 7)
    world = replace(
        sim_world(w, spec),
        rounds=tuple(Round(w.template.id, w.platform.id, day, True, ()) for day in range(7)),
    )
    session = db.session
    best = monday + timedelta(days=4)
    try:
        clock.set_time(local(monday, "07:00"))
        for kg, start, end in ((10, "08:00", "17:00"), (4, "18:00", "21:00")):
            lots.create_lot(
                session,
                w.donor_user,
                draft(
                    kg,
                    "fruit_veg",
                    "ambient",
                    "best_before",
                    best,
                    local(monday, start),
                    local(monday, end),
                ),
            )
        lot_w, _ = lots.create_lot(
            session,
            w.donor_user,
            draft(
                6,
                "fruit_veg",
                "ambient",
                "best_before",
                best,
                local(monday, "08:00"),
                local(monday + timedelta(days=2), "17:00"),
            ),
        )
        session.commit()
        clock.set_time(local(monday, "12:00"))
        lots.withdraw_lot(session, w.donor_user, lot_w, "sold at the market")
        session.commit()
        figures = week_figures(session, world, monday, local(monday + timedelta(days=4), "12:00"))
    finally:
        clock.set_time(None)

    assert figures["expired_kg"][metrics.NEVER_CLAIMED] == 14.0
    assert figures["lost_beyond_transport_kg"] == 4.0
    assert figures["withdrawn_kg"] == 6.0
    assert figures["placed_share"] == 0
    assert figures["placed_ceiling"] == pytest.approx(10 / 20)
    (placed,) = [line for line in report.verdicts({"maillon": figures}) if "placed" in line]
    assert placed.startswith("FAIL") and "within reach and not withdrawn: 50.0 %" in placed


def test_a_beneficiary_fetches_a_lot_within_its_radius_and_its_km_are_counted_apart(
    app, daily_rounds
):
    """Both organisations fetch food themselves within 10,000 km (anything here). First
    come, first served: what they claim is self-collected (``booking.self_collect``),
    fetched in their opening hours through the hand-over check and delivered, never
    booked on a run; their km are their own, counted apart from the runs' (none)."""
    from dataclasses import replace

    from bench.sim import behaviour
    from bench.sim.report import table

    w = daily_rounds
    today = local_today()
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    spec = Spec("namur", 1, monday, 3)
    world = sim_world(w, spec)
    hours = (("08:00", "17:00"),)
    world = replace(
        world,
        beneficiaries=tuple(
            replace(b, hours=hours, cancel_rate=0.0, self_collect_km=10_000.0)
            for b in world.beneficiaries
        ),
    )
    bens = {b.org_id: b for b in world.beneficiaries}
    outcome, figures = _three_days_first_come(app, world, spec, kg=40)

    made = db.session.scalars(select(Claim)).all()
    assert made and all(c.self_collect for c in made), str(sorted(outcome.events.items()))
    assert outcome.events["self_collect_chosen"] == len(made)
    km = 0.0
    for claim in made:
        lot = db.session.get(Lot, claim.lot_id)
        assert claim.status == ClaimStatus.DELIVERED
        assert db.session.scalars(select(Stop).where(Stop.claim_id == claim.id)).all() == []
        [done] = db.session.scalars(
            select(Event).where(
                Event.subject_type == "claim",
                Event.subject_id == claim.id,
                Event.action == metrics.SELF_COLLECTED,
            )
        ).all()
        opened = local(done.at.astimezone(BRUSSELS).date(), "08:00")
        assert opened <= done.at < min(lot.pickup_until, lot.expires_at)
        assert done.at >= claim.created_at + timedelta(hours=behaviour.FETCH_AFTER_H[0])
        fetch = behaviour.fetch_km(bens[claim.beneficiary_id], lot)
        assert done.after["km"] == pytest.approx(2 * fetch, abs=0.01)
        km += done.after["km"]
    assert figures["delivered_kg"] == figures["self_collected_kg"] == sum(c.kg for c in made)
    for row in figures["orgs"]:  # each organisation's own, all of it fetched
        mine = sum(c.kg for c in made if c.beneficiary_id == row["org_id"])
        assert row["received_kg"] == row["fetched_kg"] == pytest.approx(mine, abs=0.05)
    # The figure is the fetches' km summed and rounded to 0.1 km; which organisations fetch,
    # and so the km, depend on the week the test runs in.
    assert figures["self_collect_km"] == pytest.approx(km, abs=0.05 + 1e-9)
    assert figures["added_km"] == 0 and figures["km_per_kg"] == 0
    assert figures["all_km_per_kg"] == pytest.approx(km / figures["delivered_kg"])
    assert figures["conservation_error_kg"] == 0
    assert figures["lots_booked"] == 1, "self-collection settles the lot's transport"
    assert "fetched by the beneficiary" in table({"fcfs": figures})


def test_nobody_there_at_a_drop_off_the_food_goes_back_to_the_depot_and_is_offered_again(
    app, daily_rounds
):
    """Nobody is ever there (``miss_rate`` 1): the driver records each drop-off through
    ``stops.nobody_there`` (the stop ends missed, the claim returned to the run's
    platform, never refused); when the van is back, the coordinator receives the food at
    the depot and offers it again as a lot from stock. The figures count those lots for
    the lot the food came from: nothing is posted twice, nothing is lost."""
    from dataclasses import replace

    from surplus.models import StopKind, StopStatus

    w = daily_rounds
    today = local_today()
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    spec = Spec("namur", 1, monday, 3)
    world = sim_world(w, spec)
    world = replace(
        world,
        beneficiaries=tuple(
            replace(b, cancel_rate=0.0, miss_rate=1.0) for b in world.beneficiaries
        ),
    )
    outcome, figures = _three_days_first_come(app, world, spec, kg=14)

    made = db.session.scalars(select(Claim)).all()
    returned = [c for c in made if c.status == ClaimStatus.RETURNED]
    assert returned, str(sorted(outcome.events.items()))
    assert not [c for c in made if c.status in (ClaimStatus.REFUSED, ClaimStatus.DELIVERED)]
    assert outcome.events["missed_windows"] == len(returned)
    for claim in returned:
        [dropoff] = db.session.scalars(
            select(Stop).where(Stop.claim_id == claim.id, Stop.kind == StopKind.DROPOFF)
        ).all()
        assert dropoff.status == StopStatus.MISSED
        assert stops.returned_to(db.session, claim) == w.platform.id
    receipts = {
        r.claim_id: r for r in db.session.scalars(select(StockReceipt)) if r.claim_id is not None
    }
    offered = db.session.scalars(select(Lot).where(Lot.stock_item_id.is_not(None))).all()
    assert offered and outcome.events["returned_offered"] == len(offered)
    for lot in offered:  # each offered whole from the depot, at the depot
        receipt = db.session.get(StockItem, lot.stock_item_id).receipt
        assert receipt.accepted and receipts[receipt.claim_id] is receipt
        assert lot.weight_g == receipt.grams and lot.donor_id == w.platform.id
    assert figures["offered_again_kg"] == pytest.approx(sum(lot.weight_kg for lot in offered))
    assert figures["posted_kg"] == pytest.approx(14)  # the donor's lot only
    assert figures["expired_kg"][metrics.REFUSED] == 0
    assert figures["delivered_kg"] == 0
    assert figures["added_km"] > 0, "the van drove to the drop-off"
    assert figures["conservation_error_kg"] == 0


def _three_days_first_come(app, world, spec, kg: float):
    """Three days of first come, first served (no placement) from ``spec``'s Monday, the
    first donor posting ``kg`` kg of ambient fruit and vegetables at 08:00, picked up
    until Wednesday 17:00: the outcome and the figures."""
    monday = spec.start
    draft_ = draft(
        kg,
        "fruit_veg",
        "ambient",
        "best_before",
        monday + timedelta(days=5),
        local(monday, "08:00"),
        local(monday + timedelta(days=2), "17:00"),
    )
    postings = [Posting(local(monday, "08:00"), world.donors[0], draft_)]
    db.session.commit()
    app.config["PLACEMENT_ENABLED"] = False
    try:
        outcome = Simulation(app, world, postings, POLICIES["fcfs"], spec, seed=3).run()
        end = local_midnight(spec.start + timedelta(days=3))
        return outcome, metrics.compute(db.session, world, spec.start, 3, end)
    finally:
        clock.set_time(None)
