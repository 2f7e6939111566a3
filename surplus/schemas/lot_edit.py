"""What a donor may change on a posted lot: its description, its pickup window, its
kilograms and units. The fields are the posting schema's own (same types, bounds and
messages), none required: what is absent stays as it is. Category, storage and dates
are not here: they decide who may receive the food and how; to change them the donor
withdraws the lot and posts it again."""

from __future__ import annotations

import copy
from typing import Any

import marshmallow as ma
from flask import url_for
from flask_smorest.fields import Upload

from .base import InputSchema
from .lot import LotInSchema, window_order

EDITABLE = ("description", "pickup_from", "pickup_until", "weight_kg", "units")


def _optional(name: str) -> ma.fields.Field:
    field = copy.copy(LotInSchema._declared_fields[name])
    field.required = False
    return field


class LotEditSchema(InputSchema):
    """A correction of a posted lot; send only what changes."""

    description = _optional("description")
    pickup_from = _optional("pickup_from")
    pickup_until = _optional("pickup_until")
    weight_kg = _optional("weight_kg")
    units = _optional("units")

    @ma.validates_schema(skip_on_field_errors=False)
    def _window(self, data: dict[str, Any], **kwargs: Any) -> None:
        # Both ends given: their order here; one end moved: the service checks it
        # against the other, which it reads from the lot.
        errors = window_order(data.get("pickup_from"), data.get("pickup_until"))
        if errors:
            raise ma.ValidationError(errors)


class PhotoInSchema(ma.Schema):
    """A photo sent as ``multipart/form-data``: JPEG, PNG or WebP, checked by its content."""

    photo = Upload(required=True, metadata={"description": "JPEG, PNG or WebP, at most 8 MB."})


def _photo_url(photo: Any, thumb: bool = False) -> str:
    from ..services.photos import file_name

    return url_for(
        "api_lots.lot_photo_file", lot_id=photo.lot_id, name=file_name(photo, thumb=thumb)
    )


class PhotoSchema(ma.Schema):
    """A lot's photo: WebP, at most 1600 px on its long side; its thumbnail at most 480."""

    id = ma.fields.Integer()
    url = ma.fields.Function(lambda p: _photo_url(p), metadata={"type": "string"})
    thumbnail_url = ma.fields.Function(
        lambda p: _photo_url(p, thumb=True), metadata={"type": "string"}
    )
    width = ma.fields.Integer()
    height = ma.fields.Integer()
