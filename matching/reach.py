"""Allocation restricted to the beneficiaries a lot's transport can reach.

:func:`allocate_within_reach` is what continuous placement runs: a lot may go only to
the beneficiaries that a planned run can carry it to before its date (the caller
computes those sets from its runs, see ``surplus/services/reachability.py``), so the
matcher never claims food that then waits for a van that never comes.

Lots sharing the same reachable set form a group; groups are allocated one after the
other (soonest date first) with the same allocator, each seeing the kilograms and room
the previous groups took. Inside a group the allocator's own fairness and distance rules
apply unchanged. A lot without any reachable beneficiary is left unallocated with the
reason the caller found (``unreached``: no run in time, none with the vehicle its
storage needs, none passing near enough), else ``no_run_reaches``.

:func:`fits_alone` answers, for many shipments at once, whether a run can take each
one alone as the run stands: what computing the reachable sets asks of the booking
planner.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from .allocation import Allocation, Unallocated
from .booking import RunPlan, Shipment
from .booking.arrays import Shipments, to_minutes
from .booking.fleet import Fleet
from .booking.kernels import distance_grid
from .booking.plan import Planner
from .candidates import Detours
from .model import Beneficiary, Lot
from .params import Params

# An allocator's signature (matching.allocate, matching.greedy_allocate): lots,
# beneficiaries, params, and the keyword ``detour_km`` (:func:`allocate_within_reach`).
Allocator = Callable[..., Allocation]

# Why a lot reaches nobody (``matching.REASONS`` says each in English).
NO_RUN_IN_TIME = "no_run_in_time"
NO_COLD_RUN = "no_cold_run"
NO_RUN_NEARBY = "no_run_nearby"
NO_RUN_REACHES = "no_run_reaches"
# ... in the order of the conditions a run must meet: a reason later in the tuple means a
# run came nearer to carrying the lot (reachability: the first condition no run met)
UNREACHED = (NO_RUN_IN_TIME, NO_COLD_RUN, NO_RUN_NEARBY, NO_RUN_REACHES)


def nearest_miss(known: str | None, reason: str) -> str:
    """Of two reasons a lot went unplaced, the one where a run came nearer to carrying it
    (``UNREACHED``'s order; any other reason, the matcher's own, means a run reached
    someone and ranks above); ``reason`` on a tie (the later word)."""
    if known is None:
        return reason
    return reason if _miss_rank(reason) >= _miss_rank(known) else known


def _miss_rank(why: str) -> int:
    return UNREACHED.index(why) if why in UNREACHED else len(UNREACHED)


def _soonest(lots: Sequence[Lot]) -> datetime | None:
    dates = [lot.use_by for lot in lots if lot.use_by is not None]
    return min(dates) if dates else None


def allocate_within_reach(
    allocate: Allocator,
    lots: Sequence[Lot],
    beneficiaries: Sequence[Beneficiary],
    params: Params,
    *,
    reach: Mapping[Hashable, frozenset[Hashable]],
    detour_km: Detours | None = None,
    unreached: Mapping[Hashable, str] | None = None,
) -> Allocation:
    """``allocate`` over ``lots``, each lot only to the beneficiary ids in ``reach[lot.id]``
    (a lot missing from ``reach`` reaches nobody, for the reason ``unreached[lot.id]``,
    by default ``no_run_reaches``); ``detour_km``, when given, is passed on to
    ``allocate`` (:func:`matching.allocate`)."""
    why = unreached or {}
    groups: dict[frozenset[Hashable], list[Lot]] = defaultdict(list)
    result = Allocation(assignments=[], unallocated={}, objective=0.0, stats={})
    for lot in lots:
        reachable = reach.get(lot.id, frozenset())
        if reachable:
            groups[reachable].append(lot)
        elif lot.kg > 0:
            result.unallocated[lot.id] = Unallocated(lot.kg, why.get(lot.id, NO_RUN_REACHES))
    current = {b.id: b for b in beneficiaries}
    order = sorted(
        groups.items(),
        key=lambda item: (_soonest(item[1]) is None, _soonest(item[1]) or params.now),
    )
    for reachable, group in order:
        bens = [current[b] for b in current if b in reachable]
        if not bens:
            for lot in group:
                result.unallocated[lot.id] = Unallocated(lot.kg, NO_RUN_REACHES)
            continue
        if detour_km is None:
            part = allocate(group, bens, params)
        else:
            part = allocate(group, bens, params, detour_km=detour_km)
        result.assignments += part.assignments
        result.unallocated |= part.unallocated
        result.objective += part.objective
        for key, value in part.stats.items():
            result.stats[key] = result.stats.get(key, 0.0) + value
        taken: dict[Hashable, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        storage = {lot.id: lot.storage for lot in group}
        for a in part.assignments:
            taken[a.beneficiary_id][storage[a.lot_id]] += a.kg
        for ben_id, by_class in taken.items():
            ben = current[ben_id]
            current[ben_id] = replace(
                ben,
                received_kg=ben.received_kg + sum(by_class.values()),
                capacity_kg={
                    cls: max(0.0, kg - by_class.get(cls, 0.0))
                    for cls, kg in ben.capacity_kg.items()
                },
            )
    result.stats["reach_groups"] = float(len(groups))
    return result


def fits_alone(run: RunPlan, shipments: Sequence[Shipment], params: Params) -> list[bool]:
    """For each shipment, whether ``run`` can take it alone as the run stands: what
    ``matching.booking.insert([run], shipment, params) is not None`` says, for all the
    shipments at once (one fleet and one cost table instead of one per shipment; a
    shipment's cost on a run as it stands does not depend on the other shipments)."""
    found = [False] * len(shipments)
    now = to_minutes(params.now, 0.0)
    live = [i for i, s in enumerate(shipments) if to_minutes(s.deadline, math.inf) > now]
    if not live:
        return found
    fleet = Fleet([run], params.circuity, service_min=params.service_min)  # as ``insert``
    ships = Shipments.build([shipments[i] for i in live], params.circuity, params.service_min)
    rows = np.arange(len(live))
    planner = Planner(fleet, ships, distance_grid(fleet, ships, rows, np.arange(1)), 1)
    planner.settle(rows, 1)
    for row, i in enumerate(live):
        found[i] = planner.best_run(row) is not None
    return found
