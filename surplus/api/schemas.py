"""Marshmallow schemas of the API's requests and responses (the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma


class ErrorSchema(ma.Schema):
    error = ma.fields.String(required=True)
    fields = ma.fields.Dict(keys=ma.fields.String())


class TokenRequestSchema(ma.Schema):
    email = ma.fields.String(required=True)
    password = ma.fields.String(required=True, load_only=True)


class TokenSchema(ma.Schema):
    token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer()


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


class LotInSchema(ma.Schema):
    """Documentation of POST /lots; the rules are checked by the lot service."""

    title = ma.fields.String(required=True)
    category = ma.fields.String(required=True, metadata={"enum": [
        "fruit_veg", "bakery", "dairy", "meat_fish", "ready_meals", "dry_goods", "drinks",
        "frozen", "baby", "non_food"]})
    description = ma.fields.String()
    weight_kg = ma.fields.Float(required=True)
    units = ma.fields.Integer()
    date_kind = ma.fields.String(metadata={"enum": ["use_by", "best_before"]})
    date = ma.fields.Date()
    storage = ma.fields.String(required=True, metadata={"enum": ["ambient", "chilled", "frozen"]})
    allergens = ma.fields.List(ma.fields.String())
    fse_plus = ma.fields.Boolean()
    divisible = ma.fields.Boolean()
    min_part_kg = ma.fields.Float()
    pickup_from = ma.fields.DateTime(required=True)
    pickup_until = ma.fields.DateTime(required=True)
    postcode = ma.fields.String()
    locality = ma.fields.String()
    lat = ma.fields.Float()
    lon = ma.fields.Float()
    lot_number = ma.fields.String()


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
    distance_km = ma.fields.Float(dump_default=None)
    wave = ma.fields.Integer(metadata={"description": "Offer wave: 1 platforms serving the "
                                       "donor, 2 platforms within the radius, 3 all."})
    next_wave_at = ma.fields.Function(lambda lot: _iso(lot.next_wave_at))


class ClaimInSchema(ma.Schema):
    kg = ma.fields.Float(required=True)
    platform_id = ma.fields.Integer()
    idempotency_key = ma.fields.String()


class ClaimSchema(ma.Schema):
    id = ma.fields.Integer()
    lot_id = ma.fields.Integer()
    kg = ma.fields.Float()
    status = ma.fields.Function(lambda c: c.status.value)
    platform_id = ma.fields.Integer()
    status_reason = ma.fields.String()
    created_at = ma.fields.Function(lambda c: _iso(c.created_at))


class LotPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(LotSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    pages = ma.fields.Integer()


class ConventionInSchema(ma.Schema):
    """Documentation of POST/PATCH /conventions; the rules are checked by the service."""

    platform_id = ma.fields.Integer()
    persons_per_week = ma.fields.Integer(required=True)
    chilled_capacity_kg = ma.fields.Float()
    frozen_capacity_kg = ma.fields.Float()
    accepted_categories = ma.fields.List(ma.fields.String())
    opening_hours = ma.fields.Dict(keys=ma.fields.String(),
                                   values=ma.fields.List(ma.fields.List(ma.fields.String())))
    afsca_number = ma.fields.String()
    fse_plus_approval_number = ma.fields.String()
    fse_plus_approval_expires = ma.fields.Date()
    contact_name = ma.fields.String()
    contact_phone = ma.fields.String()


class ConventionSchema(ma.Schema):
    id = ma.fields.Integer()
    platform_id = ma.fields.Integer()
    beneficiary_id = ma.fields.Integer()
    status = ma.fields.Function(lambda c: c.status.value)
    valid_from = ma.fields.Function(lambda c: _iso(c.valid_from))
    valid_until = ma.fields.Function(lambda c: _iso(c.valid_until))
    fse_plus_allowed = ma.fields.Boolean()
    fse_plus_approval_number = ma.fields.String(allow_none=True)
    fse_plus_approval_expires = ma.fields.Function(lambda c: _iso(c.fse_plus_approval_expires))
    persons_per_week = ma.fields.Integer()
    chilled_capacity_kg = ma.fields.Float()
    frozen_capacity_kg = ma.fields.Float()
    accepted_categories = ma.fields.List(ma.fields.String())
    opening_hours = ma.fields.Dict()
    decision_reason = ma.fields.String()
    pending_changes = ma.fields.Dict(allow_none=True)


class DecisionSchema(ma.Schema):
    action = ma.fields.String(required=True, metadata={"enum": [
        "approve", "decline", "suspend", "reinstate", "end"]})
    reason = ma.fields.String()
    valid_from = ma.fields.Date()
    valid_until = ma.fields.Date()
    fse_plus = ma.fields.Boolean()


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
    load_after_kg = ma.fields.Float(dump_default=None)
    temperature_c = ma.fields.Float(allow_none=True)
    receiver_name = ma.fields.String()
    leg = ma.fields.Integer()
    for_platform_id = ma.fields.Function(lambda s: s.claim.platform_id if s.claim else None)


class RunSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    start_at = ma.fields.Function(lambda r: _iso(r.start_at))
    status = ma.fields.Function(lambda r: r.status.value)
    vehicle = ma.fields.Function(lambda r: {
        "id": r.vehicle.id, "name": r.vehicle.name, "capacity_kg": r.vehicle.capacity_kg,
        "refrigerated": r.vehicle.refrigerated, "freezer": r.vehicle.freezer})
    depot = ma.fields.Function(lambda r: {"id": r.depot.id, "name": r.depot.name,
                                          "lat": r.depot.lat, "lon": r.depot.lon})


class RunDetailSchema(RunSchema):
    km = ma.fields.Float()
    stops = ma.fields.List(ma.fields.Nested(StopSchema))


class BookingInSchema(ma.Schema):
    run_id = ma.fields.Integer()
    self_collect = ma.fields.Boolean()


class BookingSchema(ma.Schema):
    claim_id = ma.fields.Integer()
    self_collect = ma.fields.Boolean()
    run_id = ma.fields.Integer(allow_none=True)
    pickup_eta = ma.fields.String(allow_none=True)
    drop_eta = ma.fields.String(allow_none=True)
    added_km = ma.fields.Float(allow_none=True)
    relay = ma.fields.Dict(allow_none=True)


class StopConfirmInSchema(ma.Schema):
    temperature = ma.fields.Float()
    receiver = ma.fields.String()
    note = ma.fields.String()
