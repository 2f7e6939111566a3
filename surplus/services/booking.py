"""Booking a claim onto an existing run: a pickup at the donor and a drop-off at the
beneficiary inserted where they add the fewest km (matching.booking), or self-collection.

The runs considered are those of the beneficiary's platforms and of every platform with
a transport agreement in force that day to carry for the claim's platform. When none can
do it before the lot's date, a hub relay (services/relay.py) is proposed: both legs are
booked in the same transaction, so together or not at all.

The drop-off window on a given day spans the beneficiary's delivery opening hours that
day (from the first opening to the last closing, declared in its convention); a day
without opening hours takes no drop-off. The deadline is the lot's use-by moment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.booking import (
    Insertion,
    RunPlan,
    Shipment,
    apply_insertion,
    explain_no_insertion,
    insert,
)

from .. import access, clock
from ..errors import Conflict, Invalid
from ..models import (
    Claim,
    ClaimStatus,
    Convention,
    Lot,
    Run,
    Stop,
    StopKind,
    User,
)
from . import agreements, events, food_safety, matching_adapter, notifications, relay, runs
from .eligibility import channels
from .lot_dates import BRUSSELS
from .relay import Relay
from .runs import RunView, local_time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class Proposal:
    insertion: Insertion | None
    run: Run | None
    reasons: list[str]
    relay: Relay | None = None


def drop_window(conv: Convention, day: date) -> tuple[datetime, datetime] | None:
    spans = (conv.opening_hours or {}).get(WEEKDAYS[day.weekday()], [])
    if not spans:
        return None
    return local_time(day, min(s[0] for s in spans)), local_time(day, max(s[1] for s in spans))


# A platform's claim for its own depot is dropped there during the working day.
DEPOT_HOURS = ("06:00", "20:00")


def _destination(claim: Claim, day: date) -> tuple[tuple[datetime, datetime] | None, Any]:
    """Where the claim is dropped off and when it may be: the beneficiary in its opening
    hours, or the platform's depot in its working day."""
    if claim.depot_id is not None:
        hours = (local_time(day, DEPOT_HOURS[0]), local_time(day, DEPOT_HOURS[1]))
        return hours, claim.depot
    assert claim.convention is not None
    return drop_window(claim.convention, day), claim.beneficiary


def lot_shipment(
    ident: Any, lot: Lot, kg: float, place: Any, window: tuple[datetime, datetime]
) -> Shipment:
    """``kg`` of ``lot`` from its donor in its pickup window to ``place`` (lat, lon) in
    ``window``, by its date: what the planner books (and placement's reach asks about)."""
    return Shipment(
        id=ident,
        kg=kg,
        storage=lot.storage.value,
        pickup_lat=lot.pickup_lat,
        pickup_lon=lot.pickup_lon,
        drop_lat=place.lat,
        drop_lon=place.lon,
        pickup_window=(lot.pickup_from, lot.pickup_until),
        drop_window=window,
        deadline=lot.expires_at,
    )


def shipment(claim: Claim, day: date) -> Shipment | None:
    window, org = _destination(claim, day)
    if window is None:
        return None
    return lot_shipment(claim.id, claim.lot, claim.kg, org, window)


def candidate_runs(session: Session, claim: Claim, now: datetime, run_id: int | None) -> list[Run]:
    """Planned runs before the lot's date of the beneficiary's platforms, and of the
    platforms carrying for the claim's platform on the run's day."""
    return _candidates(session, claim, now, run_id, runs.planned_runs)[0]


def _candidates(session: Session, claim: Claim, now: datetime, run_id: int | None, read):
    """``candidate_runs`` as ``read`` (``runs.planned_runs``: objects, or
    ``runs.planned_views``: values) gives them, and the planned runs of the claim's
    platform alone up to the lot's date (a relay's second legs, ``relay.find``) when they
    were that very query, else None."""
    own = {ch.convention.platform_id for ch in channels(session, claim.beneficiary)}
    own.add(claim.platform_id)
    until = claim.lot.expires_at or (claim.lot.pickup_until + timedelta(days=14))
    carriers = agreements.carriers_for(session, [claim.platform_id], now.date(), until.date())
    platforms = sorted(own | set(carriers))
    found = read(session, platforms, now, until)
    alone = found if platforms == [claim.platform_id] and claim.lot.expires_at is not None else None
    return [
        r
        for r in found
        if (run_id is None or r.id == run_id)
        and (
            r.platform_id in own
            or any(
                a.in_force(r.start_at.astimezone(BRUSSELS).date()) for a in carriers[r.platform_id]
            )
        )
    ], alone


