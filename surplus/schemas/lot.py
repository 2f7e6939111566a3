"""The lot, claim and lot-list inputs: one schema each for the form, the CSV row and the
API. The service then applies the rules that need the world (the donor, today's date,
the gazetteer)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .. import geo
from ..models import MAX_LOT_GRAMS, Allergen, Category, DateKind, ProductKind, StorageClass
from .base import InputSchema
from .fields import (
    Choice,
    Choices,
    Count,
    Day,
    Flag,
    Id,
    Kilograms,
    Moment,
    Number,
    Temperature,
    Text,
)

MAX_LOT_KG = MAX_LOT_GRAMS / 1000
# The most lots one request may ask the transport of (a page is LOTS_PER_PAGE, 20).
MAX_PAGE_LOTS = 100
# Belgium's extent, for coordinates given instead of a postcode.
LAT_RANGE, LON_RANGE = (49.4, 51.6), (2.5, 6.5)


class ProductSchema(InputSchema):
    """A food product as it is handed over: the fields a lot and a depot receipt share."""

    title = Text(200, required=True, allow_blank=False)
    category = Choice(Category, required=True)
    lot_number = Text(60, metadata={"description": "Batch number (traceability)."})
    weight_kg = Kilograms(
        MAX_LOT_KG,
        required=True,
        error_messages={
            "too_small": _l("The weight must be more than 0 kg."),
            "too_large": _l("At most 40,000 kg per lot; split larger stock."),
        },
    )
    units = Count(10_000_000, allow_none=True)
    date_kind = Choice(DateKind, allow_none=True)
    date = Day(
        past=400,
        future=3660,
        allow_none=True,
        metadata={"description": "The use-by or best-before date."},
    )
    storage = Choice(StorageClass, required=True)
    product_kind = Choice(
        ProductKind,
        allow_none=True,
        metadata={"description": "Meat or fish: which kind (its temperature limit)."},
    )
    max_temperature_c = Temperature(
        allow_none=True,
        metadata={"description": "A stricter storage limit from the label, °C."},
    )
    allergens = Choices(Allergen)
    fse_plus = Flag(load_default=False)

    @ma.validates_schema(skip_on_field_errors=False)
    def _product(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, str] = {}
        if data.get("date_kind") and not data.get("date"):
            errors["date"] = str(_l("Enter the date that goes with the date kind."))
        if data.get("date") and not data.get("date_kind"):
            errors["date_kind"] = str(_l("This field is required."))
        if (
            data.get("storage") in (StorageClass.CHILLED, StorageClass.FROZEN)
            and not data.get("date")
            and "date" not in errors
        ):
            errors["date"] = str(_l("Chilled and frozen lots need a use-by or best-before date."))
        errors.update(_cold_chain(data))
        if errors:
            raise ma.ValidationError(errors)


class LotInSchema(ProductSchema):
    """A surplus lot as a donor posts it."""

    description = Text(2000)
    divisible = Flag(load_default=True)
    min_part_kg = Number(
        0,
        MAX_LOT_KG,
        places=3,
        allow_none=True,
        error_messages={"too_small": _l("The minimum part cannot be negative.")},
    )
    pickup_from = Moment(required=True)
    pickup_until = Moment(required=True)
    address = Text(300)
    postcode = Text(
        4, validate=lambda code: _known_postcode(code), metadata={"pattern": r"^(\d{4})?$"}
    )
    locality = Text(120)
    lat = Number(*LAT_RANGE, allow_none=True)
    lon = Number(*LON_RANGE, allow_none=True)

    @ma.validates_schema(skip_on_field_errors=False)
    def _shape(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors = window_order(data.get("pickup_from"), data.get("pickup_until"))
        weight, part = data.get("weight_kg"), data.get("min_part_kg")
        if data.get("divisible", True) and weight and part and part > weight:
            errors["min_part_kg"] = str(_l("The minimum part cannot exceed the lot's weight."))
        if (data.get("lat") is None) != (data.get("lon") is None):
            errors["lat"] = str(_l("Give both coordinates, or a postcode."))
        if errors:
            raise ma.ValidationError(errors)


def window_order(start: Any, end: Any) -> dict[str, str]:
    """A pickup window ends after it starts (a posted lot's, or a moved one's)."""
    if start and end and end <= start:
        return {"pickup_until": str(_l("The pickup window must end after it starts."))}
    return {}


def _cold_chain(data: dict[str, Any]) -> dict[str, str]:
    """Chilled or frozen meat and fish says which kind it is (its limit depends on it,
    services/food_safety.py); the kind belongs to meat and fish only, and a stated
    limit to chilled or frozen food only."""
    errors: dict[str, str] = {}
    cold = data.get("storage") in (StorageClass.CHILLED, StorageClass.FROZEN)
    meat_fish = data.get("category") == Category.MEAT_FISH
    if meat_fish and cold and not data.get("product_kind"):
        errors["product_kind"] = str(_l("Say which kind of meat or fish this is."))
    elif data.get("product_kind") and not meat_fish:
        errors["product_kind"] = str(_l("Only for meat and fish."))
    if data.get("max_temperature_c") is not None and not cold:
        errors["max_temperature_c"] = str(_l("Only for chilled or frozen food."))
    return errors


def _known_postcode(code: str) -> None:
    if code and not geo.is_known_postcode(code):
        raise ma.ValidationError(str(_l("Unknown Belgian postcode.")))


class ReasonSchema(InputSchema):
    """Why a lot is withdrawn or recalled, or a claim cancelled."""

    reason = Text(
        1000, load_default="", metadata={"description": "Shown to the organisations that claimed."}
    )


class ClaimInSchema(InputSchema):
    kg = Kilograms(
        MAX_LOT_KG, required=True, error_messages={"too_small": _l("Claim more than 0 kg.")}
    )
    depot_id = Id(
        allow_none=True,
        metadata={
            "description": "A logistics platform claiming for its own depot: which one "
            "(its nearest depot with a zone for the lot's storage if absent)."
        },
    )
    platform_id = Id(
        allow_none=True,
        metadata={
            "description": "The platform (convention) to claim through; the nearest if absent."
        },
    )
    idempotency_key = Text(
        100,
        allow_none=True,
        metadata={"description": "Repeat it to get the first claim back instead of a second one."},
    )
    remaining_g = Count(
        MAX_LOT_GRAMS,
        allow_none=True,
        metadata={
            "description": "The grams left when the claimant saw the lot: with it, a 409 says "
            "whether others claimed meanwhile (code claimed_meanwhile) or more was asked than "
            "was left (code too_much)."
        },
    )


class LotFilterSchema(InputSchema):
    """The lot list's filters and page (query string)."""

    category = Choice(Category, allow_none=True)
    storage = Choice(StorageClass, allow_none=True)
    max_km = Number(0, 1000, exclusive_minimum=True, allow_none=True)
    fse_only = Flag(load_default=False)
    expiring_days = Count(365, minimum=1, allow_none=True)
    q = Text(100, load_default="")
    page = Count(100_000, minimum=1, load_default=1)


class CarriageQuerySchema(InputSchema):
    """The cards of a list page whose transport the list asks for (query string)."""

    lot = ma.fields.List(
        Id(),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_PAGE_LOTS),
        metadata={"description": "The lots of the page, at most a page's worth."},
    )
