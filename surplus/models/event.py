"""The append-only event log: traceability (Reg. (EC) 178/2002 art. 18) and audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from .base import UTCDateTime, db, utcnow


class Event(db.Model):
    __tablename__ = "event"
    __table_args__ = (Index("ix_event_subject", "subject_type", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(60))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a recorded event."""


@event.listens_for(Event, "before_update")
@event.listens_for(Event, "before_delete")
def _refuse_change(mapper: Any, connection: Any, target: Event) -> None:
    # The migration also installs database triggers; this catches it earlier.
    raise AppendOnlyError("events are append-only")
