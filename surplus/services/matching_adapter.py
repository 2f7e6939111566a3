"""Rows in, matching data classes out; and back. The only place where ``surplus`` and
``matching`` meet (DESIGN.md §6).

- A lot's kilograms are what remains open; its ``use_by`` is the last moment it is
  distributable (use-by, or best-before plus the category's grace period). ``surplus``
  reads ``Lot.expires_at`` as the moment the lot *stops* being distributable (every
  query says ``expires_at > now``) while the matcher refuses only after ``use_by``
  (``now > use_by``), so the adapter hands it the instant before ``expires_at``.
- A beneficiary's ``received_kg`` is what its live claims brought over the last
  ``MATCH_WINDOW_DAYS`` days; its persons per week come from its conventions.
- Its capacity per storage class "now" is what its conventions declare (the largest one
  when it has several) minus what it has claimed and not yet received; ambient storage
  is not declared, so it is taken as two weeks of its target.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

import matching

from ..models import (
    IN_TRANSIT_CLAIM_STATUSES,
    LIVE_CLAIM_STATUSES,
    Claim,
    Lot,
    Organisation,
)
from .eligibility import Channel

_INSTANT = timedelta(microseconds=1)  # datetime's resolution


def params(now: datetime) -> matching.Params:
    config = current_app.config
    return matching.Params(
        now=now,
        kg_per_person=config["MATCH_KG_PER_PERSON"],
        circuity=config["ROAD_CIRCUITY"],
        detour_cost=config["PLACEMENT_DETOUR_COST"],
    )


def to_lot(lot: Lot) -> matching.Lot:
    return matching.Lot(
        id=lot.id,
        kg=lot.remaining_kg,
        lat=lot.pickup_lat,
        lon=lot.pickup_lon,
        storage=lot.storage.value,
        category=lot.category.value,
        fse_plus=lot.fse_plus,
        use_by=lot.expires_at - _INSTANT if lot.expires_at else None,
        divisible=lot.divisible,
        min_part_kg=lot.min_part_kg,
    )


# Built once: read at every page, look and placement tick (services/eligibility.py says why).
_RECEIVED = (
    select(Claim.beneficiary_id, func.sum(Claim.grams))
    .where(
        Claim.beneficiary_id.in_(bindparam("orgs", expanding=True)),
        Claim.status.in_(LIVE_CLAIM_STATUSES),
        Claim.created_at >= bindparam("since"),
    )
    .group_by(Claim.beneficiary_id)
)


def received_kg(
    session: Session, org_ids: Iterable[int], now: datetime, window: timedelta | None = None
) -> dict[int, float]:
    """Kilograms each organisation's live claims brought over ``window`` before ``now``
    (default ``MATCH_WINDOW_DAYS``); organisations that received nothing are absent."""
    since = now - (window or timedelta(days=current_app.config["MATCH_WINDOW_DAYS"]))
    ids = list(org_ids)
    if not ids:
        return {}
    rows = session.execute(_RECEIVED, {"orgs": ids, "since": since}).all()
    return {org_id: grams / 1000 for org_id, grams in rows}


# Built once, as _RECEIVED.
_IN_TRANSIT = (
    select(Claim.beneficiary_id, Lot.storage, func.sum(Claim.grams))
    .join(Lot, Lot.id == Claim.lot_id)
    .where(
        Claim.beneficiary_id.in_(bindparam("orgs", expanding=True)),
        Claim.status.in_(IN_TRANSIT_CLAIM_STATUSES),
    )
    .group_by(Claim.beneficiary_id, Lot.storage)
)


def in_transit_kg(session: Session, org_ids: Iterable[int]) -> dict[tuple[int, str], float]:
    ids = list(org_ids)
    if not ids:
        return {}
    rows = session.execute(_IN_TRANSIT, {"orgs": ids}).all()
    return {(org_id, storage.value): grams / 1000 for org_id, storage, grams in rows}


def to_beneficiary(
    org: Organisation,
    chans: list[Channel],
    received: float,
    transit: dict[str, float],
    kg_per_person: float,
    max_km: float,
) -> matching.Beneficiary:
    """One beneficiary as the matcher sees it, through the given channels only."""
    persons = max(ch.convention.persons_per_week for ch in chans)
    declared = {
        "ambient": 2 * persons * kg_per_person,
        "chilled": max(ch.convention.chilled_capacity_kg for ch in chans),
        "frozen": max(ch.convention.frozen_capacity_kg for ch in chans),
    }
    # Ambient goods need no declared storage (DESIGN.md §3 rule 3, ``Channel.storages``):
    # that class is always there, if full (a convention serving 0 persons a week); chilled
    # and frozen exist only when a convention declares them.
    capacity = {
        storage: max(0.0, kg - transit.get(storage, 0.0))
        for storage, kg in declared.items()
        if kg > 0 or storage == "ambient"
    }
    categories: set[str] | None = set()
    for ch in chans:
        if ch.categories is None:
            categories = None
            break
        categories |= ch.categories  # type: ignore[operator]
    return matching.Beneficiary(
        id=org.id,
        lat=org.lat,
        lon=org.lon,
        persons_per_week=persons,
        received_kg=received,
        capacity_kg=capacity,
        categories=frozenset(categories) if categories is not None else None,
        fse_plus=any(ch.fse_plus for ch in chans),
        max_km=max_km,
    )


def beneficiaries(
    session: Session, network: dict[int, tuple[Organisation, list[Channel]]], now: datetime
) -> list[matching.Beneficiary]:
    """Matching inputs for ``{org_id: (organisation, channels)}``."""
    received = received_kg(session, network, now)
    transit = in_transit_kg(session, network)
    by_org: dict[int, dict[str, float]] = defaultdict(dict)
    for (org_id, storage), kg in transit.items():
        by_org[org_id][storage] = kg
    config = current_app.config
    return [
        to_beneficiary(
            org,
            chans,
            received.get(org_id, 0.0),
            by_org[org_id],
            config["MATCH_KG_PER_PERSON"],
            config["MATCH_MAX_KM"],
        )
        for org_id, (org, chans) in network.items()
        if chans
    ]


def explanation_dict(explanation: matching.Explanation) -> dict:
    from dataclasses import asdict

    return {k: v for k, v in asdict(explanation).items() if v is not None}
