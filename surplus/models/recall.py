"""Food-safety recalls of a lot: who held what when it was recalled, and what each holder
did with it. Weights in whole grams, like claims."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, enum_column, utcnow
from .enums import RecallAction
from .lot import Lot
from .organisation import Organisation, User


class Recall(db.Model):
    """One recall per lot; open until every holder of food has acknowledged."""

    __tablename__ = "recall"
    __table_args__ = (UniqueConstraint("lot_id", name="uq_recall_lot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    reason: Mapped[str] = mapped_column(Text)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lot: Mapped[Lot] = relationship()
    opened_by: Mapped[User | None] = relationship()
    holders: Mapped[list[RecallHolder]] = relationship(
        back_populates="recall", order_by="RecallHolder.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class RecallHolder(db.Model):
    """A receiving organisation's figures at the recall (delivered; picked up, not
    delivered; planned and cancelled by the recall) and its acknowledgement."""

    __tablename__ = "recall_holder"
    __table_args__ = (
        UniqueConstraint("recall_id", "organisation_id", name="uq_recall_holder_org"),
        CheckConstraint(
            "delivered_g >= 0 AND in_transit_g >= 0 AND cancelled_g >= 0 AND refused_g >= 0",
            name="grams_nonneg",
        ),
        CheckConstraint(
            "ack_g IS NULL OR (ack_g > 0 AND ack_g <= delivered_g + in_transit_g)",
            name="ack_within_held",
        ),
        CheckConstraint("(ack_action IS NULL) = (ack_at IS NULL)", name="ack_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recall_id: Mapped[int] = mapped_column(ForeignKey("recall.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    delivered_g: Mapped[int] = mapped_column(default=0)
    in_transit_g: Mapped[int] = mapped_column(default=0)
    cancelled_g: Mapped[int] = mapped_column(default=0)
    # Refused at a hand-over before the recall: it never received that food, and is
    # listed so that the recall shows every organisation's true figures.
    refused_g: Mapped[int] = mapped_column(default=0)
    ack_action: Mapped[RecallAction | None] = mapped_column(
        enum_column(RecallAction, "recall_action")
    )
    ack_g: Mapped[int | None]
    ack_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ack_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    recall: Mapped[Recall] = relationship(back_populates="holders")
    organisation: Mapped[Organisation] = relationship()
    ack_by: Mapped[User | None] = relationship()

    @property
    def held_g(self) -> int:
        return self.delivered_g + self.in_transit_g

    @property
    def must_acknowledge(self) -> bool:
        """Only an organisation that holds food (delivered or on its way) answers."""
        return self.held_g > 0

    @property
    def kg_delivered(self) -> float:
        return self.delivered_g / 1000

    @property
    def kg_in_transit(self) -> float:
        return self.in_transit_g / 1000

    @property
    def kg_cancelled(self) -> float:
        return self.cancelled_g / 1000

    @property
    def kg_refused(self) -> float:
        return self.refused_g / 1000

    @property
    def status(self) -> str:
        """``holds`` (delivered or in transit), else ``cancelled`` (only planned claims,
        cancelled by the recall), else ``refused`` (refused at a hand-over)."""
        if self.held_g:
            return "holds"
        return "cancelled" if self.cancelled_g else "refused"

    @property
    def kg_held(self) -> float:
        return self.held_g / 1000

    @property
    def ack_kg(self) -> float | None:
        return None if self.ack_g is None else self.ack_g / 1000
