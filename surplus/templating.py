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


def kg(value: float | None, locale: str | None = None) -> str:
    """``locale``: the page's, when a template looked it up once (:func:`page_locale`)."""
    if value is None:
        return ""
    return _kg(round(float(value), 1), locale or str(get_locale()))


@lru_cache(maxsize=4096)
def _decimal(value: float, pattern: str, locale: str) -> str:
    return babel_decimal(value, format=pattern, locale=locale)


def number(value: float | None, digits: int = 1) -> str:
    """A plain number in the page's style (decimal comma and narrow space in French)."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return _decimal(round(float(value), digits), pattern, str(get_locale()))


def km(value: float | None) -> str:
    """A distance: "12,3 km" (whole kilometres from 100 km up)."""
    if value is None:
        return ""
    return f"{number(value, 0 if abs(value) >= 100 else 1)}\u00a0km"


def celsius(value: float | None) -> str:
    """A temperature: "4 °C", "-18 °C", "9,5 °C"."""
    if value is None:
        return ""
    return f"{number(value, 1)}\u00a0°C"


def percent(value: float | None, digits: int = 0) -> str:
    """A share given as a fraction (0.525 → "52,5 %" with one digit)."""
    if value is None:
        return ""
    return f"{number(value * 100, digits)}\u00a0%"


def hour(value: datetime | None) -> str:
    """The time of day only: "13:07"."""
    if value is None:
        return ""
    return _datetime(value, "HH:mm", str(get_locale()), str(get_timezone()))


def when(
    value: datetime | date | None,
    fmt: str = "medium",
    locale: str | None = None,
    tz: str | None = None,
) -> str:
    """``locale`` and ``tz``: the page's, when a template looked them up once."""
    if value is None:
        return ""
    locale = locale or str(get_locale())
    if isinstance(value, datetime):
        pattern = "short" if fmt == "short" else "EEE d MMM, HH:mm"
        return _datetime(value, pattern, locale, tz or str(get_timezone()))
    return _date(value, "EEE d MMM yyyy" if fmt == "medium" else fmt, locale)


def page_locale() -> tuple[str, str]:
    """The page's locale and timezone names, for a template that formats many values
    (the lot list's cards): ``|kg(locale)``, ``|when('medium', locale, tz)`` and
    ``|label(kind, locale)`` then skip Flask-Babel's lookup, which costs more than the
    (cached) formatting itself."""
    return str(get_locale()), str(get_timezone())


def label_filter(code: object, kind: str, locale: str | None = None) -> str:
    """``code|label(kind)``: :func:`labels.label` as a filter (a filter is called
    directly; a template function goes through Jinja's slower ``Context.call``)."""
    return labels.label(kind, code, locale)


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
    app.add_template_filter(number, "number")
    app.add_template_filter(km, "km")
    app.add_template_filter(celsius, "celsius")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(hour, "hour")
    app.add_template_filter(label_filter, "label")
    app.add_template_global(page_locale, "page_locale")
    app.add_template_global(labels.label, "label")
    app.add_template_global(labels.ALL, "LABELS")
    app.add_template_global(match_labels.why, "why")
    app.add_template_global(match_labels.unallocated, "unallocated_reason")
    app.add_template_global(_coordinates, "coordinates")
    app.add_template_global(_can, "can")
    app.add_template_global(limit_text, "handover_limit")
    app.add_template_global(limit_for, "limit_c")
