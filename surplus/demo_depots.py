"""The demo's depots: zones everywhere, the Libramont hub's cold room holding a few days
of producers' surplus, and the Charleroi food bank's FSE+ stock feeding a weekly round.

Everything goes through the services a depot team would use: the hub's coordinator
claims producers' lots for the hub's depot (``claims.claim_lot``) and the team receives
them at 3 °C (``receipts.receive_claim``); the food bank receives FSE+ food from its
federal supplier (``receipts.receive_goods``), offers part of it to its network
(``stock.offer``), its CPAS claim it and the coordinator books the claims on one of its
weekly rounds (``booking.book``), whose pick list then shows what to take from the dry
store. Deterministic: fixed products, dates counted from today.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock
from .errors import DomainError
from .models import (
    Category,
    DateKind,
    Depot,
    DepotZone,
    Lot,
    Organisation,
    ReceiptSource,
    Role,
    Run,
    StorageClass,
    User,
)
from .services import booking, claims, waves
from .services.depots import receipts, stock
from .services.lot_dates import BRUSSELS, expires_at, local_today

HUB, FOOD_BANK = (
    "Coopérative Terroir & Partage — hub de Libramont",
    "Banque alimentaire de Charleroi",
)
FSE_SUPPLIER = "SPP IS — fournisseur FSE+"
DRY, COLD = "Réserve sèche", "Chambre froide"
# Capacities of the zones every demo depot gets (kg); the hub's are its own (below).
DRY_KG, COLD_KG = 2500.0, 800.0
HUB_DRY_KG, HUB_COLD_KG = 3000.0, 1500.0

# The hub's producers' surplus: (donor, title, category, storage, date kind, days, kg)
HUB_SURPLUS = [
    ("Fromagerie de l'Ardenne", "Fromage frais fermier", "dairy", "chilled", "use_by", 4, 35),
    (
        "Ferme du Bois de Recogne",
        "Yaourts fermiers aux fruits",
        "dairy",
        "chilled",
        "use_by",
        6,
        60,
    ),
    ("Fromagerie de l'Ardenne", "Beurre de ferme 250 g", "dairy", "chilled", "best_before", 12, 25),
    (
        "Ferme du Bois de Recogne",
        "Salades et jeunes pousses",
        "fruit_veg",
        "chilled",
        "use_by",
        3,
        20,
    ),
    (
        "Maraîchage des Deux Ourthes",
        "Pommes de terre de conservation",
        "fruit_veg",
        "ambient",
        "best_before",
        25,
        150,
    ),
]
# FSE+ delivery: (title, category, kg, units, lot number, best-before in days, kg offered)
FSE_DELIVERY = [
    ("FSE+ — Pâtes alimentaires 500 g", "dry_goods", 600, 1200, "FSE-PAT-2611", 240, 200),
    ("FSE+ — Conserves de thon 160 g", "dry_goods", 320, 2000, "FSE-THO-2609", 400, 80),
    ("FSE+ — Lait UHT demi-écrémé 1 L", "dairy", 900, 900, "FSE-LAI-2612", 90, 150),
    ("FSE+ — Huile de tournesol 1 L", "dry_goods", 300, 330, "FSE-HUI-2608", 300, 0),
]
# Who claims the food bank's offered stock: (beneficiary name, kg of each offered lot)
FSE_CLAIMANTS = [("CPAS de Charleroi", 0.5), ("CPAS de Châtelet", 0.25)]


def seed_depots(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Zones for every depot, the hub's cold room and the food bank's FSE+ stock.
    Returns counts (zones created, items received, lots offered, claims booked)."""
    now = now or clock.now()
    counts = {"zones": ensure_zones(session)}
    counts["hub items"] = _hub_cold_room(session, now)
    counts.update(_food_bank(session, now))
    return counts


def ensure_zones(session: Session) -> int:
    """Every depot without zones gets a dry store, and a cold room when it has one (the
    migration zoned the depots of its time; the demo creates its depots after it)."""
    zoned = set(session.scalars(select(DepotZone.depot_id).distinct()))
    created = 0
    for depot in session.scalars(select(Depot).order_by(Depot.id)):
        if depot.id in zoned:
            continue
        hub = depot.platform.name == HUB
        zones = [(DRY, StorageClass.AMBIENT, HUB_DRY_KG if hub else DRY_KG)]
        if depot.cold_room:
            zones.append((COLD, StorageClass.CHILLED, HUB_COLD_KG if hub else COLD_KG))
        for name, storage, capacity in zones:
            session.add(
                DepotZone(depot_id=depot.id, name=name, storage=storage, capacity_kg=capacity)
            )
            created += 1
    session.flush()
    return created


def _platform(session: Session, name: str) -> tuple[Organisation, Depot, User] | None:
    org = session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        return None
    depot = session.scalar(select(Depot).where(Depot.platform_id == org.id).order_by(Depot.id))
    coordinator = session.scalar(
        select(User)
        .where(User.organisation_id == org.id, User.role == Role.COORDINATOR)
        .order_by(User.id)
    )
    if depot is None or coordinator is None:
        return None
    return org, depot, coordinator


