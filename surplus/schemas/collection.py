"""Self-collection: what the beneficiary records when its people collect a claim at the
donor's (the claim page's form and ``POST /api/v1/claims/<id>/collection``)."""

from __future__ import annotations

from .base import InputSchema
from .fields import Temperature, Text


class CollectionInSchema(InputSchema):
    """The reading at the hand-over (°C; needed for chilled and frozen food), who
    received it for the beneficiary, and a note. Which of them a lot needs is the
    service's rule (services/collection.py), as at a stop."""

    temperature_c = Temperature(allow_none=True, load_default=None)
    receiver = Text(200, load_default="")
    note = Text(1000, load_default="")
