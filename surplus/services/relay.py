"""Hub relays: when no single run reaches the beneficiary before the lot's date, a run
(of the claim's platform or of a platform carrying for it) takes the lot to a depot of
the claim's platform, and one of that platform's runs leaving from this depot later
delivers it. Both legs are found here and booked together by ``booking.book``.

1. Hubs: the depots of the claim's platform; a chilled or frozen lot needs a cold room
   (:func:`holds`).
2. Leg 1, for each day with candidate runs: the cheapest insertion of donor → hub
   (no window at the hub; the lot's date, :func:`last_moment`, is the deadline).
3. Leg 2: the cheapest insertion of hub → beneficiary on a run of the claim's platform
   leaving from that hub (:func:`after_first`: another run, leaving no earlier than
   leg 1's drop-off), dropping off in the beneficiary's opening hours of the run's day.
4. The relay with the fewest added km over both legs wins.

The legs' shipments (:func:`lot_first_leg`, :func:`lot_second_leg`), the hubs and the
runs a second leg may take are also what continuous placement's reach asks about
(services/reachability.py), so that it promises only what booking can carry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from matching import Params
from matching.booking import Insertion, RunPlan, Shipment, insert

from ..models import Claim, Depot, Lot, Organisation, Run, StorageClass
from . import runs
from .lot_dates import BRUSSELS
from .runs import RunView

HORIZON = timedelta(days=14)


@dataclass
class Relay:
    hub: Depot
    first: Insertion
    first_run: Run | RunView  # the objects once found (``find``), values while searching
    second: Insertion
    second_run: Run | RunView

    @property
    def added_km(self) -> float:
        return self.first.added_km + self.second.added_km


# Built once: read at every reach (services/eligibility.py says why).
_DEPOTS = select(Depot).where(Depot.platform_id == bindparam("platform")).order_by(Depot.id)


def depots(session: Session, platform_id: int) -> list[Depot]:
    """Every depot of a platform, the possible hubs of its claims (:func:`holds`)."""
    return list(session.scalars(_DEPOTS, {"platform": platform_id}))


def holds(hub: Depot, storage: StorageClass) -> bool:
    """Whether a lot of this storage may wait at the hub: chilled and frozen need a cold room."""
    return storage == StorageClass.AMBIENT or bool(hub.cold_room)


def hubs(session: Session, claim: Claim) -> list[Depot]:
    return [hub for hub in depots(session, claim.platform_id) if holds(hub, claim.lot.storage)]


def last_moment(lot: Lot, now: datetime) -> datetime:
    """When a relay must be done: the lot's use-by, else ``HORIZON`` from now."""
    return lot.expires_at or (now + HORIZON)


def lot_first_leg(ident: Hashable, lot: Lot, kg: float, hub: Depot, last: datetime) -> Shipment:
    """Leg 1: ``kg`` of ``lot`` from its donor in its pickup window to the hub by ``last``."""
    return Shipment(
        id=ident,
        kg=kg,
        storage=lot.storage.value,
        pickup_lat=lot.pickup_lat,
        pickup_lon=lot.pickup_lon,
        drop_lat=hub.lat,
        drop_lon=hub.lon,
        pickup_window=(lot.pickup_from, lot.pickup_until),
        deadline=last,
    )


def lot_second_leg(
    ident: Hashable,
    lot: Lot,
    kg: float,
    hub: Depot,
    org: Organisation,
    ready: datetime,
    last: datetime,
    drop_window: tuple[datetime, datetime],
) -> Shipment:
    """Leg 2: ``kg`` of ``lot`` from the hub, once there (``ready``), to ``org`` in
    ``drop_window``, by the lot's use-by."""
    return Shipment(
        id=ident,
        kg=kg,
        storage=lot.storage.value,
        pickup_lat=hub.lat,
        pickup_lon=hub.lon,
        drop_lat=org.lat,
        drop_lon=org.lon,
        pickup_window=(ready, last),
        drop_window=drop_window,
        deadline=lot.expires_at,
    )


def first_leg(claim: Claim, hub: Depot, last: datetime) -> Shipment:
    return lot_first_leg(claim.id, claim.lot, claim.kg, hub, last)


