"""The lot list a beneficiary browses: eligible open lots, filtered and ranked.

Ranking is the matcher's score for the organisation (:mod:`matching.score`): the value
of a first kilogram in the allocation objective, so nearer lots come first and a lot
within ``urgent_within`` of its date counts as ``μ/λ`` km nearer (50 km by default).
The value of the first kilogram of need is the same for every lot of one organisation,
so the list orders by ``μ · urgent − λ · road km`` (then the nearer date, then the id),
computed in SQL with the same haversine as :mod:`matching.distance`: the database
filters (eligibility's own SQL), ranks and cuts the page, and counts the lots in the same
query. Only the page's lots are then loaded in full, with their donor and photos: the
number of queries does not grow with the page size. The test
``tests/surplus/test_browse_ranking.py`` checks this order against ``matching.score``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from matching.distance import EARTH_RADIUS_KM, great_circle_km
from matching.score import urgent_equivalent_km

from .. import access, clock
from ..models import Category, Lot, LotOffer, Organisation, StorageClass
from . import matching_adapter
from .eligibility import LAST_WAVE, channels
from .lot_dates import local_today

DEG_KM = 111.195  # km per degree of latitude
RADIANS = math.pi / 180


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


def road_km(lat: float, lon: float, circuity: float) -> ColumnElement[float]:
    """SQL: the road estimate from (lat, lon) to a lot's pickup, the same haversine as
    :func:`matching.distance.great_circle_km` (degrees to radians as NumPy converts
    them) times ``circuity``."""
    p1 = math.radians(lat)
    phi2 = Lot.pickup_lat * RADIANS
    half_dphi = (phi2 - p1) * 0.5
    half_dlmb = (Lot.pickup_lon * RADIANS - math.radians(lon)) * 0.5
    a = func.sin(half_dphi) * func.sin(half_dphi) + math.cos(p1) * func.cos(phi2) * func.sin(
        half_dlmb
    ) * func.sin(half_dlmb)
    return (2.0 * EARTH_RADIUS_KM * circuity) * func.asin(func.sqrt(a))


def _filtered(org: Organisation, filters: Filters, now: datetime, chans, km, *columns) -> Select:
    """The lots offered to ``org`` (eligibility's SQL) that pass the list's filters."""
    query = access.offered_lots(org, *columns, now=now, chans=chans)
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
    if filters.max_km:
        # A bounding box (an index range) first, then the road estimate itself.
        dlat = filters.max_km / current_app.config["ROAD_CIRCUITY"] / DEG_KM
        dlon = dlat / max(0.2, math.cos(math.radians(org.lat)))
        query = query.where(
            Lot.pickup_lat.between(org.lat - dlat, org.lat + dlat),
            Lot.pickup_lon.between(org.lon - dlon, org.lon + dlon),
            km <= filters.max_km,
        )
    return query


def _offered_to_any(chans) -> ColumnElement[bool]:
    """SQL implied by :func:`eligible_clause` (every channel asks that the lot's wave
    reach its platform, ``offered_clause``), written as one ``IN`` over the channels'
    platforms: with two conventions or more, SQLite's planner otherwise reads every open
    lot (28 ms against 9 ms for a CPAS of two platforms at scale 100). PostgreSQL's plan
    is no better with it, so only SQLite gets it."""
    platforms = sorted({ch.convention.platform_id for ch in chans})
    return or_(
        Lot.wave >= LAST_WAVE,
        Lot.id.in_(select(LotOffer.lot_id).where(LotOffer.platform_id.in_(platforms))),
    )


def browse(
    session: Session,
    org: Organisation,
    filters: Filters,
    page: int = 1,
    per_page: int = 20,
    now: datetime | None = None,
    need: bool = True,
) -> Page:
    """The page of lots offered to ``org``; with ``need``, also its need this week
    (``need_kg``, ``target_kg``: one more query, which the API does not answer)."""
    now = now or clock.now()
    chans = channels(session, org, local_today(now))
    if not chans:
        return Page(page=1)
    params = matching_adapter.params(now)
    circuity = current_app.config["ROAD_CIRCUITY"]
    km = road_km(org.lat, org.lon, circuity)
    urgent = and_(Lot.expires_at.is_not(None), Lot.expires_at <= now + params.urgent_within)
    # The score less its first term, the same for every lot of one organisation; ordered
    # by its name in the select list, so that the distance is computed once per lot.
    rank = (case((urgent, params.urgency_value), else_=0.0) - params.km_cost * km).label("rank")
    ranked = _filtered(
        org,
        filters,
        now,
        chans,
        km,
        Lot.id,
        rank,
        case((urgent, 1), else_=0).label("urgent"),
        func.count().over().label("total"),
    ).order_by(rank.desc(), Lot.expires_at.asc().nulls_last(), Lot.id)
    if len(chans) > 1 and session.get_bind().dialect.name == "sqlite":
        ranked = ranked.where(_offered_to_any(chans))

    def cut(number: int) -> list:
        return session.execute(ranked.limit(per_page).offset((number - 1) * per_page)).all()

    page = max(1, page)
    rows = cut(page)
    if not rows and page > 1:  # past the last page: the last page
        total = session.scalar(
            select(func.count()).select_from(
                _filtered(org, filters, now, chans, km, Lot.id).subquery()
            )
        )
        if total:
            page = math.ceil(total / per_page)
            rows = cut(page)
    if not rows:
        return Page(page=1)
    total = int(rows[0].total)
    # The page's lots with their donor and photos: two more queries whatever the page
    # size (one query joining the ranked page made PostgreSQL plan the ranking worse).
    lots = {
        lot.id: lot
        for lot in session.scalars(
            select(Lot)
            .options(joinedload(Lot.donor), selectinload(Lot.photos))
            .where(Lot.id.in_([row.id for row in rows]))
        )
    }
    shown = [lots[row.id] for row in rows]
    road = circuity * great_circle_km(
        org.lat,
        org.lon,
        np.array([lot.pickup_lat for lot in shown]),
        np.array([lot.pickup_lon for lot in shown]),
    )
    stamp = now.timestamp()
    cards = [
        Card(
            lot,
            float(lot_km),
            (lot.expires_at.timestamp() - stamp) / 86400 if lot.expires_at else None,
            bool(row.urgent),
        )
        for lot, lot_km, row in zip(shown, road, rows, strict=True)
    ]
    result = Page(
        cards=cards,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / per_page)),
        urgent_km=urgent_equivalent_km(params),
    )
    if need:
        target = max(ch.convention.persons_per_week for ch in chans) * params.kg_per_person
        received = matching_adapter.received_kg(session, [org.id], now).get(org.id, 0.0)
        result.need_kg, result.target_kg = max(0.0, target - received), target
    return result