def propose(
    session: Session, claim: Claim, now: datetime | None = None, run_id: int | None = None
) -> Proposal:
    """The best insertion for the claim among the runs of the beneficiary's platforms.
    The runs are planned from their values (``runs.planned_views``, kept while none is
    written); the chosen ones are returned as objects, to be written."""
    now = now or clock.now()
    params = matching_adapter.params(now)
    by_day: dict[date, list[RunView]] = defaultdict(list)
    found_runs, own_runs = _candidates(session, claim, now, run_id, runs.planned_views)
    for run in found_runs:
        by_day[run.start_at.astimezone(BRUSSELS).date()].append(run)
    best: tuple[Insertion, RunView] | None = None
    # The days no run fits, explained only when no day fits and no relay does either.
    missed: list[tuple[list[RunPlan], Shipment]] = []
    day_plans: dict[date, list[RunPlan]] = {}
    for day, day_runs in sorted(by_day.items()):
        ship = shipment(claim, day)
        if ship is None:
            continue
        plans = day_plans[day] = [runs.to_plan(r) for r in day_runs]
        found = insert(plans, ship, params)
        if found is None:
            missed.append((plans, ship))
            continue
        if best is None or found.added_km < best[0].added_km:
            best = (found, next(r for r in day_runs if r.id == found.run_id))
    if best is None:
        if run_id is None and claim.convention is not None:
            found_relay = relay.find(
                session,
                claim,
                [r for rs in by_day.values() for r in rs],
                now,
                params,
                lambda c, day: drop_window(c.convention, day),
                own_runs=own_runs,
                plans=day_plans,
            )
            if found_relay is not None:
                return Proposal(None, None, [], found_relay)
        reasons = [
            r.message
            for plans, ship in missed
            for r in explain_no_insertion(plans, ship, params)[:3]
        ]
        if not by_day:
            reasons.insert(0, str(_l("No planned run of your platforms before the lot's date.")))
        return Proposal(None, None, reasons or [str(_l("No run fits in time."))])
    return Proposal(best[0], session.get(Run, best[1].id), [])


def _may_book(actor: User | None, claim: Claim) -> None:
    """A coordinator of the claim's platform books it; ``None`` is the scheduler
    (services/placement.py), recorded as such in the events."""
    if actor is None:
        return
    access.require_coordinator(
        actor, claim.platform_id, str(_l("Only a coordinator of the claim's platform can book it."))
    )


def booked_stops(session: Session, claim: Claim) -> list[Stop]:
    return list(
        session.scalars(
            select(Stop).where(Stop.claim_id == claim.id).order_by(Stop.run_id, Stop.position)
        )
    )


def book(
    session: Session,
    actor: User | None,
    claim: Claim,
    run_id: int | None = None,
    now: datetime | None = None,
) -> Proposal:
    """Insert the claim's pickup and drop-off into the best run (or the chosen one);
    ``actor`` None is the scheduler. Raises Invalid with the reasons when no run fits."""
    runs.hold_stops(session)  # before reading the claim's stops and the runs'
    _may_book(actor, claim)
    if claim.status != ClaimStatus.ACTIVE:
        raise Conflict(str(_l("Only a claim not yet collected can be booked.")))
    if booked_stops(session, claim):
        raise Conflict(str(_l("This claim is already booked; cancel the booking first.")))
    proposal = propose(session, claim, now, run_id)
    params = matching_adapter.params(now or clock.now())
    lot = claim.lot
    org = claim.depot or claim.beneficiary
    donor = Place(
        lot.donor_id,
        f"{lot.pickup_address} {lot.pickup_postcode} {lot.pickup_locality}",
        lot.pickup_lat,
        lot.pickup_lon,
    )
    receiver = Place(
        claim.beneficiary_id, f"{org.address} {org.postcode} {org.locality}", org.lat, org.lon
    )
    if proposal.relay is not None:
        leg = proposal.relay
        hub = Place(
            leg.hub.platform_id,
            f"{leg.hub.name}, {leg.hub.address} {leg.hub.postcode} {leg.hub.locality}",
            leg.hub.lat,
            leg.hub.lon,
        )
        last = lot.expires_at or leg.first.drop_eta + relay.HORIZON
        _place(
            session,
            actor,
            claim,
            leg.first_run,
            relay.first_leg(claim, leg.hub, last),
            leg.first,
            params,
            donor,
            hub,
            1,
        )
        window = drop_window(claim.convention, leg.second_run.start_at.astimezone(BRUSSELS).date())
        assert window is not None
        _place(
            session,
            actor,
            claim,
            leg.second_run,
            relay.second_leg(claim, leg.hub, leg.first.drop_eta, last, window),
            leg.second,
            params,
            hub,
            receiver,
            2,
        )
        after = {
            "relay_hub_id": leg.hub.id,
            "runs": [leg.first_run.id, leg.second_run.id],
            "pickup_eta": leg.first.pickup_eta,
            "hub_eta": leg.first.drop_eta,
            "drop_eta": leg.second.drop_eta,
            "added_km": round(leg.added_km, 2),
        }
        pickup_eta, drop_eta = leg.first.pickup_eta, leg.second.drop_eta
    elif proposal.insertion is not None and proposal.run is not None:
        ins, run = proposal.insertion, proposal.run
        ship = shipment(claim, run.start_at.astimezone(BRUSSELS).date())
        assert ship is not None
        _place(session, actor, claim, run, ship, ins, params, donor, receiver, 0)
        after = {
            "run_id": run.id,
            "pickup_eta": ins.pickup_eta,
            "drop_eta": ins.drop_eta,
            "added_km": round(ins.added_km, 2),
        }
        pickup_eta, drop_eta = ins.pickup_eta, ins.drop_eta
    else:
        raise Invalid(" ".join(proposal.reasons), {"run_id": proposal.reasons[0]})
    claim.self_collect = False
    events.record(
        session, actor, claim, "booked", organisation_id=claim.beneficiary_id, after=after
    )
    notifications.booked(
        session, claim, proposal.run or proposal.relay.first_run, pickup_eta, drop_eta
    )
    return proposal


