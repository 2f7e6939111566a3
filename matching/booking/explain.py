"""Why a shipment fits no run: stable keys with English sentences, one per run.

Each run gets the first reason, in this order, that rules it out: storage, a run that
already breaks its own rules, weight, room on board, the pickup window, the drop-off
window or use-by, and finally the schedule of the stops that follow (or the load
between pickup and drop-off). Shipment-level reasons come first and have no run.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .arrays import EPS, INF, Shipments, to_minutes
from .fleet import Fleet
from .kernels import edge_terms, scan

if TYPE_CHECKING:
    from ..params import Params
    from .model import RunPlan, Shipment

#: Stable keys and their English source sentences (to translate, or to show as is).
REASONS: dict[str, str] = {
    "no_runs": "No run is planned that this lot could ride on.",
    "expired": "The lot's use-by has passed: it can no longer be booked.",
    "empty_window": "The lot's {which} window closes before it opens.",
    "storage": "Run {run} has no {vehicle}, which a {storage} lot needs.",
    "run_infeasible": "Run {run} already misses a time window, its capacity or its maximum "
    "duration; fix the run first.",
    "too_heavy": "Run {run}'s vehicle carries at most {cap:.0f} kg; the lot weighs {kg:.0f} kg.",
    "no_room": "Run {run} never has {kg:.0f} kg free on board (at most {free:.0f} kg).",
    "pickup_window": "Run {run} cannot reach the donor before the pickup window closes.",
    "drop_deadline": "Run {run} cannot deliver before the lot's use-by.",
    "drop_window": "Run {run} cannot reach the receiver before its drop-off window closes.",
    "load_between": "On run {run} the van would be overloaded somewhere between every "
    "possible pickup and drop-off.",
    "schedule": "On run {run} every place for the two stops would make a later stop miss "
    "its window or the run exceed its maximum duration.",
}


_STORAGE_NEEDS = {"ambient": None, "chilled": "refrigerated", "frozen": "freezer"}


def _has(run: RunPlan) -> list[str]:
    return [name for name in ("refrigerated", "freezer") if getattr(run, name)]


@dataclass(frozen=True)
class Reason:
    """One reason why nothing fits: a stable ``key``, its sentence and the run concerned."""

    key: str
    message: str
    run_id: Hashable | None = None


def _reason(key: str, run_id: Hashable | None = None, **values: object) -> Reason:
    return Reason(key, REASONS[key].format(run=run_id, **values), run_id)


def explain_no_insertion(
    runs: Sequence[RunPlan], shipment: Shipment, params: Params
) -> list[Reason]:
    """Why the shipment cannot be booked, or cannot ride some of the runs.

    First the shipment's own reasons (expired, an empty window, no runs at all), then
    one reason for each run that cannot take it, in the order of ``runs``. When
    :func:`~matching.booking.insert` finds nothing, every run has its reason; an empty
    list means every run can take the shipment.
    """
    out: list[Reason] = []
    if to_minutes(shipment.deadline, INF) <= to_minutes(params.now, 0.0):
        out.append(_reason("expired"))
    for which, window in (("pickup", shipment.pickup_window), ("drop-off", shipment.drop_window)):
        if window is not None and window[0] is not None and window[1] is not None:
            if to_minutes(window[1], INF) < to_minutes(window[0], -INF):
                out.append(_reason("empty_window", which=which))
    if not runs:
        out.append(_reason("no_runs"))
    if out or not runs:
        return out
    fleet = Fleet(runs, params.circuity)
    ships = Shipments.build([shipment], params.circuity, params.service_min)
    si, ri = np.zeros(len(runs), np.int64), np.arange(len(runs))
    cost = scan(fleet, ships, si, ri)[0]
    t = edge_terms(fleet, ships, si, ri)
    dep, mpk = t["g"]["dep"], t["g"]["mpk"]
    for r, run in enumerate(runs):
        if np.isfinite(cost[r]):
            continue
        edges = np.arange(t["g"]["E"]) <= fleet.n[r]
        load = t["g"]["load"][r, :-1][edges]
        pickup_ok = t["p_ok"][r][edges]
        drop_ok = np.maximum(dep[r] + t["dd"][r, :-1] * mpk[r], ships.ewd[0])[edges]
        drop_ok = drop_ok <= ships.lwd[0] + EPS
        # On the pickup's own edge the drop-off comes after the pickup; later edges are
        # judged on the run's times without the pickup (a necessary condition).
        same_ok = pickup_ok & (t["sd_same"][r][edges] <= ships.lwd[0] + EPS)
        drop_ok[: int(np.argmax(pickup_ok)) + 1] = False
        drop_ok |= same_ok
        if _STORAGE_NEEDS[shipment.storage] not in (None, *_has(run)):
            vehicle = "freezer" if shipment.storage == "frozen" else "refrigerated vehicle"
            out.append(_reason("storage", run.id, vehicle=vehicle, storage=shipment.storage))
        elif not fleet.base_ok[r]:
            out.append(_reason("run_infeasible", run.id))
        elif shipment.kg > run.capacity_kg + EPS:
            out.append(_reason("too_heavy", run.id, cap=run.capacity_kg, kg=shipment.kg))
        elif shipment.kg > run.capacity_kg - load.min() + EPS:
            free = float(run.capacity_kg - load.min())
            out.append(_reason("no_room", run.id, kg=shipment.kg, free=free))
        elif not pickup_ok.any():
            out.append(_reason("pickup_window", run.id))
        elif not drop_ok.any():
            drop_end = to_minutes(shipment.drop_window[1], INF) if shipment.drop_window else INF
            late = ships.lwd[0] < drop_end
            out.append(_reason("drop_deadline" if late else "drop_window", run.id))
        elif not _load_fits(load > run.capacity_kg - shipment.kg + EPS, pickup_ok, drop_ok):
            out.append(_reason("load_between", run.id))
        else:
            out.append(_reason("schedule", run.id))
    return out


def _load_fits(full: np.ndarray, pickup_ok: np.ndarray, drop_ok: np.ndarray) -> bool:
    """Whether some pickup edge ``a`` and drop-off edge ``b >= a``, each admissible on its
    own, have room on board on every edge from ``a`` to ``b``."""
    for a in np.nonzero(pickup_ok)[0]:
        stop = a + int(np.argmax(full[a:])) if full[a:].any() else len(full)
        if drop_ok[a:stop].any():
            return True
    return False
