"""The scheduler's log (one row per job run) and its per-job database lease."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import UTCDateTime, db, enum_column, utcnow
from .enums import JobOutcome


class JobRun(db.Model):
    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[JobOutcome] = mapped_column(
        enum_column(JobOutcome, "job_outcome"), default=JobOutcome.RUNNING
    )
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    # "schedule" or "manual"; who asked when manual.
    trigger: Mapped[str] = mapped_column(String(20), default="schedule")
    triggered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    host: Mapped[str] = mapped_column(String(120), default="")


class JobLock(db.Model):
    """A lease: the process that holds ``name`` until ``locked_until`` runs that job;
    another scheduler that fires the same job meanwhile finds it held and skips."""

    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120), default="")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
