"""Which beneficiaries a lot's transport can reach: the runs that already pass by.

Continuous placement (services/placement.py) lets the matcher give a lot only to the
organisations a planned run can carry it to before its date, at a small detour. The
budget of a lot is ``max(PLACEMENT_DETOUR_MIN_KM, PLACEMENT_DETOUR_KM_PER_KG × kg)``
road km (its remaining kilograms). An organisation is reached by a lot in either way
booking (:func:`services.booking.propose`) carries a claim:

**Directly**: a run of the platform (or of a platform carrying for it on that day) that

- leaves after now and before the lot's date (use-by, or the end of its pickup window),
  on a day its pickup window is open;
- has the vehicle its storage needs (refrigerated for chilled, freezer for frozen);
- passes near enough the donor and the organisation that inserting the pickup and the
  drop-off adds at most the budget. The detour of a point is the cheapest way to
  splice it between two consecutive places of the run (depot, stops, depot), the same
  road estimate the booking planner uses;
- and on which the booking planner itself finds room for the lot's smallest part
  (``matching.reach.fits_alone``: ``matching.booking.insert`` for many pairs at once),
  from the donor in its pickup window to the organisation in
  its opening hours of that day, within the van's capacity and the run's duration.

**Through a hub relay** (services/relay.py, the rule booking applies when no single run
fits), for the pairs not reached directly:

- leg 1: on a day with such runs (the first three conditions above, the donor's detour
  within the budget), the booking planner's cheapest insertion of the lot's smallest
  part from the donor to a depot of the platform that may hold it (a cold room for a
  chilled or frozen lot: ``relay.depots``, ``relay.holds``, as ``relay.hubs``), by the
  lot's date (``relay.last_moment``; ``relay.lot_first_leg``), adding at most the budget
  (the planner's km: the geometric leg-2 detour below is a lower bound, as in the direct
  test);
- leg 2: a run of the platform leaving that depot once the lot is there
  (``relay.may_follow``), by the lot's date, with the vehicle its storage needs, passing
  near enough the organisation that its drop-off's detour fits in what leg 1 left of
  the budget, and on which the planner finds room for the part from the depot to the
  organisation in its opening hours of that day (``relay.lot_second_leg``,
  ``fits_alone``). The organisation's drop-off on its own round adds about nothing:
  the pickup's detour is what a relay costs.

Leg 1 depends on the lot and the depot alone: it is asked once per (lot, depot, day),
and leg 2 once per run leaving a depot, for all the pairs at once. The geometric tests
come first and are cheap; the planner is asked only about what they let through.
:func:`services.booking.book` still books the claim on the best run, or relay.
A lot is never proposed again to an organisation whose claim on it the scheduler gave
back because no run could carry it (:func:`given_back`).

:func:`reach` also says, for each pair reached, about how many road km carrying it
adds: the least, over the runs (or relays) that reach it, of the geometric detours of
its pickup and drop-off (a relay: its first leg's added km, by the planner, and the
drop-off's detour on the second run). Placement gives them to the matcher
(``matching.Params.detour_cost``), which then prefers the organisations a van passes by.

For a lot that reaches nobody, :func:`reach` can also say which of the conditions above no
run met (``why``), the first that failed on every run, for the coordinator's proposal
(``matching.reach``'s reasons): no run leaves while it can be picked up and before its date
(``no_run_in_time``); those that do lack the refrigerated van or freezer its storage needs
(``no_cold_run``); none of those passes near enough the donor and an organisation, nor
reaches a depot it can be relayed from, within the budget (``no_run_nearby``); or the
planner found no room or no time on any of them (``no_run_reaches``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from flask import current_app
from numpy.typing import NDArray
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from matching import Params
from matching.booking import Insertion, RunPlan, insert
from matching.distance import great_circle_km
from matching.eligibility import smallest_part_kg
from matching.reach import UNREACHED, fits_alone

from ..models import Claim, ClaimStatus, Convention, Event, Lot, Organisation
from ..models.enums import StorageClass
from . import agreements, booking, matching_adapter, relay, runs
from .lot_dates import BRUSSELS
from .runs import RunView

# A lot without a use-by date is carried within this horizon after its pickup window.
HORIZON = timedelta(days=14)
# Float slack when comparing a geometric detour with the planner's km.
EPS_KM = 1e-6


def _route(run: RunView) -> tuple[NDArray, NDArray]:
    """The run's places in order: depot, every stop, depot (latitudes, longitudes)."""
    lats = [run.depot.lat, *(s.lat for s in run.stops), run.depot.lat]
    lons = [run.depot.lon, *(s.lon for s in run.stops), run.depot.lon]
    return np.array(lats), np.array(lons)


