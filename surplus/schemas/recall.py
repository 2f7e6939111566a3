"""A lot's recall: what the donor sends, what a holder answers, and the API's answers."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..models import MAX_LOT_GRAMS, RecallAction
from .base import InputSchema
from .fields import Choice, Kilograms, Text


class RecallInSchema(InputSchema):
    reason = Text(
        1000,
        required=True,
        allow_blank=False,
        metadata={"description": "Why the lot is recalled; every holder reads it."},
    )


class AcknowledgementInSchema(InputSchema):
    """What a holder did with the recalled food it holds, and how many kilograms."""

    action = Choice(
        RecallAction,
        required=True,
        metadata={"description": "quarantined, destroyed or returned (to the donor)."},
    )
    kg = Kilograms(
        MAX_LOT_GRAMS / 1000,
        required=True,
        error_messages={"too_small": _l("More than 0 kg.")},
        metadata={"description": "At most what the organisation holds (delivered + in transit)."},
    )


# -- answers ------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class AcknowledgementSchema(ma.Schema):
    action = ma.fields.Function(lambda h: h.ack_action.value)
    kg = ma.fields.Float(attribute="ack_kg")
    at = ma.fields.Function(lambda h: _iso(h.ack_at))
    by_user_id = ma.fields.Integer(attribute="ack_by_id", allow_none=True)


class HolderSchema(ma.Schema):
    organisation_id = ma.fields.Integer()
    name = ma.fields.Function(lambda h: h.organisation.name)
    kg_delivered = ma.fields.Float(metadata={"description": "Delivered to it."})
    kg_in_transit = ma.fields.Float(metadata={"description": "Picked up, not delivered."})
    kg_cancelled = ma.fields.Float(
        metadata={"description": "Planned, not picked up: cancelled by the recall."}
    )
    kg_refused = ma.fields.Float(
        metadata={"description": "Refused at a hand-over before the recall: never received."}
    )
    status = ma.fields.String(
        metadata={
            "enum": ["holds", "cancelled", "refused"],
            "description": "holds: delivered or in transit; cancelled: only planned claims; "
            "refused: only food refused at a hand-over.",
        }
    )
    must_acknowledge = ma.fields.Boolean(
        metadata={"description": "It holds food (delivered or in transit) and must answer."}
    )
    acknowledgement = ma.fields.Function(
        lambda h: AcknowledgementSchema().dump(h) if h.ack_at is not None else None,
        metadata={"type": "object", "nullable": True},
    )


class RecallSchema(ma.Schema):
    recall_id = ma.fields.Integer(attribute="id")
    lot_id = ma.fields.Integer()
    reason = ma.fields.String()
    opened_at = ma.fields.Function(lambda r: _iso(r.opened_at))
    closed_at = ma.fields.Function(
        lambda r: _iso(r.closed_at), metadata={"type": "string", "nullable": True}
    )
    open = ma.fields.Boolean(attribute="is_open")
    holders = ma.fields.List(ma.fields.Nested(HolderSchema))
