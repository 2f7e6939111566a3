"""Run inputs: a one-off run, booking a claim onto a run, and confirming a stop."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .base import InputSchema
from .fields import Flag, Id, Moment, Temperature, Text


class RunInSchema(InputSchema):
    """A one-off run of the platform's van from one of its depots, leaving within a year
    (the service checks that the van and the depot are the platform's)."""

    name = Text(200, load_default="")
    vehicle_id = Id(required=True)
    depot_id = Id(required=True)
    start_at = Moment(past=1, future=366, required=True)


class BookingInSchema(InputSchema):
    """Book the claim on the best run (nothing given), on ``run_id``, or let the
    beneficiary collect it itself (``self_collect``): one of them, not both."""

    run_id = Id(allow_none=True, load_default=None)
    self_collect = Flag(load_default=False)

    @ma.validates_schema
    def _one_way(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("self_collect") and data.get("run_id") is not None:
            raise ma.ValidationError(
                str(_l("Choose a run or self-collection, not both.")), "run_id"
            )


class StopConfirmInSchema(InputSchema):
    """What the driver records at a stop; whether the temperature and the receiver are
    needed depends on the lot and the stop (the service says)."""

    temperature = Temperature(allow_none=True, load_default=None)
    receiver = Text(200, load_default="")
    note = Text(1000, load_default="")


class StopMissedInSchema(InputSchema):
    """Nobody was there at the drop-off: what the driver adds (a closed door, who was
    called), optional."""

    note = Text(1000, load_default="")


class RunDriverInSchema(InputSchema):
    """Who drives the run: an active account of the run's platform, or nobody (``null``;
    an empty choice in the form). The service checks the account."""

    driver_id = Id(required=True, allow_none=True)
