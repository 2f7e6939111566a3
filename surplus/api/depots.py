"""A platform's depots through the API: their stock, receipts at the door, and work on
stock items (split, merge, adjustments, counts, offers to the network)."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from .. import access, clock
from ..errors import Conflict
from ..extensions import db
from ..models import Depot, StockItem
from ..schemas.answers import ErrorSchema, LotSchema
from ..schemas.depot import (
    AdjustmentSchema,
    CountAnswerSchema,
    CountSchema,
    DepotSchema,
    MergeSchema,
    OfferSchema,
    ReceiptInSchema,
    ReceiptRefusalSchema,
    ReceiptSchema,
    SplitSchema,
    StockConflictSchema,
    StockItemSchema,
)
from ..services.depots import receipts, stock
from ..services.depots.present import depot_view, item_view
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_depots", __name__, url_prefix="/api/v1", description="Depots and stock")


@blp.get("/depots")
@blp.response(200, DepotSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def depot_list():
    """The depots of the caller's platform, with their zones and what each holds."""
    depots = db.session.scalars(
        select(Depot).where(Depot.platform_id == g.api_user.organisation_id).order_by(Depot.id)
    ).all()
    return [depot_view(db.session, d) for d in depots]


@blp.get("/depots/<int:depot_id>/stock")
@blp.response(200, StockItemSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def depot_stock(depot_id: int):
    """What is in the depot, first expired first out: each item with its product, lot
    number, kilograms, storage, date, zone and ``sources`` (one step back: the receipt it
    came in by, with the donor's lot for a claim). 404 outside the depot's platform."""
    depot = access.get_for(g.api_user, Depot, depot_id)
    items = db.session.scalars(access.depot_stock(g.api_user, depot)).all()
    return [item_view(db.session, i) for i in items]


@blp.post("/depots/<int:depot_id>/receipts")
@blp.arguments(ReceiptInSchema)
@blp.response(201, ReceiptSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ReceiptRefusalSchema)
@token_required
def receipt_create(values: dict, depot_id: int):
    """Food at the depot's door: the platform's claim (``claim_id``) or a product's
    fields. The check of every hand-over applies (a reading for chilled and frozen food
    within the product's limit, the use-by, a recall) and the packaging and labels; a
    refusal is recorded and answered 409 with ``refused``, ``limit_c`` and ``reason``;
    the claim ends refused and its donor is told. Accepted, the food is stock (201)."""
    depot = access.get_for(g.api_user, Depot, depot_id, access.HANDLE)
    if values.get("claim_id") is not None:
        got = receipts.receive_claim(db.session, g.api_user, depot, values["claim_id"], values)
    else:
        got = receipts.receive_goods(db.session, g.api_user, depot, values)
    db.session.commit()
    receipt = got.receipt
    if not receipt.accepted:
        raise Conflict(
            receipt.refusal_reason,
            {"temperature": receipt.refusal_reason} if got.reason == "too_warm" else {},
            refused=True,
            receipt_id=receipt.id,
            limit_c=got.limit_c,
            reason=got.reason,
        )
    return {
        "id": receipt.id,
        "accepted": True,
        "refusal_reason": "",
        "source": receipt.source.value,
        "claim_id": receipt.claim_id,
        "kg": receipt.grams / 1000,
        "temperature_c": receipt.temperature_c,
        "limit_c": got.limit_c,
        "item": item_view(db.session, got.item) if got.item else None,
    }, 201


def _item(item_id: int, action: str = access.HANDLE) -> StockItem:
    return access.get_for(g.api_user, StockItem, item_id, action)


@blp.get("/stock/<int:item_id>")
@blp.response(200, StockItemSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def item_show(item_id: int):
    """One stock item with its sources (also when nothing is left of it)."""
    return item_view(db.session, _item(item_id, access.VIEW))


@blp.post("/stock/<int:item_id>/split")
@blp.arguments(SplitSchema)
@blp.response(201, StockItemSchema(many=True))
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=StockConflictSchema)
@token_required
def item_split(values: dict, item_id: int):
    """Carve ``parts`` (kilograms each) out of the item: the new items, each with this
    one as its source; the item keeps the rest. 409 with ``available_kg`` when the
    parts add up to more than is left."""
    made = stock.split(db.session, g.api_user, _item(item_id), values["parts"])
    db.session.commit()
    return [item_view(db.session, i) for i in made], 201


@blp.post("/stock/<int:item_id>/merge")
@blp.arguments(MergeSchema)
@blp.response(200, StockItemSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=StockConflictSchema)
@token_required
def item_merge(values: dict, item_id: int):
    """Merge items of the same product and date (``item_ids``) into this one."""
    others = [_item(i) for i in values["item_ids"]]
    item = stock.merge(db.session, g.api_user, _item(item_id), others)
    db.session.commit()
    return item_view(db.session, item)


@blp.post("/stock/<int:item_id>/adjustments")
@blp.arguments(AdjustmentSchema)
@blp.response(200, StockItemSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=StockConflictSchema)
@token_required
def item_adjust(values: dict, item_id: int):
    """Take ``kg`` off with a ``reason`` (damaged, unfit, destroyed, expired) and a note;
    409 with ``available_kg`` when that much is no longer there."""
    item = stock.adjust(
        db.session, g.api_user, _item(item_id), values["kg"], values["reason"], values["note"]
    )
    db.session.commit()
    return item_view(db.session, item)


@blp.post("/stock/<int:item_id>/counts")
@blp.arguments(CountSchema)
@blp.response(200, CountAnswerSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def item_count(values: dict, item_id: int):
    """An inventory count: the item holds ``kg``; the difference is recorded."""
    item = _item(item_id)
    difference = stock.count(db.session, g.api_user, item, values["kg"], values["note"])
    db.session.commit()
    return {"item": item_view(db.session, item), "difference_kg": difference / 1000}


@blp.post("/stock/<int:item_id>/offer")
@blp.arguments(OfferSchema, required=False)
@blp.response(201, LotSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=StockConflictSchema)
@token_required
def item_offer(values: dict, item_id: int):
    """Offer the item (or ``kg`` of it) to the platform's network: the new lot, picked
    up at the depot, offered through the waves like any lot. Coordinators only."""
    lot = stock.offer(db.session, g.api_user, _item(item_id), values or {}, clock.now())
    db.session.commit()
    return lot, 201
