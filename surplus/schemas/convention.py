"""A beneficiary's convention figures and a coordinator's decision.

The figures come from the API as JSON (``opening_hours`` is one object per weekday) or
from the page's form (one text field per weekday, ``hours_mon`` … ``hours_sun``); both
load into the same typed values. Rules that need the database (a logistics platform,
changes held for approval, the FSE+ approval as a pair once merged with what is on file)
stay in ``services.conventions``.
"""

from __future__ import annotations

import enum
import re
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..models import Category, DistributionMode
from .base import InputSchema
from .fields import Choice, Choices, Count, CustomField, Day, Flag, Id, Number, Text

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SPANS = 6  # opening spans a day; more is a paste gone wrong
MAX_PERSONS = 100_000
MAX_CAPACITY_KG = 100_000
# The farthest a beneficiary may say its people go to collect food themselves.
MAX_SELF_COLLECT_KM = 100
_SPAN = re.compile(r"^\s*(\d{1,2})[:h.](\d{2})\s*[-–]\s*(\d{1,2})[:h.](\d{2})\s*$")
# How the OpenAPI document describes a clock time and a span (the loader is more lenient).
_CLOCK = "([01][0-9]|2[0-3]):[0-5][0-9]"
_SPAN_TEXT = f"{_CLOCK}-{_CLOCK}"


class DaySpans(CustomField):
    """A day's opening spans: text such as "09:00-12:00, 13:30-16:30", or a list of
    ``["09:00", "12:00"]`` pairs (or of "09:00-12:00" texts). Loads sorted
    ``[["09:00", "12:00"], ...]``; blank is closed."""

    default_error_messages = {
        "invalid": _l("Write hours as 09:00-12:00, 13:30-16:30."),
        "order": _l("Each span must end after it starts."),
        "too_many": _l("At most {max} spans a day."),
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault(
            "metadata",
            {
                "description": 'Opening spans, e.g. "09:00-12:00, 13:30-16:30" or '
                '[["09:00", "12:00"], ["13:30", "16:30"]].'
            },
        )
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if value is None or value == "" or value == []:
            return []
        if isinstance(value, str):
            if len(value) > 200:
                raise self.make_error("invalid")
            spans = [s for s in value.split(",") if s.strip()]
        elif isinstance(value, list):
            spans = value
        else:
            raise self.make_error("invalid")
        if len(spans) > MAX_SPANS:
            raise self.make_error("too_many", max=MAX_SPANS)
        return sorted(self._span(span) for span in spans)

    def _span(self, span: Any) -> list[str]:
        if isinstance(span, list) and len(span) == 2 and all(isinstance(s, str) for s in span):
            span = "-".join(span)
        if not isinstance(span, str) or len(span) > 40:
            raise self.make_error("invalid")
        match = _SPAN.match(span)
        if not match:
            raise self.make_error("invalid")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60):
            raise self.make_error("invalid")
        start, end = f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"
        if end <= start:
            raise self.make_error("order")
        return [start, end]


