"""Input fields shared by every schema: bounded, finite, clean, and localised.

Every value a person or a client sends goes through one of these: numbers are finite
and bounded (a decimal comma is read through Babel in the user's locale), text carries
no NUL byte, control character or lone surrogate and has a length limit, dates and
times stay within a sane window of today, ids stay within the database's integer range.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import marshmallow as ma
from babel.numbers import NumberFormatError, parse_decimal
from flask import has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from .. import clock
from ..routing import MAX_ID

BRUSSELS = clock.BRUSSELS
TRUE = {"1", "true", "yes", "y", "on", "oui", "ja", "x"}
FALSE = {"0", "false", "no", "n", "off", "non", "nee", ""}
# NUL and the other C0 controls but tab, line feed and carriage return; lone surrogates,
# and U+FFFD, which stands for bytes that were not text (a form sent in a broken encoding).
BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffd]")

COMMON_MESSAGES = {
    "required": _l("This field is required."),
    "null": _l("This field is required."),
    "invalid": _l("This value is not valid."),
}


class _Localised:
    """Marshmallow formats its messages with ``str.format``; ours are lazy strings that
    follow the request's language, so they are rendered when the error is raised."""

    default_error_messages = COMMON_MESSAGES

    def make_error(self, key: str, **kwargs: Any) -> ma.ValidationError:
        message = self.error_messages[key]  # type: ignore[attr-defined]
        return ma.ValidationError(str(message).format(**kwargs))


class _BlankIsMissing:
    """An empty form input or CSV cell means "not given", as if the key were absent."""

    def deserialize(
        self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any
    ) -> Any:
        if isinstance(value, str) and not value.strip():
            value = ma.missing
        return super().deserialize(value, attr, data, **kwargs)  # type: ignore[misc]


def _locale() -> str:
    return str(get_locale() or "fr") if has_request_context() else "fr"


_ALLOWED = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]"
TEXT_PATTERN = f"^{_ALLOWED}*$"
FILLED_PATTERN = rf"^{_ALLOWED}*[^\s\u0000-\u001f\u007f\ufffd]{_ALLOWED}*$"
TEXT_MESSAGES = {
    **COMMON_MESSAGES,
    "invalid": _l("Enter text."),
    "control": _l(
        "This text contains a character that is not allowed (a control "
        "character or a broken one); please retype it."
    ),
    "too_long": _l("At most {max} characters."),
    "blank": _l("This field is required."),
}


