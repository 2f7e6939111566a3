"""Surplus lots and the claims on them. Weights are stored in whole grams so that
the conservation rule (DESIGN.md §3 rule 5) is exact arithmetic on both backends."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, enum_column, utcnow
from .convention import Convention
from .enums import (
    LIVE_CLAIM_STATUSES,
    Category,
    ClaimStatus,
    DateKind,
    LotStatus,
    ProductKind,
    StorageClass,
)
from .organisation import Organisation
from .run import Depot

MAX_LOT_GRAMS = 40_000_000  # 40 tonnes: one articulated lorry


class Lot(db.Model):
    __tablename__ = "lot"
    __table_args__ = (
        CheckConstraint(f"weight_g > 0 AND weight_g <= {MAX_LOT_GRAMS}", name="weight_range"),
        CheckConstraint("remaining_g >= 0 AND remaining_g <= weight_g", name="remaining_range"),
        CheckConstraint("min_part_g >= 0 AND min_part_g <= weight_g", name="min_part_range"),
        CheckConstraint("units IS NULL OR units >= 0", name="units_nonneg"),
        CheckConstraint("pickup_until > pickup_from", name="pickup_window_order"),
        CheckConstraint("(date_kind IS NULL) = (best_date IS NULL)", name="date_pair"),
        CheckConstraint("storage = 'ambient' OR best_date IS NOT NULL", name="cold_needs_date"),
        Index("ix_lot_status_expires", "status", "expires_at"),
        # every column the open-lot list filters and ranks on (services/browse.py)
        Index(
            "ix_lot_open_list",
            "status",
            "wave",
            "storage",
            "category",
            "fse_plus",
            "remaining_g",
            "pickup_until",
            "expires_at",
            "donor_id",
            "pickup_lat",
            "pickup_lon",
        ),
        Index("ix_lot_donor_created", "donor_id", "created_at"),
        Index("ix_lot_wave_next", "wave", "next_wave_at"),
        CheckConstraint("wave BETWEEN 1 AND 3", name="wave_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[Category] = mapped_column(enum_column(Category, "category"))
    description: Mapped[str] = mapped_column(Text, default="")
    lot_number: Mapped[str] = mapped_column(String(60), default="")
    weight_g: Mapped[int]
    remaining_g: Mapped[int]
    units: Mapped[int | None]
    # Ambient lots without a date (fresh produce, hygiene) leave both empty.
    date_kind: Mapped[DateKind | None] = mapped_column(enum_column(DateKind, "date_kind"))
    best_date: Mapped[date | None]
    # Last moment the food may be handed out: end of the use-by day, or of the
    # best-before day plus the category's grace period (DESIGN.md §3 rule 1).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    storage: Mapped[StorageClass] = mapped_column(enum_column(StorageClass, "storage_class"))
    # Meat or fish: which kind, for its hand-over temperature limit; and a stricter
    # limit the donor states (the label's), in °C. See services/food_safety.py.
    product_kind: Mapped[ProductKind | None] = mapped_column(
        enum_column(ProductKind, "product_kind")
    )
    max_temperature_c: Mapped[float | None]
    allergens: Mapped[list[str]] = mapped_column(JSON, default=list)
    fse_plus: Mapped[bool] = mapped_column(default=False)
    divisible: Mapped[bool] = mapped_column(default=True)
    min_part_g: Mapped[int] = mapped_column(default=0)
    pickup_address: Mapped[str] = mapped_column(String(300), default="")
    pickup_postcode: Mapped[str] = mapped_column(String(4))
    pickup_locality: Mapped[str] = mapped_column(String(120))
    pickup_lat: Mapped[float]
    pickup_lon: Mapped[float]
    pickup_from: Mapped[datetime] = mapped_column(UTCDateTime())
    pickup_until: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[LotStatus] = mapped_column(
        enum_column(LotStatus, "lot_status"), default=LotStatus.OPEN
    )
    status_reason: Mapped[str] = mapped_column(Text, default="")
    # Offer waves (services/waves.py): 1 the platforms serving the donor, 2 those within
    # a radius, 3 every platform; the escalation job moves it on at ``next_wave_at``.
    wave: Mapped[int] = mapped_column(default=3)
    next_wave_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Offered from a platform's depot stock (services/depots/stock.py): one step back.
    stock_item_id: Mapped[int | None] = mapped_column(ForeignKey("stock_item.id"), index=True)

    donor: Mapped[Organisation] = relationship()
    claims: Mapped[list[Claim]] = relationship(back_populates="lot", order_by="Claim.id")
    photos: Mapped[list[LotPhoto]] = relationship(
        back_populates="lot", order_by="LotPhoto.id", cascade="all, delete-orphan"
    )

    @property
    def weight_kg(self) -> float:
        return self.weight_g / 1000

    @property
    def remaining_kg(self) -> float:
        return self.remaining_g / 1000

    @property
    def claimed_kg(self) -> float:
        return (self.weight_g - self.remaining_g) / 1000

    @property
    def min_part_kg(self) -> float:
        return self.min_part_g / 1000


class Claim(db.Model):
    __tablename__ = "claim"
    __table_args__ = (
        CheckConstraint("grams > 0", name="grams_positive"),
        UniqueConstraint("beneficiary_id", "idempotency_key", name="uq_claim_idempotency"),
        Index("ix_claim_lot_status", "lot_id", "status"),
        Index("ix_claim_beneficiary_created", "beneficiary_id", "created_at"),
        CheckConstraint(
            "(convention_id IS NULL) = (depot_id IS NOT NULL)", name="convention_or_depot"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    platform_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # None for a platform's claim for its own depot (``depot_id``): no convention then.
    convention_id: Mapped[int | None] = mapped_column(ForeignKey("convention.id"))
    depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"))
    grams: Mapped[int]
    status: Mapped[ClaimStatus] = mapped_column(
        enum_column(ClaimStatus, "claim_status"), default=ClaimStatus.ACTIVE
    )
    status_reason: Mapped[str] = mapped_column(Text, default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    # The beneficiary fetches the lot at the donor's itself (no run takes it).
    self_collect: Mapped[bool] = mapped_column(default=False)
    # Who took it at the donor's, and the note, when its people collected it
    # (services/collection.py); blanked by the retention job, as a stop's.
    collected_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    collection_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    lot: Mapped[Lot] = relationship(back_populates="claims")
    beneficiary: Mapped[Organisation] = relationship(foreign_keys=[beneficiary_id])
    platform: Mapped[Organisation] = relationship(foreign_keys=[platform_id])
    convention: Mapped[Convention | None] = relationship()
    depot: Mapped[Depot | None] = relationship()

    @property
    def kg(self) -> float:
        return self.grams / 1000

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_CLAIM_STATUSES


class LotPhoto(db.Model):
    """A photo of a lot: the file lives in the photo storage under ``key`` (re-encoded,
    resized and stripped of metadata when it was uploaded)."""

    __tablename__ = "lot_photo"
    __table_args__ = (
        CheckConstraint("width > 0 AND height > 0", name="size_positive"),
        CheckConstraint("bytes > 0", name="bytes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int]
    height: Mapped[int]
    bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    lot: Mapped[Lot] = relationship(back_populates="photos")
