"""The FSE+ register: what each beneficiary organisation received of FSE+ stock (EU food
aid, ``Lot.fse_plus``), the record a partner organisation keeps for the SPP Intégration
sociale.

One row per delivered claim of an FSE+ lot: the product (the lot's title), its lot
number, the claim's kilograms and its share of the lot's units, the day the organisation
received it, and the FSE+ approval number of the convention it came through. "Received"
is the delivery hand-over (``ledger.delivered_at``: the drop-off of the claim's last leg
confirmed, or its collection at the donor's by the organisation's own people,
services/collection.py), so only delivered claims appear; a claim still on its way does
not, and one refused at a hand-over never does.

Which claims a reader may list is ``access.fse_register_claims`` (a select of claims);
this module only reads them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from ...models import Claim, ClaimStatus, Convention, Lot, Organisation
from . import ledger
from .period import Period, local_day


@dataclass(frozen=True)
class Row:
    """One FSE+ product received by one organisation (one delivered claim)."""

    claim_id: int
    lot_id: int
    organisation_id: int
    organisation_name: str
    platform_id: int
    platform_name: str
    product: str
    lot_number: str
    grams: int
    units: int | None
    received_at: datetime  # the drop-off hand-over, UTC
    approval_number: str

    @property
    def kg(self) -> float:
        return round(self.grams / 1000, 3)

    @property
    def received_on(self) -> date:
        """The Brussels day of the hand-over."""
        return local_day(self.received_at)

    @property
    def month(self) -> date:
        """The first day of the month it was received in (Brussels)."""
        return self.received_on.replace(day=1)


@dataclass
class Total:
    """Kilograms and units summed over a group of rows. ``units`` is None when no row
    of the group counts units (a lot posted by weight only)."""

    key: object  # the product's title, or the month's first day
    grams: int = 0
    units: int | None = None
    deliveries: int = 0

    @property
    def kg(self) -> float:
        return round(self.grams / 1000, 3)

    def add(self, row: Row) -> None:
        self.grams += row.grams
        self.deliveries += 1
        if row.units is not None:
            self.units = (self.units or 0) + row.units


@dataclass
class Group:
    """One organisation's rows and their totals (the page groups by organisation)."""

    organisation_id: int
    organisation_name: str
    rows: list[Row]

    @property
    def kg(self) -> float:
        return round(sum(r.grams for r in self.rows) / 1000, 3)


def register_rows(session: Session, scope: Select, period: Period) -> list[Row]:
    """The FSE+ lots delivered within ``period`` (Brussels days, both included) among the
    claims of ``scope`` (a select of ``Claim``, from access.fse_register_claims), ordered
    by received day, then organisation."""
    delivered = ledger.delivered_at()
    beneficiary, platform = aliased(Organisation), aliased(Organisation)
    query = (
        select(
            Claim.id,
            Claim.lot_id,
            Claim.beneficiary_id,
            beneficiary.name,
            Claim.platform_id,
            platform.name,
            Lot.title,
            Lot.lot_number,
            Claim.grams,
            Lot.units,
            Lot.weight_g,
            delivered.c.at,
            Convention.fse_plus_approval_number,
        )
        .join(delivered, delivered.c.claim_id == Claim.id)
        .join(Lot, Lot.id == Claim.lot_id)
        .join(Convention, Convention.id == Claim.convention_id)
        .join(beneficiary, beneficiary.id == Claim.beneficiary_id)
        .join(platform, platform.id == Claim.platform_id)
        .where(
            Claim.id.in_(scope.with_only_columns(Claim.id).order_by(None)),
            Lot.fse_plus.is_(True),
            Claim.status == ClaimStatus.DELIVERED,
            delivered.c.at >= period.start_utc,
            delivered.c.at < period.end_utc,
        )
    )
    rows = [
        Row(
            claim_id=claim_id,
            lot_id=lot_id,
            organisation_id=org_id,
            organisation_name=org_name,
            platform_id=platform_id,
            platform_name=platform_name,
            product=title,
            lot_number=lot_number or "",
            grams=grams,
            units=ledger.units_of(lot_units, lot_grams, grams),
            received_at=at,
            approval_number=approval or "",
        )
        for (
            claim_id,
            lot_id,
            org_id,
            org_name,
            platform_id,
            platform_name,
            title,
            lot_number,
            grams,
            lot_units,
            lot_grams,
            at,
            approval,
        ) in session.execute(query)
    ]
    rows.sort(key=lambda r: (r.received_on, r.organisation_name, r.organisation_id, r.received_at))
    return rows


