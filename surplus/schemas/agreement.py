"""A coordinator's request for a transport agreement, and the other platform's decision."""

from __future__ import annotations

import enum
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .. import clock
from .base import InputSchema
from .fields import Choice, Day, Id, Text


class Direction(enum.StrEnum):
    WE_CARRY = "we_carry"  # our vans carry for the other platform
    THEY_CARRY = "they_carry"  # their vans carry for us


class AgreementAction(enum.StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"
    END = "end"


class AgreementRequestSchema(InputSchema):
    """Which platform, who carries, and from when (not in the past) to when."""

    other_id = Id(required=True, error_messages={"required": _l("Choose another platform.")})
    direction = Choice(
        Direction,
        required=True,
        error_messages={
            "required": _l("Say which platform's vans carry."),
            "invalid": _l("Say which platform's vans carry."),
        },
    )
    valid_from = Day(required=True, error_messages={"required": _l("Enter the first day.")})
    valid_until = Day(allow_none=True, load_default=None)
    note = Text(1000, load_default="")

    @ma.validates_schema(skip_on_field_errors=False)
    def _dates(self, data: dict, **kwargs: Any) -> None:
        start, end = data.get("valid_from"), data.get("valid_until")
        errors: dict[str, list[str]] = {}
        if start is not None and start < clock.today():
            errors["valid_from"] = [str(_l("The first day cannot be in the past."))]
        if start is not None and end is not None and end < start:
            errors["valid_until"] = [str(_l("The end date must follow the start date."))]
        if errors:
            raise ma.ValidationError(errors)


class AgreementDecisionSchema(InputSchema):
    """Approve or refuse (the asked platform; refusing needs a reason), or end."""

    action = Choice(AgreementAction, required=True)
    reason = Text(1000, load_default="")
