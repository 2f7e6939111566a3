"""The security log's filters (query string) and the data export's answer."""

from __future__ import annotations

import marshmallow as ma

from ..models import SecurityEventKind
from .base import InputSchema
from .fields import Choice, Count, Text


class ActivityPageSchema(InputSchema):
    """ "Your recent activity": which page."""

    page = Count(100_000, minimum=1, load_default=1)


class SecurityLogFilterSchema(InputSchema):
    """Everyone's security log (site admins): by e-mail (part of it), of one kind."""

    email = Text(254, load_default="")
    kind = Choice(SecurityEventKind, allow_none=True, load_default=None)
    page = Count(100_000, minimum=1, load_default=1)


class ExportSchema(ma.Schema):
    """Everything Maillon holds about the user (services/personal_data.py): plain JSON,
    never a password hash, an MFA secret or a token's hash."""

    format = ma.fields.Integer(required=True)
    generated_at = ma.fields.String(required=True)
    user = ma.fields.Dict(required=True)
    api_tokens = ma.fields.List(ma.fields.Dict())
    security_events = ma.fields.List(ma.fields.Dict())
    events = ma.fields.List(ma.fields.Dict())
    notifications = ma.fields.List(ma.fields.Dict())
    notification_preferences = ma.fields.List(ma.fields.Dict())
    claims = ma.fields.List(ma.fields.Dict())
    lots = ma.fields.List(ma.fields.Dict())
    runs = ma.fields.List(ma.fields.Dict())
    handovers = ma.fields.List(ma.fields.Dict())
    organisation = ma.fields.Dict(allow_none=True)
