"""Working a depot's stock: split an item into parts, merge items of one product and
date, take kilograms off (damaged, unfit, destroyed), record a count, offer stock to the
platform's network as a lot. Every change is a ``StockMovement``; every new item keeps
its ``StockSource`` rows, so one step back from a parcel reaches the pallet it came from
and, through the receipt, the donor's lot (``origins``).

Stock never goes negative: each decrease is one conditional UPDATE (``grams >= asked``)
checked by its row count in the caller's transaction, with the CHECK ``grams >= 0``
behind it, as for claims (services/claims.py): concurrent splits and offers of one item
cannot take more than is there, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ... import access, clock
from ...errors import Conflict, Invalid
from ...models import (
    AdjustmentReason,
    Lot,
    MovementKind,
    StockItem,
    StockMovement,
    StockReceipt,
    StockSource,
    User,
)
from ...templating import number
from .. import events, food_safety, lots
from ..lot_input import grams as to_grams
from ..reports.ledger import units_of
from .receipts import PRODUCT_FIELDS

OFFER_DAYS = 7  # an undated item offered without a window: picked up within a week


def _conflict(item_id: int, session: Session) -> Conflict:
    left = session.scalar(select(StockItem.grams).where(StockItem.id == item_id)) or 0
    return Conflict(
        str(_l("Only %(kg)s kg of this item remain.", kg=number(left / 1000, 3))),
        available_kg=left / 1000,
    )


def _take(session: Session, item: StockItem, grams: int) -> None:
    """Take ``grams`` off the item, or Conflict when they are no longer there."""
    done = session.execute(
        update(StockItem)
        .where(StockItem.id == item.id, StockItem.grams >= grams)
        .values(grams=StockItem.grams - grams)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise _conflict(item.id, session)
    session.refresh(item)


def _move(
    session: Session, actor: User | None, item: StockItem, kind: MovementKind, delta: int, **kw: Any
) -> None:
    session.add(
        StockMovement(
            item_id=item.id,
            depot_id=item.depot_id,
            kind=kind,
            delta_g=delta,
            actor_id=actor.id if actor else None,
            **kw,
        )
    )


def _copy(item: StockItem, grams: int, actor: User) -> StockItem:
    return StockItem(
        depot_id=item.depot_id,
        zone_id=item.zone_id,
        product=item.product,
        grams=grams,
        units=units_of(item.units, item.grams, grams) if item.grams else None,
        created_by_id=actor.id,
        **{name: getattr(item, name) for name in PRODUCT_FIELDS},
    )


def split(session: Session, actor: User, item: StockItem, parts_kg: list[float]) -> list[StockItem]:
    """Carve parts (a pallet into parcels) out of the item; each is a new item whose
    source is this one. The item keeps what is left (nothing, if the parts are all)."""
    access.require(actor, access.HANDLE, item, str(_l("Only the depot's team works its stock.")))
    parts = [to_grams(kg) for kg in parts_kg]
    if any(g <= 0 for g in parts):
        raise Invalid(
            str(_l("Each part weighs more than 0 kg.")),
            {"parts": str(_l("Each part weighs more than 0 kg."))},
        )
    total = sum(parts)
    units_before, grams_before = item.units, item.grams
    _take(session, item, total)
    made = []
    for part in parts:
        new = _copy(item, part, actor)
        new.units = units_of(units_before, grams_before, part) if grams_before else None
        session.add(new)
        session.flush()
        session.add(StockSource(item_id=new.id, source_item_id=item.id, grams=part))
        _move(session, actor, new, MovementKind.SPLIT_IN, part, other_item_id=item.id)
        _move(session, actor, item, MovementKind.SPLIT_OUT, -part, other_item_id=new.id)
        made.append(new)
    if units_before is not None:
        item.units = max(0, units_before - sum(n.units or 0 for n in made))
    session.flush()
    events.record(
        session,
        actor,
        item,
        "split",
        after={"parts": [n.id for n in made], "grams": parts, "left_g": item.grams},
        organisation_id=item.depot.platform_id,
    )
    return made


def _same_product(a: StockItem, b: StockItem) -> bool:
    return (
        a.depot_id == b.depot_id
        and a.product.strip().lower() == b.product.strip().lower()
        and a.category == b.category
        and a.storage == b.storage
        and a.date_kind == b.date_kind
        and a.best_date == b.best_date
        and a.fse_plus == b.fse_plus
    )


def merge(session: Session, actor: User, item: StockItem, others: list[StockItem]) -> StockItem:
    """Merge items of the same product and date into ``item``; each keeps its sources
    (the merged item lists them all, one step back)."""
    access.require(actor, access.HANDLE, item, str(_l("Only the depot's team works its stock.")))
    if len({o.id for o in others}) != len(others):
        message = str(_l("Name each item once."))
        raise Invalid(message, {"item_ids": message})
    # Lock the rows in id order, then read them afresh: two merges crossing (A into B,
    # B into A) wait for each other instead of deadlocking, and each takes what is
    # there (SQLite, whose write transactions are serial, has no row locks).
    session.execute(
        select(StockItem.id)
        .where(StockItem.id.in_(sorted({item.id, *(o.id for o in others)})))
        .order_by(StockItem.id)
        .with_for_update()
    ).all()
    for held in (item, *others):
        session.refresh(held)
    for other in others:
        access.require(actor, access.HANDLE, other)
        if other.id == item.id or not _same_product(item, other):
            message = str(_l("Only items of the same product and date merge."))
            raise Invalid(message, {"item_ids": message})
    added = 0
    for other in others:
        amount = other.grams
        if amount <= 0:
            raise _conflict(other.id, session)
        _take(session, other, amount)
        session.add(StockSource(item_id=item.id, source_item_id=other.id, grams=amount))
        _move(session, actor, other, MovementKind.MERGED_OUT, -amount, other_item_id=item.id)
        _move(session, actor, item, MovementKind.MERGED_IN, amount, other_item_id=other.id)
        if other.units is not None and item.units is not None:
            item.units += other.units
            other.units = 0
        added += amount
        if other.expires_at and (item.expires_at is None or other.expires_at < item.expires_at):
            item.expires_at = other.expires_at  # the earliest date wins
    session.execute(
        update(StockItem)
        .where(StockItem.id == item.id)
        .values(grams=StockItem.grams + added)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.refresh(item)
    events.record(
        session,
        actor,
        item,
        "merged",
        after={"from": [o.id for o in others], "added_g": added},
        organisation_id=item.depot.platform_id,
    )
    return item


def adjust(
    session: Session,
    actor: User,
    item: StockItem,
    kg: float,
    reason: AdjustmentReason,
    note: str = "",
) -> StockItem:
    """Take kilograms off (damaged, unfit, destroyed, expired), with the reason."""
    access.require(actor, access.HANDLE, item, str(_l("Only the depot's team works its stock.")))
    amount = to_grams(kg)
    units_before, grams_before = item.units, item.grams
    _take(session, item, amount)
    if units_before is not None and grams_before:
        item.units = max(0, units_before - (units_of(units_before, grams_before, amount) or 0))
    text = f"{reason.value}: {note}".strip(": ") if note else reason.value
    _move(session, actor, item, MovementKind.ADJUSTED, -amount, reason=text)
    session.flush()
    events.record(
        session,
        actor,
        item,
        "adjusted",
        after={"grams": -amount, "left_g": item.grams},
        reason=text,
        organisation_id=item.depot.platform_id,
    )
    return item


def count(session: Session, actor: User, item: StockItem, kg: float, note: str = "") -> int:
    """Record an inventory count: the item holds what was counted; the difference is a
    movement. Returns the difference in grams (negative: less than on record)."""
    access.require(actor, access.HANDLE, item, str(_l("Only the depot's team works its stock.")))
    counted, recorded = to_grams(kg), item.grams
    done = session.execute(
        update(StockItem)
        .where(StockItem.id == item.id, StockItem.grams == recorded)
        .values(grams=counted)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Conflict(str(_l("This item changed while you counted; count it again.")))
    session.refresh(item)
    _move(session, actor, item, MovementKind.COUNTED, counted - recorded, reason=note)
    session.flush()
    events.record(
        session,
        actor,
        item,
        "counted",
        before={"grams": recorded},
        after={"grams": counted},
        reason=note,
        organisation_id=item.depot.platform_id,
    )
    return counted - recorded


def offer(
    session: Session,
    actor: User,
    item: StockItem,
    values: Mapping[str, Any],
    now: datetime | None = None,
) -> Lot:
    """Offer (part of) the item to the platform's network as a lot picked up at the
    depot, through the offer waves like any lot; the lot's source is the item."""
    access.require(
        actor, access.CHANGE, item, str(_l("Only a coordinator offers the depot's stock."))
    )
    now = now or clock.now()
    amount = to_grams(values["kg"]) if values.get("kg") else item.grams
    if amount <= 0:
        raise _conflict(item.id, session)
    start = values.get("pickup_from") or now
    end = values.get("pickup_until") or min(
        item.expires_at or now + timedelta(days=OFFER_DAYS), now + timedelta(days=OFFER_DAYS)
    )
    if food_safety.item_recalled(session, item):
        raise Conflict(
            str(_l("This stock comes from a recalled lot: keep it apart; it may not be offered."))
        )
    if item.expires_at is not None and start >= item.expires_at:
        raise Conflict(str(_l("This item is past its date: it may no longer be offered.")))
    if end <= start:
        message = str(_l("The pickup window must end after it starts."))
        raise Invalid(message, {"pickup_until": message})
    # As for a posted lot (lot_input.check_lot): a window someone can still use, ending
    # by the last moment the food may be handed out.
    if end <= now:
        message = str(_l("This pickup window is already over."))
        raise Invalid(message, {"pickup_until": message})
    if item.expires_at is not None and end > item.expires_at:
        message = str(
            _l(
                "The pickup window ends after the food may be handed out (%(limit)s): "
                "nobody could receive it in time. End the window by then or correct the "
                "date.",
                limit=format_datetime(item.expires_at, "EEE d MMM HH:mm"),
            )
        )
        raise Invalid(message, {"pickup_until": message})
    units_before, grams_before = item.units, item.grams
    _take(session, item, amount)
    depot = item.depot
    part = values.get("min_part_kg")
    lot = Lot(
        donor_id=depot.platform_id,
        created_by_id=actor.id,
        title=item.product,
        category=item.category,
        description="",
        lot_number=item.lot_number,
        weight_g=amount,
        remaining_g=amount,
        units=units_of(units_before, grams_before, amount) if grams_before else None,
        date_kind=item.date_kind,
        best_date=item.best_date,
        expires_at=item.expires_at,
        storage=item.storage,
        product_kind=item.product_kind,
        max_temperature_c=item.max_temperature_c,
        allergens=list(item.allergens or []),
        fse_plus=item.fse_plus,
        divisible=values.get("divisible", True),
        min_part_g=min(to_grams(part), amount) if part and values.get("divisible", True) else 0,
        pickup_address=f"{depot.name}, {depot.address}".strip(", "),
        pickup_postcode=depot.postcode,
        pickup_locality=depot.locality,
        pickup_lat=depot.lat,
        pickup_lon=depot.lon,
        pickup_from=start,
        pickup_until=end,
        stock_item_id=item.id,
    )
    session.add(lot)
    session.flush()
    if lot.units is not None and item.units is not None:
        item.units = max(0, item.units - lot.units)
    _move(session, actor, item, MovementKind.OFFERED, -amount, lot_id=lot.id)
    lots.publish(session, actor, lot, now)
    return lot


