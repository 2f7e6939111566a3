"""What each user sees first, by the kind of its organisation and its role."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import access
from ..models import (
    Claim,
    ClaimStatus,
    Convention,
    ConventionStatus,
    Lot,
    LotStatus,
    Organisation,
    User,
    Verification,
)


@dataclass
class Board:
    organisation: Organisation
    figures: dict[str, float] = field(default_factory=dict)
    pending_orgs: int = 0
    conventions: list[Convention] = field(default_factory=list)


def build(session: Session, user: User) -> Board:
    org = user.organisation
    board = Board(organisation=org)
    if org.is_beneficiary:
        board.conventions = list(
            session.scalars(
                select(Convention)
                .where(Convention.beneficiary_id == org.id)
                .order_by(Convention.created_at.desc())
            )
        )
        live = (ClaimStatus.ACTIVE, ClaimStatus.COLLECTED)
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
        board.pending_orgs = (
            session.scalar(
                select(func.count(Organisation.id)).where(
                    Organisation.verification == Verification.PENDING
                )
            )
            or 0
        )
    return board
