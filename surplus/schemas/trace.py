"""A lot's traceability: the API's answer, and the inspection search's input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..services.lot_dates import local_today
from .base import InputSchema
from .fields import Day, Id

MAX_SEARCH_DAYS = 366


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _code(value: Any) -> str | None:
    return value.value if value is not None else None


# -- answers ------------------------------------------------------------------------------


class TraceOrganisationSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.Function(lambda o: o.kind.value)
    enterprise_number = ma.fields.String(allow_none=True)
    afsca_number = ma.fields.String(allow_none=True)
    address = ma.fields.String()
    postcode = ma.fields.String()
    locality = ma.fields.String()


class TraceLotSchema(ma.Schema):
    """One step back: the product as the donor posted it."""

    id = ma.fields.Integer()
    title = ma.fields.String()
    category = ma.fields.Function(lambda lot: lot.category.value)
    lot_number = ma.fields.String()
    weight_kg = ma.fields.Float()
    units = ma.fields.Integer(allow_none=True)
    date_kind = ma.fields.Function(lambda lot: _code(lot.date_kind))
    date = ma.fields.Function(lambda lot: _iso(lot.best_date))
    expires_at = ma.fields.Function(lambda lot: _iso(lot.expires_at))
    storage = ma.fields.Function(lambda lot: lot.storage.value)
    product_kind = ma.fields.Function(lambda lot: _code(getattr(lot, "product_kind", None)))
    max_temperature_c = ma.fields.Function(lambda lot: getattr(lot, "max_temperature_c", None))
    allergens = ma.fields.List(ma.fields.String())
    fse_plus = ma.fields.Boolean()
    status = ma.fields.Function(lambda lot: lot.status.value)
    posted_at = ma.fields.Function(lambda lot: _iso(lot.created_at))
    pickup_address = ma.fields.String()
    pickup_postcode = ma.fields.String()
    pickup_locality = ma.fields.String()


class CarrierSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class HandoverSchema(ma.Schema):
    """A hand-over a driver confirmed, or the beneficiary's own people at the donor's
    (``collection``): accepted, or refused (``accepted`` false). A collection has no run,
    leg nor vehicle; its carrier is the beneficiary."""

    kind = ma.fields.String(
        metadata={
            "description": "pickup or dropoff (a run's stop), collection (self-collection)",
            "enum": ["pickup", "dropoff", "collection"],
        }
    )
    at = ma.fields.Function(lambda h: _iso(h.at))
    temperature_c = ma.fields.Float(allow_none=True)
    receiver = ma.fields.String()
    accepted = ma.fields.Boolean()
    at_hub = ma.fields.Boolean(metadata={"description": "A relay's hand-over at a hub depot."})
    leg = ma.fields.Integer(allow_none=True)
    place = ma.fields.String()
    carrier = ma.fields.Nested(CarrierSchema)
    vehicle = ma.fields.String()
    run_id = ma.fields.Integer(allow_none=True)


class DepotReceiptSchema(ma.Schema):
    """A platform's claim at its depot's door: the check, accepted or refused."""

    id = ma.fields.Integer()
    depot = ma.fields.Function(lambda r: {"id": r.depot_id, "name": r.depot.name})
    platform = ma.fields.Function(
        lambda r: {"id": r.depot.platform_id, "name": r.depot.platform.name}
    )
    at = ma.fields.Function(lambda r: _iso(r.checked_at))
    temperature_c = ma.fields.Float(allow_none=True)
    accepted = ma.fields.Boolean()
    refusal_reason = ma.fields.String()
    kg = ma.fields.Function(lambda r: r.grams / 1000)


class OnwardClaimSchema(ma.Schema):
    claim_id = ma.fields.Function(lambda c: c.id)
    organisation = ma.fields.Function(
        lambda c: {"id": c.beneficiary_id, "name": c.beneficiary.name}
    )
    kg = ma.fields.Float()
    status = ma.fields.Function(lambda c: c.status.value)


class OnwardSchema(ma.Schema):
    """A lot the platform offered from that stock, and who claimed it."""

    lot_id = ma.fields.Function(lambda o: o.lot.id)
    title = ma.fields.Function(lambda o: o.lot.title)
    kg = ma.fields.Function(lambda o: o.lot.weight_kg)
    offered_at = ma.fields.Function(lambda o: _iso(o.lot.created_at))
    status = ma.fields.Function(lambda o: o.lot.status.value)
    claims = ma.fields.List(ma.fields.Nested(OnwardClaimSchema))


class RecipientSchema(ma.Schema):
    """One step forward: one claim of a receiving organisation."""

    organisation_id = ma.fields.Function(lambda r: r.claim.beneficiary_id)
    name = ma.fields.Function(lambda r: r.organisation.name)
    kind = ma.fields.Function(lambda r: r.organisation.kind.value)
    enterprise_number = ma.fields.Function(lambda r: r.organisation.enterprise_number)
    afsca_number = ma.fields.Function(lambda r: r.organisation.afsca_number)
    claim_id = ma.fields.Function(lambda r: r.claim.id)
    platform = ma.fields.Function(
        lambda r: {"id": r.claim.platform_id, "name": r.claim.platform.name}
    )
    self_collect = ma.fields.Function(lambda r: r.claim.self_collect)
    kg_claimed = ma.fields.Float()
    kg_picked_up = ma.fields.Float()
    kg_delivered = ma.fields.Float()
    status = ma.fields.String()
    claimed_at = ma.fields.Function(lambda r: _iso(r.claim.created_at))
    handovers = ma.fields.List(ma.fields.Nested(HandoverSchema))
    depot_receipt = ma.fields.Nested(
        DepotReceiptSchema,
        attribute="receipt",
        allow_none=True,
        metadata={"description": "A platform's claim for its depot: its receipt there."},
    )
    onward = ma.fields.List(
        ma.fields.Nested(OnwardSchema),
        metadata={
            "description": "Lots offered from the stock this receipt brought in, and their "
            "claims (whole trace only; at most 50 lots)."
        },
    )


class TraceSourceSchema(ma.Schema):
    """One step back through a depot, for a lot offered from stock: a receipt its food
    came in by. ``lot_id``/``claim_id``: the donor's lot and the platform's claim on it
    (``claim_id`` is null for a receiving organisation); ``donor``: a donor's lot or a
    donor at the door (null for a supplier outside Maillon, named in ``supplier``)."""

    lot_id = ma.fields.Integer(allow_none=True)
    claim_id = ma.fields.Integer(allow_none=True)
    source = ma.fields.String(
        metadata={"description": "claim, door or outside", "enum": ["claim", "door", "outside"]}
    )
    donor = ma.fields.Function(
        lambda s: {"id": s.donor.id, "name": s.donor.name} if s.donor is not None else None,
        metadata={"type": "object", "nullable": True},
    )
    supplier = ma.fields.String()
    lot_number = ma.fields.String()
    kg = ma.fields.Float()
    received_at = ma.fields.Function(lambda s: _iso(s.received_at))
    temperature_c = ma.fields.Float(allow_none=True)
    depot = ma.fields.Function(lambda s: {"id": s.depot.id, "name": s.depot.name})


class TraceEventSchema(ma.Schema):
    id = ma.fields.Function(lambda e: e.event.id)
    at = ma.fields.Function(lambda e: _iso(e.event.at))
    subject_type = ma.fields.Function(lambda e: e.event.subject_type)
    subject_id = ma.fields.Function(lambda e: e.event.subject_id)
    action = ma.fields.Function(lambda e: e.event.action)
    actor = ma.fields.String()
    organisation_id = ma.fields.Function(lambda e: e.event.organisation_id)
    before = ma.fields.Function(lambda e: e.event.before)
    after = ma.fields.Dict()
    reason = ma.fields.Function(lambda e: e.event.reason)


class TraceSchema(ma.Schema):
    """``whole`` is false when the caller is a receiving organisation: its part only."""

    lot = ma.fields.Nested(TraceLotSchema)
    donor = ma.fields.Nested(TraceOrganisationSchema)
    sources = ma.fields.List(
        ma.fields.Nested(TraceSourceSchema),
        metadata={"description": "A lot offered from a depot's stock: where its food came from."},
    )
    recipients = ma.fields.List(ma.fields.Nested(RecipientSchema))
    events = ma.fields.List(ma.fields.Nested(TraceEventSchema))
    whole = ma.fields.Boolean()


# -- input --------------------------------------------------------------------------------


class TraceSearchSchema(InputSchema):
    """An inspection: everything received from a donor, or delivered to an organisation
    (any, when empty), between two days (the last 30 days by default)."""

    organisation_id = Id(load_default=None)
    start = Day(load_default=None)
    end = Day(load_default=None)

    @ma.post_load
    def _window(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        today = local_today()
        data["end"] = data["end"] or today
        data["start"] = data["start"] or data["end"] - timedelta(days=30)
        if data["end"] < data["start"]:
            raise ma.ValidationError(str(_l("The end comes before the start.")), "end")
        if (data["end"] - data["start"]).days > MAX_SEARCH_DAYS:
            raise ma.ValidationError(
                str(_l("At most %(days)s days at once.", days=MAX_SEARCH_DAYS)), "end"
            )
        return data
