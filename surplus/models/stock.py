"""A platform's depot stock: zones, receipts at the door, stock items and every movement.

Weights are whole grams, like lots and claims. A stock item never goes below zero: each
decrease is one conditional UPDATE (services/depots/stock.py) with the CHECK behind it.
``StockSource`` keeps where each item came from (a claim delivered to the depot, a
receipt from outside, or other items it was split from or merged with), so traceability
and recalls follow food through the depot.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, enum_column, utcnow
from .enums import (
    Category,
    DateKind,
    MovementKind,
    ProductKind,
    ReceiptSource,
    StorageClass,
)
from .lot import Claim
from .organisation import Organisation
from .run import Depot


class DepotZone(db.Model):
    """A zone of a depot (a dry store, a cold room, a freezer) and what it holds at most."""

    __tablename__ = "depot_zone"
    __table_args__ = (
        UniqueConstraint("depot_id", "name", name="uq_depot_zone_name"),
        CheckConstraint("capacity_kg >= 0", name="capacity_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    storage: Mapped[StorageClass] = mapped_column(enum_column(StorageClass, "zone_storage"))
    capacity_kg: Mapped[float] = mapped_column(default=0.0)

    depot: Mapped[Depot] = relationship()


class _Product:
    """What is known of a product wherever it is: the same fields as a lot's."""

    product: Mapped[str] = mapped_column(String(200))
    category: Mapped[Category] = mapped_column(enum_column(Category, "category"))
    lot_number: Mapped[str] = mapped_column(String(60), default="")
    date_kind: Mapped[DateKind | None] = mapped_column(enum_column(DateKind, "date_kind"))
    best_date: Mapped[date | None]
    # As for lots: the last moment it may be handed out (use-by day's end, or best-before
    # plus the category's grace).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    storage: Mapped[StorageClass] = mapped_column(enum_column(StorageClass, "storage_class"))
    product_kind: Mapped[ProductKind | None] = mapped_column(
        enum_column(ProductKind, "product_kind")
    )
    max_temperature_c: Mapped[float | None]
    allergens: Mapped[list[str]] = mapped_column(JSON, default=list)
    fse_plus: Mapped[bool] = mapped_column(default=False)


class StockReceipt(_Product, db.Model):
    """Food presented at a depot's door and its quality check; refused, it goes back to
    its source with the reason."""

    __tablename__ = "stock_receipt"
    __table_args__ = (
        CheckConstraint("grams > 0", name="grams_positive"),
        CheckConstraint("units IS NULL OR units >= 0", name="units_nonneg"),
        CheckConstraint("accepted OR refusal_reason <> ''", name="refusal_says_why"),
        Index("ix_stock_receipt_depot_at", "depot_id", "checked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("depot_zone.id"))
    source: Mapped[ReceiptSource] = mapped_column(enum_column(ReceiptSource, "receipt_source"))
    # claim: the platform's claim delivered to its depot; door: a donor's drop-off;
    # outside: from outside Maillon (supplier named), e.g. an FSE+ delivery.
    # At most one receipt per claim: a claim's food arrives once.
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), index=True, unique=True)
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    supplier: Mapped[str] = mapped_column(String(200), default="")
    grams: Mapped[int]
    units: Mapped[int | None]
    temperature_c: Mapped[float | None]
    packaging_ok: Mapped[bool] = mapped_column(default=True)
    labels_ok: Mapped[bool] = mapped_column(default=True)
    accepted: Mapped[bool]
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    depot: Mapped[Depot] = relationship()
    zone: Mapped[DepotZone | None] = relationship()
    donor: Mapped[Organisation | None] = relationship()
    claim: Mapped[Claim | None] = relationship()


class StockItem(_Product, db.Model):
    """Food in a depot zone: what is left of it in ``grams`` (0 once gone)."""

    __tablename__ = "stock_item"
    __table_args__ = (
        CheckConstraint("grams >= 0", name="grams_nonneg"),
        CheckConstraint("units IS NULL OR units >= 0", name="units_nonneg"),
        Index("ix_stock_item_depot_grams", "depot_id", "grams"),
        Index("ix_stock_item_zone_expires", "zone_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    zone_id: Mapped[int] = mapped_column(ForeignKey("depot_zone.id"))
    grams: Mapped[int]
    units: Mapped[int | None]
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("stock_receipt.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    depot: Mapped[Depot] = relationship()
    zone: Mapped[DepotZone] = relationship()
    receipt: Mapped[StockReceipt | None] = relationship()
    sources: Mapped[list[StockSource]] = relationship(
        foreign_keys="StockSource.item_id", order_by="StockSource.id", back_populates="item"
    )

    @property
    def kg(self) -> float:
        return self.grams / 1000


class StockSource(db.Model):
    """One step back from an item: the receipt it came in by, or the item it was split
    from or merged from, with the grams that came that way."""

    __tablename__ = "stock_source"
    __table_args__ = (
        CheckConstraint("grams > 0", name="grams_positive"),
        CheckConstraint("(receipt_id IS NULL) <> (source_item_id IS NULL)", name="one_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("stock_item.id"), index=True)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("stock_receipt.id"))
    source_item_id: Mapped[int | None] = mapped_column(ForeignKey("stock_item.id"), index=True)
    grams: Mapped[int]

    item: Mapped[StockItem] = relationship(foreign_keys=[item_id], back_populates="sources")
    receipt: Mapped[StockReceipt | None] = relationship()
    source_item: Mapped[StockItem | None] = relationship(foreign_keys=[source_item_id])


class StockMovement(db.Model):
    """Every change of an item's grams, signed: in (received, split or merged into),
    out (split or merged away, offered as a lot, adjusted down), and counts."""

    __tablename__ = "stock_movement"
    __table_args__ = (Index("ix_stock_movement_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("stock_item.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"), index=True)
    kind: Mapped[MovementKind] = mapped_column(enum_column(MovementKind, "movement_kind"))
    delta_g: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"))  # offered as this lot
    other_item_id: Mapped[int | None] = mapped_column(ForeignKey("stock_item.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    item: Mapped[StockItem] = relationship(foreign_keys=[item_id])
