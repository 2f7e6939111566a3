"""When a lot stops being distributable (DESIGN.md §3 rule 1).

A use-by (DLC) lot may be handed out until the end of its date, Belgian time.
A best-before (DDM) lot may be handed out after its date for a grace period that
depends on the category; chilled and frozen lots get none.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from .. import clock
from ..models import Category, DateKind, StorageClass

BRUSSELS = clock.BRUSSELS

# Days a best-before lot stays distributable after its date, by category.
GRACE_DAYS: dict[Category, int] = {
    Category.DRY_GOODS: 30,
    Category.DRINKS: 30,
    Category.NON_FOOD: 180,
}
# AFSCA prefers donations at least this many days before a use-by date.
AFSCA_ADVISED_DAYS = 3


def grace_days(date_kind: DateKind, category: Category, storage: StorageClass) -> int:
    if date_kind == DateKind.USE_BY or storage != StorageClass.AMBIENT:
        return 0
    return GRACE_DAYS.get(category, 0)


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in Brussels, as a UTC datetime."""
    local = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=BRUSSELS)
    return (local - timedelta(seconds=1)).astimezone(UTC)


def expires_at(
    date_kind: DateKind, best_date: date, category: Category, storage: StorageClass
) -> datetime:
    return end_of_day(best_date + timedelta(days=grace_days(date_kind, category, storage)))


def local_today(now: datetime | None = None) -> date:
    return (now or clock.now()).astimezone(BRUSSELS).date()
