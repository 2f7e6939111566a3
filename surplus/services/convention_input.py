"""Reading a beneficiary's convention figures from a form or a JSON body."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from ..models import Category

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{1,2})[:h.](\d{2})\s*[-–]\s*(\d{1,2})[:h.](\d{2})\s*$")


@dataclass
class Figures:
    persons_per_week: int = 0
    chilled_capacity_kg: float = 0.0
    frozen_capacity_kg: float = 0.0
    accepted_categories: list[str] = field(default_factory=list)
    opening_hours: dict[str, list[list[str]]] = field(default_factory=dict)
    fse_plus_approval_number: str | None = None
    fse_plus_approval_expires: date | None = None
    contact_name: str = ""
    contact_phone: str = ""
    afsca_number: str = ""


def _number(raw: Any, name: str, errors: dict[str, str], *, integer: bool = False) -> float:
    if raw in (None, ""):
        return 0
    try:
        value = float(str(raw).replace(",", "."))
    except ValueError:
        errors[name] = str(_l("Enter a number."))
        return 0
    if value < 0 or value != value or value > 1_000_000:
        errors[name] = str(_l("Enter a number between 0 and 1,000,000."))
        return 0
    if integer and value != int(value):
        errors[name] = str(_l("Enter a whole number."))
    return int(value) if integer else value


def parse_hours(raw: Any, errors: dict[str, str]) -> dict[str, list[list[str]]]:
    """{"mon": "09:00-12:00, 13:30-16:30", ...} or {"mon": [["09:00", "12:00"]]} → spans."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, Mapping):
        errors["opening_hours"] = str(_l("Give opening hours per weekday."))
        return {}
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        value = raw.get(day)
        if value in (None, "", []):
            continue
        spans = value if isinstance(value, list) else str(value).split(",")
        for span in spans:
            text = "-".join(span) if isinstance(span, list | tuple) else str(span)
            match = _SPAN.match(text)
            if not match:
                errors[f"hours_{day}"] = str(_l("Write hours as 09:00-12:00, 13:30-16:30."))
                break
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            start, end = f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"
            if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60 and end > start):
                errors[f"hours_{day}"] = str(_l("Each span must end after it starts."))
                break
            hours.setdefault(day, []).append([start, end])
    return hours


def parse_figures(data: Mapping[str, Any]) -> tuple[Figures, dict[str, str]]:
    errors: dict[str, str] = {}
    f = Figures()
    f.persons_per_week = int(_number(data.get("persons_per_week"), "persons_per_week", errors,
                                     integer=True))
    if f.persons_per_week <= 0 and "persons_per_week" not in errors:
        errors["persons_per_week"] = str(_l("How many persons do you serve per week?"))
    f.chilled_capacity_kg = float(_number(data.get("chilled_capacity_kg"),
                                          "chilled_capacity_kg", errors))
    f.frozen_capacity_kg = float(_number(data.get("frozen_capacity_kg"),
                                         "frozen_capacity_kg", errors))
    categories = data.get("accepted_categories") or []
    if isinstance(categories, str):
        categories = [c for c in re.split(r"[;,\s]+", categories) if c]
    known = {c.value for c in Category}
    if not isinstance(categories, list) or any(str(c) not in known for c in categories):
        errors["accepted_categories"] = str(_l("Unknown category."))
    else:
        f.accepted_categories = sorted({str(c) for c in categories})
    f.opening_hours = parse_hours(data.get("opening_hours"), errors)
    number = str(data.get("fse_plus_approval_number") or "").strip()
    expires = data.get("fse_plus_approval_expires")
    if number:
        f.fse_plus_approval_number = number[:60]
        try:
            f.fse_plus_approval_expires = date.fromisoformat(str(expires)) if expires else None
        except ValueError:
            errors["fse_plus_approval_expires"] = str(_l("Enter a date as YYYY-MM-DD."))
        if f.fse_plus_approval_expires is None and "fse_plus_approval_expires" not in errors:
            errors["fse_plus_approval_expires"] = str(
                _l("Give the expiry date of the FSE+ approval."))
    elif expires:
        errors["fse_plus_approval_number"] = str(_l("Give the FSE+ approval number."))
    f.contact_name = str(data.get("contact_name") or "").strip()[:200]
    f.contact_phone = str(data.get("contact_phone") or "").strip()[:40]
    f.afsca_number = str(data.get("afsca_number") or "").strip()[:40]
    return f, errors
