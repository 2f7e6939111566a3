"""URL converters: an ``int`` in a path is a database id, so it stays within 1..2³¹−1.

A larger number would overflow PostgreSQL's integer and answer 500; with this converter
the URL simply matches nothing (404), and the OpenAPI document says so.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1


# 1 to 2147483647 without leading zeros, in the pattern itself: a rule whose converter
# refused a matched number would count as "this path, another method" (405), not 404.
ID_PATTERN = (
    r"(?:[1-9]\d{0,8}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}"
    r"|21474[0-7]\d{4}|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d"
    r"|214748364[0-7])"
)


class BoundedInt(IntegerConverter):
    regex = ID_PATTERN

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
