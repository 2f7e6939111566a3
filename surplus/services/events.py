"""Appending to the event log (DESIGN.md §3 rule 7)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from ..models import Event, User


def to_plain(value: Any) -> Any:
    """``value`` with enums, dates and datetimes made JSON-ready (lists and dicts too)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


def snapshot(obj: Any, *fields: str) -> dict[str, Any]:
    return {f: to_plain(getattr(obj, f)) for f in fields}


def record(
    session: Session,
    actor: User | None,
    subject: Any,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    organisation_id: int | None = None,
) -> Event:
    """Append one event about ``subject`` (a model instance with an id)."""
    if subject.id is None:
        session.flush()
    event = Event(
        actor_id=actor.id if actor is not None else None,
        organisation_id=organisation_id
        if organisation_id is not None
        else (actor.organisation_id if actor is not None else None),
        subject_type=type(subject).__name__.lower(),
        subject_id=subject.id,
        action=action,
        before=to_plain(before) if before else None,
        after=to_plain(after) if after else None,
        reason=reason,
    )
    session.add(event)
    return event