def totals_by_product(rows: Iterable[Row]) -> list[Total]:
    """Per product (the lot's title), in alphabetical order."""
    totals: dict[str, Total] = defaultdict(lambda: Total(""))
    for row in rows:
        total = totals[row.product]
        total.key = row.product
        total.add(row)
    return [totals[k] for k in sorted(totals, key=str.casefold)]


def totals_by_month(rows: Iterable[Row]) -> list[Total]:
    """Per month of receipt (Brussels), oldest first; months without a row are left out."""
    totals: dict[date, Total] = {}
    for row in rows:
        totals.setdefault(row.month, Total(row.month)).add(row)
    return [totals[k] for k in sorted(totals)]


def by_organisation(rows: Iterable[Row]) -> list[Group]:
    """The rows of each organisation (by name), each group in received order."""
    groups: dict[int, Group] = {}
    for row in rows:
        group = groups.setdefault(
            row.organisation_id, Group(row.organisation_id, row.organisation_name, [])
        )
        group.rows.append(row)
    return sorted(
        groups.values(), key=lambda g: (g.organisation_name.casefold(), g.organisation_id)
    )


# -- depots: FSE+ stock received and on hand (issue 16) ---------------------------------
#
# A platform's depots keep FSE+ stock between its receipt (from the federal supplier, at
# the door) and its distribution: the register lists the receipts accepted within the
# period (any source; the supplier, or the donor at the door) and what is on hand now,
# per depot. Distribution is the rows above: the delivered claims of FSE+ lots, among
# them the lots a platform offered from its FSE+ stock (they keep the flag). Which depots
# a reader sees is ``access.fse_register_depots`` (a select of depot ids).


@dataclass(frozen=True)
class StockIn:
    """FSE+ food accepted at a depot's door."""

    receipt_id: int
    depot_id: int
    depot_name: str
    supplier: str  # the supplier outside Maillon, or the donor's name
    product: str
    lot_number: str
    grams: int
    units: int | None
    best_date: date | None
    received_at: datetime

    @property
    def kg(self) -> float:
        return round(self.grams / 1000, 3)

    @property
    def received_on(self) -> date:
        return local_day(self.received_at)


@dataclass(frozen=True)
class OnHand:
    """FSE+ food in a depot now (a stock item with food left)."""

    item_id: int
    depot_id: int
    depot_name: str
    zone: str
    product: str
    lot_number: str
    grams: int
    units: int | None
    best_date: date | None

    @property
    def kg(self) -> float:
        return round(self.grams / 1000, 3)


def stock_received(session: Session, depots: Select, period: Period) -> list[StockIn]:
    """FSE+ receipts accepted at the ``depots`` (a select of depot ids) within ``period``,
    by day then depot."""
    from ...models import Depot, StockReceipt

    rows = session.execute(
        select(StockReceipt, Depot.name, Organisation.name)
        .join(Depot, Depot.id == StockReceipt.depot_id)
        .outerjoin(Organisation, Organisation.id == StockReceipt.donor_id)
        .where(
            StockReceipt.depot_id.in_(depots),
            StockReceipt.fse_plus.is_(True),
            StockReceipt.accepted.is_(True),
            StockReceipt.checked_at >= period.start_utc,
            StockReceipt.checked_at < period.end_utc,
        )
        .order_by(StockReceipt.checked_at, StockReceipt.id)
    ).all()
    return [
        StockIn(
            r.id,
            r.depot_id,
            depot_name,
            r.supplier or donor_name or "",
            r.product,
            r.lot_number or "",
            r.grams,
            r.units,
            r.best_date,
            r.checked_at,
        )
        for r, depot_name, donor_name in rows
    ]


def stock_on_hand(session: Session, depots: Select) -> list[OnHand]:
    """FSE+ stock items with food left in the ``depots``, per depot, first expired first."""
    from ...models import Depot, DepotZone, StockItem

    rows = session.execute(
        select(StockItem, Depot.name, DepotZone.name)
        .join(Depot, Depot.id == StockItem.depot_id)
        .join(DepotZone, DepotZone.id == StockItem.zone_id)
        .where(
            StockItem.depot_id.in_(depots),
            StockItem.fse_plus.is_(True),
            StockItem.grams > 0,
        )
        .order_by(
            Depot.name,
            StockItem.depot_id,
            StockItem.expires_at.is_(None),
            StockItem.expires_at,
            StockItem.id,
        )
    ).all()
    return [
        OnHand(
            i.id,
            i.depot_id,
            depot_name,
            zone,
            i.product,
            i.lot_number or "",
            i.grams,
            i.units,
            i.best_date,
        )
        for i, depot_name, zone in rows
    ]
