"""A coordinator's or site admin's verdict on an organisation awaiting verification."""

from __future__ import annotations

import enum

from .base import InputSchema
from .fields import Choice, Text


class Verdict(enum.StrEnum):
    VERIFY = "verify"
    REJECT = "reject"


class VerificationSchema(InputSchema):
    decision = Choice(Verdict, required=True)
    reason = Text(1000, load_default="")
