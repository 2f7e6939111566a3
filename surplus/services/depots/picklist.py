"""A run's pick list: what the depot team takes off the shelves before the van leaves.

Every pickup stop of the run at one of its platform's depots (a claim on a lot offered
from that depot's stock, ``Lot.stock_item_id``), grouped by the zone the stock item is
in, first expired first out within a zone (as ``access.depot_stock`` orders stock), and
for each line the stop the food goes to on this run (the claim's drop-off, or the hub's
on a relay's first leg).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import access
from ...models import (
    Claim,
    Depot,
    DepotZone,
    Lot,
    Run,
    StockItem,
    Stop,
    StopKind,
    StopStatus,
    User,
)
from ..reports.ledger import units_of
from ..runs import timetable


@dataclass(frozen=True)
class PickLine:
    """One claim's food to take from one stock item, and where it goes on the run."""

    item_id: int
    product: str
    lot_number: str
    date_kind: str | None
    best_date: date | None
    expires_at: datetime | None
    grams: int
    units: int | None
    claim_id: int
    pickup_stop_id: int
    picked: bool  # the pickup is confirmed: already on the van
    beneficiary: str
    to_position: int | None  # 1-based, as on the run page and the driver's sheet
    to_eta: datetime | None

    @property
    def kg(self) -> float:
        return self.grams / 1000


@dataclass
class ZonePicks:
    zone: DepotZone
    lines: list[PickLine] = field(default_factory=list)

    @property
    def kg(self) -> float:
        return sum(line.grams for line in self.lines) / 1000

    @property
    def units(self) -> int | None:
        counted = [line.units for line in self.lines if line.units is not None]
        return sum(counted) if counted else None


def _fefo(line: PickLine) -> tuple:
    return (line.expires_at is None, line.expires_at or datetime.max, line.item_id, line.claim_id)


def _rows(session: Session, run: Run):
    """(pickup stop, claim, lot, item) of the run's pickups from its platform's stock."""
    return session.execute(
        select(Stop, Claim, Lot, StockItem)
        .join(Claim, Claim.id == Stop.claim_id)
        .join(Lot, Lot.id == Claim.lot_id)
        .join(StockItem, StockItem.id == Lot.stock_item_id)
        .join(Depot, Depot.id == StockItem.depot_id)
        .where(
            Stop.run_id == run.id,
            Stop.kind == StopKind.PICKUP,
            Stop.status != StopStatus.REJECTED,
            Depot.platform_id == run.platform_id,
        )
        .order_by(Stop.position)
    ).all()


def has_picks(session: Session, run: Run) -> bool:
    """Whether the run takes anything from its platform's depot stock."""
    return bool(_rows(session, run))


def picklist(session: Session, actor: User, run: Run) -> list[ZonePicks]:
    """The run's pick list, zone by zone (zones in their depot's order), lines first
    expired first out. Only the run's platform's members (its depot team) read it: for
    anyone else the depot is not found (404)."""
    access.require(
        actor, access.HANDLE, run.depot, str(_l("Only the depot's team reads its pick lists."))
    )
    rows = _rows(session, run)
    if not rows:
        return []
    table = timetable(run)
    position = {stop.id: (i + 1, eta) for i, (stop, eta, _load) in enumerate(table.rows)}
    drops = {
        s.claim_id: s for s in run.stops if s.kind == StopKind.DROPOFF and s.claim_id is not None
    }
    zones: dict[int, ZonePicks] = {}
    for stop, claim, lot, item in rows:
        drop = drops.get(claim.id)
        to_position, to_eta = position.get(drop.id, (None, None)) if drop else (None, None)
        line = PickLine(
            item_id=item.id,
            product=item.product,
            lot_number=item.lot_number or lot.lot_number,
            date_kind=item.date_kind.value if item.date_kind else None,
            best_date=item.best_date,
            expires_at=item.expires_at,
            grams=claim.grams,
            units=units_of(lot.units, lot.weight_g, claim.grams),
            claim_id=claim.id,
            pickup_stop_id=stop.id,
            picked=stop.status == StopStatus.DONE,
            beneficiary=claim.beneficiary.name,
            to_position=to_position,
            to_eta=to_eta,
        )
        zones.setdefault(item.zone_id, ZonePicks(item.zone)).lines.append(line)
    for picks in zones.values():
        picks.lines.sort(key=_fefo)
    return sorted(zones.values(), key=lambda z: (z.zone.depot_id, z.zone.id))
