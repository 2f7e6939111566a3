"""Template filters and globals."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal

from . import labels, match_labels


def kg(value: float | None) -> str:
    if value is None:
        return ""
    return f"{format_decimal(round(value, 1), format='#,##0.#')} kg"


def when(value: datetime | date | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "short" if fmt == "short" else "EEE d MMM, HH:mm")
    return format_date(value, "EEE d MMM yyyy" if fmt == "medium" else fmt)


def init_app(app: Flask) -> None:
    app.add_template_filter(kg, "kg")
    app.add_template_filter(when, "when")
    app.add_template_global(labels.label, "label")
    app.add_template_global(labels.ALL, "LABELS")
    app.add_template_global(match_labels.why, "why")
    app.add_template_global(match_labels.unallocated, "unallocated_reason")
