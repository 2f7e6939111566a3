"""Inputs of the reports, the FSE+ register and the donation documents: a period
(``from``/``to``, whole days) or a month (``YYYY-MM``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .. import clock
from ..services.reports.period import Period
from .base import InputSchema
from .fields import Day, Month

MAX_DAYS = 3 * 366  # a report spans at most three years


class PeriodQuerySchema(InputSchema):
    """``from`` and ``to`` (YYYY-MM-DD, both included); missing, the twelve months to today."""

    start = Day(past=3660, future=366, data_key="from", allow_none=True)
    end = Day(past=3660, future=366, data_key="to", allow_none=True)

    @ma.validates_schema
    def _order(self, data: dict, **kwargs: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise ma.ValidationError(str(_l("The end comes before the start.")), "to")
        if start and end and (end - start).days >= MAX_DAYS:
            raise ma.ValidationError(str(_l("Choose at most three years.")), "to")


def period_of(values: dict) -> Period:
    """The period a loaded ``PeriodQuerySchema`` asks for."""
    start, end = values.get("start"), values.get("end")
    if start and end:
        return Period(start, end)
    if end:  # the twelve months up to ``end``
        return Period(Period.default(end).start, end)
    default = Period.default()
    if start:  # from ``start`` to today, within the longest span
        last = min(max(start, default.end), start + timedelta(days=MAX_DAYS - 1))
        return Period(start, last)
    return default


class MonthQuerySchema(InputSchema):
    """``month`` (YYYY-MM); missing, the current month."""

    month = Month(allow_none=True)


def month_of(values: dict) -> Period:
    first = values.get("month") or clock.today().replace(day=1)
    return Period.month(first)
