"""When food changed hands, defined once for every report.

- A claim's food **left the donor** (the donation, for the donor's documents) when the
  first pickup of its first leg was confirmed: ``Stop`` kind pickup, leg 0 or 1, done.
- It **reached the beneficiary** (delivered, and "received on" in the FSE+ register)
  when the drop-off of its last leg was confirmed: kind drop-off, leg 0 or 2, done; the
  claim's status is then ``delivered``.
- It was **booked** when the first ``booked`` event was recorded on the claim; that event
  carries the kilometres the booking added to the runs (``added_km``).

- A platform's claim for its own depot (``Claim.depot_id``) is **delivered** when the
  depot accepted it at the door (``StockReceipt`` with the claim, accepted: its
  ``checked_at``), whether or not a run's drop-off was confirmed; when no pickup was
  confirmed (the donor brought it to the depot's door, or the platform fetched it outside
  a run) that receipt is also when the food **left the donor**. A receipt refused at the
  door moves nothing.

- A claim its beneficiary collected at the donor's itself (self-collection) **left the
  donor and reached the beneficiary** at one moment: when that hand-over was recorded
  and passed the check (event ``self_collected`` on the claim, services/collection.py;
  the claim is then ``delivered``). A refused collection moves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from ...models import Event, Run, StockReceipt, Stop, StopKind, StopStatus
from ..collection import SELF_COLLECTED

CHUNK = 900  # ids per IN (...): under SQLite's bound-parameter limit


def _received():
    """``(claim_id, at)`` of each platform's claim accepted at its depot's door."""
    return select(
        StockReceipt.claim_id.label("claim_id"), StockReceipt.checked_at.label("at")
    ).where(StockReceipt.claim_id.is_not(None), StockReceipt.accepted.is_(True))


def _self_collected():
    """``(claim_id, at)`` of each claim its beneficiary collected at the donor's."""
    return select(Event.subject_id.label("claim_id"), Event.at.label("at")).where(
        Event.subject_type == "claim", Event.action == SELF_COLLECTED
    )


def picked_up_at():
    """Subquery ``(claim_id, at)``: when each claim's food left its donor (its first
    confirmed pickup, else its receipt at a depot: a pickup always comes before; or its
    collection by its beneficiary)."""
    stops = select(Stop.claim_id.label("claim_id"), Stop.confirmed_at.label("at")).where(
        Stop.claim_id.is_not(None),
        Stop.kind == StopKind.PICKUP,
        Stop.leg.in_((0, 1)),
        Stop.status == StopStatus.DONE,
    )
    moved = union_all(stops, _received(), _self_collected()).subquery("pickups")
    return (
        select(moved.c.claim_id.label("claim_id"), func.min(moved.c.at).label("at"))
        .group_by(moved.c.claim_id)
        .subquery("picked_up")
    )


def delivered_at():
    """Subquery ``(claim_id, at)``: when each claim's food reached its beneficiary (its
    last leg's drop-off confirmed, or, for a platform's claim, its receipt at the depot;
    or its collection by its beneficiary)."""
    stops = select(Stop.claim_id.label("claim_id"), Stop.confirmed_at.label("at")).where(
        Stop.claim_id.is_not(None),
        Stop.kind == StopKind.DROPOFF,
        Stop.leg.in_((0, 2)),
        Stop.status == StopStatus.DONE,
    )
    ends = union_all(stops, _received(), _self_collected()).subquery("dropoffs")
    return (
        select(ends.c.claim_id.label("claim_id"), func.max(ends.c.at).label("at"))
        .group_by(ends.c.claim_id)
        .subquery("delivered")
    )


@dataclass
class Moments:
    """What happened to one claim, read from its stops and events."""

    picked_up_at: datetime | None = None
    delivered_at: datetime | None = None
    booked_at: datetime | None = None
    added_km: float = 0.0  # by its latest booking (0 when its beneficiary collected it)
    carriers: set[int] = field(default_factory=set)  # platforms whose runs carried it


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def moments(session: Session, claim_ids: Iterable[int]) -> dict[int, Moments]:
    """``Moments`` of each claim, in a few queries whatever their number (the depot
    receipts and the collections by the beneficiary count as in :func:`picked_up_at`
    and :func:`delivered_at`)."""
    ids = sorted(set(claim_ids))
    out = {cid: Moments() for cid in ids}
    for part in _chunks(ids):
        stops = session.execute(
            select(
                Stop.claim_id, Stop.kind, Stop.leg, Stop.status, Stop.confirmed_at, Run.platform_id
            )
            .join(Run, Run.id == Stop.run_id)
            .where(Stop.claim_id.in_(part))
        ).all()
        for claim_id, kind, leg, status, at, platform_id in stops:
            m = out[claim_id]
            m.carriers.add(platform_id)
            if status != StopStatus.DONE or at is None:
                continue
            if kind == StopKind.PICKUP and leg in (0, 1):
                m.picked_up_at = at if m.picked_up_at is None else min(m.picked_up_at, at)
            elif kind == StopKind.DROPOFF and leg in (0, 2):
                m.delivered_at = at if m.delivered_at is None else max(m.delivered_at, at)
        received = session.execute(_received().where(StockReceipt.claim_id.in_(part))).all()
        fetched = session.execute(_self_collected().where(Event.subject_id.in_(part))).all()
        for claim_id, at in received + fetched:
            m = out[claim_id]
            m.picked_up_at = at if m.picked_up_at is None else min(m.picked_up_at, at)
            m.delivered_at = at if m.delivered_at is None else max(m.delivered_at, at)
        booked = session.execute(
            select(Event.subject_id, Event.at, Event.after)
            .where(
                Event.subject_type == "claim",
                Event.action == "booked",
                Event.subject_id.in_(part),
            )
            .order_by(Event.id)
        ).all()
        for claim_id, at, after in booked:
            m = out[claim_id]
            if m.booked_at is None:
                m.booked_at = at
            m.added_km = float((after or {}).get("added_km") or 0.0)
        for claim_id, _at in fetched:  # its booking, if any, was undone: no run carried it
            out[claim_id].added_km = 0.0
    return out


def units_of(lot_units: int | None, lot_grams: int, claim_grams: int) -> int | None:
    """A claim's share of the lot's units, rounded to the nearest whole unit."""
    if lot_units is None or lot_grams <= 0:
        return None
    return round(lot_units * claim_grams / lot_grams)
