"""Food-safety recalls with the real quantities (issue 12).

At the recall each receiving organisation's claims on the lot give its figures:
delivered (claims delivered), in transit (picked up, not delivered: the claim is
collected) and cancelled (planned, not picked up: those claims end at once, withdrawn
and unbooked; their kilograms do not go back to the lot). A claim refused at a hand-over
is not a holder: the food was refused, never received, so it is left out. Every
organisation that holds food (delivered or in transit) acknowledges what it did with
it; the recall closes when the last one has.

Through a depot (issue 16): a platform that claimed the lot for its depot is a holder
like any receiving organisation (its claim delivered: received at the depot). The stock
items whose food came in by that claim (``trace.items_from``: through every split and
merge) are listed on the recall's lot event, and every lot the platform offered from
them is recalled onward in the same transaction: its own recall, its holders told with
their own figures, its planned claims ended; the food-safety check refuses a hand-over
of such a lot (``food_safety._recalled`` looks through ``Lot.stock_item_id``).
"""

from __future__ import annotations

from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import access
from ..errors import Conflict, Invalid
from ..models import (
    Claim,
    ClaimStatus,
    Lot,
    LotStatus,
    Recall,
    RecallAction,
    RecallHolder,
    Run,
    RunStatus,
    StockItem,
    StockReceipt,
    Stop,
    User,
    utcnow,
)
from ..templating import number
from . import events, notifications
from .trace import items_from

ONWARD_DEPTH = 5  # depots feeding depots: how far a recall follows the food onward

# Which figure a claim's status counts in (other statuses hold nothing).
_FIGURE = {
    ClaimStatus.DELIVERED: "delivered_g",
    ClaimStatus.COLLECTED: "in_transit_g",
    ClaimStatus.ACTIVE: "cancelled_g",
}


def holder_figures(lot: Lot) -> dict[int, dict[str, int]]:
    """Grams per receiving organisation, from the lot's claims as they stand now; the
    kilograms refused at a hand-over are listed apart (that food was never received)."""
    figures: dict[int, dict[str, int]] = defaultdict(
        lambda: {"delivered_g": 0, "in_transit_g": 0, "cancelled_g": 0, "refused_g": 0}
    )
    for claim in lot.claims:
        figure = _FIGURE.get(claim.status)
        if figure is None and claim.status == ClaimStatus.REFUSED:
            figure = "refused_g"
        if figure is not None:
            figures[claim.beneficiary_id][figure] += claim.grams
    return dict(figures)


def carriers(session: Session, claims: list[Claim]) -> tuple[dict[int, set[int]], set[int]]:
    """The platforms carrying the food, each with the ids of its claims (the claims
    through it, and those its runs have stops for), and the platforms among them with
    such a run on the road now."""
    carried: dict[int, set[int]] = defaultdict(set)
    for claim in claims:
        carried[claim.platform_id].add(claim.id)
    on_road: set[int] = set()
    if claims:
        rows = session.execute(
            select(Run.platform_id, Run.status, Stop.claim_id)
            .join(Stop, Stop.run_id == Run.id)
            .where(Stop.claim_id.in_([c.id for c in claims]))
        ).all()
        for platform_id, status, claim_id in rows:
            carried[platform_id].add(claim_id)
            if status == RunStatus.ON_ROAD:
                on_road.add(platform_id)
    return dict(carried), on_road


def open_recall(session: Session, actor: User, lot: Lot, reason: str) -> Recall:
    """The donor (or a site admin) recalls a lot. Steps:

    1. only one recall per lot (409 for a second);
    2. the holders' figures are read from the claims before anything changes;
    3. an open or claimed lot is withdrawn: its planned claims end withdrawn and leave
       their runs (services.lots.withdraw_lot), their kilograms are not offered again;
    4. events on the lot and the recall; every holder, the carrying platforms and the
       crews of runs on the road are told, each with its own figures;
    5. through a depot: the stock items that came from the lot are listed and the lots
       offered from them are recalled onward (steps 2-4 for each).
    """
    access.require(actor, access.CHANGE, lot, str(_l("Only the donor can recall this lot.")))
    reason = reason.strip()
    if not reason:
        raise Invalid(
            str(_l("Say why the lot is recalled; the receivers will read it.")),
            {"reason": str(_l("Give the reason of the recall."))},
        )
    if session.scalar(select(Recall.id).where(Recall.lot_id == lot.id)) is not None:
        raise Conflict(str(_l("This lot has already been recalled.")))
    return _open(session, actor, lot, reason, None, 0)


