"""A platform's service area: the postcodes of the communes it serves and a radius."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .. import geo
from .base import InputSchema
from .fields import BAD_TEXT, CustomField, Number

MAX_RADIUS_KM = 200
MAX_POSTCODES = 600  # Wallonia has about 260 postcodes; more is a paste gone wrong.
_SEPARATORS = re.compile(r"[\s,;]+")


def split_postcodes(raw: Any) -> list[str]:
    """The tokens of a comma-, semicolon-, space- or newline-separated text, in order,
    without repeats."""
    seen: dict[str, None] = {}
    for token in _SEPARATORS.split(raw if isinstance(raw, str) else ""):
        if token:
            seen.setdefault(token, None)
    return list(seen)


class Postcodes(CustomField):
    """Known Belgian postcodes: a list, or one text separated by commas, semicolons,
    spaces or new lines. Loads them sorted, without repeats."""

    default_error_messages = {
        "invalid": _l("Give postcodes as a list or separated by commas."),
        "unknown": _l("Unknown Belgian postcodes: %(codes)s."),
        "too_many": _l("At most %(max)d postcodes."),
    }

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.metadata.update(
            type="array", maxItems=MAX_POSTCODES, items={"type": "string", "pattern": "^[0-9]{4}$"}
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if isinstance(value, str) and len(value) <= MAX_POSTCODES * 6:
            codes = split_postcodes(value)
        elif (
            isinstance(value, list)
            and len(value) <= MAX_POSTCODES
            and all(isinstance(code, str) and len(code) <= 10 for code in value)
        ):
            codes = list(dict.fromkeys(code.strip() for code in value if code.strip()))
        else:
            raise self.make_error("invalid")
        if len(codes) > MAX_POSTCODES:
            raise self._error("too_many", max=MAX_POSTCODES)
        unknown = [
            c for c in codes if not (len(c) == 4 and c.isdigit() and geo.is_known_postcode(c))
        ]
        if unknown:
            shown = BAD_TEXT.sub("?", ", ".join(unknown[:20]))[:120]
            raise self._error("unknown", codes=shown)
        return sorted(codes)

    def _error(self, key: str, **variables: Any) -> ma.ValidationError:
        # These messages are catalogued with %-placeholders, as the pages always said them.
        return ma.ValidationError(str(self.error_messages[key]) % variables)


class AreaSchema(InputSchema):
    """The communes replace the platform's list; a blank radius is none."""

    postcodes = Postcodes(load_default=list)
    radius_km = Number(
        0,
        MAX_RADIUS_KM,
        exclusive_minimum=True,
        places=1,
        allow_none=True,
        load_default=None,
        error_messages={
            "positive": _l(
                "The radius must be more than 0 and at most %(max)d km.", max=MAX_RADIUS_KM
            ),
            "range": _l(
                "The radius must be more than 0 and at most %(max)d km.", max=MAX_RADIUS_KM
            ),
            "invalid": _l("Enter a number of kilometres, such as 25."),
        },
    )
