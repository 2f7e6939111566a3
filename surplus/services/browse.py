"""The lot list a beneficiary browses: eligible open lots, filtered and ranked.

Ranking is the matcher's score for the organisation (:mod:`matching.score`): the value
of a first kilogram in the allocation objective, so nearer lots come first and a lot
within ``urgent_within`` of its date counts as ``μ/λ`` km nearer (50 km by default).
Filtering happens in SQL on a narrow projection; ranking runs in NumPy on those rows;
only the page's lots are then loaded in full, so the number of queries does not grow
with the page size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from matching.distance import great_circle_km
from matching.score import scores, urgent_equivalent_km

from .. import access, clock
from ..models import Category, Lot, Organisation, StorageClass
from . import matching_adapter
from .eligibility import channels
from .lot_dates import local_today

DEG_KM = 111.195  # km per degree of latitude


@dataclass
class Filters:
    category: Category | None = None
    storage: StorageClass | None = None
    max_km: float | None = None
    fse_only: bool = False
    expiring_days: int | None = None
    q: str = ""

    @classmethod
    def of(cls, values: dict) -> Filters:
        """From :class:`LotFilterSchema`'s values (the page number is not a filter)."""
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass
class Card:
    lot: Lot
    km: float
    days_left: float | None
    urgent: bool = False


@dataclass
class Page:
    cards: list[Card] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1
    need_kg: float = 0.0
    target_kg: float = 0.0
    urgent_km: float = 0.0


def browse(
    session: Session,
    org: Organisation,
    filters: Filters,
    page: int = 1,
    per_page: int = 20,
    now: datetime | None = None,
) -> Page:
    now = now or clock.now()
    chans = channels(session, org, local_today(now))
    query = access.offered_lots(
        org, Lot.id, Lot.pickup_lat, Lot.pickup_lon, Lot.expires_at, now=now, chans=chans
    )
    if filters.category:
        query = query.where(Lot.category == filters.category)
    if filters.storage:
        query = query.where(Lot.storage == filters.storage)
    if filters.fse_only:
        query = query.where(Lot.fse_plus.is_(True))
    if filters.expiring_days:
        query = query.where(
            Lot.expires_at.is_not(None),
            Lot.expires_at <= now + timedelta(days=filters.expiring_days),
        )
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        query = query.where(
            or_(func.lower(Lot.title).like(pattern), func.lower(Lot.description).like(pattern))
        )
    circuity = current_app.config["ROAD_CIRCUITY"]
    if filters.max_km:
        # A bounding box in SQL; the exact road estimate is applied below.
        dlat = filters.max_km / circuity / DEG_KM
        dlon = dlat / max(0.2, math.cos(math.radians(org.lat)))
        query = query.where(
            Lot.pickup_lat.between(org.lat - dlat, org.lat + dlat),
            Lot.pickup_lon.between(org.lon - dlon, org.lon + dlon),
        )
    rows = session.execute(query).all()
    if not rows:
        return Page(page=1)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    lats = np.fromiter((r[1] for r in rows), dtype=float, count=len(rows))
    lons = np.fromiter((r[2] for r in rows), dtype=float, count=len(rows))
    stamp = now.timestamp()
    days = np.fromiter(
        ((r[3].timestamp() - stamp) / 86400 if r[3] else np.inf for r in rows),
        dtype=float,
        count=len(rows),
    )
    km = great_circle_km(org.lat, org.lon, lats, lons) * circuity
    keep = km <= filters.max_km if filters.max_km else np.ones(len(rows), dtype=bool)
    ids, km, days = ids[keep], km[keep], days[keep]
    params = matching_adapter.params(now)
    urgent = days <= params.urgent_within.total_seconds() / 86400
    target = max(ch.convention.persons_per_week for ch in chans) * params.kg_per_person
    received = matching_adapter.received_kg(session, [org.id], now).get(org.id, 0.0)
    need = max(0.0, target - received)
    score = scores(km, urgent, need, params)
    order = np.lexsort((ids, days, -score))
    total = int(len(order))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    chosen = order[(page - 1) * per_page : page * per_page]
    wanted = [int(i) for i in ids[chosen]]
    lots = {
        lot.id: lot
        for lot in session.scalars(
            select(Lot)
            .options(joinedload(Lot.donor), selectinload(Lot.photos))
            .where(Lot.id.in_(wanted))
        )
    }
    cards = [
        Card(
            lots[int(ids[i])],
            float(km[i]),
            None if math.isinf(days[i]) else float(days[i]),
            bool(urgent[i]),
        )
        for i in chosen
    ]
    return Page(
        cards=cards,
        total=total,
        page=page,
        pages=pages,
        need_kg=need,
        target_kg=target,
        urgent_km=urgent_equivalent_km(params),
    )
