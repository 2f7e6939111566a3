"""Booking: put a lot's pickup and drop-off on a delivery run that already exists.

Time model (the independent validator, :mod:`matching.booking.check`, uses the same)
------------------------------------------------------------------------------------
1. A leg's km is the great-circle km times ``params.circuity``; its minutes are
   ``km / run.speed_kmh × 60``.
2. A run leaves its depot at ``run.start``, visits its stops in order and returns to the
   depot. Arriving before a stop's window opens, the van waits until it opens; service
   must *start* by the window's end. Each stop then takes its ``service_min`` (the new
   pickup and drop-off take ``params.service_min``).
3. The load on board leaves the depot at ``run.start_load_kg`` (``None``: the sum of the
   regular stops' deliveries, their negative ``load_delta_kg``) and changes by each
   stop's ``load_delta_kg``; on every leg it stays between 0 and ``run.capacity_kg``.
   A shipment adds its ``kg`` at the pickup and removes it at the drop-off.
4. The drop-off's service *ends* by the shipment's ``deadline`` (its use-by); a
   shipment whose deadline is not after ``params.now`` is never booked.
5. The run's duration, from ``start`` to the return to the depot, stays within
   ``max_duration_min``. Chilled lots need a refrigerated vehicle, frozen a freezer.
6. ``pickup_index`` and ``drop_index`` are positions in the new stop list (0-based, the
   pickup first); ``added_km`` is the new route's km minus the old route's, depot legs
   included; ``pickup_eta`` and ``drop_eta`` are the planned service starts.

Existing stops keep their order. A run that already breaks rule 2, 3 or 5 takes no
booking. Distances must obey the triangle inequality (great-circle km do, and so do
shortest road paths, should a routing engine replace them in ``fleet``): the bounds
below rely on a detour never saving time.

Objective: ``insert`` minimises ``added_km`` over every run and every pair of positions;
``book`` maximises the number of shipments booked, then minimises the sum of ``added_km``.

``insert(runs, shipment, params)``
1. Read every run's coordinates; bound each run's added km from below by distance alone
   (for each leg, the pickup's and the drop-off's detour; the cheapest pickup leg before
   each drop-off leg, or both on one leg). No run is dropped for being far away.
2. Best first, make the smallest bounds exact: the *slack* bound keeps only the legs
   where a stop fits on its own (window, room on board, and the leg's detour ellipse
   against the slack of the stops after it, from the run's arrival times and waits read
   on first use), and rules the run out when no pair of legs is left; otherwise the
   exact *scan* tries every pair of those legs at once with NumPy, the pickup's delay
   shrinking by the waiting at the stops in between. Stop when the least value is
   exact: it is the answer (equal costs go to the run listed first).

``book(runs, shipments, params)``: a table of bounds, one row per shipment and one column
per run, raised lazily as in ``insert`` (see :mod:`matching.booking.plan`). The table
starts from the run's circle, and the distance bound where the circle lies within
``NEAR_KM`` of the shipment; it is settled once for steps 1 and 3, which both start from
the runs as given.
1. Regret insertion: every shipment knows its two cheapest runs; repeatedly book the one
   whose second-best run costs most more than its best (a shipment left with a single
   run goes first); re-bound the changed run's column and settle again only the rows
   whose two cheapest runs may have changed. A shipment that fits no run at some point
   never fits it later, since adding stops only delays and loads a run.
2. Improvement: take off the dearest bookings one by one and book each again at its
   cheapest insertion (possibly where it was), two sweeps within ``IMPROVE_BUDGET``;
   the km only fall.
3. Sequential cheapest insertion in the order given, the baseline, on its own copy of
   the runs; it stops as soon as it can no longer beat steps 1-2.
4. Return the better: more shipments booked, or as many for fewer km.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from ..errors import InvalidInputError
from ..params import Params
from .arrays import Shipments, to_datetime, to_minutes
from .fleet import Fleet
from .kernels import distance_grid, near_grid, scan
from .model import Insertion, RunPlan, Shipment, StopPlan
from .plan import Planner, better, improve, regret, sequential

#: Work allowed to ``book``'s improvement: shipments taken off and booked again (dearest
#: first, in two sweeps) times runs: every shipment on 50 runs, the dearest 50 (of
#: 1,000) on 500 runs, where the choice of runs leaves less to gain (measured).
IMPROVE_BUDGET = 50_000
#: ``book`` bounds by distance at once only the runs whose circle lies within this many
#: km of a shipment's stops (the others keep their circle's bound until needed).
NEAR_KM = 20.0

__all__ = ["apply_insertion", "book", "book_sequential", "insert"]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _bookable(shipments: Sequence[Shipment], params: Params) -> list[int]:
    if params.now.utcoffset() is None:
        raise InvalidInputError("params.now must be a timezone-aware datetime")
    now = to_minutes(params.now, 0.0)
    return [i for i, s in enumerate(shipments) if to_minutes(s.deadline, math.inf) > now]


def insert(runs: Sequence[RunPlan], shipment: Shipment, params: Params) -> Insertion | None:
    """The feasible insertion with the least added km over all ``runs``, or ``None``.

    :func:`explain_no_insertion` says why a run cannot take the shipment.
    """
    if not _bookable([shipment], params) or not runs:
        return None
    fleet = Fleet(runs, params.circuity, service_min=params.service_min)
    ships = Shipments.build([shipment], params.circuity, params.service_min)
    one = np.zeros(1, np.int64)
    planner = Planner(fleet, ships, distance_grid(fleet, ships, one, np.arange(len(runs))), 1)
    planner.settle(one, 1)
    r = planner.best_run(0)
    if r is None:
        return None
    km, a, b, sp, sd = scan(fleet, ships, one, np.array([r]))
    run = runs[r]
    return Insertion(
        run.id,
        shipment.id,
        int(a[0]),
        int(b[0]) + 1,
        max(float(km[0]), 0.0),
        to_datetime(sp[0], run.start),
        to_datetime(sd[0], run.start),
    )


def _prepare(
    runs: Sequence[RunPlan], shipments: Sequence[Shipment], params: Params
) -> tuple[Fleet, Shipments, list[int], np.ndarray, np.ndarray]:
    ids = [s.id for s in shipments]
    if len(set(ids)) != len(ids):
        raise InvalidInputError("shipment ids must be unique")
    active = _bookable(shipments, params)
    fleet = Fleet(runs, params.circuity, spare=4, service_min=params.service_min)
    fleet.ensure(np.arange(len(runs)))
    ships = Shipments.build([shipments[i] for i in active], params.circuity, params.service_min)
    bounds, level = near_grid(fleet, ships, np.arange(len(active)), np.arange(len(runs)), NEAR_KM)
    return fleet, ships, active, bounds, level


def _insertions(
    planner: Planner, runs: Sequence[RunPlan], shipments: Sequence[Shipment], active: list[int]
) -> list[Insertion]:
    """Final positions and times of every booked shipment, in the order of ``shipments``."""
    found = {}
    shares = planner.shares()
    for s, (r, _) in planner.placed.items():
        km = shares[s]
        tags, serve, run = planner.tags[r], planner.fleet.serve(r), runs[r]
        k_p, k_d = tags.index(("p", s)), tags.index(("d", s))  # nodes; stop = node - 1
        found[s] = Insertion(
            run.id,
            shipments[active[s]].id,
            k_p - 1,
            k_d - 1,
            max(km, 0.0),
            to_datetime(serve[k_p], run.start),
            to_datetime(serve[k_d], run.start),
        )
    return [found[s] for s in sorted(found)]


def book_sequential(
    runs: Sequence[RunPlan], shipments: Sequence[Shipment], params: Params
) -> list[Insertion]:
    """Baseline: each shipment, in the order given, takes its cheapest insertion.

    The result reads as that of :func:`book`.
    """
    fleet, ships, active, bounds, level = _prepare(runs, shipments, params)
    planner = sequential(Planner(fleet, ships, bounds, level))
    return _insertions(planner, runs, shipments, active)


def book(runs: Sequence[RunPlan], shipments: Sequence[Shipment], params: Params) -> list[Insertion]:
    """Book many shipments at once; never worse than :func:`book_sequential`.

    Returns one :class:`Insertion` per booked shipment, in the order of ``shipments``.
    Positions and times are those of each run's *final* stop list, once all the returned
    insertions are applied. ``added_km`` is each shipment's share of its run's extra km:
    replaying the run's bookings in the order they were first made, the km its two stops
    add (the shares of a run add up to its new km minus its old).
    """
    if not runs or not shipments:
        return []
    fleet, ships, active, bounds, level = _prepare(runs, shipments, params)
    limit = IMPROVE_BUDGET // (2 * len(runs))
    # Both planners start from the runs as given: settle the table once for both.
    root = Planner(fleet, ships, bounds, level)
    root.settle(np.arange(len(active)), 2)
    best = improve(regret(root.fork(fleet.copy())), limit)
    base = sequential(root, rival=best)
    if better(base, best):
        best = improve(base, limit)
    return _insertions(best, runs, shipments, active)


def apply_insertion(
    run: RunPlan, shipment: Shipment, insertion: Insertion, params: Params
) -> RunPlan:
    """The run with the shipment's two stops added, as a plain :class:`RunPlan`.

    The drop-off's window end folds in the deadline (deadline minus the service time),
    so the new run carries every constraint of the booking and can take the next one.
    """
    pick_open, pick_close = shipment.pickup_window or (None, None)
    drop_open, drop_close = shipment.drop_window or (None, None)
    if shipment.deadline is not None:  # in UTC: a DST change must not shift it
        utc = shipment.deadline.astimezone(UTC) - timedelta(minutes=params.service_min)
        latest = utc.astimezone(shipment.deadline.tzinfo)
        drop_close = latest if drop_close is None else min(drop_close, latest, key=_utc)
    svc = params.service_min
    lat, lon, kg = shipment.pickup_lat, shipment.pickup_lon, shipment.kg
    pickup = StopPlan(lat, lon, kg, pick_open, pick_close, svc)
    drop = StopPlan(shipment.drop_lat, shipment.drop_lon, -kg, drop_open, drop_close, svc)
    stops = list(run.stops)
    stops.insert(insertion.pickup_index, pickup)
    stops.insert(insertion.drop_index, drop)
    return RunPlan(
        run.id,
        run.capacity_kg,
        run.refrigerated,
        run.freezer,
        run.depot_lat,
        run.depot_lon,
        run.start,
        stops,
        run.speed_kmh,
        run.max_duration_min,
        run.initial_load_kg,
    )
