"""Which beneficiaries a lot's transport can reach: the runs that already pass by.

Continuous placement (services/placement.py) lets the matcher give a lot only to the
organisations a planned run can carry it to before its date, at a small detour: a run
of the platform (or of a platform carrying for it on that day) that

- leaves after now and before the lot's date (use-by, or the end of its pickup window),
  on a day its pickup window is open;
- has the vehicle its storage needs (refrigerated for chilled, freezer for frozen);
- passes near enough the donor and the organisation that inserting the pickup and the
  drop-off adds at most ``max(PLACEMENT_DETOUR_MIN_KM, PLACEMENT_DETOUR_KM_PER_KG × kg)``
  road km. The detour of a point is the cheapest way to splice it between two
  consecutive places of the run (depot, stops, depot), the same road estimate the
  booking planner uses. Time windows and capacity are left to the planner itself.

This decides who may be proposed; :func:`services.booking.book` still checks the run
the claim actually rides on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np
from flask import current_app
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from matching.distance import great_circle_km

from ..models import Lot, Organisation, Run
from ..models.enums import StorageClass
from . import agreements, runs
from .lot_dates import BRUSSELS

# A lot without a use-by date is carried within this horizon after its pickup window.
HORIZON = timedelta(days=14)


def _route(run: Run) -> tuple[NDArray, NDArray]:
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


def _carries(run: Run, storage: StorageClass) -> bool:
    if storage == StorageClass.FROZEN:
        return run.vehicle.freezer
    if storage == StorageClass.CHILLED:
        return run.vehicle.refrigerated or run.vehicle.freezer
    return True


def _deadline(lot: Lot) -> datetime:
    return lot.expires_at or lot.pickup_until + HORIZON


def reach(
    session: Session,
    platform: Organisation,
    lots: Iterable[Lot],
    beneficiaries: Iterable[Organisation],
    now: datetime,
) -> dict[int, frozenset[int]]:
    """For each lot id, the ids of ``beneficiaries`` a planned run can reach it to."""
    lots = list(lots)
    bens = list(beneficiaries)
    if not lots or not bens:
        return {lot.id: frozenset() for lot in lots}
    config = current_app.config
    circuity = config["ROAD_CIRCUITY"]
    per_kg, floor = config["PLACEMENT_DETOUR_KM_PER_KG"], config["PLACEMENT_DETOUR_MIN_KM"]
    until = max(_deadline(lot) for lot in lots)
    carriers = agreements.carriers_for(
        session,
        [platform.id],
        now.astimezone(BRUSSELS).date(),
        until.astimezone(BRUSSELS).date(),
    )
    found = runs.planned_runs(session, [platform.id, *carriers], now, until)
    usable = [
        r
        for r in found
        if r.platform_id == platform.id
        or any(a.in_force(r.start_at.astimezone(BRUSSELS).date()) for a in carriers[r.platform_id])
    ]
    ben_ids = np.array([b.id for b in bens])
    ben_lat = np.array([b.lat for b in bens], dtype=float)
    ben_lon = np.array([b.lon for b in bens], dtype=float)
    lot_lat = np.array([lot.pickup_lat for lot in lots], dtype=float)
    lot_lon = np.array([lot.pickup_lon for lot in lots], dtype=float)
    budget = np.array([max(floor, per_kg * lot.remaining_kg) for lot in lots])
    reached: list[set[int]] = [set() for _ in lots]
    for run in usable:
        day = run.start_at.astimezone(BRUSSELS).date()
        rows = [
            i
            for i, lot in enumerate(lots)
            if run.start_at <= _deadline(lot)
            and lot.pickup_from.astimezone(BRUSSELS).date() <= day
            and lot.pickup_until > run.start_at
            and _carries(run, lot.storage)
        ]
        if not rows:
            continue
        route = _route(run)
        drop = _detours(route, ben_lat, ben_lon, circuity)
        pick = _detours(route, lot_lat[rows], lot_lon[rows], circuity)
        fits = (pick[:, None] + drop[None, :]) <= budget[rows][:, None]
        for row, mask in zip(rows, fits, strict=True):
            reached[row].update(int(b) for b in ben_ids[mask])
    return {lot.id: frozenset(r) for lot, r in zip(lots, reached, strict=True)}
