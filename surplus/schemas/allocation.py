"""Allocation inputs: running the matcher, and a coordinator's change to a proposed line."""

from __future__ import annotations

from .base import InputSchema
from .fields import Count, Kilograms

MAX_HOURS = 24 * 14  # the runs are planned two weeks ahead; further makes no proposal


class BatchInSchema(InputSchema):
    """Run the matcher over all open lots, or only those whose date is within the hours."""

    within_hours = Count(MAX_HOURS, minimum=1, load_default=None)


class LineInSchema(InputSchema):
    """The kilograms of a proposed line (at most what the lot still has: the service)."""

    kg = Kilograms(required=True)
