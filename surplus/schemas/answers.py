"""The API's answers (the response half of the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma

from ..models import ConventionStatus, DistributionMode, ProductKind
from ..services.food_safety import limit_for
from .lot_edit import PhotoSchema


class ErrorSchema(ma.Schema):
    error = ma.fields.String(required=True)
    fields = ma.fields.Dict(keys=ma.fields.String())


class ThrottledSchema(ErrorSchema):
    """429: too many attempts; try again after ``retry_after`` seconds (also in the
    ``Retry-After`` header)."""

    message = ma.fields.String()
    code = ma.fields.String(metadata={"example": "too_many_requests"})
    retry_after = ma.fields.Integer()


class TokenSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer()


class ApiTokenSchema(ma.Schema):
    """One of the caller's live tokens (its secret is never shown again)."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    created_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "To the minute; null: never used."}
    )
    expires_at = ma.fields.DateTime()


class MessageSchema(ma.Schema):
    message = ma.fields.String()


class OrganisationSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.Function(lambda o: o.kind.value)
    verification = ma.fields.Function(lambda o: o.verification.value)
    postcode = ma.fields.String()
    locality = ma.fields.String()
    lat = ma.fields.Float()
    lon = ma.fields.Float()


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.Function(lambda u: u.role.value)
    language = ma.fields.String(allow_none=True)


class MeSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema)
    organisation = ma.fields.Nested(OrganisationSchema)


def _iso(value):
    return value.isoformat() if value is not None else None


class LotSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    category = ma.fields.Function(lambda lot: lot.category.value)
    description = ma.fields.String()
    weight_kg = ma.fields.Float()
    remaining_kg = ma.fields.Float()
    units = ma.fields.Integer(allow_none=True)
    date_kind = ma.fields.Function(lambda lot: lot.date_kind.value if lot.date_kind else None)
    date = ma.fields.Function(lambda lot: _iso(lot.best_date))
    storage = ma.fields.Function(lambda lot: lot.storage.value)
    product_kind = ma.fields.Function(
        lambda lot: lot.product_kind.value if lot.product_kind else None,
        metadata={"type": "string", "nullable": True, "enum": [k.value for k in ProductKind]},
    )
    max_temperature_c = ma.fields.Float(
        allow_none=True, metadata={"description": "A stricter limit stated by the donor, °C."}
    )
    handover_limit_c = ma.fields.Function(
        lambda lot: limit_for(lot),
        metadata={
            "type": "number",
            "nullable": True,
            "description": "The highest temperature at a hand-over, °C (null: ambient).",
        },
    )
    allergens = ma.fields.List(ma.fields.String())
    fse_plus = ma.fields.Boolean()
    divisible = ma.fields.Boolean()
    min_part_kg = ma.fields.Float()
    pickup_from = ma.fields.Function(lambda lot: _iso(lot.pickup_from))
    pickup_until = ma.fields.Function(lambda lot: _iso(lot.pickup_until))
    postcode = ma.fields.String(attribute="pickup_postcode")
    locality = ma.fields.String(attribute="pickup_locality")
    lat = ma.fields.Float(attribute="pickup_lat")
    lon = ma.fields.Float(attribute="pickup_lon")
    status = ma.fields.Function(lambda lot: lot.status.value)
    donor = ma.fields.Function(lambda lot: {"id": lot.donor.id, "name": lot.donor.name})
    distance_km = ma.fields.Float(
        allow_none=True,
        dump_default=None,
        metadata={"description": "Road km from your organisation (in the lot list only)."},
    )
    wave = ma.fields.Integer(
        metadata={
            "description": "Offer wave: 1 platforms serving the "
            "donor, 2 platforms within the radius, 3 all."
        }
    )
    next_wave_at = ma.fields.Function(lambda lot: _iso(lot.next_wave_at))
    photos = ma.fields.List(
        ma.fields.Nested(PhotoSchema), metadata={"description": "Up to 4, oldest first."}
    )


class ClaimSchema(ma.Schema):
    id = ma.fields.Integer()
    lot_id = ma.fields.Integer()
    kg = ma.fields.Float()
    status = ma.fields.Function(lambda c: c.status.value)
    platform_id = ma.fields.Integer()
    depot_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "A platform's claim for this depot of its own."}
    )
    status_reason = ma.fields.String()
    created_at = ma.fields.Function(lambda c: _iso(c.created_at))


class CarriageSchema(ma.Schema):
    by_run = ma.fields.Boolean(
        metadata={"description": "A planned run (or hub relay) can bring it before its date."}
    )
    collect_from = ma.fields.Function(
        lambda c: _iso(c.collect_from),
        allow_none=True,
        metadata={
            "type": "string",
            "format": "date-time",
            "description": "From when your own people can collect it in time (null: they cannot).",
        },
    )
    why = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "When no planned run can bring it, what no run had: no_run_in_time "
            "(none leaves while it can be picked up and before its date), no_cold_run (none "
            "with the refrigerated van or freezer it needs), no_run_nearby (none passes near "
            "enough the donor and you), no_run_reaches (no room or time on those that do); "
            "null when a run can."
        },
    )


class ClaimCreatedSchema(ClaimSchema):
    carriage = ma.fields.Nested(
        CarriageSchema,
        allow_none=True,
        metadata={
            "description": "How the food can reach you, as things stand (null: not asked, as "
            "for a depot's claim). Neither way: cancel unless you can fetch it."
        },
    )


class LotPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(LotSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    pages = ma.fields.Integer()


class ConventionSchema(ma.Schema):
    id = ma.fields.Integer()
    platform_id = ma.fields.Integer()
    beneficiary_id = ma.fields.Integer()
    status = ma.fields.Function(
        lambda c: c.status.value,
        metadata={"type": "string", "enum": [s.value for s in ConventionStatus]},
    )
    valid_from = ma.fields.Date(allow_none=True)
    valid_until = ma.fields.Date(allow_none=True)
    fse_plus_allowed = ma.fields.Boolean()
    fse_plus_approval_number = ma.fields.String(allow_none=True)
    fse_plus_approval_expires = ma.fields.Date(allow_none=True)
    distribution_mode = ma.fields.Function(
        lambda c: c.distribution_mode.value,
        metadata={"type": "string", "enum": [m.value for m in DistributionMode]},
    )
    persons_per_week = ma.fields.Integer()
    chilled_capacity_kg = ma.fields.Float()
    self_collect_km = ma.fields.Float()
    frozen_capacity_kg = ma.fields.Float()
    accepted_categories = ma.fields.List(ma.fields.String())
    opening_hours = ma.fields.Dict()
    decision_reason = ma.fields.String()
    pending_changes = ma.fields.Dict(allow_none=True)


class StopSchema(ma.Schema):
    id = ma.fields.Integer()
    position = ma.fields.Integer()
    kind = ma.fields.Function(lambda s: s.kind.value)
    status = ma.fields.Function(lambda s: s.status.value)
    organisation_id = ma.fields.Integer(allow_none=True)
    claim_id = ma.fields.Integer(allow_none=True)
    address = ma.fields.String()
    lat = ma.fields.Float()
    lon = ma.fields.Float()
    load_delta_kg = ma.fields.Float()
    window_start = ma.fields.Function(lambda s: _iso(s.window_start))
    window_end = ma.fields.Function(lambda s: _iso(s.window_end))
    planned_at = ma.fields.Function(lambda s: _iso(getattr(s, "planned_at", None)))
    load_after_kg = ma.fields.Float(allow_none=True, dump_default=None)  # on a run's page
    temperature_c = ma.fields.Float(allow_none=True)
    receiver_name = ma.fields.String()
    confirmed_at = ma.fields.Function(
        lambda s: _iso(s.confirmed_at),
        metadata={"type": "string", "nullable": True, "description": "Actual hand-over time."},
    )
    leg = ma.fields.Integer()
    for_platform_id = ma.fields.Function(lambda s: s.claim.platform_id if s.claim else None)


class RunSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    start_at = ma.fields.Function(lambda r: _iso(r.start_at))
    status = ma.fields.Function(lambda r: r.status.value)
    vehicle = ma.fields.Function(
        lambda r: {
            "id": r.vehicle.id,
            "name": r.vehicle.name,
            "capacity_kg": r.vehicle.capacity_kg,
            "refrigerated": r.vehicle.refrigerated,
            "freezer": r.vehicle.freezer,
        }
    )
    depot = ma.fields.Function(
        lambda r: {"id": r.depot.id, "name": r.depot.name, "lat": r.depot.lat, "lon": r.depot.lon}
    )
    driver_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "The platform member who drives it."}
    )
    driver_name = ma.fields.Function(
        lambda r: r.driver.name if r.driver is not None else None,
        metadata={"type": "string", "nullable": True, "description": "The driver's name."},
    )


class RunDetailSchema(RunSchema):
    km = ma.fields.Float()
    stops = ma.fields.List(ma.fields.Nested(StopSchema))


class ClaimConflictSchema(ErrorSchema):
    """The kilograms asked are not there: how many remain, and why (``too_much``: more
    was asked than was left; ``claimed_meanwhile``: others claimed since)."""

    available_kg = ma.fields.Float()
    code = ma.fields.String()


class RefusalSchema(ErrorSchema):
    """A hand-over refused by the check (services.food_safety): too warm for the
    product, or past its use-by. At a stop it is recorded (the claim ends refused) and
    answered 409; a self-collection past the use-by is answered 409 and not booked.
    Other conflicts of these endpoints carry only ``error`` and ``fields``."""

    refused = ma.fields.Boolean(metadata={"description": "True: the hand-over was refused."})
    limit_c = ma.fields.Float(
        allow_none=True,
        metadata={
            "description": "The highest temperature allowed for this lot, °C (null: ambient)."
        },
    )
    reason = ma.fields.String(
        metadata={"type": "string", "enum": ["too_warm", "use_by_passed", "recalled"]},
    )


class BookingSchema(ma.Schema):
    claim_id = ma.fields.Integer()
    self_collect = ma.fields.Boolean()
    run_id = ma.fields.Integer(allow_none=True)
    pickup_eta = ma.fields.String(allow_none=True)
    drop_eta = ma.fields.String(allow_none=True)
    added_km = ma.fields.Float(allow_none=True)
    relay = ma.fields.Dict(allow_none=True)


class AgreementSchema(ma.Schema):
    id = ma.fields.Integer()
    carrier_id = ma.fields.Integer()
    carrier = ma.fields.Function(lambda a: a.carrier.name, metadata={"type": "string"})
    client_id = ma.fields.Integer()
    client = ma.fields.Function(lambda a: a.client.name, metadata={"type": "string"})
    status = ma.fields.Function(
        lambda a: a.status.value,
        metadata={"type": "string", "enum": ["requested", "active", "refused", "ended"]},
    )
    valid_from = ma.fields.Date()
    valid_until = ma.fields.Date(allow_none=True)
    note = ma.fields.String()
    decision_reason = ma.fields.String()
    requested_by_org_id = ma.fields.Integer()
    deciding_org_id = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)


class ConventionConflictSchema(ErrorSchema):
    """A second request to the same platform: the open convention's id."""

    convention_id = ma.fields.Integer()
