"""Template filters and globals.

Dates and weights are formatted by Babel, which is slow for a list of cards; the
results are cached per (value, pattern, locale), since a page repeats the same pickup
times and dates over and over.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.numbers import format_decimal as babel_decimal
from flask import Flask
from flask_babel import get_locale, get_timezone

from . import labels, match_labels
from .services.food_safety import limit_for, limit_text


@lru_cache(maxsize=4096)
def _datetime(value: datetime, pattern: str, locale: str, tz: str) -> str:
    return babel_datetime(value, pattern, tzinfo=get_timezone() if tz else None, locale=locale)


@lru_cache(maxsize=4096)
def _date(value: date, pattern: str, locale: str) -> str:
    return babel_date(value, pattern, locale=locale)


@lru_cache(maxsize=4096)
def _kg(value: float, locale: str) -> str:
    return f"{babel_decimal(value, format='#,##0.#', locale=locale)} kg"


def kg(value: float | None) -> str:
    if value is None:
        return ""
    return _kg(round(float(value), 1), str(get_locale()))


def when(value: datetime | date | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    locale = str(get_locale())
    if isinstance(value, datetime):
        pattern = "short" if fmt == "short" else "EEE d MMM, HH:mm"
        return _datetime(value, pattern, locale, str(get_timezone()))
    return _date(value, "EEE d MMM yyyy" if fmt == "medium" else fmt, locale)


def _coordinates(platform_id: int | None = None) -> bool:
    """Pages ask access.py, like the views: does the signed-in user coordinate it?"""
    from flask_login import current_user

    from . import access

    return access.coordinates(current_user, platform_id)


def _can(action: str, obj: object) -> bool:
    from flask_login import current_user

    from . import access

    return access.can(current_user, action, obj)


def init_app(app: Flask) -> None:
    app.add_template_filter(kg, "kg")
    app.add_template_filter(when, "when")
    app.add_template_global(labels.label, "label")
    app.add_template_global(labels.ALL, "LABELS")
    app.add_template_global(match_labels.why, "why")
    app.add_template_global(match_labels.unallocated, "unallocated_reason")
    app.add_template_global(_coordinates, "coordinates")
    app.add_template_global(_can, "can")
    app.add_template_global(limit_text, "handover_limit")
    app.add_template_global(limit_for, "limit_c")
