"""Depot inputs: a zone, a receipt at the door (a platform's claim, or a product from a
donor or from outside Maillon), a split, a merge, an adjustment, a count, an offer."""

from __future__ import annotations

import copy
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..models import AdjustmentReason, ReceiptSource, StorageClass
from .base import InputSchema, JsonBody
from .fields import Choice, Flag, Id, Kilograms, Moment, Number, Temperature, Text
from .lot import MAX_LOT_KG, ProductSchema

MAX_ZONE_KG = 1_000_000
MAX_PARTS = 200


class ZoneInSchema(InputSchema):
    name = Text(80, required=True, allow_blank=False)
    storage = Choice(StorageClass, required=True)
    capacity_kg = Number(0, MAX_ZONE_KG, places=3, required=True)


class _Check(InputSchema):
    """The quality check at the door: a reading for chilled and frozen food (the same
    limits as every hand-over), packaging and labels, a note; the zone it goes to."""

    temperature = Temperature(allow_none=True)
    packaging_ok = Flag(load_default=True)
    labels_ok = Flag(load_default=True)
    note = Text(1000, load_default="")
    zone_id = Id(allow_none=True, metadata={"description": "Left out: a zone of its storage."})


class ClaimReceiptSchema(_Check):
    """The platform's own claim, arriving at its depot."""

    claim_id = Id(required=True)


class GoodsReceiptSchema(_Check, ProductSchema):
    """Food arriving from a donor at the door or from outside Maillon."""

    source = Choice(ReceiptSource, load_default=ReceiptSource.OUTSIDE)
    donor_id = Id(allow_none=True, metadata={"description": "The donor, for a drop-off."})
    supplier = Text(200, load_default="", metadata={"description": "Outside Maillon: who."})

    @ma.pre_load
    def _product_alias(self, data: Any, **kwargs: Any) -> Any:
        # The stock lists a product under ``product``: accept it for ``title`` too.
        if isinstance(data, dict) and "title" not in data and "product" in data:
            data = type(data)(data)
            data["title"] = data["product"]
        return data

    @ma.validates_schema
    def _source(self, data: dict[str, Any], **kwargs: Any) -> None:
        source = data.get("source")
        if source == ReceiptSource.CLAIM:
            raise ma.ValidationError(str(_l("A claim arrives with its claim_id.")), "source")
        if source == ReceiptSource.DOOR and not data.get("donor_id"):
            raise ma.ValidationError(str(_l("Which donor brings it?")), "donor_id")
        if source == ReceiptSource.OUTSIDE and not data.get("supplier"):
            raise ma.ValidationError(str(_l("Say where it comes from.")), "supplier")


class _JsonItems(InputSchema):
    """In a JSON body, a list's items are JSON numbers too, as a single number must be
    (``InputSchema`` checks the fields, not the items of a list): ``["2"]`` is refused
    like ``"2"``."""

    @ma.pre_load
    def _json_items(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, JsonBody):
            return data
        for name, field in self.fields.items():
            values, types = data.get(name), getattr(field, "inner", None)
            types = getattr(types, "json_types", None)
            if not isinstance(values, list) or types is None:
                continue
            if any(
                v is not None
                and (not isinstance(v, types) or (isinstance(v, bool) and bool not in types))
                for v in values
            ):
                raise ma.ValidationError({name: str(field.inner.error_messages["invalid"])})
        return data


class SplitSchema(_JsonItems):
    parts = ma.fields.List(
        Kilograms(MAX_LOT_KG),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_PARTS),
        metadata={"description": "Kilograms of each new part, carved out of the item."},
    )


class MergeSchema(_JsonItems):
    item_ids = ma.fields.List(
        Id(),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_PARTS),
        metadata={"description": "Items of the same product and date, merged into this one."},
    )


