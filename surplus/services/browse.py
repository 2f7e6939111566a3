"""The lot list a beneficiary browses: eligible open lots, filtered and ranked.

Ranking is the matcher's score for the organisation (:func:`matching.score.scores`):
the value of a first kilogram in the allocation objective, so nearer lots come first and
a lot within ``urgent_within`` of its date counts as ``μ/λ`` km nearer (50 km by
default); ties go to the nearer date, then the id.

The database selects the organisation's candidates, the open lots offered to it
(eligibility's own SQL, :func:`surplus.access.offered_lots`), with what the filters and
the ranking read; :mod:`surplus.services.list_cache` keeps them while nothing the list
reads is written and none of them has left the list by time. The filters, the ranking
and the page's cut are array operations on them (the text search asks the database).
Only the page's lots are then loaded in full, with their donor and photos, or taken
from the cache as API items or rendered cards: the number of queries does not grow with
the page size. ``tests/surplus/test_browse_ranking.py`` checks the order against
``matching.score``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from flask import current_app
from sqlalchemy import ColumnElement, bindparam, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from matching.distance import great_circle_km
from matching.score import scores, urgent_equivalent_km

from .. import access, clock
from ..models import Category, Lot, LotOffer, Organisation, StorageClass
from . import list_cache, matching_adapter
from .eligibility import LAST_WAVE, channels
from .lot_dates import local_today


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
    lot_id: int
    km: float
    days_left: float | None
    urgent: bool = False
    lot: Lot | None = None  # loaded by ``browse(load=True)``


@dataclass
class Page:
    cards: list[Card] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1
    need_kg: float = 0.0
    target_kg: float = 0.0
    urgent_km: float = 0.0
    version: int | None = None  # the data's version it was computed at (list_cache)


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


def _offered(session: Session, org: Organisation, now: datetime, chans, *columns):
    """The lots offered to ``org`` now (eligibility's SQL), ``columns`` of them."""
    query = access.offered_lots(org, *columns, now=now, chans=chans)
    if len(chans) > 1 and session.get_bind().dialect.name == "sqlite":
        query = query.where(_offered_to_any(chans))
    return query


def candidates(
    session: Session, org: Organisation, now: datetime, at: int | None
) -> list_cache.Candidates:
    """The lots offered to ``org`` now, with what the filters and the ranking read:
    kept (version ``at``) for the day; those time has taken out since are masked
    (``Candidates.live``)."""
    today = local_today(now)
    kept = list_cache.cache().get("candidates", at, org.id)
    if kept is not None and kept.holds_at(now, today):
        return kept
    chans = channels(session, org, today)
    rows = (
        session.execute(
            _offered(
                session,
                org,
                now,
                chans,
                Lot.id,
                Lot.pickup_lat,
                Lot.pickup_lon,
                Lot.expires_at,
                Lot.pickup_until,
                Lot.category,
                Lot.storage,
                Lot.fse_plus,
            ).order_by(Lot.id)
        ).all()
        if chans
        else []
    )
    expires = np.array(
        [row.expires_at.timestamp() if row.expires_at else math.inf for row in rows], dtype=float
    )
    until = np.array([row.pickup_until.timestamp() for row in rows], dtype=float)
    km = current_app.config["ROAD_CIRCUITY"] * great_circle_km(
        org.lat,
        org.lon,
        np.array([row.pickup_lat for row in rows], dtype=float),
        np.array([row.pickup_lon for row in rows], dtype=float),
    )
    params = matching_adapter.params(now)
    made = list_cache.Candidates(
        since=now,
        day=today,
        ids=np.array([row.id for row in rows], dtype=np.int64),
        km=np.asarray(km, dtype=float).reshape(len(rows)),
        expires=expires,
        until=until,
        category=np.array([row.category for row in rows], dtype=object),
        storage=np.array([row.storage for row in rows], dtype=object),
        fse_plus=np.array([bool(row.fse_plus) for row in rows], dtype=bool),
        target_kg=max((ch.convention.persons_per_week for ch in chans), default=0)
        * params.kg_per_person,
        platform_ids=tuple(sorted({ch.convention.platform_id for ch in chans})),
    )
    list_cache.cache().put("candidates", at, org.id, made)
    return made


def _matching(
    session: Session,
    org: Organisation,
    table: list_cache.Candidates,
    filters: Filters,
    now: datetime,
) -> np.ndarray:
    """Which candidates are still on the list at ``now`` and pass its filters (a
    boolean per candidate)."""
    keep = table.live(now)
    if filters.category:
        keep &= table.category == filters.category
    if filters.storage:
        keep &= table.storage == filters.storage
    if filters.fse_only:
        keep &= table.fse_plus
    if filters.expiring_days:
        keep &= table.expires <= (now + timedelta(days=filters.expiring_days)).timestamp()
    if filters.max_km:
        keep &= table.km <= filters.max_km
    if filters.q and keep.any():
        pattern = f"%{filters.q.lower()}%"
        chans = channels(session, org, table.day)
        found = session.scalars(
            _offered(session, org, now, chans, Lot.id).where(
                or_(func.lower(Lot.title).like(pattern), func.lower(Lot.description).like(pattern))
            )
        ).all()
        keep &= np.isin(table.ids, np.array(found, dtype=np.int64))
    return keep


# Built once: read at every page (services/eligibility.py says why).
_LOTS_SHOWN = (
    select(Lot)
    .options(joinedload(Lot.donor), selectinload(Lot.photos))
    .where(Lot.id.in_(bindparam("ids", expanding=True)))
)


def load_lots(session: Session, ids: list[int]) -> dict[int, Lot]:
    """The lots ``ids`` with their donor and photos (two queries whatever their number)."""
    if not ids:
        return {}
    return {lot.id: lot for lot in session.scalars(_LOTS_SHOWN, {"ids": list(ids)})}


def browse(
    session: Session,
    org: Organisation,
    filters: Filters,
    page: int = 1,
    per_page: int = 20,
    now: datetime | None = None,
    need: bool = True,
    load: bool = True,
) -> Page:
    """The page of lots offered to ``org``; with ``need``, also its need this week
    (``need_kg``, ``target_kg``: one more query, which the API does not answer); with
    ``load``, each card's lot (else the caller takes them from the cache or
    :func:`load_lots`)."""
    now = now or clock.now()
    at = list_cache.version(session)  # before any data: what follows is at least as new
    table = candidates(session, org, now, at)
    if not table.platform_ids:
        return Page(page=1, version=at)
    params = matching_adapter.params(now)
    stamp = now.timestamp()
    keep = np.flatnonzero(_matching(session, org, table, filters, now))
    total = len(keep)
    if not total:
        return Page(page=1, version=at)
    km, expires, ids = table.km[keep], table.expires[keep], table.ids[keep]
    urgent = expires <= stamp + params.urgent_within.total_seconds()
    # The first kilogram's value of need is the same for every lot of one organisation.
    score = scores(km, urgent, 0.0, params)
    order = np.lexsort((ids, expires, -score))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)  # past the last page: the last page
    shown = order[(page - 1) * per_page : page * per_page]
    cards = [
        Card(
            int(ids[i]),
            float(km[i]),
            (expires[i] - stamp) / 86400 if math.isfinite(expires[i]) else None,
            bool(urgent[i]),
        )
        for i in shown
    ]
    if load:
        lots = load_lots(session, [card.lot_id for card in cards])
        for card in cards:
            card.lot = lots[card.lot_id]
    result = Page(
        cards=cards,
        total=total,
        page=page,
        pages=pages,
        urgent_km=urgent_equivalent_km(params),
        version=at,
    )
    if need:
        received = matching_adapter.received_kg(session, [org.id], now).get(org.id, 0.0)
        result.need_kg, result.target_kg = max(0.0, table.target_kg - received), table.target_kg
    return result
