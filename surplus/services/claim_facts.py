"""What the pages say about claims, each read in one query for a whole page: the
kilograms an organisation already holds on lots, which platform allocated a claim (the
matcher's lines), and when a booked claim's stops are planned (the run's timetable)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    LIVE_CLAIM_STATUSES,
    AllocationBatch,
    AllocationLine,
    Claim,
    Organisation,
    Stop,
    StopKind,
)
from . import runs


def held_kg(session: Session, org_id: int, lot_ids: Iterable[int]) -> dict[int, float]:
    """Kilograms of each lot the organisation holds through its live claims (lots where
    it holds none are absent)."""
    ids = list(set(lot_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Claim.lot_id, func.sum(Claim.grams))
        .where(
            Claim.lot_id.in_(ids),
            Claim.beneficiary_id == org_id,
            Claim.status.in_(LIVE_CLAIM_STATUSES),
        )
        .group_by(Claim.lot_id)
    ).all()
    return {lot_id: grams / 1000 for lot_id, grams in rows if grams}


def allocated_by(session: Session, claim_ids: Iterable[int]) -> dict[int, Organisation]:
    """The platform whose allocation made each claim (claims made by hand are absent)."""
    ids = list(set(claim_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(AllocationLine.claim_id, Organisation)
        .join(AllocationBatch, AllocationBatch.id == AllocationLine.batch_id)
        .join(Organisation, Organisation.id == AllocationBatch.platform_id)
        .where(AllocationLine.claim_id.in_(ids))
    ).all()
    return {claim_id: platform for claim_id, platform in rows}


def planned_at(stops: Iterable[Stop]) -> dict[int, datetime]:
    """Each stop's planned service start, from its run's timetable (one per run)."""
    planned: dict[int, datetime] = {}
    done: set[int] = set()
    for stop in stops:
        if stop.run_id in done:
            continue
        done.add(stop.run_id)
        planned |= {row.id: at for row, at, _load in runs.timetable(stop.run).rows}
    return planned


def planned_delivery(session: Session, claim: Claim) -> datetime | None:
    """When the claim's last drop-off (the delivery to the beneficiary) is planned; None
    when it is not booked on a run."""
    drops = session.scalars(
        select(Stop)
        .where(Stop.claim_id == claim.id, Stop.kind == StopKind.DROPOFF)
        .order_by(Stop.leg.desc())
    ).all()
    if not drops:
        return None
    return planned_at(drops[:1]).get(drops[0].id)
