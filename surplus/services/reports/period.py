"""A report's period: whole days in Brussels, both ends included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ..lot_dates import BRUSSELS, local_today


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BRUSSELS).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    start: date  # first day, included
    end: date  # last day, included

    @classmethod
    def month(cls, first: date) -> Period:
        first = first.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return cls(first, following - timedelta(days=1))

    @classmethod
    def default(cls, today: date | None = None) -> Period:
        """Twelve calendar months up to today: this month and the eleven before it."""
        today = today or local_today()
        months_back = today.year * 12 + today.month - 1 - 11
        return cls(date(months_back // 12, months_back % 12 + 1, 1), today)

    @property
    def start_utc(self) -> datetime:
        """The first instant of the period (Brussels midnight, as UTC)."""
        return _utc_midnight(self.start)

    @property
    def end_utc(self) -> datetime:
        """The first instant after the period (exclusive)."""
        return _utc_midnight(self.end + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def weeks(self) -> float:
        return self.days / 7

    def months(self) -> list[date]:
        """The first day of every month the period touches, in order."""
        out, cursor = [], self.start.replace(day=1)
        while cursor <= self.end:
            out.append(cursor)
            cursor = (cursor + timedelta(days=32)).replace(day=1)
        return out

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start_utc <= moment < self.end_utc


def local_day(moment: datetime) -> date:
    """The Brussels calendar day of a UTC moment."""
    return moment.astimezone(BRUSSELS).date()


def month_key(moment: datetime) -> str:
    """``YYYY-MM`` of a UTC moment, in Brussels."""
    return local_day(moment).strftime("%Y-%m")