class OpeningHours(CustomField):
    """``{"mon": <day spans>, ...}``: days left out, or blank, are closed."""

    default_error_messages = {
        "invalid": _l("Give opening hours per weekday (mon, tue, wed, thu, fri, sat, sun)."),
    }

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.day = DaySpans()
        day = {
            "oneOf": [
                {
                    "type": "string",
                    "maxLength": 200,
                    "pattern": f"^({_SPAN_TEXT}(, {_SPAN_TEXT})*)?$",
                },
                {
                    "type": "array",
                    "maxItems": MAX_SPANS,
                    "items": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 2,
                        "items": {"type": "string", "pattern": f"^{_CLOCK}$"},
                    },
                },
            ],
            "description": "Spans that end after they start, e.g. "
            '"09:00-12:00, 13:30-16:30" or [["09:00", "12:00"]]; '
            "left out or blank: closed.",
        }
        self.metadata.update(
            type="object", additionalProperties=False, properties=dict.fromkeys(WEEKDAYS, day)
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict:
        if not isinstance(value, dict) or any(day not in WEEKDAYS for day in value):
            raise self.make_error("invalid")
        hours: dict[str, list[list[str]]] = {}
        for day in WEEKDAYS:
            raw = value.get(day)
            try:
                spans = [] if raw is None else self.day.deserialize(raw)
            except ma.ValidationError as error:
                raise ma.ValidationError(f"{day}: {error.messages[0]}") from None
            if spans:
                hours[day] = spans
        return hours


class _Figures(InputSchema):
    """What a beneficiary declares, without its opening hours. A field left blank takes
    its empty value (no capacity, every category, no approval); a field left out of a
    ``PATCH`` keeps the value on file."""

    distribution_mode = Choice(
        DistributionMode,
        allow_none=True,
        load_default=None,
        metadata={
            "description": "How the food is handed out: free parcels or a social "
            "restaurant's meals are free distribution (FSE+ goes only there); left out, "
            "as the organisation declared at sign-up."
        },
    )
    persons_per_week = Count(
        MAX_PERSONS,
        minimum=1,
        required=True,
        error_messages={"required": _l("How many persons do you serve per week?")},
    )
    chilled_capacity_kg = Number(0, MAX_CAPACITY_KG, places=3, load_default=0.0)
    frozen_capacity_kg = Number(0, MAX_CAPACITY_KG, places=3, load_default=0.0)
    self_collect_km = Number(
        0,
        MAX_SELF_COLLECT_KM,
        places=1,
        load_default=0.0,
        metadata={
            "description": "Road km within which your own people collect food at the "
            "donor's, in your opening hours (0: they do not). Placement then gives you "
            "lots no run carries but that you can fetch in time."
        },
    )
    accepted_categories = Choices(
        Category,
        load_default=list,
        metadata={"description": "Category codes; none means every category."},
    )
    afsca_number = Text(40, load_default="")
    fse_plus_approval_number = Text(60, allow_none=True, load_default=None)
    fse_plus_approval_expires = Day(allow_none=True, load_default=None)
    contact_name = Text(200, load_default="")
    contact_phone = Text(40, load_default="")

    @ma.post_load
    def _no_blank_approval(self, data: dict, **kwargs: Any) -> dict:
        if data.get("fse_plus_approval_number") == "":
            data["fse_plus_approval_number"] = None
        return data


class FiguresSchema(_Figures):
    """The figures as JSON (``PATCH /conventions/<id>`` changes only those given)."""

    opening_hours = OpeningHours(load_default=dict)


class ConventionInSchema(FiguresSchema):
    """A convention request as JSON: the platform and the figures."""

    platform_id = Id(required=True)


class FiguresFormSchema(_Figures):
    """The figures from the page's form: the opening hours as one text per weekday."""

    hours_mon = DaySpans(load_default=list)
    hours_tue = DaySpans(load_default=list)
    hours_wed = DaySpans(load_default=list)
    hours_thu = DaySpans(load_default=list)
    hours_fri = DaySpans(load_default=list)
    hours_sat = DaySpans(load_default=list)
    hours_sun = DaySpans(load_default=list)

    @ma.post_load
    def _week(self, data: dict, **kwargs: Any) -> dict:
        spans = {day: data.pop(f"hours_{day}", []) for day in WEEKDAYS}
        data["opening_hours"] = {day: value for day, value in spans.items() if value}
        return data


class ConventionFormSchema(FiguresFormSchema):
    """A convention request from the page's form."""

    platform_id = Id(required=True)


class Decision(enum.StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    END = "end"


class DecisionSchema(InputSchema):
    """A coordinator's decision. Approving sets the terms (validity, FSE+); declining,
    suspending and ending need a reason (checked by the service, which knows the
    decision's rules); an end before the start is refused by the service too, since the
    start may be the one on file."""

    action = Choice(Decision, required=True)
    reason = Text(1000, load_default="")
    valid_from = Day(allow_none=True, load_default=None)
    valid_until = Day(allow_none=True, load_default=None)
    fse_plus = Flag(load_default=False)
