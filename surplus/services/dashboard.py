"""What each user sees first, by the kind of its organisation and its role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import access
from ..models import (
    IN_TRANSIT_CLAIM_STATUSES,
    Claim,
    ClaimStatus,
    Convention,
    ConventionStatus,
    Lot,
    LotStatus,
    Organisation,
    User,
)
from .lot_dates import BRUSSELS, local_today
from .runs import DriverRun, driver_runs


@dataclass
class Board:
    organisation: Organisation
    figures: dict[str, float] = field(default_factory=dict)
    pending_orgs: int = 0
    conventions: list[Convention] = field(default_factory=list)
    # A platform member who drives: its runs of today, and of the next day (smaller).
    # ``driver_first`` puts them at the top of the page (a member who does not coordinate).
    driver_first: bool = False
    runs_today: list[DriverRun] = field(default_factory=list)
    runs_next_day: list[DriverRun] = field(default_factory=list)
    today: date | None = None


def driver_board(session: Session, user: User, board: Board, today: date) -> None:
    """A platform member's runs of ``today`` and of the next day. A member who does not
    coordinate lands on them first; a coordinator sees them only when it drives some."""
    cards = driver_runs(session, user, today, 2)
    board.today = today
    board.runs_today = [c for c in cards if _day(c) == today]
    board.runs_next_day = [c for c in cards if _day(c) == today + timedelta(days=1)]
    board.driver_first = not access.coordinates(user, user.organisation_id)


def _day(card: DriverRun) -> date:
    return card.run.start_at.astimezone(BRUSSELS).date()


def build(session: Session, user: User, today: date | None = None) -> Board:
    org = user.organisation
    board = Board(organisation=org)
    if org.is_platform:
        driver_board(session, user, board, today or local_today())
    if org.is_beneficiary:
        board.conventions = list(
            session.scalars(
                select(Convention)
                .where(Convention.beneficiary_id == org.id)
                .order_by(Convention.created_at.desc())
            )
        )
        live = IN_TRANSIT_CLAIM_STATUSES
        row = session.execute(
            select(func.count(Claim.id), func.coalesce(func.sum(Claim.grams), 0)).where(
                Claim.beneficiary_id == org.id, Claim.status.in_(live)
            )
        ).one()
        board.figures = {"live_claims": row[0], "live_claim_kg": row[1] / 1000}
    else:
        row = session.execute(
            select(func.count(Lot.id), func.coalesce(func.sum(Lot.remaining_g), 0)).where(
                Lot.donor_id == org.id, Lot.status == LotStatus.OPEN
            )
        ).one()
        claimed = session.scalar(
            select(func.coalesce(func.sum(Claim.grams), 0))
            .join(Lot)
            .where(
                Lot.donor_id == org.id,
                Claim.status != ClaimStatus.CANCELLED,
                Claim.status != ClaimStatus.WITHDRAWN,
            )
        )
        board.figures = {
            "open_lots": row[0],
            "open_kg": row[1] / 1000,
            "claimed_kg": (claimed or 0) / 1000,
        }
    if org.is_platform and access.coordinates(user, org.id):
        board.figures["requested_conventions"] = (
            session.scalar(
                select(func.count(Convention.id)).where(
                    Convention.platform_id == org.id,
                    Convention.status == ConventionStatus.REQUESTED,
                )
            )
            or 0
        )
    if access.coordinates(user):
        board.pending_orgs = len(access.verification_queue(user))
    return board