def _detours(route: tuple[NDArray, NDArray], lat: NDArray, lon: NDArray, circuity: float):
    """Road km added by splicing each point (lat[i], lon[i]) into the route at its best leg."""
    r_lat, r_lon = route
    legs = great_circle_km(r_lat[:-1], r_lon[:-1], r_lat[1:], r_lon[1:])
    to_start = great_circle_km(lat[:, None], lon[:, None], r_lat[None, :-1], r_lon[None, :-1])
    to_end = great_circle_km(lat[:, None], lon[:, None], r_lat[None, 1:], r_lon[None, 1:])
    return circuity * np.maximum(0.0, (to_start + to_end - legs[None, :]).min(axis=1))


def _carries(run: RunView, storage: StorageClass) -> bool:
    if storage == StorageClass.FROZEN:
        return run.vehicle.freezer
    if storage == StorageClass.CHILLED:
        return run.vehicle.refrigerated or run.vehicle.freezer
    return True


def _deadline(lot: Lot) -> datetime:
    return lot.expires_at or lot.pickup_until + HORIZON


def _day(run: RunView) -> date:
    return run.start_at.astimezone(BRUSSELS).date()


def budget_km(kg: float) -> float:
    """The most road km a van may add to carry ``kg`` for placement:
    ``max(PLACEMENT_DETOUR_MIN_KM, PLACEMENT_DETOUR_KM_PER_KG × kg)``."""
    config = current_app.config
    return max(config["PLACEMENT_DETOUR_MIN_KM"], config["PLACEMENT_DETOUR_KM_PER_KG"] * kg)


# From the lots' claims to each one's events (EXISTS): joined, SQLite's planner walked
# every claim event of the log first. Built once: read at every reach (services/eligibility.py
# says why).
_GIVEN_BACK = select(Claim.lot_id, Claim.beneficiary_id).where(
    Claim.lot_id.in_(bindparam("lots", expanding=True)),
    Claim.status == ClaimStatus.CANCELLED,
    Claim.created_by_id.is_(None),
    select(Event.id)
    .where(
        Event.subject_type == "claim",
        Event.subject_id == Claim.id,
        Event.action == "cancelled",
        Event.actor_id.is_(None),
    )
    .exists(),
)


def given_back(session: Session, lot_ids: list[int]) -> set[tuple[int, int]]:
    """``(lot id, organisation id)`` of the claims on these lots that the scheduler made
    and gave back, no run fitting (services/placement.py: cancelled by no one)."""
    if not lot_ids:
        return set()
    rows = session.execute(_GIVEN_BACK, {"lots": list(lot_ids)}).all()
    return {(lot_id, org_id) for lot_id, org_id in rows}


@dataclass
class _Scene:
    """What one call of :func:`reach` reads once: the lots, the organisations, the runs."""

    lots: list[Lot]
    bens: list[Organisation]
    conventions: dict[int, Convention]
    budget: NDArray
    parts: list[float]
    refused: set[tuple[int, int]]
    params: Params
    circuity: float
    reached: list[dict[int, float]]  # per lot row: organisation id → least detour km
    least: bool  # look for a pair's least detour (else: reached once is enough)
    # per lot row, how far a run came to carrying it: 0 none in time, 1 in time, 2 with
    # the vehicle its storage needs, 3 passing near enough (``matching.reach.UNREACHED``)
    stage: list[int] = field(default_factory=list)
    plans: dict[int, RunPlan] = field(default_factory=dict)
    windows: dict[tuple[int, date], Any] = field(default_factory=dict)

    def plan(self, run: RunView) -> RunPlan:
        if run.id not in self.plans:
            self.plans[run.id] = runs.to_plan(run)
        return self.plans[run.id]

    def window(self, org: Organisation, day: date):
        key = (org.id, day)
        if key not in self.windows:
            self.windows[key] = booking.drop_window(self.conventions[org.id], day)
        return self.windows[key]

    def open_pair(self, row: int, org: Organisation, km: float = 0.0) -> bool:
        """Not given back, and not reached yet, or reached only at a detour longer than
        ``km``."""
        if (self.lots[row].id, org.id) in self.refused:
            return False
        known = self.reached[row].get(org.id)
        return known is None or (self.least and km < known - EPS_KM)

    def confirm(
        self, run: RunView, pairs: list[tuple[int, int]], ships: list[Any], km: list[float]
    ) -> None:
        """The booking planner, for every pair the geometry let through on ``run`` (at
        about ``km`` of detour each), at once."""
        if not ships:
            return
        fits = fits_alone(self.plan(run), ships, self.params)
        for (row, org_id), ok, detour in zip(pairs, fits, km, strict=True):
            if ok:  # open_pair let it through: not reached yet, or now nearer
                self.reached[row][org_id] = detour


