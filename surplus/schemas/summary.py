"""The report's answer (``GET /api/v1/reports/summary``): kilograms as numbers in kg,
three decimals. Definitions in services/reports/summary.py; each field says its own."""

from __future__ import annotations

import marshmallow as ma


def _kg(description: str, **kw) -> ma.fields.Float:
    return ma.fields.Float(metadata={"description": description}, **kw)


class ReportFiguresSchema(ma.Schema):
    """Kilograms of one group of lots."""

    kg_posted = _kg("Σ weight of the lots posted.")
    kg_claimed = _kg("Σ claims still live on them (active, collected or delivered).")
    kg_delivered = _kg("Σ claims delivered (drop-off at the beneficiary confirmed).")
    kg_expired = _kg(
        "Expired lots: weight minus every claim not cancelled (left unclaimed, plus claims "
        "the expiry cancelled)."
    )
    kg_withdrawn = _kg("Withdrawn lots: unclaimed kilograms plus claims withdrawn with them.")


class ReportMonthSchema(ReportFiguresSchema):
    month = ma.fields.String(
        attribute="key", metadata={"description": "YYYY-MM of posting (Brussels)."}
    )


class ReportDonorSchema(ReportFiguresSchema):
    organisation_id = ma.fields.Integer(attribute="key")
    name = ma.fields.String()


class ReportCategorySchema(ReportFiguresSchema):
    category = ma.fields.Function(lambda g: g.key.value)
    co2e_kg = _kg("kg CO2e avoided: kg delivered × the category's factor.")


class ReportStorageSchema(ReportFiguresSchema):
    storage = ma.fields.Function(lambda g: g.key.value)


class ReportBeneficiarySchema(ma.Schema):
    organisation_id = ma.fields.Integer()
    name = ma.fields.String()
    kg_claimed = _kg("Σ its live claims on the lots posted in the period.")
    kg_delivered = _kg("Σ its delivered claims on the lots posted in the period.")
    kg_received = _kg("Kilograms delivered to it within the period, whenever posted.")
    persons_per_week = ma.fields.Integer(
        metadata={"description": "Persons per week: the largest of its conventions in force."}
    )
    kg_per_person_week = _kg(
        "kg received / (persons per week × weeks of the period); null without persons.",
        allow_none=True,
    )
    need_met = _kg(
        "kg per person-week / the target kg per person per week (1 = target met); null "
        "without persons.",
        allow_none=True,
    )


class ReportWindowSchema(ma.Schema):
    start = ma.fields.Date()
    end = ma.fields.Date()
    jain = ma.fields.Float(metadata={"description": "Jain's index of need met in the window."})


class ReportSummarySchema(ReportFiguresSchema):
    """The report of a period: the lots posted in it (Brussels days) and the claims on them,
    scoped to the caller: a site admin everything, a coordinator its platform's lots and
    claims, a donor its lots, a beneficiary its claims and the lots they are on."""

    start = ma.fields.Function(lambda s: s.period.start.isoformat(), data_key="from")
    end = ma.fields.Function(lambda s: s.period.end.isoformat(), data_key="to")
    match_rate = ma.fields.Float(
        metadata={"description": "kg delivered / kg posted, 0..1 (0 when nothing posted)."}
    )
    median_minutes_to_first_claim = ma.fields.Float(
        allow_none=True,
        metadata={"description": "Median minutes from posting to a lot's first claim."},
    )
    median_minutes_to_booking = ma.fields.Float(
        allow_none=True,
        metadata={"description": "Median minutes from posting to a lot's first booking."},
    )
    co2e_kg = _kg("kg CO2e avoided: Σ kg delivered × the factor of the lot's category.")
    km_added_per_kg = _kg(
        "Σ km the bookings of delivered claims added to runs / kg delivered.", allow_none=True
    )
    organisations_served = ma.fields.Integer(
        metadata={"description": "Beneficiaries with a delivered claim on these lots."}
    )
    carried_for_others_kg = _kg(
        "Coordinators: kg the platform's runs carried for claims through other platforms.",
        allow_none=True,
    )
    carried_by_others_kg = _kg(
        "Coordinators: kg of claims through the platform carried by other platforms' runs.",
        allow_none=True,
    )
    jain_mean = ma.fields.Float(
        allow_none=True,
        metadata={"description": "Mean Jain's index of need met over the 4-week windows."},
    )
    jain_worst = ma.fields.Float(
        allow_none=True, metadata={"description": "The lowest window's Jain's index."}
    )
    windows = ma.fields.List(ma.fields.Nested(ReportWindowSchema))
    by_month = ma.fields.List(ma.fields.Nested(ReportMonthSchema))
    by_donor = ma.fields.List(ma.fields.Nested(ReportDonorSchema))
    by_beneficiary = ma.fields.List(ma.fields.Nested(ReportBeneficiarySchema))
    by_category = ma.fields.List(ma.fields.Nested(ReportCategorySchema))
    by_storage = ma.fields.List(ma.fields.Nested(ReportStorageSchema))
