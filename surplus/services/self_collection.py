"""When a beneficiary's own people can collect a lot at the donor's.

A convention may say that its beneficiary collects food itself within
``self_collect_km`` road km (0: it does not). Placement (services/placement.py) then
offers it the lots it can fetch in time, and a claim of its that no run can carry is
booked as self-collected instead of being left without transport. "In time" means a
moment, at least ``LEAD`` from now, that lies

- in the donor's pickup window, at least ``MARGIN`` before it closes and before the
  food's date;
- on a day the beneficiary is open, within that day's opening hours (the convention's,
  the hours a van may deliver: the same people are there);
- at most ``HORIZON_DAYS`` ahead.

Road km are the booking planner's estimate: great-circle km × ``ROAD_CIRCUITY``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from flask import current_app

from matching.distance import great_circle_km

from ..models import Claim, Convention, Lot
from .booking import drop_window
from .lot_dates import BRUSSELS

# The beneficiary is told, then someone leaves: never sooner than this after placement.
LEAD = timedelta(hours=3)
# ... and arrives at the donor's this long before the window closes or the date comes.
MARGIN = timedelta(minutes=30)
HORIZON_DAYS = 14


def road_km(conv: Convention, lot: Lot) -> float:
    """Road km from the beneficiary to the lot's pickup place (one way)."""
    org = conv.beneficiary
    km = great_circle_km(org.lat, org.lon, lot.pickup_lat, lot.pickup_lon)
    return float(km) * current_app.config["ROAD_CIRCUITY"]


def fetch_from(conv: Convention, lot: Lot, now: datetime) -> datetime | None:
    """The first moment the convention's beneficiary can collect ``lot`` itself (module
    docstring), or None: it does not collect, the donor is too far, or no such moment."""
    if conv.self_collect_km <= 0 or road_km(conv, lot) > conv.self_collect_km:
        return None
    return _moment(conv, lot, now)


def _moment(conv: Convention, lot: Lot, now: datetime) -> datetime | None:
    earliest = max(now + LEAD, lot.pickup_from)
    deadline = lot.pickup_until if lot.expires_at is None else min(lot.pickup_until, lot.expires_at)
    deadline -= MARGIN
    day = earliest.astimezone(BRUSSELS).date()
    for _ in range(HORIZON_DAYS):
        window = drop_window(conv, day)
        if window is not None:
            if window[0] > deadline:
                return None
            moment = max(earliest, window[0])
            if moment < window[1] and moment <= deadline:
                return moment
        day += timedelta(days=1)
    return None


def for_claim(claim: Claim, now: datetime) -> datetime | None:
    """When the claim's beneficiary can collect it itself (None: it cannot, in time)."""
    if claim.convention is None or claim.depot_id is not None:
        return None
    return fetch_from(claim.convention, claim.lot, now)


def fetchers(
    lots: Iterable[Lot],
    network: Mapping[int, tuple[Any, list[Any]]],
    now: datetime,
    refused: set[tuple[int, int]] = frozenset(),  # type: ignore[assignment]
) -> dict[int, frozenset[int]]:
    """For each lot id, the ids of the ``network``'s organisations (as allocation builds
    it: ``{id: (organisation, channels)}``) that can collect it themselves in time,
    never a pair in ``refused`` (``(lot id, organisation id)``)."""
    lots = list(lots)
    convs = [
        chans[0].convention
        for _org, chans in network.values()
        if chans and chans[0].convention.self_collect_km > 0
    ]
    found: dict[int, set[int]] = {lot.id: set() for lot in lots}
    if not lots or not convs:
        return {lot_id: frozenset() for lot_id in found}
    circuity = current_app.config["ROAD_CIRCUITY"]
    org_lat = np.array([c.beneficiary.lat for c in convs], dtype=float)
    org_lon = np.array([c.beneficiary.lon for c in convs], dtype=float)
    radius = np.array([c.self_collect_km for c in convs], dtype=float)
    lot_lat = np.array([lot.pickup_lat for lot in lots], dtype=float)
    lot_lon = np.array([lot.pickup_lon for lot in lots], dtype=float)
    km = circuity * great_circle_km(
        lot_lat[:, None], lot_lon[:, None], org_lat[None, :], org_lon[None, :]
    )
    for i, j in zip(*np.nonzero(km <= radius[None, :]), strict=True):
        lot, conv = lots[int(i)], convs[int(j)]
        if (lot.id, conv.beneficiary_id) in refused:
            continue
        if _moment(conv, lot, now) is not None:
            found[lot.id].add(conv.beneficiary_id)
    return {lot_id: frozenset(orgs) for lot_id, orgs in found.items()}
