"""Depots, vehicles, delivery runs and their stops."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, enum_column
from .enums import RunStatus, StopKind, StopStatus
from .organisation import Organisation, User

if TYPE_CHECKING:
    from .lot import Claim


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


class RunTemplate(db.Model):
    """A weekly round: every ``weekday`` at ``departure`` (Brussels time)."""

    __tablename__ = "run_template"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("max_duration_min IS NULL OR max_duration_min > 0", name="duration_pos"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    name: Mapped[str] = mapped_column(String(200))
    weekday: Mapped[int]  # Monday = 0
    departure: Mapped[str] = mapped_column(String(5))  # "HH:MM"
    max_duration_min: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)

    platform: Mapped[Organisation] = relationship()
    vehicle: Mapped[Vehicle] = relationship()
    depot: Mapped[Depot] = relationship()
    stops: Mapped[list[TemplateStop]] = relationship(
        back_populates="template", order_by="TemplateStop.position", cascade="all, delete-orphan"
    )


class TemplateStop(db.Model):
    """A regular stop of a weekly round, with its usual load and opening hours."""

    __tablename__ = "template_stop"
    __table_args__ = (
        UniqueConstraint("template_id", "position", name="uq_template_stop_position"),
        CheckConstraint("service_min >= 0", name="service_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("run_template.id", ondelete="CASCADE"))
    position: Mapped[int]
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float]
    lon: Mapped[float]
    load_delta_kg: Mapped[float] = mapped_column(default=0.0)
    opens: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"
    closes: Mapped[str | None] = mapped_column(String(5))
    service_min: Mapped[int] = mapped_column(default=10)

    template: Mapped[RunTemplate] = relationship(back_populates="stops")
    organisation: Mapped[Organisation | None] = relationship()


class Run(db.Model):
    __tablename__ = "run"
    __table_args__ = (
        Index("ix_run_platform_start", "platform_id", "start_at"),
        # Materialising a template twice for a day creates nothing twice.
        UniqueConstraint("template_id", "run_date", name="uq_run_template_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("run_template.id"))
    run_date: Mapped[date | None]
    name: Mapped[str] = mapped_column(String(200))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    speed_kmh: Mapped[float] = mapped_column(default=50.0)
    max_duration_min: Mapped[int | None]
    status: Mapped[RunStatus] = mapped_column(
        enum_column(RunStatus, "run_status"), default=RunStatus.PLANNED
    )
    # The platform member who drives it (None until a coordinator assigns someone).
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)

    platform: Mapped[Organisation] = relationship()
    driver: Mapped[User | None] = relationship()
    vehicle: Mapped[Vehicle] = relationship()
    depot: Mapped[Depot] = relationship()
    template: Mapped[RunTemplate | None] = relationship()
    stops: Mapped[list[Stop]] = relationship(
        back_populates="run", order_by="Stop.position", cascade="all, delete-orphan"
    )


class Stop(db.Model):
    __tablename__ = "stop"
    __table_args__ = (
        UniqueConstraint("run_id", "position", name="uq_stop_run_position"),
        CheckConstraint("position >= 0", name="position_nonneg"),
        CheckConstraint("service_min >= 0", name="service_nonneg"),
        CheckConstraint("leg BETWEEN 0 AND 2", name="leg_range"),
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
    # 0: the claim goes straight from donor to beneficiary on this run. A hub relay has
    # leg 1 (donor to the hub depot) and leg 2 (hub depot to beneficiary) on two runs.
    leg: Mapped[int] = mapped_column(default=0)
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
    # What the driver recorded (traceability: who received it, at what temperature).
    temperature_c: Mapped[float | None]
    receiver_name: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    run: Mapped[Run] = relationship(back_populates="stops")
    organisation: Mapped[Organisation | None] = relationship()
    claim: Mapped[Claim | None] = relationship()
