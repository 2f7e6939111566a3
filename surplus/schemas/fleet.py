"""Fleet inputs: a platform's vans and its weekly rounds with their regular stops.

Depots have no input yet: they are set up with the platform (demo data, the site team).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .base import InputSchema
from .fields import Clock, Count, Flag, Id, Number, Text


class VehicleInSchema(InputSchema):
    name = Text(120, allow_blank=False, required=True)
    capacity_kg = Number(1, 100_000, places=1, required=True)
    refrigerated = Flag(load_default=False)
    freezer = Flag(load_default=False)  # a freezer van is refrigerated too


class TemplateInSchema(InputSchema):
    """A weekly round: every ``weekday`` (Monday = 0) at ``departure``, Brussels time."""

    name = Text(200, allow_blank=False, required=True)
    weekday = Count(6, required=True)
    departure = Clock(required=True)
    vehicle_id = Id(required=True)
    depot_id = Id(required=True)


class TemplateStopInSchema(InputSchema):
    """A regular stop: an organisation of the network, or a place by its postcode."""

    organisation_id = Id(load_default=None)
    postcode = Text(4, load_default="")
    locality = Text(120, load_default="")
    load_kg = Number(0, 40_000, places=3, load_default=0.0)
    opens = Clock(load_default=None)
    closes = Clock(load_default=None)
    service_min = Count(240, load_default=10)

    @ma.validates_schema
    def _shape(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("organisation_id") is None and not data.get("postcode"):
            raise ma.ValidationError(
                str(_l("Choose an organisation or give a known postcode.")), "postcode"
            )
        opens, closes = data.get("opens"), data.get("closes")
        if opens and closes and closes <= opens:  # "HH:MM" strings sort as times
            raise ma.ValidationError(str(_l("Each span must end after it starts.")), "closes")
