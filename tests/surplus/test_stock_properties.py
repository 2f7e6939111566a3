"""Properties of a depot's stock over any sequence of work (Hypothesis, on SQLite):
receipts, then splits, merges, adjustments, counts, offers to the network, claims on the
offered lots and their withdrawal, each in its own savepoint as a request would be.

1. Every operation succeeds or is refused exactly when a plain model of the stock says
   so (Conflict when the grams are not there, Invalid when items differ), and every
   item then holds the model's grams.
2. Conservation: grams received == on hand + out (offered minus returned) + lost
   (adjusted, and the differences of counts).
3. Every item's origins reach exactly the receipts its food came in by, through every
   split and merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from surplus.errors import DomainError
from surplus.extensions import db
from surplus.models import (
    AdjustmentReason,
    Lot,
    MovementKind,
    Role,
    StockItem,
    StockMovement,
    StockReceipt,
)
from surplus.schemas.base import load
from surplus.schemas.depot import GoodsReceiptSchema
from surplus.services import claims, lots
from surplus.services.depots import receipts, stock
from surplus.services.lot_dates import local_today
from tests import factories

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PRODUCTS = [("Pâtes", 120), ("Riz", 120), ("Pâtes", 150)]  # (product, days to its date)
GRAMS = st.integers(1, 60_000)

# Mostly one product and date, so that merges find partners.
receipt_st = st.tuples(st.sampled_from([0, 0, 1, 2]), st.integers(1_000, 80_000))
ARGUMENTS = {
    "split": st.lists(GRAMS, min_size=1, max_size=3),
    "merge": st.integers(0, 50),  # the other item
    "adjust": GRAMS,
    "count": st.integers(0, 90_000),
    "offer": GRAMS,
    "claim": st.integers(1, 10_000),
    "withdraw": st.just(0),
}
# Offers and claims twice as often: claims and withdrawals need an offered lot.
NAMES = ["split", "merge", "adjust", "count", "offer", "offer", "claim", "claim", "withdraw"]


@st.composite
def operation(draw):
    """(name, which item or offered lot, argument)."""
    name = draw(st.sampled_from(NAMES))
    return name, draw(st.integers(0, 50)), draw(ARGUMENTS[name])


@pytest.fixture
def backend():
    return "sqlite"  # one backend is enough for the properties; the rest run on both


@pytest.fixture
def w(make_fleet):
    w = factories.world()
    w.depot, _van, _template = make_fleet(w)
    w.team = factories.user(w.platform, Role.MEMBER)
    db.session.commit()
    return w


@dataclass
class Model:
    """What the stock should be: grams, product and receipts of each item; the offered
    lots (item, remaining, claimed, open); grams received, offered, returned, lost."""

    items: list[int] = field(default_factory=list)  # item ids, in order made
    grams: dict[int, int] = field(default_factory=dict)
    kind: dict[int, int] = field(default_factory=dict)  # index into PRODUCTS
    sources: dict[int, set[int]] = field(default_factory=dict)  # receipt ids
    lots: list[dict] = field(default_factory=list)
    received: int = 0
    offered: int = 0
    returned: int = 0
    lost: int = 0


def _receive(w, model: Model, kind: int, grams: int) -> None:
    product, days = PRODUCTS[kind]
    values = load(
        GoodsReceiptSchema(),
        {
            "supplier": "Collecte",
            "title": product,
            "category": "dry_goods",
            "weight_kg": grams / 1000,
            "date_kind": "best_before",
            "date": (local_today() + timedelta(days=days)).isoformat(),
            "storage": "ambient",
        },
    )
    got = receipts.receive_goods(db.session, w.team, w.depot, values)
    model.items.append(got.item.id)
    model.grams[got.item.id] = grams
    model.kind[got.item.id] = kind
    model.sources[got.item.id] = {got.receipt.id}
    model.received += grams


def _expect(model: Model, op: tuple) -> str:
    """The outcome the model predicts: "ok", "Conflict", "Invalid" or "Forbidden"."""
    name, i, arg = op
    if name in ("claim", "withdraw"):
        if not model.lots:
            return "skip"
        lot = model.lots[i % len(model.lots)]
        if name == "withdraw":
            return "ok" if lot["open"] else "Conflict"
        if not lot["open"]:
            return "Forbidden"
        return "ok" if arg <= lot["remaining"] else "Conflict"
    item = model.items[i % len(model.items)]
    left = model.grams[item]
    if name == "split":
        return "ok" if sum(arg) <= left else "Conflict"
    if name == "merge":
        other = model.items[arg % len(model.items)]
        if other == item or model.kind[other] != model.kind[item]:
            return "Invalid"
        return "ok" if model.grams[other] > 0 else "Conflict"
    if name in ("adjust", "offer"):
        return "ok" if arg <= left else "Conflict"
    return "ok"  # a count


def _apply(w, model: Model, op: tuple) -> None:
    """Run the operation; when it succeeds, update the model as it should change."""
    name, i, arg = op
    s = db.session
    if name in ("claim", "withdraw"):
        lot_m = model.lots[i % len(model.lots)]
        lot = s.get(Lot, lot_m["id"])
        if name == "claim":
            claims.claim_lot(s, w.cpas_user, lot.id, arg / 1000)
            lot_m["remaining"] -= arg
            lot_m["claimed"] += arg
        else:
            lots.withdraw_lot(s, w.coordinator, lot, "Retiré")
            back = lot_m["remaining"] + lot_m["claimed"]  # none of it was collected
            model.grams[lot_m["item"]] += back
            model.returned += back
            lot_m["open"] = False
        return
    item_id = model.items[i % len(model.items)]
    item = s.get(StockItem, item_id)
    if name == "split":
        parts = stock.split(s, w.team, item, [g / 1000 for g in arg])
        model.grams[item_id] -= sum(arg)
        for part, g in zip(parts, arg, strict=True):
            model.items.append(part.id)
            model.grams[part.id] = g
            model.kind[part.id] = model.kind[item_id]
            model.sources[part.id] = set(model.sources[item_id])
    elif name == "merge":
        other_id = model.items[arg % len(model.items)]
        stock.merge(s, w.team, item, [s.get(StockItem, other_id)])
        model.grams[item_id] += model.grams[other_id]
        model.grams[other_id] = 0
        model.sources[item_id] |= model.sources[other_id]
    elif name == "adjust":
        stock.adjust(s, w.team, item, arg / 1000, AdjustmentReason.UNFIT)
        model.grams[item_id] -= arg
        model.lost += arg
    elif name == "count":
        difference = stock.count(s, w.team, item, arg / 1000)
        assert difference == arg - model.grams[item_id]
        model.lost -= difference
        model.grams[item_id] = arg
    else:
        lot = stock.offer(s, w.coordinator, item, {"kg": arg / 1000})
        model.grams[item_id] -= arg
        model.offered += arg
        model.lots.append(
            {"id": lot.id, "item": item_id, "remaining": arg, "claimed": 0, "open": True}
        )


def _total(*where) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(StockMovement.delta_g), 0)).where(*where)
    )


def _check(w, model: Model, story: list) -> None:
    s = db.session
    s.expire_all()
    held = dict(s.execute(select(StockItem.id, StockItem.grams)).all())
    assert held == model.grams, story
    assert min(held.values()) >= 0
    received = s.scalar(select(func.sum(StockReceipt.grams)).where(StockReceipt.accepted))
    offered = s.scalar(
        select(func.coalesce(func.sum(Lot.weight_g), 0)).where(Lot.stock_item_id.is_not(None))
    )
    returned = _total(StockMovement.kind == MovementKind.RETURNED)
    lost = -_total(StockMovement.kind.in_([MovementKind.ADJUSTED, MovementKind.COUNTED]))
    on_hand = sum(held.values())
    assert (received, offered, returned, lost) == (
        model.received,
        model.offered,
        model.returned,
        model.lost,
    ), story
    assert received == on_hand + (offered - returned) + lost, story
    assert _total() == on_hand, "every item's movements add up to what it holds"
    for item_id in model.items:
        item = s.get(StockItem, item_id)
        reached = {o.receipt.id for o in stock.origins(s, item)}
        assert reached == model.sources[item_id], (item_id, story)


@PROPERTY
@given(
    received=st.lists(receipt_st, min_size=1, max_size=3),
    ops=st.lists(operation(), min_size=1, max_size=15),
)
def test_stock_is_conserved_and_traceable_over_any_work(w, received, ops):
    model = Model()
    story: list = []
    try:
        for kind, grams in received:
            _receive(w, model, kind, grams)
        for op in ops:
            expected = _expect(model, op)
            if expected == "skip":
                continue
            try:
                with db.session.begin_nested():
                    _apply(w, model, op)
                outcome = "ok"
            except DomainError as error:
                outcome = type(error).__name__
            story.append((op, expected, outcome))
            assert outcome == expected, story
        _check(w, model, story)
    finally:
        db.session.rollback()  # the example's stock goes; the world stays
