"""Batch allocations: the matcher's proposal over a platform's open lots, reviewed by a
coordinator (or run unattended), and confirmed into claims."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, enum_column, utcnow
from .enums import BatchStatus, LineStatus
from .lot import Claim, Lot
from .organisation import Organisation


class AllocationBatch(db.Model):
    __tablename__ = "allocation_batch"
    __table_args__ = (
        Index("ix_allocation_batch_platform_created", "platform_id", "created_at"),
        # the newest unattended batch of a platform: continuous placement's state
        Index("ix_allocation_batch_platform_unattended", "platform_id", "unattended", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    unattended: Mapped[bool] = mapped_column(default=False)
    status: Mapped[BatchStatus] = mapped_column(
        enum_column(BatchStatus, "batch_status"), default=BatchStatus.PREVIEW
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Figures of the run (lots, kg offered and placed, Jain's index, timings) and the
    # lots left unallocated with the reason key: {"lot_id": [kg, "reason"]}.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    unallocated: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    platform: Mapped[Organisation] = relationship()
    lines: Mapped[list[AllocationLine]] = relationship(
        back_populates="batch", order_by="AllocationLine.id", cascade="all, delete-orphan"
    )


class AllocationLine(db.Model):
    __tablename__ = "allocation_line"
    __table_args__ = (CheckConstraint("grams > 0", name="grams_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("allocation_batch.id", ondelete="CASCADE"), index=True
    )
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    grams: Mapped[int]
    km: Mapped[float]
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[LineStatus] = mapped_column(
        enum_column(LineStatus, "line_status"), default=LineStatus.PROPOSED
    )
    note: Mapped[str] = mapped_column(Text, default="")
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"))
    reason_key: Mapped[str] = mapped_column(String(40), default="")

    batch: Mapped[AllocationBatch] = relationship(back_populates="lines")
    lot: Mapped[Lot] = relationship()
    beneficiary: Mapped[Organisation] = relationship()
    claim: Mapped[Claim | None] = relationship()

    @property
    def kg(self) -> float:
        return self.grams / 1000