def reach(
    session: Session,
    platform_id: int,
    lots: Iterable[Lot],
    network: Mapping[int, tuple[Organisation, list[Any]]],
    now: datetime,
    carry: Mapping[int, float] | None = None,
    *,
    least: bool = False,
    why: dict[int, str] | None = None,
    refused: set[tuple[int, int]] | None = None,
) -> dict[int, dict[int, float]]:
    """For each lot id, the ids of the ``network``'s organisations (``{id: (organisation,
    its channels with the platform ``platform_id``)}``, as allocation builds it) a planned
    run, or a hub relay, can carry it to (never one whose claim on it was given back:
    :func:`given_back`), each with about how many road km carrying it there adds (module
    docstring). ``carry``: the kilograms of each lot to carry whole (a claim's:
    services/carriage.py), their budget that of those kilograms; by default what remains
    of the lot, its smallest part what must fit. ``least``: each pair's least detour over
    the runs that reach it (placement's matcher weighs it); by default, that of the first
    run found, without asking the planner about later runs that pass nearer (the pairs
    are the same, the questions fewer: enough for the cards' transport lines). ``why``, when
    given, receives for each lot that reaches nobody the reason (module docstring).
    ``refused``: :func:`given_back` of these lots, when the caller read it already."""
    lots = list(lots)
    bens = [org for org, _chans in network.values()]
    if not lots or not bens:
        return {lot.id: {} for lot in lots}
    config = current_app.config
    until = max(_deadline(lot) for lot in lots)
    carriers = agreements.carriers_for(
        session,
        [platform_id],
        now.astimezone(BRUSSELS).date(),
        until.astimezone(BRUSSELS).date(),
    )
    found = runs.planned_views(session, [platform_id, *carriers], now, until)
    usable = [
        r
        for r in found
        if r.platform_id == platform_id or any(a.in_force(_day(r)) for a in carriers[r.platform_id])
    ]
    scene = _Scene(
        lots=lots,
        bens=bens,
        conventions={org.id: chans[0].convention for org, chans in network.values()},
        budget=np.array([budget_km(carry[lot.id] if carry else lot.remaining_kg) for lot in lots]),
        # the smallest part a beneficiary may take (1 kg when the donor set none)
        parts=[
            carry[lot.id]
            if carry
            else min(lot.remaining_kg, max(1.0, smallest_part_kg(matching_adapter.to_lot(lot))))
            for lot in lots
        ],
        refused=given_back(session, [lot.id for lot in lots]) if refused is None else refused,
        params=matching_adapter.params(now),
        circuity=config["ROAD_CIRCUITY"],
        reached=[{} for _ in lots],
        least=least,
        stage=[0] * len(lots),
    )
    pickups = _direct(scene, usable)
    _relayed(session, scene, platform_id, usable, pickups, now)
    if why is not None:
        for lot, found, stage in zip(lots, scene.reached, scene.stage, strict=True):
            if not found:
                why[lot.id] = UNREACHED[stage]
    return {lot.id: r for lot, r in zip(lots, scene.reached, strict=True)}


def _direct(scene: _Scene, usable: list[RunView]) -> dict[int, dict[int, float]]:
    """The pairs a single run reaches; returns, per run, the lots (rows) it may pick up
    and the donor's detour of each (what the relays' first legs start from)."""
    lots, bens = scene.lots, scene.bens
    ben_lat = np.array([b.lat for b in bens], dtype=float)
    ben_lon = np.array([b.lon for b in bens], dtype=float)
    lot_lat = np.array([lot.pickup_lat for lot in lots], dtype=float)
    lot_lon = np.array([lot.pickup_lon for lot in lots], dtype=float)
    pickups: dict[int, dict[int, float]] = {}
    stage = scene.stage
    for run in usable:
        day = _day(run)
        rows = []
        for i, lot in enumerate(lots):
            if (
                run.start_at <= _deadline(lot)
                and lot.pickup_from.astimezone(BRUSSELS).date() <= day
                and lot.pickup_until > run.start_at
            ):
                if _carries(run, lot.storage):
                    rows.append(i)
                    stage[i] = max(stage[i], 2)
                else:
                    stage[i] = max(stage[i], 1)
        if not rows:
            continue
        route = _route(run)
        drop = _detours(route, ben_lat, ben_lon, scene.circuity)
        pick = _detours(route, lot_lat[rows], lot_lon[rows], scene.circuity)
        pickups[run.id] = dict(zip(rows, pick.tolist(), strict=True))
        added = pick[:, None] + drop[None, :]
        fits = added <= scene.budget[rows][:, None]
        pairs, ships, km = [], [], []
        for row, mask, row_km in zip(rows, fits, added.tolist(), strict=True):
            if mask.any():
                stage[row] = 3
            for b in np.flatnonzero(mask):
                org = bens[b]
                if not scene.open_pair(row, org, row_km[b]):
                    continue
                window = scene.window(org, day)
                if window is None:
                    continue
                lot = lots[row]
                pairs.append((row, org.id))
                km.append(row_km[b])
                ships.append(
                    booking.lot_shipment((lot.id, org.id), lot, scene.parts[row], org, window)
                )
        scene.confirm(run, pairs, ships, km)
    return pickups