def _surplus_lot(
    session: Session, donor: Organisation, row: tuple, today: date, start: datetime, now: datetime
) -> Lot:
    _name, title, category, storage, date_kind, days, kg = row
    kind, cat, sto = DateKind(date_kind), Category(category), StorageClass(storage)
    best = today + timedelta(days=days)
    lot = Lot(
        donor=donor,
        title=title,
        category=cat,
        description="",
        weight_g=kg * 1000,
        remaining_g=kg * 1000,
        date_kind=kind,
        best_date=best,
        expires_at=expires_at(kind, best, cat, sto),
        storage=sto,
        allergens=["milk"] if cat == Category.DAIRY else [],
        divisible=True,
        min_part_g=0,
        pickup_address=donor.address,
        pickup_postcode=donor.postcode,
        pickup_locality=donor.locality,
        pickup_lat=donor.lat,
        pickup_lon=donor.lon,
        pickup_from=start,
        pickup_until=now + timedelta(hours=30),
        lot_number=f"{donor.name[:3].upper()}-{best:%y%m%d}",
    )
    session.add(lot)
    session.flush()
    waves.publish(session, lot, start, notify=False)
    return lot


def _hub_cold_room(session: Session, now: datetime) -> int:
    """Producers' lots claimed by the hub for its depot and received at its door: the
    chilled ones at 3 °C into the cold room, the potatoes into the dry store."""
    found = _platform(session, HUB)
    if found is None:
        return 0
    _hub, depot, coordinator = found
    today = local_today(now)
    received = 0
    for row in HUB_SURPLUS:
        donor = session.scalar(select(Organisation).where(Organisation.name == row[0]))
        if donor is None:
            continue
        try:
            with session.begin_nested():
                lot = _surplus_lot(session, donor, row, today, now - timedelta(hours=2), now)
                claim, _ = claims.claim_lot(
                    session, coordinator, lot.id, row[-1], depot_id=depot.id, now=now
                )
                temperature = 3.0 if lot.storage != StorageClass.AMBIENT else None
                got = receipts.receive_claim(
                    session, coordinator, depot, claim.id, {"temperature": temperature}
                )
                received += got.item is not None
        except DomainError:
            continue  # a rule said no (the demo data changed): leave it out
    return received


def _food_bank(session: Session, now: datetime) -> dict[str, int]:
    """The FSE+ delivery received from the federal supplier, part of it offered to the
    network, claimed by two CPAS and booked on one of the food bank's weekly rounds."""
    found = _platform(session, FOOD_BANK)
    if found is None:
        return {"fse items": 0, "offered": 0, "booked": 0}
    org, depot, coordinator = found
    today = local_today(now)
    offered: list[Lot] = []
    items = 0
    for title, category, kg, units, number, days, offer_kg in FSE_DELIVERY:
        got = receipts.receive_goods(
            session,
            coordinator,
            depot,
            {
                "source": ReceiptSource.OUTSIDE,
                "supplier": FSE_SUPPLIER,
                "title": title,
                "category": Category(category),
                "weight_kg": kg,
                "units": units,
                "lot_number": number,
                "date_kind": DateKind.BEST_BEFORE,
                "date": today + timedelta(days=days),
                "storage": StorageClass.AMBIENT,
                "fse_plus": True,
            },
        )
        if got.item is None:
            continue
        items += 1
        if offer_kg:
            offered.append(stock.offer(session, coordinator, got.item, {"kg": offer_kg}, now))
    return {
        "fse items": items,
        "offered": len(offered),
        "booked": _book(session, org, offered, now),
    }


def _round_runs(session: Session, org: Organisation, now: datetime) -> list[Run]:
    """The food bank's weekly rounds from tomorrow, soonest first."""
    tomorrow = datetime.combine(local_today(now) + timedelta(days=1), time(0), tzinfo=BRUSSELS)
    return list(
        session.scalars(
            select(Run)
            .where(
                Run.platform_id == org.id,
                Run.template_id.is_not(None),
                Run.start_at >= tomorrow.astimezone(UTC),
            )
            .order_by(Run.start_at, Run.id)
        )
    )


def _book(session: Session, org: Organisation, offered: list[Lot], now: datetime) -> int:
    coordinator = session.scalar(
        select(User).where(User.organisation_id == org.id, User.role == Role.COORDINATOR)
    )
    rounds = _round_runs(session, org, now)
    if coordinator is None or not rounds:
        return 0
    booked = 0
    for name, share in FSE_CLAIMANTS:
        cpas = session.scalar(select(Organisation).where(Organisation.name == name))
        if cpas is None:
            continue
        # The first round that can carry all of this CPAS's claims (its day, its hours).
        for run in rounds:
            try:
                with session.begin_nested():
                    for lot in offered:
                        claim, _ = claims.claim_lot(
                            session,
                            coordinator,
                            lot.id,
                            round(lot.weight_g / 1000 * share),
                            platform_id=org.id,
                            beneficiary=cpas,
                            now=now,
                        )
                        booking.book(session, coordinator, claim, run_id=run.id, now=now)
                booked += len(offered)
                break
            except DomainError:
                continue
    return booked
