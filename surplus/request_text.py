"""Query strings and form bodies whose percent-escapes are not UTF-8 (a lone surrogate,
a form sent in another encoding) are read with U+FFFD in place of the broken bytes.

Werkzeug keeps such bytes as literal ``%ED%A0%80`` text, which no rule can tell from
what a person typed. With the replacement character in place, the input schemas and
the page forms refuse the field like any other broken text, with a message on it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Flask, request
from werkzeug.datastructures import ImmutableMultiDict


def _reparsed(raw: bytes) -> ImmutableMultiDict | None:
    """The pairs again, broken bytes replaced, or None when nothing was broken."""
    if b"%" not in raw and raw.isascii():
        return None
    pairs = parse_qsl(
        raw.decode("utf-8", "replace"), keep_blank_values=True, encoding="utf-8", errors="replace"
    )
    if not any("\ufffd" in key or "\ufffd" in value for key, value in pairs):
        return None
    return ImmutableMultiDict(pairs)


def _repair() -> None:
    args = _reparsed(request.query_string)
    if args is not None:
        request.__dict__["args"] = args  # the cached property, set before anyone reads it
    if request.mimetype == "application/x-www-form-urlencoded":
        form = _reparsed(request.get_data(cache=True))  # the form parser reads the cache
        if form is not None:
            request.__dict__["form"] = form
            request.__dict__["files"] = ImmutableMultiDict()


def init_app(app: Flask) -> None:
    # First of all hooks: CSRF protection reads the form, and so parses it.
    app.before_request_funcs.setdefault(None, []).insert(0, _repair)
