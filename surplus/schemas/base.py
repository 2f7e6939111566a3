"""The base of every input schema, and loading one from JSON, a form or a CSV row.

A schema loads the same way whatever the source: :func:`load` returns typed values or
raises :class:`~surplus.errors.Invalid` with one message per field, in the user's
language. The API declares the same schemas with ``@blp.arguments``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from ..errors import Invalid


class JsonBody(dict):
    """A JSON request body: its numbers, ids and booleans must be JSON numbers and
    booleans, as the OpenAPI document says (forms, CSV cells and query strings carry
    them as text)."""


class InputSchema(ma.Schema):
    """Unknown keys (a form's CSRF token, a CSV's extra column) are ignored."""

    class Meta:
        unknown = ma.EXCLUDE

    error_messages = {"type": _l("Send a JSON object."), "unknown": _l("Unknown field.")}

    @ma.pre_load
    def _json_types(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, JsonBody):
            return data
        errors = {}
        for name, field in self.fields.items():
            key = field.data_key or name
            value = data.get(key)
            types = getattr(field, "json_types", None)
            if value is None or types is None or field.dump_only:
                continue
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                errors[key] = str(field.error_messages["invalid"])
        if errors:
            raise ma.ValidationError(errors)
        return data


def flatten(messages: Any) -> dict[str, str]:
    """marshmallow's nested messages → ``{"field": "first message"}``."""
    if not isinstance(messages, Mapping):
        return {"_schema": first_message(messages)}
    flat: dict[str, str] = {}
    for name, value in messages.items():
        if isinstance(value, Mapping) and not _is_index_map(value):
            for sub, message in flatten(value).items():
                flat[sub if name in ("json", "query", "form", "files") else name] = message
        else:
            flat[str(name)] = first_message(value)
    return flat


def _is_index_map(value: Mapping) -> bool:
    return all(isinstance(k, int) for k in value)


def first_message(value: Any) -> str:
    while isinstance(value, list | tuple | dict) and value:
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
    return str(value)


def load(
    schema: ma.Schema, data: Any, *, partial: bool = False, message: str | None = None
) -> dict[str, Any]:
    """Load ``data`` through ``schema``; :class:`Invalid` lists a message per field."""
    try:
        return schema.load(data, partial=partial)
    except ma.ValidationError as error:
        fields = flatten(error.messages)
        if message is None:  # one problem: say it; several: each field says its own
            message = (
                next(iter(fields.values()))
                if len(fields) == 1
                else str(_l("Some fields are invalid."))
            )
        raise Invalid(message, fields) from None


def form_values(schema: ma.Schema, form: MultiDict) -> dict[str, Any]:
    """A submitted form as the schema reads it: every value of a list field, the last
    value of the others, and unticked checkboxes as ``False``."""
    values: dict[str, Any] = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if isinstance(field, ma.fields.List):
            values[key] = [v for v in form.getlist(key) if v != ""]
        elif key in form:
            values[key] = form.getlist(key)[-1]
        elif isinstance(field, ma.fields.Boolean) and field.metadata.get("checkbox", True):
            values[key] = False
    return values