def second_leg(
    claim: Claim,
    hub: Depot,
    ready: datetime,
    last: datetime,
    drop_window: tuple[datetime, datetime],
) -> Shipment:
    return lot_second_leg(
        claim.id, claim.lot, claim.kg, hub, claim.beneficiary, ready, last, drop_window
    )


def may_follow(run: RunView, leg1: Insertion, run1: RunView) -> bool:
    """Whether ``run``, leaving the hub, may take the second leg after ``leg1`` on ``run1``:
    another run, leaving once the lot is at the hub."""
    return run.id != run1.id and run.start_at >= leg1.drop_eta


def after_first(from_hub: list[RunView], leg1: Insertion, run1: RunView) -> list[RunView]:
    """The runs leaving the hub that may take the second leg after ``leg1`` on ``run1``."""
    return [r for r in from_hub if may_follow(r, leg1, run1)]


def find(
    session: Session,
    claim: Claim,
    candidates: list[RunView],
    now: datetime,
    params: Params,
    drop_window,
    *,
    own_runs: list[RunView] | None = None,
    plans: dict[date, list[RunPlan]] | None = None,
) -> Relay | None:
    """The cheapest two-leg relay, or None. ``candidates``: the first legs' planned runs
    as ``runs.planned_views`` gives them; ``drop_window(claim, day)`` gives the
    beneficiary's opening hours on a day (booking's rule). ``own_runs``: the planned
    runs of the claim's platform up to the lot's date (or ``HORIZON``) when the caller
    has read them; ``plans``: the candidates of some days as ``runs.to_plan`` gives
    them, when the caller has them. The relay's runs are the run objects, to be
    written."""
    if not candidates:  # no run for the first leg
        return None
    places = hubs(session, claim)
    if not places:  # no depot of the claim's platform could hold the lot
        return None
    last = last_moment(claim.lot, now)
    if own_runs is None:
        own_runs = runs.planned_views(session, [claim.platform_id], now, last)
    leaving = {hub.id: [r for r in own_runs if r.depot_id == hub.id] for hub in places}
    if not any(leaving.values()):  # no run leaves a hub for the second leg
        return None
    by_day: dict[date, list[RunView]] = defaultdict(list)
    for run in candidates:
        by_day[run.start_at.astimezone(BRUSSELS).date()].append(run)
    given = plans or {}
    day_plans = {
        day: given[day] if day in given else [runs.to_plan(r) for r in day_runs]
        for day, day_runs in by_day.items()
    }
    best: Relay | None = None
    for hub in places:
        from_hub = leaving[hub.id]
        if not from_hub:
            continue
        for day, day_runs in sorted(by_day.items()):
            leg1 = insert(day_plans[day], first_leg(claim, hub, last), params)
            if leg1 is None:
                continue
            run1 = next(r for r in day_runs if r.id == leg1.run_id)
            second = _second(claim, hub, leg1, run1, from_hub, last, params, drop_window)
            if second is None:
                continue
            relay = Relay(hub, leg1, run1, *second)
            if best is None or relay.added_km < best.added_km:
                best = relay
    if best is None:
        return None
    return replace(
        best,
        first_run=session.get(Run, best.first_run.id),
        second_run=session.get(Run, best.second_run.id),
    )


def _second(
    claim: Claim,
    hub: Depot,
    leg1: Insertion,
    run1: RunView,
    from_hub: list[RunView],
    last: datetime,
    params: Params,
    drop_window,
) -> tuple[Insertion, RunView] | None:
    if leg1.drop_eta >= last:
        return None
    by_day: dict[date, list[RunView]] = defaultdict(list)
    for run in after_first(from_hub, leg1, run1):
        by_day[run.start_at.astimezone(BRUSSELS).date()].append(run)
    for day, day_runs in sorted(by_day.items()):
        window = drop_window(claim, day)
        if window is None:
            continue
        ship = second_leg(claim, hub, leg1.drop_eta, last, window)
        found = insert([runs.to_plan(r) for r in day_runs], ship, params)
        if found is not None:
            return found, next(r for r in day_runs if r.id == found.run_id)
    return None
