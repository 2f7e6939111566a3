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
  booking planner uses;
- and on which the booking planner itself finds room for the lot's smallest part
  (``matching.reach.fits_alone``: ``matching.booking.insert`` for many pairs at once),
  from the donor in its pickup window to the organisation in
  its opening hours of that day, within the van's capacity and the run's duration.

The geometric test comes first and is cheap; the planner is asked only about the pairs
it lets through. :func:`services.booking.book` still books the claim on the best run.
A lot is never proposed again to an organisation whose claim on it the scheduler gave
back because no run could carry it (:func:`given_back`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from flask import current_app
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.distance import great_circle_km
from matching.eligibility import smallest_part_kg
from matching.reach import fits_alone

from ..models import Claim, ClaimStatus, Event, Lot, Organisation, Run
from ..models.enums import StorageClass
from . import agreements, booking, matching_adapter, runs
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


def given_back(session: Session, lot_ids: list[int]) -> set[tuple[int, int]]:
    """``(lot id, organisation id)`` of the claims on these lots that the scheduler made
    and gave back, no run fitting (services/placement.py: cancelled by no one)."""
    if not lot_ids:
        return set()
    rows = session.execute(
        select(Claim.lot_id, Claim.beneficiary_id)
        .join(Event, (Event.subject_type == "claim") & (Event.subject_id == Claim.id))
        .where(
            Claim.lot_id.in_(lot_ids),
            Claim.status == ClaimStatus.CANCELLED,
            Claim.created_by_id.is_(None),
            Event.action == "cancelled",
            Event.actor_id.is_(None),
        )
    ).all()
    return {(lot_id, org_id) for lot_id, org_id in rows}


def reach(
    session: Session,
    platform: Organisation,
    lots: Iterable[Lot],
    network: Mapping[int, tuple[Organisation, list[Any]]],
    now: datetime,
) -> dict[int, frozenset[int]]:
    """For each lot id, the ids of the ``network``'s organisations (``{id: (organisation,
    its channels with this platform)}``, as allocation builds it) a planned run can
    carry it to (never one whose claim on it was given back: :func:`given_back`)."""
    lots = list(lots)
    bens = [org for org, _chans in network.values()]
    conventions = {org.id: chans[0].convention for org, chans in network.values()}
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
    ben_lat = np.array([b.lat for b in bens], dtype=float)
    ben_lon = np.array([b.lon for b in bens], dtype=float)
    lot_lat = np.array([lot.pickup_lat for lot in lots], dtype=float)
    lot_lon = np.array([lot.pickup_lon for lot in lots], dtype=float)
    budget = np.array([max(floor, per_kg * lot.remaining_kg) for lot in lots])
    reached: list[set[int]] = [set() for _ in lots]
    refused = given_back(session, [lot.id for lot in lots])
    params = matching_adapter.params(now)
    # the smallest part a beneficiary may take (1 kg when the donor set none)
    parts = [
        min(lot.remaining_kg, max(1.0, smallest_part_kg(matching_adapter.to_lot(lot))))
        for lot in lots
    ]
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
        pairs, ships = [], []
        windows: dict[int, Any] = {}
        for row, mask in zip(rows, fits, strict=True):
            for b in np.flatnonzero(mask):
                org = bens[b]
                if org.id in reached[row] or (lots[row].id, org.id) in refused:
                    continue
                if org.id not in windows:
                    windows[org.id] = booking.drop_window(conventions[org.id], day)
                window = windows[org.id]
                if window is None:
                    continue
                lot = lots[row]
                pairs.append((row, org.id))
                ships.append(booking.lot_shipment((lot.id, org.id), lot, parts[row], org, window))
        if not ships:
            continue
        # the booking planner, for every pair the geometry let through, at once
        for (row, org_id), ok in zip(
            pairs, fits_alone(runs.to_plan(run), ships, params), strict=True
        ):
            if ok:
                reached[row].add(org_id)
    return {lot.id: frozenset(r) for lot, r in zip(lots, reached, strict=True)}