class AdjustmentSchema(InputSchema):
    kg = Kilograms(MAX_LOT_KG, required=True, metadata={"description": "Kilograms taken off."})
    reason = Text(
        200,
        required=True,
        allow_blank=False,
        metadata={
            "description": "damaged, unfit, destroyed, expired or other; or why, in words "
            "(kept as the note, reason other)."
        },
    )
    note = Text(1000, load_default="")

    @ma.post_load
    def _reason(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        try:
            data["reason"] = AdjustmentReason(data["reason"].strip().lower())
        except ValueError:
            data["note"] = "; ".join(t for t in (data["reason"], data.get("note", "")) if t)
            data["reason"] = AdjustmentReason.OTHER
        return data


class CountSchema(InputSchema):
    kg = Number(0, MAX_LOT_KG, places=3, required=True, metadata={"description": "Counted."})
    note = Text(1000, load_default="")


class OfferSchema(InputSchema):
    """Offer stock to the platform's network as a lot (picked up at the depot)."""

    kg = Kilograms(MAX_LOT_KG, allow_none=True, metadata={"description": "Left out: all."})
    pickup_from = Moment(allow_none=True, metadata={"description": "Left out: now."})
    pickup_until = Moment(
        allow_none=True, metadata={"description": "Left out: its date, or in seven days."}
    )
    divisible = Flag(load_default=True)
    min_part_kg = Number(0, MAX_LOT_KG, places=3, allow_none=True)

    @ma.validates_schema
    def _window(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("pickup_from"), data.get("pickup_until")
        if start and end and end <= start:
            raise ma.ValidationError(
                str(_l("The pickup window must end after it starts.")), "pickup_until"
            )


class ReceiptInSchema(InputSchema):
    """Either the platform's claim arriving (``claim_id``, ``temperature`` for chilled and
    frozen food, the door check) or a product from a donor (``source`` "door",
    ``donor_id``) or from outside Maillon (``source`` "outside", ``supplier``) with the
    product's fields as for a lot (``title`` or ``product``, ``category``,
    ``weight_kg``, ``units``, ``lot_number``, ``date_kind``, ``date``, ``storage``,
    ``product_kind``, ``max_temperature_c``, ``allergens``, ``fse_plus``). Loaded by
    ``ClaimReceiptSchema`` when ``claim_id`` is given, else by ``GoodsReceiptSchema``;
    the fields below document both."""

    claim_id = Id(allow_none=True)

    def load(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        chosen = ClaimReceiptSchema if isinstance(data, dict) and "claim_id" in data else None
        return (chosen or GoodsReceiptSchema)().load(data, *args, **kwargs)


for _name, _field in {**GoodsReceiptSchema._declared_fields}.items():
    # Documentation only (the loaders above read them): every field, none required.
    if _name not in ReceiptInSchema._declared_fields:
        _copy = copy.copy(_field)
        _copy.required = False
        ReceiptInSchema._declared_fields[_name] = _copy


# -- answers ---------------------------------------------------------------------------


class ZoneSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    # A StrEnum, from a zone or from ``present.zones_of``'s dictionaries alike.
    storage = ma.fields.String(metadata={"enum": [s.value for s in StorageClass]})
    capacity_kg = ma.fields.Float()
    held_kg = ma.fields.Float(metadata={"description": "Kilograms in the zone now."})


class DepotSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    address = ma.fields.String()
    postcode = ma.fields.String()
    locality = ma.fields.String()
    zones = ma.fields.List(ma.fields.Nested(ZoneSchema))


class StockSourceSchema(ma.Schema):
    """One step back from a stock item: the receipt its food came in by."""

    receipt_id = ma.fields.Integer()
    source = ma.fields.String(metadata={"enum": [s.value for s in ReceiptSource]})
    claim_id = ma.fields.Integer(allow_none=True)
    lot_id = ma.fields.Integer(allow_none=True, metadata={"description": "The donor's lot."})
    donor_id = ma.fields.Integer(allow_none=True)
    donor = ma.fields.String(allow_none=True)
    supplier = ma.fields.String()
    lot_number = ma.fields.String()
    kg = ma.fields.Float()
    received_at = ma.fields.String()


class StockItemSchema(ma.Schema):
    id = ma.fields.Integer()
    product = ma.fields.String()
    category = ma.fields.String()
    lot_number = ma.fields.String()
    kg = ma.fields.Float()
    units = ma.fields.Integer(allow_none=True)
    storage = ma.fields.String()
    date_kind = ma.fields.String(allow_none=True)
    date = ma.fields.String(allow_none=True)
    days_left = ma.fields.Integer(allow_none=True)
    allergens = ma.fields.List(ma.fields.String())
    fse_plus = ma.fields.Boolean()
    zone = ma.fields.String()
    zone_id = ma.fields.Integer()
    sources = ma.fields.List(ma.fields.Nested(StockSourceSchema))


class ReceiptSchema(ma.Schema):
    id = ma.fields.Integer()
    accepted = ma.fields.Boolean()
    refusal_reason = ma.fields.String()
    source = ma.fields.String()
    claim_id = ma.fields.Integer(allow_none=True)
    kg = ma.fields.Float()
    temperature_c = ma.fields.Float(allow_none=True)
    limit_c = ma.fields.Float(allow_none=True)
    item = ma.fields.Nested(StockItemSchema, allow_none=True)


class ReceiptRefusalSchema(ma.Schema):
    """A receipt refused at the door: recorded, answered 409."""

    error = ma.fields.String(required=True)
    fields = ma.fields.Dict(keys=ma.fields.String())
    refused = ma.fields.Boolean()
    receipt_id = ma.fields.Integer()
    limit_c = ma.fields.Float(allow_none=True)
    reason = ma.fields.String(metadata={"enum": ["too_warm", "use_by_passed", "recalled", "door"]})


class StockConflictSchema(ma.Schema):
    error = ma.fields.String(required=True)
    fields = ma.fields.Dict(keys=ma.fields.String())
    available_kg = ma.fields.Float()


class CountAnswerSchema(ma.Schema):
    item = ma.fields.Nested(StockItemSchema)
    difference_kg = ma.fields.Float()


# -- the depot pages' filters ----------------------------------------------------------


class StockQuerySchema(InputSchema):
    """The stock page's filters: a zone of the depot, words of the product's name."""

    zone_id = Id(allow_none=True)
    q = Text(100, load_default="")