def _relayed(
    session: Session,
    scene: _Scene,
    platform_id: int,
    usable: list[RunView],
    pickups: dict[int, dict[int, float]],
    now: datetime,
) -> None:
    """Add the pairs a hub relay reaches (module docstring), for those not reached yet."""
    lots, bens = scene.lots, scene.bens
    waiting = [row for row in range(len(lots)) if any(_unreached(scene, row, b) for b in bens)]
    if not waiting:
        return
    leaving: dict[int, list[RunView]] = defaultdict(list)
    for run in usable:
        if run.platform_id == platform_id:
            leaving[run.depot_id].append(run)
    hubs = [hub for hub in relay.depots(session, platform_id) if leaving[hub.id]]
    if not hubs:
        return
    # Leg 1, once per (lot, hub, day): the planner's cheapest insertion donor → hub on the
    # runs of the day whose detour to the donor fits the budget (a dearer run could not
    # give an insertion within it: the pickup's detour is part of the added km).
    firsts: dict[int, dict[int, list[tuple[Insertion, RunView]]]] = defaultdict(dict)
    for row in waiting:
        lot, budget = lots[row], float(scene.budget[row])
        last = relay.last_moment(lot, now)
        by_day: dict[date, list[RunView]] = defaultdict(list)
        for run in usable:
            detour = pickups.get(run.id, {}).get(row)
            if detour is not None and detour <= budget + EPS_KM:
                by_day[_day(run)].append(run)
        if not by_day:
            continue
        for hub in hubs:
            if not relay.holds(hub, lot.storage):
                continue
            ship = relay.lot_first_leg((lot.id, hub.id), lot, scene.parts[row], hub, last)
            legs = []
            for key in sorted(by_day):
                day_runs = by_day[key]
                leg1 = insert([scene.plan(r) for r in day_runs], ship, scene.params)
                if leg1 is None or leg1.added_km > budget or leg1.drop_eta >= last:
                    continue
                scene.stage[row] = 3  # a van can bring it to the depot within the budget
                legs.append((leg1, next(r for r in day_runs if r.id == leg1.run_id)))
            if legs:
                firsts[hub.id][row] = legs
    # Leg 2, once per run leaving a hub, for every pair at once.
    ben_lat = np.array([b.lat for b in bens], dtype=float)
    ben_lon = np.array([b.lon for b in bens], dtype=float)
    for hub in hubs:
        rows = firsts.get(hub.id)
        if not rows:
            continue
        for run2 in leaving[hub.id]:
            day = _day(run2)
            drop: NDArray | None = None
            pairs, ships, km = [], [], []
            for row, legs in rows.items():
                lot = lots[row]
                last = relay.last_moment(lot, now)
                if run2.start_at > last or not _carries(run2, lot.storage):
                    continue
                before = [(leg, run1) for leg, run1 in legs if relay.may_follow(run2, leg, run1)]
                if not before:
                    continue
                leg1, _run1 = min(before, key=lambda pair: pair[0].added_km)
                room = float(scene.budget[row]) - leg1.added_km
                if drop is None:
                    drop = _detours(_route(run2), ben_lat, ben_lon, scene.circuity)
                for b in np.flatnonzero(drop <= room + EPS_KM):
                    org = bens[b]
                    if not _unreached(scene, row, org):
                        continue
                    window = scene.window(org, day)
                    if window is None:
                        continue
                    pairs.append((row, org.id))
                    km.append(leg1.added_km + float(drop[b]))
                    ships.append(
                        relay.lot_second_leg(
                            (lot.id, org.id),
                            lot,
                            scene.parts[row],
                            hub,
                            org,
                            leg1.drop_eta,
                            last,
                            window,
                        )
                    )
            scene.confirm(run2, pairs, ships, km)


def _unreached(scene: _Scene, row: int, org: Organisation) -> bool:
    """Neither reached (by a run or a relay) nor given back: what a relay is tried for."""
    return org.id not in scene.reached[row] and scene.open_pair(row, org)
