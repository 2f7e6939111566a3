"""What links platforms: the waves a lot is offered in, and transport agreements."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, enum_column, utcnow
from .enums import AgreementStatus
from .organisation import Organisation


class LotOffer(db.Model):
    """The lot is offered to the network of ``platform`` since ``wave`` (1 or 2).
    A lot in wave 3 is offered to every platform and needs no rows."""

    __tablename__ = "lot_offer"
    __table_args__ = (
        UniqueConstraint("lot_id", "platform_id", name="uq_lot_offer_lot_platform"),
        Index("ix_lot_offer_platform_lot", "platform_id", "lot_id"),
        CheckConstraint("wave BETWEEN 1 AND 3", name="wave_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id", ondelete="CASCADE"))
    platform_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    wave: Mapped[int]
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    platform: Mapped[Organisation] = relationship()


class TransportAgreement(db.Model):
    """``carrier``'s runs may carry lots claimed through ``client``'s conventions."""

    __tablename__ = "transport_agreement"
    __table_args__ = (
        CheckConstraint("carrier_id <> client_id", name="distinct_platforms"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="validity_order"),
        Index("ix_transport_agreement_carrier_status", "carrier_id", "status"),
        Index("ix_transport_agreement_client_status", "client_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    status: Mapped[AgreementStatus] = mapped_column(
        enum_column(AgreementStatus, "agreement_status"), default=AgreementStatus.REQUESTED
    )
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]
    note: Mapped[str] = mapped_column(Text, default="")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    # The platform that asked; the other one decides.
    requested_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    carrier: Mapped[Organisation] = relationship(foreign_keys=[carrier_id])
    client: Mapped[Organisation] = relationship(foreign_keys=[client_id])

    def in_force(self, day: date) -> bool:
        return (
            self.status == AgreementStatus.ACTIVE
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
        )

    def other(self, org_id: int) -> Organisation:
        return self.client if org_id == self.carrier_id else self.carrier

    @property
    def deciding_org_id(self) -> int:
        return self.client_id if self.requested_by_org_id == self.carrier_id else self.carrier_id
