"""A platform's depot figures, for its coordinators' report (issue 16).

Definitions (the report page repeats them):

- **In**: Σ grams of the receipts accepted at the platform's depots (``StockReceipt``,
  any source), by the Brussels month of the check at the door.
- **Out**: Σ grams offered to the network as lots (``StockMovement`` ``offered``) minus
  the grams that came back from those lots (``returned``: withdrawn, unclaimed), by month
  of the movement; a month may be negative when more came back than left.
- **Lost**: Σ grams adjusted down (damaged, unfit, destroyed, expired) plus the negative
  differences of inventory counts; a count that found more is not a gain here.
- **On hand**: grams held now in each zone (items with food left).
- **Days of cover**: on hand ÷ the average daily out over the last 28 days (out as
  above, today included); None when nothing went out.

Splits and merges move food between items of one depot: they are neither in nor out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Depot, MovementKind, StockMovement, StockReceipt
from ..depots.present import zones_of
from ..lot_dates import local_today
from .period import Period, month_key

COVER_DAYS = 28


def kg(grams: int) -> float:
    return round(grams / 1000, 3)


@dataclass
class MonthFlow:
    key: str  # YYYY-MM
    in_g: int = 0
    out_g: int = 0
    lost_g: int = 0

    kg_in = property(lambda self: kg(self.in_g))
    kg_out = property(lambda self: kg(self.out_g))
    kg_lost = property(lambda self: kg(self.lost_g))


@dataclass
class ZoneStock:
    depot: str
    zone: str
    storage: str
    capacity_kg: float
    held_kg: float
    used: float | None  # share of the capacity in use


@dataclass
class DepotCover:
    depot_id: int
    depot: str
    on_hand_g: int
    out_28d_g: int

    kg_on_hand = property(lambda self: kg(self.on_hand_g))

    @property
    def daily_out_kg(self) -> float:
        return round(self.out_28d_g / 1000 / COVER_DAYS, 3)

    @property
    def days_of_cover(self) -> float | None:
        if self.out_28d_g <= 0:
            return None
        return round(self.on_hand_g / (self.out_28d_g / COVER_DAYS), 1)


@dataclass
class DepotFigures:
    months: list[MonthFlow]
    zones: list[ZoneStock]
    cover: list[DepotCover] = field(default_factory=list)

    @property
    def total(self) -> MonthFlow:
        return MonthFlow(
            "",
            sum(m.in_g for m in self.months),
            sum(m.out_g for m in self.months),
            sum(m.lost_g for m in self.months),
        )


def _flow(kind: MovementKind, delta: int) -> tuple[int, int]:
    """``(out, lost)`` grams of one movement."""
    if kind == MovementKind.OFFERED:
        return -delta, 0
    if kind == MovementKind.RETURNED:
        return -delta, 0
    if kind == MovementKind.ADJUSTED:
        return 0, -delta
    if kind == MovementKind.COUNTED and delta < 0:
        return 0, -delta
    return 0, 0


KINDS = (MovementKind.OFFERED, MovementKind.RETURNED, MovementKind.ADJUSTED, MovementKind.COUNTED)


def _movements(session: Session, depot_ids: list[int], start: datetime, end: datetime):
    return session.execute(
        select(
            StockMovement.depot_id, StockMovement.kind, StockMovement.delta_g, StockMovement.at
        ).where(
            StockMovement.depot_id.in_(depot_ids),
            StockMovement.kind.in_(KINDS),
            StockMovement.at >= start,
            StockMovement.at < end,
        )
    ).all()


def depot_figures(
    session: Session, platform_id: int, period: Period, today: date | None = None
) -> DepotFigures | None:
    """The depot figures of ``platform_id`` for ``period`` (see the module); None when
    none of its depots ever received anything (nothing to report: depots that only
    start runs do not fill the report with empty tables)."""
    depots = session.scalars(
        select(Depot).where(Depot.platform_id == platform_id).order_by(Depot.name, Depot.id)
    ).all()
    ids = [d.id for d in depots]
    if (
        not ids
        or session.scalar(select(StockReceipt.id).where(StockReceipt.depot_id.in_(ids)).limit(1))
        is None
    ):
        return None
    months = {
        first.strftime("%Y-%m"): MonthFlow(first.strftime("%Y-%m")) for first in period.months()
    }
    received = session.execute(
        select(StockReceipt.grams, StockReceipt.checked_at).where(
            StockReceipt.depot_id.in_(ids),
            StockReceipt.accepted.is_(True),
            StockReceipt.checked_at >= period.start_utc,
            StockReceipt.checked_at < period.end_utc,
        )
    ).all()
    for grams, at in received:
        months[month_key(at)].in_g += grams
    for _depot, kind, delta, at in _movements(session, ids, period.start_utc, period.end_utc):
        out, lost = _flow(kind, delta)
        flow = months[month_key(at)]
        flow.out_g += out
        flow.lost_g += lost
    zones: list[ZoneStock] = []
    held: dict[int, int] = {}
    for depot in depots:
        for z in zones_of(session, depot):
            zones.append(
                ZoneStock(
                    depot.name,
                    z["name"],
                    z["storage"].value,
                    z["capacity_kg"],
                    z["held_kg"],
                    round(z["used"], 4) if z["used"] is not None else None,
                )
            )
            held[depot.id] = held.get(depot.id, 0) + round(z["held_kg"] * 1000)
    today = today or local_today()
    window = Period(today - timedelta(days=COVER_DAYS - 1), today)
    out28: dict[int, int] = {}
    for depot_id, kind, delta, _at in _movements(session, ids, window.start_utc, window.end_utc):
        out28[depot_id] = out28.get(depot_id, 0) + _flow(kind, delta)[0]
    cover = [DepotCover(d.id, d.name, held.get(d.id, 0), out28.get(d.id, 0)) for d in depots]
    return DepotFigures([months[k] for k in sorted(months)], zones, cover)
