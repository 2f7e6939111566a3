"""A lot's traceability, one step back and one step forward (Reg. (EC) 178/2002 art. 18;
DESIGN.md §3 rule 7): the one place that gathers it, for the sheet, its PDF and CSV, the
API and the inspection search.

One step back: the donor (enterprise and AFSCA numbers), the product, its lot number,
dates, storage, allergens, when it was posted. One step forward: each claim's receiving
organisation, with kilograms claimed, picked up and delivered, and every hand-over a
driver confirmed (time, measured temperature, receiver, carrier platform and vehicle,
hub hand-overs of a relay) or the beneficiary's own people recorded at the donor's (a
self-collection: time, reading, receiver); then the lot's events in order.

Through a platform's depot (issue 16): a lot offered from stock (``Lot.stock_item_id``)
has ``sources``, one step back through the depot to each receipt its food came in by (the
platform's claim on a donor's lot, a donor at the door, a supplier outside Maillon); a
donor's lot claimed by a platform for its depot shows, on that claim, the receipt at the
depot (when, temperature, accepted) and, for whoever reads the whole trace (the donor, the
platform), the lots offered from that stock and their recipients (at most ``ONWARD_MAX``
lots). A receiving organisation reads the sources of what it received, without the
platform's own claim numbers.

Statuses are read by their ``value`` so that new ones (a claim refused at a hand-over)
need nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from ..models import (
    Claim,
    ClaimStatus,
    Depot,
    Event,
    Lot,
    Organisation,
    Run,
    StockItem,
    StockReceipt,
    StockSource,
    Stop,
    StopStatus,
    User,
)
from .collection import HANDOVER_EVENTS, SELF_COLLECTED
from .lot_dates import BRUSSELS

# A driver's confirmation closes a stop either way; "done" hands the food over.
DONE, REJECTED = "done", "rejected"
# Lot events that tell about other organisations' claims (their kilograms).
OTHERS_CLAIMS = {"claimed", "claim_cancelled"}
ONWARD_MAX = 50  # lots offered from one receipt's stock shown on a trace


@dataclass
class Handover:
    stop: Stop

    @property
    def kind(self) -> str:
        """``pickup`` (at the donor, or at the hub for a relay's second leg) or
        ``dropoff`` (at the beneficiary, or at the hub for a relay's first leg)."""
        return self.stop.kind.value

    @property
    def at_hub(self) -> bool:
        """A relay's hand-over at the hub depot (end of leg 1, start of leg 2)."""
        return (self.stop.leg, self.kind) in ((1, "dropoff"), (2, "pickup"))

    @property
    def at(self) -> datetime | None:
        return self.stop.confirmed_at

    @property
    def temperature_c(self) -> float | None:
        return self.stop.temperature_c

    @property
    def receiver(self) -> str:
        return self.stop.receiver_name

    @property
    def accepted(self) -> bool:
        return self.stop.status.value == DONE

    @property
    def carrier(self) -> Organisation:
        return self.stop.run.platform

    @property
    def vehicle(self) -> str:
        return self.stop.run.vehicle.name

    @property
    def place(self) -> str:
        org = self.stop.organisation
        return org.name if org is not None else self.stop.address

    @property
    def leg(self) -> int | None:
        return self.stop.leg

    @property
    def run_id(self) -> int | None:
        return self.stop.run_id


@dataclass
class Collection:
    """A hand-over at the donor's to the beneficiary's own people (a self-collection,
    services/collection.py): when and the reading from the claim's event, who received
    it from the claim; carried by the beneficiary itself, on no run."""

    claim: Claim
    event: Event

    kind = "collection"
    at_hub = False
    leg = None
    run_id = None
    vehicle = ""

    @property
    def at(self) -> datetime:
        return self.event.at

    @property
    def temperature_c(self) -> float | None:
        return (self.event.after or {}).get("temperature_c")

    @property
    def receiver(self) -> str:
        return self.claim.collected_by

    @property
    def accepted(self) -> bool:
        return self.event.action == SELF_COLLECTED

    @property
    def carrier(self) -> Organisation:
        return self.claim.beneficiary

    @property
    def place(self) -> str:
        return self.claim.lot.donor.name


@dataclass
class Source:
    """One step back through a depot: a receipt the food of a lot offered from stock came
    in by, with the grams of this lot that came that way (at most the lot's weight)."""

    receipt: StockReceipt
    grams: int
    claim_id: int | None  # the platform's claim on the donor's lot (None for a recipient)

    @property
    def lot_id(self) -> int | None:
        return self.receipt.claim.lot_id if self.receipt.claim is not None else None

    @property
    def donor(self) -> Organisation | None:
        return self.receipt.donor

    @property
    def supplier(self) -> str:
        return self.receipt.supplier

    @property
    def source(self) -> str:
        return self.receipt.source.value

    @property
    def lot_number(self) -> str:
        return self.receipt.lot_number

    @property
    def kg(self) -> float:
        return self.grams / 1000

    @property
    def received_at(self) -> datetime:
        return self.receipt.checked_at

    @property
    def temperature_c(self) -> float | None:
        return self.receipt.temperature_c

    @property
    def depot(self) -> Depot:
        return self.receipt.depot


@dataclass
class Onward:
    """A lot offered from stock that came (in part) by a receipt, and its claims."""

    lot: Lot
    claims: list[Claim]


@dataclass
class Recipient:
    claim: Claim
    handovers: list[Handover | Collection] = field(default_factory=list)
    receipt: StockReceipt | None = None  # a platform's claim received at its depot
    onward: list[Onward] = field(default_factory=list)  # where that stock went

    @property
    def organisation(self) -> Organisation:
        return self.claim.beneficiary

    @property
    def status(self) -> str:
        return self.claim.status.value

    @property
    def kg_claimed(self) -> float:
        return self.claim.kg

    @property
    def depot(self) -> Depot | None:
        return self.receipt.depot if self.receipt is not None else None

    @property
    def kg_picked_up(self) -> float:
        """Left the donor: a pickup at the donor was accepted, or the claim says so (a
        self-collection leaves no stop)."""
        at_donor = any(
            h.accepted and h.kind in ("pickup", "collection") and h.leg != 2 for h in self.handovers
        )
        return self.claim.kg if at_donor or self.status in ("collected", "delivered") else 0.0

    @property
    def kg_delivered(self) -> float:
        return self.claim.kg if self.status == "delivered" else 0.0

    @property
    def delivered_at(self) -> datetime | None:
        ends = [
            h.at
            for h in self.handovers
            if h.accepted and h.kind in ("dropoff", "collection") and not h.at_hub
        ]
        if self.receipt is not None and self.receipt.accepted:
            ends.append(self.receipt.checked_at)
        return max(ends) if ends else None


@dataclass
class TraceEvent:
    event: Event
    actor: str
    after: dict[str, Any]


@dataclass
class Trace:
    lot: Lot
    recipients: list[Recipient]
    events: list[TraceEvent]
    whole: bool  # False: a recipient's own part only
    sources: list[Source] = field(default_factory=list)  # through a depot, one step back

    @property
    def donor(self) -> Organisation:
        return self.lot.donor


def lot_trace(session: Session, lot: Lot, only_org: int | None = None) -> Trace:
    """The trace of ``lot``; with ``only_org``, the part of that receiving organisation
    (its claims, their hand-overs and events) — who may read which is access.trace_part's
    answer."""
    query = (
        select(Claim)
        .where(Claim.lot_id == lot.id)
        .options(joinedload(Claim.beneficiary), joinedload(Claim.platform))
        .order_by(Claim.id)
    )
    if only_org is not None:
        query = query.where(Claim.beneficiary_id == only_org)
    claims = list(session.scalars(query))
    recipients = {c.id: Recipient(c) for c in claims}
    stops = session.scalars(
        select(Stop)
        .where(Stop.claim_id.in_(list(recipients)))
        .options(
            joinedload(Stop.organisation),
            joinedload(Stop.run).options(joinedload(Run.platform), joinedload(Run.vehicle)),
        )
        .order_by(Stop.claim_id, Stop.leg, Stop.confirmed_at, Stop.id)
    ).all()
    for stop in stops:
        # A stop still planned is no hand-over yet; the run pages show those.
        if stop.claim_id is not None and stop.confirmed_at is not None:
            if stop.status.value in (DONE, REJECTED):
                recipients[stop.claim_id].handovers.append(Handover(stop))
    _collections(session, recipients)
    for r in recipients.values():
        r.handovers.sort(key=lambda h: (h.at, h.leg or 0, h.kind != "pickup"))
    _receipts(session, recipients, onward=only_org is None)
    events = _events(session, lot, claims, [s.id for s in stops], only_org)
    trace = Trace(lot, list(recipients.values()), events, whole=only_org is None)
    trace.sources = sources(session, lot, platform_claims=only_org is None)
    return trace


def _collections(session: Session, recipients: dict[int, Recipient]) -> None:
    """Attach each self-collected claim its hand-over at the donor's, from the claim's
    event: collected, or refused there (a self-collected claim is on no run, so its
    refusal was that hand-over's)."""
    mine = [cid for cid, r in recipients.items() if r.claim.self_collect]
    if not mine:
        return
    found = session.scalars(
        select(Event)
        .where(
            Event.subject_type == "claim",
            Event.subject_id.in_(mine),
            Event.action.in_(HANDOVER_EVENTS),
        )
        .order_by(Event.at, Event.id)
    )
    for ev in found:
        recipient = recipients[ev.subject_id]
        recipient.handovers.append(Collection(recipient.claim, ev))


def sources(session: Session, lot: Lot, platform_claims: bool = True) -> list[Source]:
    """One step back through the depot for a lot offered from stock (none otherwise):
    each receipt its item's food came in by, through every split and merge."""
    if lot.stock_item_id is None:
        return []
    from .depots.stock import origins

    item = session.get(StockItem, lot.stock_item_id)
    if item is None:
        return []
    return [
        Source(
            o.receipt, min(o.grams, lot.weight_g), o.receipt.claim_id if platform_claims else None
        )
        for o in origins(session, item)
    ]


def _receipts(session: Session, recipients: dict[int, Recipient], onward: bool) -> None:
    """Attach each platform's claim, and each claim whose food came back because nobody
    was at its drop-off, its receipt at the depot and, with ``onward``, the lots offered
    from the stock that came by it."""
    ids = [
        cid
        for cid, r in recipients.items()
        if r.claim.depot_id is not None or r.claim.status == ClaimStatus.RETURNED
    ]
    if not ids:
        return
    found = session.scalars(
        select(StockReceipt)
        .where(StockReceipt.claim_id.in_(ids))
        .options(joinedload(StockReceipt.depot))
        .order_by(StockReceipt.id)
    ).all()
    for receipt in found:
        assert receipt.claim_id is not None
        recipient = recipients[receipt.claim_id]
        recipient.receipt = receipt
        if onward and receipt.accepted:
            recipient.onward = onward_lots(session, receipt.id)


def items_from(session: Session, receipt_ids: list[int]) -> set[int]:
    """Ids of the stock items whose food came (in part) by these receipts: the items
    received, and every item split or merged from them."""
    if not receipt_ids:
        return set()
    found = set(
        session.scalars(select(StockSource.item_id).where(StockSource.receipt_id.in_(receipt_ids)))
    )
    frontier = set(found)
    while frontier:
        nxt = set(
            session.scalars(
                select(StockSource.item_id).where(StockSource.source_item_id.in_(list(frontier)))
            )
        )
        frontier = nxt - found
        found |= frontier
    return found


def onward_lots(session: Session, receipt_id: int, limit: int = ONWARD_MAX) -> list[Onward]:
    """The lots offered from the stock a receipt brought in, oldest first, each with its
    claims (the recipients one more step forward)."""
    items = items_from(session, [receipt_id])
    if not items:
        return []
    lots = session.scalars(
        select(Lot).where(Lot.stock_item_id.in_(list(items))).order_by(Lot.id).limit(limit)
    ).all()
    claims: dict[int, list[Claim]] = {lot.id: [] for lot in lots}
    if lots:
        for claim in session.scalars(
            select(Claim)
            .where(Claim.lot_id.in_(list(claims)))
            .options(joinedload(Claim.beneficiary))
            .order_by(Claim.id)
        ):
            claims[claim.lot_id].append(claim)
    return [Onward(lot, claims[lot.id]) for lot in lots]


def _events(
    session: Session, lot: Lot, claims: list[Claim], stop_ids: list[int], only_org: int | None
) -> list[TraceEvent]:
    subjects = [and_(Event.subject_type == "lot", Event.subject_id == lot.id)]
    if claims:
        subjects.append(
            and_(Event.subject_type == "claim", Event.subject_id.in_([c.id for c in claims]))
        )
    if stop_ids:
        subjects.append(and_(Event.subject_type == "stop", Event.subject_id.in_(stop_ids)))
    rows = session.execute(
        select(Event, User.name, User.organisation_id)
        .outerjoin(User, User.id == Event.actor_id)
        .where(or_(*subjects))
        .order_by(Event.at, Event.id)
    ).all()
    own_claims = {c.id for c in claims}
    found = []
    for ev, actor, actor_org in rows:
        if only_org is not None and ev.subject_type == "lot":
            if not _lot_event_for(ev, actor_org, only_org, own_claims):
                continue
        visible = own_claims if only_org is not None else None
        found.append(TraceEvent(ev, actor or "", event_summary(ev, visible)))
    return found


def _lot_event_for(ev: Event, actor_org: int | None, org_id: int, own_claims: set[int]) -> bool:
    """Whether a recipient reads this event of the lot: not one about another
    organisation's claim."""
    after = ev.after or {}
    if "claim_id" in after or "beneficiary_id" in after:
        return after.get("claim_id") in own_claims or after.get("beneficiary_id") == org_id
    return ev.action not in OTHERS_CLAIMS or actor_org == org_id


def event_summary(ev: Event, visible_claims: Iterable[int] | None = None) -> dict[str, Any]:
    """What an event changed, as plain data; for a recipient (``visible_claims``), a
    list of claims is cut to its own."""
    after = dict(ev.after or {})
    if visible_claims is not None and isinstance(after.get("claims"), list):
        mine = set(visible_claims)
        after["claims"] = [c for c in after["claims"] if c in mine]
    return after


# -- inspection search --------------------------------------------------------------------


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """From the start of ``start`` to the end of ``end``, Brussels days, as instants."""
    first = datetime.combine(start, time(0), tzinfo=BRUSSELS)
    last = datetime.combine(end + timedelta(days=1), time(0), tzinfo=BRUSSELS)
    return first, last


def moved_at():
    """The claim's last accepted hand-over (at a stop, or its people's collection at the
    donor's), else when it was made: the date an inspection asks about ("what did you
    receive from X between ... and ...")."""
    last = (
        select(func.max(Stop.confirmed_at))
        .where(Stop.claim_id == Claim.id, Stop.status == StopStatus.DONE)
        .correlate(Claim)
        .scalar_subquery()
    )
    collected = (
        select(func.max(Event.at))
        .where(
            Event.subject_type == "claim",
            Event.subject_id == Claim.id,
            Event.action == SELF_COLLECTED,
        )
        .correlate(Claim)
        .scalar_subquery()
    )
    return func.coalesce(last, collected, Claim.created_at)


def search(
    session: Session,
    scope,
    start: date,
    end: date,
    organisation_id: int | None = None,
    limit: int = 5000,
) -> list[tuple[Claim, datetime]]:
    """Claims within ``scope`` (a select of claims, access.traceable_claims) moved between
    two Brussels days, from the donor or to the beneficiary ``organisation_id`` (any when
    None), oldest first, with the moment each one moved."""
    first, last = day_bounds(start, end)
    when = moved_at().label("moved_at")
    query = (
        scope.add_columns(when)
        .join(Lot, Lot.id == Claim.lot_id)
        .where(when >= first, when < last)
        .options(
            joinedload(Claim.lot).joinedload(Lot.donor),
            joinedload(Claim.beneficiary),
            joinedload(Claim.platform),
        )
        .order_by(when, Claim.id)
        .limit(limit)
    )
    if organisation_id is not None:
        query = query.where(
            or_(Lot.donor_id == organisation_id, Claim.beneficiary_id == organisation_id)
        )
    return [(claim, at) for claim, at in session.execute(query).all()]


def carriers(session: Session, claim_ids: list[int]) -> dict[int, list[str]]:
    """The platforms whose runs carried each claim (for the search's rows)."""
    rows = session.execute(
        select(Stop.claim_id, Organisation.name)
        .join(Run, Run.id == Stop.run_id)
        .join(Organisation, Organisation.id == Run.platform_id)
        .where(Stop.claim_id.in_(claim_ids))
        .distinct()
    ).all()
    found: dict[int, list[str]] = {}
    for claim_id, name in rows:
        found.setdefault(claim_id, []).append(name)
    return {k: sorted(v) for k, v in found.items()}