class Text(_Localised, ma.fields.String):
    """Stripped text of at most ``max_length`` characters, without control characters."""

    default_error_messages = TEXT_MESSAGES

    def __init__(self, max_length: int = 200, *, allow_blank: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.allow_blank = allow_blank
        self.metadata.setdefault("maxLength", max_length)
        # The document says what is accepted: no control character, and for a required
        # text at least one character that is not a space.
        self.metadata.setdefault("pattern", TEXT_PATTERN if allow_blank else FILLED_PATTERN)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if BAD_TEXT.search(value):
            raise self.make_error("control")
        if len(value) > self.max_length:  # as sent, so the document's maxLength holds
            raise self.make_error("too_long", max=self.max_length)
        value = value.strip()
        if not value and not self.allow_blank:
            raise self.make_error("blank")
        return value


class Number(_BlankIsMissing, _Localised, ma.fields.Field):
    """A finite decimal number between ``minimum`` and ``maximum``: a JSON number, or text
    in the user's locale ("12,5" in French and Dutch) from a form, a CSV cell or a query
    string; ``places`` rounds it."""

    json_types: tuple[type, ...] = (int, float)

    default_error_messages = {
        **COMMON_MESSAGES,
        "invalid": _l("Enter a number."),
        "range": _l("Enter a number between {min} and {max}."),
        "positive": _l("Enter a number above 0 and at most {max}."),
        "whole": _l("Enter a whole number."),
    }

    def __init__(
        self,
        minimum: float = 0,
        maximum: float = 1_000_000,
        *,
        exclusive_minimum: bool = False,
        places: int | None = None,
        whole: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum
        self.exclusive_minimum = exclusive_minimum
        self.places = places
        self.whole = whole
        self.metadata.setdefault("type", "integer" if whole else "number")
        self.metadata.setdefault("minimum", minimum)
        self.metadata.setdefault("maximum", maximum)
        if exclusive_minimum:
            self.metadata.setdefault("exclusiveMinimum", True)

    def parse(self, value: Any) -> Decimal:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise self.make_error("invalid")
            return Decimal(repr(value))
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        text = value.strip().replace("\u00a0", " ").replace("\u202f", " ")
        try:
            return parse_decimal(text, locale=_locale(), strict=True)
        except (NumberFormatError, ValueError):
            pass
        if re.fullmatch(r"[+-]?\d+(\.\d+)?", text):  # the canonical form, in any locale
            return Decimal(text)
        raise self.make_error("invalid")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        number = self.parse(value)
        if not number.is_finite():
            raise self.make_error("invalid")
        if number > Decimal(str(self.maximum)):
            raise self._out_of_range("too_large")
        if number < Decimal(str(self.minimum)) or (
            self.exclusive_minimum and number <= Decimal(str(self.minimum))
        ):
            raise self._out_of_range("too_small")
        if self.whole:
            if number != number.to_integral_value():
                raise self.make_error("whole")
            return int(number)
        if self.places is not None:
            exact, number = number, number.quantize(Decimal(1).scaleb(-self.places))
            if exact and not number:  # 0.0004 kg is not "no minimum": it is too small
                raise self._out_of_range("too_small")
            if self.exclusive_minimum and number <= Decimal(str(self.minimum)):
                raise self._out_of_range("too_small")
        return float(number)

    def _out_of_range(self, key: str) -> ma.ValidationError:
        """``too_small`` / ``too_large`` when a schema words them, else the range."""
        if key not in self.error_messages:
            key = "positive" if self.exclusive_minimum and self.minimum == 0 else "range"
        return self.make_error(key, min=_fmt(self.minimum), max=_fmt(self.maximum))

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


def _fmt(number: float) -> str:
    from flask_babel import format_decimal

    return format_decimal(number) if has_request_context() else f"{number:g}"


def Kilograms(maximum: float = 40_000, **kwargs: Any) -> Number:  # noqa: N802
    """More than 0 kg, to the gram."""
    return Number(0, maximum, exclusive_minimum=True, places=3, **kwargs)


def Count(maximum: int = 1_000_000, minimum: int = 0, **kwargs: Any) -> Number:  # noqa: N802
    """A whole number (units, persons)."""
    return Number(minimum, maximum, whole=True, **kwargs)


def Temperature(**kwargs: Any) -> Number:  # noqa: N802
    """A measured temperature in °C: plausible for food handling, to a tenth."""
    kwargs.setdefault("metadata", {"description": "Measured temperature in °C."})
    return Number(-40, 60, places=1, **kwargs)


class Id(_BlankIsMissing, _Localised, ma.fields.Integer):
    """A database id: 1 to 2³¹−1, as a JSON number or digits."""

    json_types: tuple[type, ...] = (int,)

    default_error_messages = {**COMMON_MESSAGES, "invalid": _l("Choose a valid entry.")}

    def __init__(self, **kwargs: Any):
        super().__init__(
            strict=False,
            validate=ma.validate.Range(1, MAX_ID, error=str(COMMON_MESSAGES["invalid"])),
            **kwargs,
        )

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise self.make_error("invalid")
        if isinstance(value, str) and not re.fullmatch(r"\s*\d{1,12}\s*", value):
            raise self.make_error("invalid")
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            raise self.make_error("invalid") from None
        if not 1 <= number <= MAX_ID:
            raise self.make_error("invalid")
        return number

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return self._validated(value)


class Flag(_Localised, ma.fields.Boolean):
    """Yes or no: a JSON boolean, a checkbox, or yes/oui/ja/x in a CSV cell."""

    json_types: tuple[type, ...] = (bool,)

    default_error_messages = {**COMMON_MESSAGES, "invalid": _l("Answer yes or no.")}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in TRUE:
            return True
        if isinstance(value, str) and value.strip().lower() in FALSE:
            return False
        raise self.make_error("invalid")


class Choice(_BlankIsMissing, _Localised, ma.fields.Field):
    """One value of an enum (its ``value``)."""

    default_error_messages = {**COMMON_MESSAGES, "invalid": _l("Choose one of the options.")}

    def __init__(self, enum: type[Enum], **kwargs: Any):
        super().__init__(**kwargs)
        self.enum = enum
        self.metadata.setdefault("type", "string")
        self.metadata.setdefault("enum", [m.value for m in enum])

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return self.enum(value.strip() if isinstance(value, str) else value)
        except (ValueError, TypeError):
            raise self.make_error("invalid") from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value.value if isinstance(value, Enum) else value


class Day(_BlankIsMissing, _Localised, ma.fields.Date):
    """A calendar date within ``past`` days before and ``future`` days after today."""

    default_error_messages = {
        **COMMON_MESSAGES,
        "invalid": _l("Enter a date as YYYY-MM-DD."),
        "window": _l("Enter a date between {start} and {end}."),
    }

    def __init__(self, past: int = 3660, future: int = 3660, **kwargs: Any):
        super().__init__(**kwargs)
        self.past, self.future = past, future

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or len(value) > 10:
            raise self.make_error("invalid")
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise self.make_error("invalid") from None
        today = clock.today()
        start, end = today - timedelta(days=self.past), today + timedelta(days=self.future)
        if not start <= day <= end:
            raise self.make_error("window", start=start.isoformat(), end=end.isoformat())
        return day


class Month(_BlankIsMissing, _Localised, ma.fields.Field):
    """A calendar month as ``YYYY-MM``, loaded as the first day of that month."""

    default_error_messages = {
        **COMMON_MESSAGES,
        "invalid": _l("Enter a month as YYYY-MM."),
        "window": _l("Enter a month between {start} and {end}."),
    }
    PATTERN = re.compile(r"\d{4}-\d{2}")

    def __init__(self, **kwargs: Any):
        metadata = {"type": "string", "pattern": r"^\d{4}-\d{2}$", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not self.PATTERN.fullmatch(value.strip()):
            raise self.make_error("invalid")
        try:
            first = date(int(value[:4]), int(value[5:7]), 1)
        except ValueError:
            raise self.make_error("invalid") from None
        today = clock.today()
        start, end = date(today.year - 10, 1, 1), today.replace(day=1)
        if not start <= first <= end:
            raise self.make_error(
                "window", start=start.strftime("%Y-%m"), end=end.strftime("%Y-%m")
            )
        return first

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else value.strftime("%Y-%m")


class Moment(_BlankIsMissing, _Localised, ma.fields.DateTime):
    """A date and time (UTC once loaded) within a window around now; without a time
    zone, as a form's ``datetime-local`` sends it, it is Belgian time."""

    default_error_messages = {
        **COMMON_MESSAGES,
        "invalid": _l("Enter a date and time, e.g. 2026-05-04T14:00+02:00."),
        "window": _l("Enter a date and time between {start} and {end}."),
    }

    def __init__(self, past: int = 366, future: int = 732, **kwargs: Any):
        super().__init__(**kwargs)
        self.past, self.future = past, future

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=BRUSSELS)
        try:
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise self.make_error("invalid") from None
        now = clock.now()
        start, end = now - timedelta(days=self.past), now + timedelta(days=self.future)
        if not start <= moment <= end:
            raise self.make_error(
                "window", start=start.date().isoformat(), end=end.date().isoformat()
            )
        return moment


class Choices(_Localised, ma.fields.List):
    """Several values of an enum: a list, or one text with commas or semicolons."""

    json_types: tuple[type, ...] = (list,)

    default_error_messages = {
        **COMMON_MESSAGES,
        "invalid": _l("Choose among the options."),
        "unknown": _l("Unknown value: {values}."),
    }

    def __init__(self, enum: type[Enum], max_items: int = 50, **kwargs: Any):
        super().__init__(ma.fields.String(metadata={"enum": [m.value for m in enum]}), **kwargs)
        self.enum = enum
        self.max_items = max_items
        self.metadata.setdefault("maxItems", max_items)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if value is None or value == "":
            return []
        items = re.split(r"[;,|]", value) if isinstance(value, str) else value
        if (
            not isinstance(items, list | tuple)
            or len(items) > self.max_items
            or any(not isinstance(i, str) for i in items)
        ):
            raise self.make_error("invalid")
        cleaned = [i.strip().lower() for i in items if i.strip()]
        known = {m.value for m in self.enum}
        unknown = [i for i in cleaned if i not in known]
        if unknown:
            shown = ", ".join(unknown)[:80]
            raise self.make_error("unknown", values=BAD_TEXT.sub("?", shown))
        return sorted(set(cleaned))


class Clock(_BlankIsMissing, _Localised, ma.fields.String):
    """A wall-clock time, loaded as ``"HH:MM"``: what a form's time input sends ("07:30",
    or "07:30:00" with seconds), and "7:30" or "7h30" as people write it."""

    default_error_messages = {**COMMON_MESSAGES, "invalid": _l("Write the time as 07:30.")}
    _PATTERN = re.compile(r"\s*([01]?\d|2[0-3])[:hH]([0-5]\d)(?::00)?\s*")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.metadata.setdefault("pattern", r"^([01]?\d|2[0-3])[:hH][0-5]\d(:00)?$")
        self.metadata.setdefault("example", "07:30")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        found = self._PATTERN.fullmatch(value) if isinstance(value, str) else None
        if found is None:
            raise self.make_error("invalid")
        return f"{int(found[1]):02d}:{found[2]}"


class CustomField(_Localised, ma.fields.Field):
    """The base of a schema's own field (opening hours, postcodes): lazy messages in the
    request's language, like the fields above."""
