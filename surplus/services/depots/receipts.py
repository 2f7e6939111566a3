"""Food arriving at a depot's door, checked before it becomes stock.

Three sources (``ReceiptSource``): the platform's own claim on a lot, delivered to its
depot; a donor's drop-off; food from outside Maillon (an FSE+ delivery from the federal
supplier, a purchase, a collection drive). Every receipt is a hand-over and goes through
the same check as every other (``food_safety.check_handover``: the use-by, a recall, a
reading within the product's limit for chilled and frozen food), plus the packaging and
the labels seen at the door. A refused receipt is recorded with why, nothing enters the
stock, and the food goes back to its source: a claim ends refused and its donor is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ... import access
from ...errors import Conflict, Invalid, NotFound
from ...models import (
    IN_TRANSIT_CLAIM_STATUSES,
    Claim,
    ClaimStatus,
    Depot,
    DepotZone,
    Lot,
    MovementKind,
    Organisation,
    ReceiptSource,
    Run,
    StockItem,
    StockMovement,
    StockReceipt,
    StockSource,
    Stop,
    StopStatus,
    StorageClass,
    User,
    utcnow,
)
from .. import events, food_safety, notifications
from ..lot_dates import expires_at
from ..lot_input import grams
from ..reports.ledger import units_of

DOOR = "door"  # refused for its packaging or labels


@dataclass(frozen=True)
class Received:
    """A receipt, the stock item it became (None when refused), the temperature limit
    that applied (None for ambient food) and, when refused, why: ``too_warm``,
    ``use_by_passed``, ``recalled`` (as every hand-over) or ``door``."""

    receipt: StockReceipt
    item: StockItem | None
    limit_c: float | None
    reason: str | None


PRODUCT_FIELDS = (
    "category",
    "lot_number",
    "date_kind",
    "best_date",
    "expires_at",
    "storage",
    "product_kind",
    "max_temperature_c",
    "allergens",
    "fse_plus",
)


def zone_for(
    session: Session, depot: Depot, storage: StorageClass, zone_id: int | None = None
) -> DepotZone:
    """The zone food of ``storage`` goes to: ``zone_id`` if given (of this depot and this
    storage), else the zone of that storage with the most room left."""
    if zone_id is not None:
        zone = session.get(DepotZone, zone_id)
        if zone is None or zone.depot_id != depot.id:
            raise Invalid(
                str(_l("Choose a zone of this depot.")), {"zone_id": str(_l("Unknown zone."))}
            )
        if zone.storage != storage:
            message = str(_l("This zone does not keep food of this storage class."))
            raise Invalid(message, {"zone_id": message})
        return zone
    zones = session.scalars(
        select(DepotZone).where(DepotZone.depot_id == depot.id, DepotZone.storage == storage)
    ).all()
    if not zones:
        message = str(_l("This depot has no zone for this storage class."))
        raise Invalid(message, {"zone_id": message})
    held = zone_load(session, [z.id for z in zones])
    return max(zones, key=lambda z: (z.capacity_kg * 1000 - held.get(z.id, 0), -z.id))


def zone_load(session: Session, zone_ids: list[int]) -> dict[int, int]:
    """Grams held in each zone."""
    if not zone_ids:
        return {}
    return dict(
        session.execute(
            select(StockItem.zone_id, func.sum(StockItem.grams))
            .where(StockItem.zone_id.in_(zone_ids), StockItem.grams > 0)
            .group_by(StockItem.zone_id)
        ).all()
    )


def _door_refusal(values: Mapping[str, Any]) -> tuple[str, str] | None:
    if not values.get("packaging_ok", True):
        return DOOR, str(_l("Packaging damaged: refused at the door."))
    if not values.get("labels_ok", True):
        return DOOR, str(_l("Labels missing or unreadable: refused at the door."))
    return None


def _refusal(verdict: Any, values: Mapping[str, Any]) -> tuple[str, str] | None:
    """(code, message) of the first reason to refuse, or None."""
    if not verdict.ok:
        return verdict.reason, verdict.message
    return _door_refusal(values)


def _stock_in(
    session: Session, actor: User, receipt: StockReceipt, zone: DepotZone, units: int | None
) -> StockItem:
    item = StockItem(
        depot_id=receipt.depot_id,
        zone_id=zone.id,
        product=receipt.product,
        grams=receipt.grams,
        units=units,
        receipt_id=receipt.id,
        created_by_id=actor.id,
        **{name: getattr(receipt, name) for name in PRODUCT_FIELDS},
    )
    session.add(item)
    session.flush()
    session.add(StockSource(item_id=item.id, receipt_id=receipt.id, grams=receipt.grams))
    session.add(
        StockMovement(
            item_id=item.id,
            depot_id=item.depot_id,
            kind=MovementKind.RECEIVED,
            delta_g=item.grams,
            actor_id=actor.id,
        )
    )
    session.flush()
    return item


def _settle(
    session: Session,
    actor: User,
    receipt: StockReceipt,
    zone: DepotZone | None,
    verdict: Any,
    refused: tuple[str, str] | None,
    tell: bool,
) -> Received:
    """Accepted, the receipt becomes stock in ``zone``; refused, the donor and the
    coordinators are told (``tell``: there is someone to send it back to)."""
    item = None
    if refused is None:
        assert zone is not None
        item = _stock_in(session, actor, receipt, zone, receipt.units)
    elif tell:
        notifications.receipt_refused(session, receipt)
    return Received(receipt, item, verdict.limit_c, refused[0] if refused else None)


def receive_claim(
    session: Session, actor: User, depot: Depot, claim_id: int, values: Mapping[str, Any]
) -> Received:
    """The platform's claim arrives at its depot, or a claim its van brought back
    because nobody was there to receive it (:func:`stops.nobody_there`), at any depot of
    that platform: the hand-over check, then the food is stock in a zone of its storage,
    or the claim ends refused (the donor is told). A returned claim stays returned once
    in stock (its receipt says where the food went); it is received once."""
    from ..stops import returned_to  # stops imports the services this one does

    access.require(actor, access.HANDLE, depot, str(_l("Only the depot's team receives food.")))
    claim = session.get(Claim, claim_id)
    returned = claim is not None and returned_to(session, claim) == depot.platform_id
    if claim is None or not (
        returned or (claim.depot_id is not None and access.can(actor, access.VIEW, claim))
    ):
        raise NotFound(
            str(_l("Not found.")), {"claim_id": str(_l("No claim of yours has this number."))}
        )
    if not returned and claim.depot_id != depot.id:
        raise Conflict(
            str(_l("This claim goes to another depot.")), {"claim_id": str(_l("Another depot."))}
        )
    if returned and _received(session, claim.id):
        raise Conflict(str(_l("This claim was already received, refused or cancelled.")))
    if not returned and claim.status not in IN_TRANSIT_CLAIM_STATUSES:
        raise Conflict(str(_l("This claim was already received, refused or cancelled.")))
    lot: Lot = claim.lot
    now = utcnow()
    verdict = food_safety.check_handover(lot, values.get("temperature"), now)
    refused = _refusal(verdict, values)
    refusal = refused[1] if refused else None
    zone = zone_for(session, depot, lot.storage, values.get("zone_id")) if not refused else None
    receipt = StockReceipt(
        depot_id=depot.id,
        zone_id=zone.id if zone else None,
        source=ReceiptSource.CLAIM,
        claim_id=claim.id,
        donor_id=lot.donor_id,
        product=lot.title,
        grams=claim.grams,
        units=units_of(lot.units, lot.weight_g, claim.grams),
        temperature_c=values.get("temperature"),
        packaging_ok=values.get("packaging_ok", True),
        labels_ok=values.get("labels_ok", True),
        accepted=refusal is None,
        refusal_reason=refusal or "",
        note=values.get("note", ""),
        checked_by_id=actor.id,
        checked_at=now,
        **{name: getattr(lot, name) for name in PRODUCT_FIELDS},
    )
    try:
        with session.begin_nested():  # one receipt per claim (a unique index)
            session.add(receipt)
            session.flush()
    except IntegrityError:
        raise Conflict(str(_l("This claim was already received, refused or cancelled."))) from None
    from ..booking import unbook  # booking imports the services this one does

    before = events.snapshot(claim, "status", "grams")
    if refusal is not None:
        claim.status, claim.status_reason = ClaimStatus.REFUSED, refusal
    elif not returned:
        claim.status = ClaimStatus.DELIVERED
    unbook(session, actor, claim)  # stops still planned: the food is here (or gone back)
    details = {
        "receipt_id": receipt.id,
        "depot_id": depot.id,
        "claim_id": claim.id,
        "kg": claim.kg,
        "temperature_c": receipt.temperature_c,
        "limit_c": verdict.limit_c,
        "accepted": receipt.accepted,
    }
    events.record(
        session,
        actor,
        claim,
        "received_at_depot" if refusal is None else "refused",
        before=before,
        after=events.snapshot(claim, "status", "grams"),
        reason=refusal or "",
        organisation_id=claim.beneficiary_id,
    )
    events.record(
        session,
        actor,
        lot,
        "received_at_depot" if refusal is None else "handover_refused",
        after=details,
        reason=refusal or "",
        organisation_id=lot.donor_id,
    )
    return _settle(session, actor, receipt, zone, verdict, refused, tell=True)


def _received(session: Session, claim_id: int) -> bool:
    """A receipt of the claim exists (accepted or refused)."""
    return (
        session.scalar(select(StockReceipt.id).where(StockReceipt.claim_id == claim_id).limit(1))
        is not None
    )


def waiting(session: Session, depot: Depot) -> list[Claim]:
    """What the depot's team may receive: the platform's claims for this depot still on
    their way (oldest first), then the food its vans brought back (:func:`returned_here`)."""
    own = session.scalars(
        select(Claim)
        .where(
            Claim.depot_id == depot.id,
            Claim.platform_id == depot.platform_id,
            Claim.status.in_(IN_TRANSIT_CLAIM_STATUSES),
        )
        .order_by(Claim.created_at, Claim.id)
    )
    return [*own, *returned_here(session, depot)]


def returned_here(session: Session, depot: Depot) -> list[Claim]:
    """Claims the depot's platform brought back from a drop-off where nobody was there,
    not yet received at any of its depots, oldest first."""
    missed = (
        select(Stop.claim_id)
        .join(Run, Run.id == Stop.run_id)
        .where(Stop.status == StopStatus.MISSED, Run.platform_id == depot.platform_id)
    )
    received = select(StockReceipt.claim_id).where(StockReceipt.claim_id.is_not(None))
    return list(
        session.scalars(
            select(Claim)
            .where(
                Claim.status == ClaimStatus.RETURNED,
                Claim.id.in_(missed),
                Claim.id.not_in(received),
            )
            .order_by(Claim.id)
        )
    )


def receive_goods(
    session: Session, actor: User, depot: Depot, values: Mapping[str, Any]
) -> Received:
    """Food from a donor at the door, or from outside Maillon (``GoodsReceiptSchema``'s
    values): checked like every hand-over, then stock, or recorded as refused."""
    access.require(actor, access.HANDLE, depot, str(_l("Only the depot's team receives food.")))
    source = values.get("source", ReceiptSource.OUTSIDE)
    donor_id = values.get("donor_id") if source == ReceiptSource.DOOR else None
    if donor_id is not None:
        donor = session.get(Organisation, donor_id)
        if donor is None or donor.is_beneficiary or not donor.is_verified:
            message = str(_l("Choose a verified donor."))
            raise Invalid(message, {"donor_id": message})
    now = utcnow()
    dated = values.get("date") is not None
    receipt = StockReceipt(
        depot_id=depot.id,
        source=source,
        donor_id=donor_id,
        supplier=values.get("supplier", "") if source == ReceiptSource.OUTSIDE else "",
        product=values["title"],
        category=values["category"],
        lot_number=values.get("lot_number", ""),
        date_kind=values.get("date_kind") if dated else None,
        best_date=values.get("date"),
        expires_at=expires_at(
            values["date_kind"], values["date"], values["category"], values["storage"]
        )
        if dated
        else None,
        storage=values["storage"],
        product_kind=values.get("product_kind"),
        max_temperature_c=values.get("max_temperature_c"),
        allergens=[str(a) for a in values.get("allergens", [])],
        fse_plus=values.get("fse_plus", False),
        grams=grams(values["weight_kg"]),
        units=values.get("units"),
        temperature_c=values.get("temperature"),
        packaging_ok=values.get("packaging_ok", True),
        labels_ok=values.get("labels_ok", True),
        note=values.get("note", ""),
        checked_by_id=actor.id,
        checked_at=now,
        accepted=True,
    )
    # Checked before it is in the session: it is no lot, so no lot's recall applies.
    verdict = food_safety.check_handover(receipt, receipt.temperature_c, now)  # type: ignore[arg-type]
    refused = _refusal(verdict, values)
    refusal = refused[1] if refused else None
    zone = (
        zone_for(session, depot, receipt.storage, values.get("zone_id"))
        if refusal is None
        else None
    )
    receipt.accepted = refusal is None
    receipt.refusal_reason = refusal or ""
    receipt.zone_id = zone.id if zone else None
    session.add(receipt)
    session.flush()
    events.record(
        session,
        actor,
        receipt,
        "received" if refusal is None else "refused",
        after={
            "product": receipt.product,
            "grams": receipt.grams,
            "source": receipt.source,
            "temperature_c": receipt.temperature_c,
            "limit_c": verdict.limit_c,
            "fse_plus": receipt.fse_plus,
        },
        reason=refusal or "",
        organisation_id=depot.platform_id,
    )
    return _settle(session, actor, receipt, zone, verdict, refused, tell=donor_id is not None)
