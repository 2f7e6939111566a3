"""Depot stock near its date: a daily job tells the platform's coordinators.

An item with food left whose last day (``expires_at``: the use-by day's end, or the
best-before plus the category's grace) is within ``STOCK_ALERT_DAYS`` days, or already
past, is signalled to its platform's coordinators once per item per day (in-app, and by
mail as each coordinator chose for this kind). The job is idempotent: a second run the
same day finds the day's notifications and adds none.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Notification, NotificationKind, StockItem
from .. import notifications
from ..lot_dates import BRUSSELS, local_today
from ..reports.period import local_day

DEFAULT_DAYS = 2
SUBJECT = "stockitem"  # Notification.subject_type of a stock item


def _already_told(session: Session, item_ids: list[int], day_iso: str) -> set[int]:
    """Items already signalled on ``day``: notifications of the kind created since the
    day before (a cheap bound), their ``day`` parameter compared in Python (JSON
    equality differs between SQLite and PostgreSQL)."""
    if not item_ids:
        return set()
    since = datetime.combine(
        datetime.fromisoformat(day_iso).date() - timedelta(days=1), time(0), tzinfo=BRUSSELS
    ).astimezone(UTC)
    rows = session.execute(
        select(Notification.subject_id, Notification.params).where(
            Notification.kind == NotificationKind.STOCK_EXPIRING,
            Notification.subject_type == SUBJECT,
            Notification.subject_id.in_(item_ids),
            Notification.created_at >= since,
        )
    ).all()
    return {subject_id for subject_id, params in rows if (params or {}).get("day") == day_iso}


def expiring(session: Session, now: datetime, days: int) -> list[StockItem]:
    """Items with food left whose last day is at most ``days`` days from today (Brussels)
    or past, first expired first."""
    today = local_today(now)
    horizon = datetime.combine(today + timedelta(days=days + 1), time(0), tzinfo=BRUSSELS)
    return list(
        session.scalars(
            select(StockItem)
            .where(
                StockItem.grams > 0,
                StockItem.expires_at.is_not(None),
                StockItem.expires_at < horizon.astimezone(UTC),
            )
            .order_by(StockItem.expires_at, StockItem.id)
        )
    )


def notify_expiring(session: Session, now: datetime, days: int | None = None) -> int:
    """The daily job: signal each item near its date to its platform's coordinators,
    once a day. Returns the number of notifications created."""
    if days is None:
        days = int(current_app.config.get("STOCK_ALERT_DAYS", DEFAULT_DAYS))
    today = local_today(now)
    items = expiring(session, now, days)
    told = _already_told(session, [i.id for i in items], today.isoformat())
    created = 0
    for item in items:
        if item.id in told:
            continue
        assert item.expires_at is not None
        left = (local_day(item.expires_at) - today).days
        created += len(notifications.stock_expiring(session, item, today, left))
    return created
