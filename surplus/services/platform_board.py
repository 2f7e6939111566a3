"""What a platform coordinator watches: requests, lots at risk, runs, FSE+ stock, network."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from .. import clock
from ..models import (
    Convention,
    ConventionStatus,
    Lot,
    LotStatus,
    Organisation,
    Run,
    Verification,
)
from .lot_dates import BRUSSELS, local_today

AT_RISK_HOURS = 48


@dataclass
class RunLoad:
    run: Run
    stops: int
    load_kg: float  # kg on board when leaving the depot
    capacity_kg: float


@dataclass
class PlatformBoard:
    platform: Organisation
    requested: list[Convention] = field(default_factory=list)
    pending_changes: list[Convention] = field(default_factory=list)
    at_risk: list[Lot] = field(default_factory=list)
    runs: list[RunLoad] = field(default_factory=list)
    fse_stock_kg: float = 0.0
    fse_lots: int = 0
    network: list[Convention] = field(default_factory=list)
    pending_donors: int = 0


def network(
    session: Session,
    platform: Organisation,
    statuses=(ConventionStatus.ACTIVE, ConventionStatus.SUSPENDED),
) -> list[Convention]:
    return list(
        session.scalars(
            select(Convention)
            .options(selectinload(Convention.beneficiary))
            .where(Convention.platform_id == platform.id, Convention.status.in_(statuses))
            .order_by(Convention.id)
        )
    )


def area_postcodes(session: Session, platform: Organisation) -> set[str]:
    """The communes a platform serves: declared ones plus those of its network."""
    codes = set(platform.service_postcodes or [])
    codes.update(c.beneficiary.postcode for c in network(session, platform))
    codes.add(platform.postcode)
    return codes


def build(session: Session, platform: Organisation, now: datetime | None = None) -> PlatformBoard:
    now = now or clock.now()
    board = PlatformBoard(platform=platform)
    board.network = network(session, platform)
    queue = session.scalars(
        select(Convention)
        .options(selectinload(Convention.beneficiary))
        .where(
            Convention.platform_id == platform.id,
            or_(
                Convention.status == ConventionStatus.REQUESTED,
                Convention.pending_changes.is_not(None),
            ),
        )
        .order_by(Convention.created_at)
    ).all()
    board.requested = [c for c in queue if c.status == ConventionStatus.REQUESTED]
    board.pending_changes = [c for c in queue if c.status != ConventionStatus.REQUESTED]
    area = area_postcodes(session, platform)
    board.at_risk = list(
        session.scalars(
            select(Lot)
            .options(selectinload(Lot.donor))
            .where(
                Lot.status == LotStatus.OPEN,
                Lot.weight_g == Lot.remaining_g,
                Lot.pickup_postcode.in_(sorted(area)),
                Lot.expires_at.is_not(None),
                Lot.expires_at > now,
                Lot.expires_at <= now + timedelta(hours=AT_RISK_HOURS),
            )
            .order_by(Lot.expires_at)
            .limit(50)
        )
    )
    fse = session.execute(
        select(func.count(Lot.id), func.coalesce(func.sum(Lot.remaining_g), 0)).where(
            Lot.donor_id == platform.id,
            Lot.fse_plus.is_(True),
            Lot.status.in_([LotStatus.OPEN, LotStatus.CLAIMED]),
        )
    ).one()
    board.fse_lots, board.fse_stock_kg = fse[0], fse[1] / 1000
    start = datetime.combine(local_today(now), datetime.min.time(), tzinfo=BRUSSELS)
    runs = session.scalars(
        select(Run)
        .options(selectinload(Run.stops), selectinload(Run.vehicle))
        .where(
            Run.platform_id == platform.id,
            Run.start_at >= start.astimezone(UTC),
            Run.start_at < (start + timedelta(days=2)).astimezone(UTC),
        )
        .order_by(Run.start_at)
    ).all()
    for run in runs:
        load = -sum(min(0.0, s.load_delta_kg) for s in run.stops)
        board.runs.append(RunLoad(run, len(run.stops), load, run.vehicle.capacity_kg))
    board.pending_donors = (
        session.scalar(
            select(func.count(Organisation.id)).where(
                Organisation.verification == Verification.PENDING, Organisation.kind != "platform"
            )
        )
        or 0
    )
    return board