def _open(
    session: Session, actor: User, lot: Lot, reason: str, upstream: Lot | None, depth: int
) -> Recall:
    figures = holder_figures(lot)
    reached = [c for c in lot.claims if c.status in _FIGURE]
    grams_of = {c.id: (_FIGURE[c.status], c.grams) for c in reached}
    carried, on_road = carriers(session, reached)  # before planned claims leave their runs
    if lot.status in (LotStatus.OPEN, LotStatus.CLAIMED):
        if upstream is None:
            from .lots import withdraw_lot

            withdraw_lot(session, actor, lot, reason, notify=False)
        else:
            _withdraw_onward(session, actor, lot, reason)
    lot.status_reason = reason
    recall = Recall(lot_id=lot.id, reason=reason, opened_by_id=actor.id, opened_at=utcnow())
    recall.holders = [RecallHolder(organisation_id=org_id, **g) for org_id, g in figures.items()]
    session.add(recall)
    session.flush()
    summary = {
        str(h.organisation_id): {
            "delivered_g": h.delivered_g,
            "in_transit_g": h.in_transit_g,
            "cancelled_g": h.cancelled_g,
            "refused_g": h.refused_g,
        }
        for h in recall.holders
    }
    items, onward = in_stock(session, lot)
    after: dict = {"recall_id": recall.id, "holders": summary}
    if items or onward:
        after["stock"] = [
            {"item_id": i.id, "depot_id": i.depot_id, "grams": i.grams} for i in items
        ]
        after["onward_lots"] = [o.id for o in onward]
    if upstream is not None:
        after["upstream_lot_id"] = upstream.id
    events.record(
        session, actor, lot, "recalled", reason=reason, after=after, organisation_id=lot.donor_id
    )
    events.record(
        session, actor, recall, "opened", after={"lot_id": lot.id}, organisation_id=lot.donor_id
    )
    notifications.recall_opened(
        session, recall, {p: _kg(ids, grams_of) for p, ids in carried.items()}, on_road
    )
    _close_if_done(session, actor, recall)
    if depth < ONWARD_DEPTH:
        for other in onward:
            if session.scalar(select(Recall.id).where(Recall.lot_id == other.id)) is None:
                why = str(
                    _l("Recall of lot #%(lot)s upstream: %(reason)s", lot=lot.id, reason=reason)
                )
                _open(session, actor, other, why, lot, depth + 1)
    return recall


def in_stock(session: Session, lot: Lot) -> tuple[list[StockItem], list[Lot]]:
    """The depot stock that came from ``lot`` (through a platform's claim received at
    its depot, then every split and merge): the items still holding food, and the lots
    offered from any of them."""
    receipts = list(
        session.scalars(
            select(StockReceipt.id)
            .join(Claim, Claim.id == StockReceipt.claim_id)
            .where(Claim.lot_id == lot.id, StockReceipt.accepted.is_(True))
        )
    )
    ids = items_from(session, receipts)
    if not ids:
        return [], []
    items = session.scalars(
        select(StockItem).where(StockItem.id.in_(list(ids))).order_by(StockItem.id)
    ).all()
    lots = session.scalars(
        select(Lot).where(Lot.stock_item_id.in_(list(ids))).order_by(Lot.id)
    ).all()
    return [i for i in items if i.grams > 0], list(lots)


def _withdraw_onward(session: Session, actor: User, lot: Lot, reason: str) -> None:
    """A lot offered from recalled stock stops as a withdrawn lot does, though the actor
    (the upstream donor) is not its donor: its planned claims end withdrawn and leave
    their runs, its unclaimed kilograms go back to the item (kept apart there)."""
    from . import lots

    lots.stop_lot(session, actor, lot, reason)


def _kg(claim_ids: set[int], grams_of: dict[int, tuple[str, int]]) -> dict[str, float]:
    """The kilograms of these claims per figure, as they stood at the recall."""
    grams = {"delivered_g": 0, "in_transit_g": 0, "cancelled_g": 0}
    for claim_id in claim_ids:
        figure, g = grams_of[claim_id]
        grams[figure] += g
    return {f"kg_{name[:-2]}": g / 1000 for name, g in grams.items()}


def acknowledge(
    session: Session, actor: User, recall: Recall, action: RecallAction, kg: float
) -> RecallHolder:
    """A holder says what it did with the food it holds (quarantined, destroyed,
    returned) and how many kilograms: 403 for an organisation holding none of it, 409
    once answered or when the recall is closed, 400 beyond what it holds."""
    holder = access.recall_holder(actor, recall)
    if not recall.is_open:
        raise Conflict(str(_l("This recall is closed.")))
    if holder.ack_at is not None:
        raise Conflict(str(_l("Your organisation has already answered this recall.")))
    grams = round(kg * 1000)
    if grams <= 0 or grams > holder.held_g:
        raise Invalid(
            str(_l("At most the kilograms your organisation holds.")),
            {"kg": str(_l("At most %(kg)s kg.", kg=number(holder.kg_held, 3)))},
        )
    holder.ack_action = action
    holder.ack_g = grams
    holder.ack_by_id = actor.id
    holder.ack_at = utcnow()
    session.flush()
    events.record(
        session,
        actor,
        recall,
        "acknowledged",
        after={"organisation_id": holder.organisation_id, "action": action, "grams": grams},
        organisation_id=holder.organisation_id,
    )
    _close_if_done(session, actor, recall)
    return holder


def _close_if_done(session: Session, actor: User, recall: Recall) -> None:
    """Close the recall once every holder of food has answered."""
    if recall.closed_at is None and all(
        h.ack_at is not None for h in recall.holders if h.must_acknowledge
    ):
        recall.closed_at = utcnow()
        session.flush()
        events.record(session, actor, recall, "closed", organisation_id=recall.lot.donor_id)