def return_to_stock(session: Session, actor: User | None, lot: Lot, grams: int) -> int:
    """A lot offered from stock and withdrawn: the grams still at the depot (unclaimed,
    or claimed and never collected) go back to the item they came from."""
    if lot.stock_item_id is None or grams <= 0:
        return 0
    item = session.get(StockItem, lot.stock_item_id)
    assert item is not None
    session.execute(
        update(StockItem)
        .where(StockItem.id == item.id)
        .values(grams=StockItem.grams + grams)
        .execution_options(synchronize_session=False)
    )
    _move(session, actor, item, MovementKind.RETURNED, grams, lot_id=lot.id)
    session.flush()
    session.refresh(item)
    return grams


@dataclass(frozen=True)
class Origin:
    """Where food in a depot came from, through its receipt: the donor's lot and the
    platform's claim on it, or a donor's drop-off, or a supplier outside Maillon."""

    receipt: StockReceipt
    grams: int  # grams of this item that came through this receipt (bounded by the item's)

    @property
    def lot_id(self) -> int | None:
        return self.receipt.claim.lot_id if self.receipt.claim is not None else None


def origins(session: Session, item: StockItem) -> list[Origin]:
    """The receipts the item's food came in by, through every split and merge: one step
    back from the depot. Each receipt once, in receipt order."""
    seen: dict[int, int] = {}
    stack = [(item.id, None)]
    visited: set[int] = set()
    while stack:
        item_id, bound = stack.pop()
        if item_id in visited:
            continue
        visited.add(item_id)
        for src in session.scalars(select(StockSource).where(StockSource.item_id == item_id)):
            grams = src.grams if bound is None else min(src.grams, bound)
            if src.receipt_id is not None:
                seen[src.receipt_id] = seen.get(src.receipt_id, 0) + grams
            elif src.source_item_id is not None:
                stack.append((src.source_item_id, grams))
    receipts = (
        session.scalars(
            select(StockReceipt)
            .where(StockReceipt.id.in_(list(seen)))
            .options(selectinload(StockReceipt.claim), selectinload(StockReceipt.donor))
            .order_by(StockReceipt.id)
        ).all()
        if seen
        else []
    )
    return [Origin(r, seen[r.id]) for r in receipts]
