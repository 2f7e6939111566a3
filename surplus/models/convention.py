"""Conventions: the agreement between a platform and a beneficiary."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, enum_column, utcnow
from .enums import ConventionStatus, DistributionMode
from .organisation import Organisation


class Convention(db.Model):
    __tablename__ = "convention"
    __table_args__ = (
        CheckConstraint("persons_per_week >= 0", name="persons_nonneg"),
        CheckConstraint("chilled_capacity_kg >= 0", name="chilled_nonneg"),
        CheckConstraint("frozen_capacity_kg >= 0", name="frozen_nonneg"),
        CheckConstraint("self_collect_km >= 0", name="self_collect_nonneg"),
        CheckConstraint("platform_id <> beneficiary_id", name="distinct_parties"),
        CheckConstraint(
            "valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from",
            name="validity_order",
        ),
        Index("ix_convention_beneficiary_status", "beneficiary_id", "status"),
        Index("ix_convention_platform_status", "platform_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    status: Mapped[ConventionStatus] = mapped_column(
        enum_column(ConventionStatus, "convention_status"), default=ConventionStatus.REQUESTED
    )
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    fse_plus_allowed: Mapped[bool] = mapped_column(default=False)
    fse_plus_approval_number: Mapped[str | None] = mapped_column(String(60))
    fse_plus_approval_expires: Mapped[date | None]
    # How the beneficiary hands out what comes through this convention; only free
    # distribution receives FSE+ stock (services/eligibility.py).
    distribution_mode: Mapped[DistributionMode] = mapped_column(
        enum_column(DistributionMode, "distribution_mode"), default=DistributionMode.OTHER
    )
    persons_per_week: Mapped[int] = mapped_column(default=0)
    chilled_capacity_kg: Mapped[float] = mapped_column(default=0.0)
    frozen_capacity_kg: Mapped[float] = mapped_column(default=0.0)
    # Category codes; an empty list means every category.
    accepted_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # {"mon": [["08:00", "12:00"]], ...}: delivery opening hours per weekday.
    opening_hours: Mapped[dict] = mapped_column(JSON, default=dict)
    # Road km within which the beneficiary's own people collect at the donor's, in
    # those opening hours (0: they do not); placement gives it lots it can fetch in time.
    self_collect_km: Mapped[float] = mapped_column(default=0.0, server_default="0")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    # Figures the beneficiary changed that widen what it may receive (FSE+ approval,
    # a new cold-chain class, more categories): held until a coordinator approves.
    pending_changes: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    platform: Mapped[Organisation] = relationship(foreign_keys=[platform_id])
    beneficiary: Mapped[Organisation] = relationship(foreign_keys=[beneficiary_id])

    def in_force(self, day: date) -> bool:
        """Active and inside its validity dates on ``day``."""
        return (
            self.status == ConventionStatus.ACTIVE
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_until is None or day <= self.valid_until)
        )

    def allows_fse_plus(self, day: date) -> bool:
        """FSE+ stock may flow through this convention on ``day`` (DESIGN.md §3 rule 2)."""
        return (
            self.in_force(day)
            and self.fse_plus_allowed
            and bool(self.fse_plus_approval_number)
            and self.fse_plus_approval_expires is not None
            and self.fse_plus_approval_expires >= day
        )
