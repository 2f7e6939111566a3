"""The site admins' overview: search, filters and page of its two lists (query string)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import marshmallow as ma

from ..models import OrgKind, Role, Verification
from .base import InputSchema
from .fields import Choice, Count, Text


class Activity(StrEnum):
    """Active accounts, or those switched off."""

    ACTIVE = "active"
    INACTIVE = "inactive"


class OrganisationFilterSchema(InputSchema):
    """Organisations: by name, e-mail, postcode or locality; of a kind; in a state."""

    q = Text(100, load_default="")
    kind = Choice(OrgKind, allow_none=True, load_default=None)
    verification = Choice(Verification, allow_none=True, load_default=None)
    page = Count(100_000, minimum=1, load_default=1)


class UserFilterSchema(InputSchema):
    """Users: by name, e-mail or organisation; of a role; active or not; of an
    organisation kind. ``active`` loads as True, False or None (either)."""

    q = Text(100, load_default="")
    role = Choice(Role, allow_none=True, load_default=None)
    active = Choice(Activity, allow_none=True, load_default=None)
    kind = Choice(OrgKind, allow_none=True, load_default=None)
    page = Count(100_000, minimum=1, load_default=1)

    @ma.post_load
    def _active(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("active") is not None:
            data["active"] = data["active"] == Activity.ACTIVE
        return data
