"""Depots, vehicles, delivery runs and their stops."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, enum_column
from .enums import RunStatus, StopKind, StopStatus
from .organisation import Organisation


class Depot(db.Model):
    __tablename__ = "depot"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(4))
    locality: Mapped[str] = mapped_column(String(120))
    lat: Mapped[float]
    lon: Mapped[float]
    cold_room: Mapped[bool] = mapped_column(default=False)

    platform: Mapped[Organisation] = relationship()


class Vehicle(db.Model):
    __tablename__ = "vehicle"
    __table_args__ = (
        CheckConstraint("capacity_kg > 0", name="capacity_positive"),
        CheckConstraint("NOT freezer OR refrigerated", name="freezer_is_refrigerated"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    capacity_kg: Mapped[float]
    refrigerated: Mapped[bool] = mapped_column(default=False)
    freezer: Mapped[bool] = mapped_column(default=False)

    platform: Mapped[Organisation] = relationship()


class Run(db.Model):
    __tablename__ = "run"
    __table_args__ = (Index("ix_run_platform_start", "platform_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    name: Mapped[str] = mapped_column(String(200))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[RunStatus] = mapped_column(
        enum_column(RunStatus, "run_status"), default=RunStatus.PLANNED
    )

    platform: Mapped[Organisation] = relationship()
    vehicle: Mapped[Vehicle] = relationship()
    depot: Mapped[Depot] = relationship()
    stops: Mapped[list[Stop]] = relationship(
        back_populates="run", order_by="Stop.position", cascade="all, delete-orphan"
    )


class Stop(db.Model):
    __tablename__ = "stop"
    __table_args__ = (
        UniqueConstraint("run_id", "position", name="uq_stop_run_position"),
        CheckConstraint("position >= 0", name="position_nonneg"),
        CheckConstraint("service_min >= 0", name="service_nonneg"),
        CheckConstraint(
            "window_end IS NULL OR window_start IS NULL OR window_end >= window_start",
            name="window_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[StopKind] = mapped_column(enum_column(StopKind, "stop_kind"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float]
    lon: Mapped[float]
    # Signed: positive loads the van (pickup), negative unloads it (drop-off).
    load_delta_kg: Mapped[float] = mapped_column(default=0.0)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    service_min: Mapped[int] = mapped_column(default=10)
    status: Mapped[StopStatus] = mapped_column(
        enum_column(StopStatus, "stop_status"), default=StopStatus.PLANNED
    )

    run: Mapped[Run] = relationship(back_populates="stops")
    organisation: Mapped[Organisation | None] = relationship()
