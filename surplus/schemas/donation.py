"""Donation documents through the API: the answer (the input is ``MonthQuerySchema``)."""

from __future__ import annotations

import marshmallow as ma

from ..services.reports.donations import STANDINGS, standing, vat_number


class DonationDonorSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    vat_number = ma.fields.Function(
        lambda org: vat_number(org.enterprise_number),
        allow_none=True,
        metadata={"description": "BE and the ten digits of the enterprise number; null if none"},
    )


class DonationRecipientSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    standing = ma.fields.Function(
        lambda org: standing(org),
        metadata={"description": "The recipient's standing.", "enum": list(STANDINGS)},
    )


class DonationLineSchema(ma.Schema):
    lot_id = ma.fields.Function(lambda line: line.lot.id)
    product = ma.fields.Function(lambda line: line.lot.title)
    lot_number = ma.fields.Function(lambda line: line.lot.lot_number)
    kg = ma.fields.Float()
    units = ma.fields.Integer(
        allow_none=True, metadata={"description": "Its share of the lot's units, if counted."}
    )


class DonationSchema(ma.Schema):
    """A *document de don*: one donation (a claim whose food left the donor) given for
    free distribution, numbered per donor and year (``D-<year>-<seq>``)."""

    number = ma.fields.String(metadata={"example": "D-2026-00001"})
    date = ma.fields.Function(
        lambda d: d.day.isoformat(), metadata={"description": "The hand-over's day, YYYY-MM-DD"}
    )
    claim_id = ma.fields.Integer()
    donor = ma.fields.Nested(DonationDonorSchema)
    recipient = ma.fields.Nested(DonationRecipientSchema)
    kg = ma.fields.Float()
    lines = ma.fields.List(ma.fields.Nested(DonationLineSchema))
