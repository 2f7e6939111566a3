"""The FSE+ register: its query (a period, optionally one beneficiary) and the API's rows."""

from __future__ import annotations

import marshmallow as ma

from .fields import Id
from .report import PeriodQuerySchema


class FseRegisterQuerySchema(PeriodQuerySchema):
    """``from`` and ``to`` (YYYY-MM-DD, both included; the twelve months to today by
    default) and, for a coordinator or a site admin, one beneficiary ``organisation_id``."""

    organisation_id = Id(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Only this beneficiary organisation (a coordinator: one of its "
            "network; 404 otherwise)."
        },
    )


class FseRegisterRowSchema(ma.Schema):
    """One FSE+ product received by one organisation: one delivered claim."""

    organisation_id = ma.fields.Integer(
        metadata={"description": "The beneficiary organisation that received it."}
    )
    organisation_name = ma.fields.String()
    platform_id = ma.fields.Integer(
        metadata={"description": "The platform it was claimed through (its convention)."}
    )
    platform_name = ma.fields.String()
    product = ma.fields.String(metadata={"description": "The FSE+ product: the lot's title."})
    lot_number = ma.fields.String(metadata={"description": "The lot number ('' if none)."})
    kg = ma.fields.Float(metadata={"description": "Kilograms received (to the gram)."})
    units = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "The claim's share of the lot's units, rounded to a whole unit; "
            "null for a lot posted by weight only."
        },
    )
    received_on = ma.fields.Date(
        metadata={
            "description": "The day (Europe/Brussels) the organisation received it: the "
            "delivery hand-over confirmed by the driver."
        }
    )
    approval_number = ma.fields.String(
        metadata={"description": "The FSE+ approval number of the convention it came through."}
    )
    claim_id = ma.fields.Integer()
    lot_id = ma.fields.Integer()


class FseStockInSchema(ma.Schema):
    """FSE+ food accepted at a depot's door."""

    receipt_id = ma.fields.Integer()
    depot_id = ma.fields.Integer()
    depot_name = ma.fields.String()
    supplier = ma.fields.String(
        metadata={"description": "The supplier outside Maillon, or the donor at the door."}
    )
    product = ma.fields.String()
    lot_number = ma.fields.String()
    kg = ma.fields.Float()
    units = ma.fields.Integer(allow_none=True)
    date = ma.fields.Date(attribute="best_date", allow_none=True)
    received_on = ma.fields.Date(metadata={"description": "Day of the check (Europe/Brussels)."})


class FseOnHandSchema(ma.Schema):
    """FSE+ food in a depot now."""

    item_id = ma.fields.Integer()
    depot_id = ma.fields.Integer()
    depot_name = ma.fields.String()
    zone = ma.fields.String()
    product = ma.fields.String()
    lot_number = ma.fields.String()
    kg = ma.fields.Float()
    units = ma.fields.Integer(allow_none=True)
    date = ma.fields.Date(attribute="best_date", allow_none=True)


class FseStockSchema(ma.Schema):
    """FSE+ stock at the caller's depots: received in the period, and on hand now."""

    received = ma.fields.List(ma.fields.Nested(FseStockInSchema))
    on_hand = ma.fields.List(ma.fields.Nested(FseOnHandSchema))
