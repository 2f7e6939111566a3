"""Account inputs of the API (the pages use Flask-WTF forms guarded by :class:`Form`)."""

from __future__ import annotations

from .base import InputSchema
from .fields import Text


class TokenRequestSchema(InputSchema):
    email = Text(254, required=True, allow_blank=False)
    password = Text(200, required=True, allow_blank=False, load_only=True)
    name = Text(100, metadata={"description": "What the token is for, shown in its list."})