@dataclass(frozen=True)
class Place:
    organisation_id: int
    address: str
    lat: float
    lon: float


def _place(
    session: Session,
    actor: User | None,
    claim: Claim,
    run: Run,
    ship: Shipment,
    ins: Insertion,
    params,
    origin: Place,
    destination: Place,
    leg: int,
) -> None:
    """Insert one pickup and one drop-off of ``claim`` into ``run`` where ``ins`` says;
    the planner's own stops carry the windows (the deadline folded into the drop-off's)."""
    planned = apply_insertion(runs.to_plan(run), ship, ins, params).stops
    p_plan, d_plan = planned[ins.pickup_index], planned[ins.drop_index]
    pickup = Stop(
        run_id=run.id,
        position=2 * runs.TEMP_POSITION,
        kind=StopKind.PICKUP,
        organisation_id=origin.organisation_id,
        claim_id=claim.id,
        leg=leg,
        address=origin.address,
        lat=origin.lat,
        lon=origin.lon,
        load_delta_kg=claim.kg,
        window_start=p_plan.window_start,
        window_end=p_plan.window_end,
        service_min=int(p_plan.service_min),
    )
    drop = Stop(
        run_id=run.id,
        position=2 * runs.TEMP_POSITION + 1,
        kind=StopKind.DROPOFF,
        organisation_id=destination.organisation_id,
        claim_id=claim.id,
        leg=leg,
        address=destination.address,
        lat=destination.lat,
        lon=destination.lon,
        load_delta_kg=-claim.kg,
        window_start=d_plan.window_start,
        window_end=d_plan.window_end,
        service_min=int(d_plan.service_min),
    )
    ordered = list(run.stops)
    ordered.insert(ins.pickup_index, pickup)
    ordered.insert(ins.drop_index, drop)
    session.add_all([pickup, drop])
    session.flush()
    runs.renumber(session, run, ordered)
    session.refresh(run)
    events.record(
        session,
        actor,
        run,
        "stops_added",
        organisation_id=run.platform_id,
        after={
            "claim_id": claim.id,
            "leg": leg,
            "pickup_index": ins.pickup_index,
            "drop_index": ins.drop_index,
        },
    )


def self_collect(session: Session, actor: User | None, claim: Claim) -> None:
    """The beneficiary collects at the donor itself: no run carries the claim. The
    beneficiary decides this, or a coordinator of the claim's platform, or the scheduler
    (``actor`` None: placement, when no run fits and the convention says its people
    collect that far, services/self_collection.py), and only while the hand-over check
    passes (no reading yet: nobody is there to measure); past the lot's use-by it is
    refused (409)."""
    if actor is not None and not access.can(actor, access.CHANGE, claim):
        access.deny(
            str(
                _l(
                    "Only the beneficiary or a coordinator of the claim's platform "
                    "chooses self-collection."
                )
            )
        )
    if claim.status != ClaimStatus.ACTIVE:
        raise Conflict(str(_l("Only a claim not yet collected can be booked.")))
    verdict = food_safety.check_handover(claim.lot, None, measured=False)
    if not verdict.ok:
        raise Conflict(
            verdict.message, {}, refused=True, limit_c=verdict.limit_c, reason=verdict.reason
        )
    unbook(session, actor, claim)
    claim.self_collect = True
    session.flush()
    events.record(session, actor, claim, "self_collect", organisation_id=claim.beneficiary_id)


def unbook(session: Session, actor: User | None, claim: Claim) -> int:
    """Remove the claim's stops from their run; the run's times and load follow."""
    runs.hold_stops(session)
    stops = [s for s in booked_stops(session, claim) if s.confirmed_at is None]
    for stop in stops:
        runs.remove_stop(session, None, stop)
    if stops:
        events.record(session, actor, claim, "unbooked", organisation_id=claim.beneficiary_id)
    return len(stops)
