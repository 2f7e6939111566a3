"""The one clock the domain reads.

Every service, schema and model default takes "now" from :func:`now`, so a
simulation (``bench/simulate.py``) or a test can move time for the whole
application at once with :func:`travel` / :func:`set_time`. Outside them it is
the wall clock in UTC. Security clocks (session timeouts, TOTP codes, rate
limits, backup names) keep reading the wall clock: moving them would not make
anything more realistic and would weaken them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")

_fixed: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _fixed if _fixed is not None else datetime.now(UTC)


def today() -> date:
    """Today's date in Brussels (the date people see on a label)."""
    return now().astimezone(BRUSSELS).date()


def set_time(at: datetime | None) -> None:
    """Freeze the clock at ``at`` (aware), or give it back to the wall clock with None."""
    global _fixed
    if at is not None and at.tzinfo is None:
        raise ValueError("the clock takes an aware datetime")
    _fixed = at.astimezone(UTC) if at is not None else None


def is_simulated() -> bool:
    return _fixed is not None


@contextmanager
def travel(at: datetime) -> Iterator[None]:
    """Hold the clock at ``at`` inside the block, then restore what it was."""
    before = _fixed
    set_time(at)
    try:
        yield
    finally:
        set_time(before)
