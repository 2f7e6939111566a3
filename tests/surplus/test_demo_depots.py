"""The demo's depots, on SQLite and PostgreSQL: every depot has zones, the Libramont hub's
cold room holds producers' surplus received through its own claims, the Charleroi food
bank holds FSE+ stock from its supplier, part of it offered, claimed and booked on a
weekly round whose pick list shows it; kilograms are conserved throughout."""

import pytest
from sqlalchemy import func, select

from surplus import demo
from surplus.demo_depots import FOOD_BANK, FSE_SUPPLIER, HUB
from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Depot,
    DepotZone,
    Lot,
    MovementKind,
    Organisation,
    ReceiptSource,
    Role,
    StockItem,
    StockMovement,
    StockReceipt,
    Stop,
    StorageClass,
    User,
)
from surplus.services.depots.picklist import picklist


@pytest.fixture
def seeded(seeded_app):
    """The demo region as ``demo.seed`` leaves it (a copy of the run's seeded region)."""


def _depot_of(name):
    org = db.session.scalar(select(Organisation).where(Organisation.name == name))
    return db.session.scalar(select(Depot).where(Depot.platform_id == org.id))


def _items(depot):
    return db.session.scalars(
        select(StockItem).where(StockItem.depot_id == depot.id).order_by(StockItem.id)
    ).all()


def test_every_demo_depot_has_zones_and_a_cold_room_where_it_has_one(seeded):
    for depot in db.session.scalars(select(Depot)):
        storages = set(
            db.session.scalars(select(DepotZone.storage).where(DepotZone.depot_id == depot.id))
        )
        assert StorageClass.AMBIENT in storages, depot.name
        assert (StorageClass.CHILLED in storages) == depot.cold_room, depot.name
    hub = _depot_of(HUB)
    zones = {
        z.storage: z.capacity_kg
        for z in db.session.scalars(select(DepotZone).where(DepotZone.depot_id == hub.id))
    }
    assert zones == {StorageClass.CHILLED: 1500, StorageClass.AMBIENT: 3000}


def test_the_hub_s_cold_room_holds_producers_surplus_from_its_own_claims(seeded):
    hub = _depot_of(HUB)
    cold = [i for i in _items(hub) if i.zone.storage == StorageClass.CHILLED]
    assert len(cold) >= 3
    for item in cold:
        receipt = item.receipt
        assert receipt.source == ReceiptSource.CLAIM and receipt.accepted
        assert receipt.temperature_c is not None and receipt.temperature_c <= 4
        claim = receipt.claim
        assert claim.depot_id == hub.id and claim.status == ClaimStatus.DELIVERED
        assert claim.lot.donor.kind.value == "producer"
        assert item.grams == claim.grams  # what was claimed is what is in the room
    assert len({item.expires_at.date() for item in cold}) >= 3  # a few days of dates


def test_the_food_bank_holds_fse_stock_part_of_it_offered_and_booked(seeded):
    bank = _depot_of(FOOD_BANK)
    items = [i for i in _items(bank) if i.receipt is not None]
    assert len(items) >= 3 and all(i.fse_plus and i.lot_number for i in items)
    assert {i.receipt.supplier for i in items} == {FSE_SUPPLIER}
    assert all(i.best_date and i.zone.storage == StorageClass.AMBIENT for i in items)
    offered = db.session.scalars(select(Lot).where(Lot.stock_item_id.in_([i.id for i in items])))
    offered = list(offered)
    assert offered and all(lot.fse_plus and lot.donor_id == bank.platform_id for lot in offered)
    claims = db.session.scalars(select(Claim).where(Claim.lot_id.in_([lot.id for lot in offered])))
    claims = list(claims)
    assert claims and all(c.beneficiary.name.startswith("CPAS") for c in claims)
    stops = db.session.scalars(select(Stop).where(Stop.claim_id.in_([c.id for c in claims])))
    runs = {stop.run for stop in stops}
    assert all(c.status == ClaimStatus.ACTIVE for c in claims)
    assert runs and all(r.template_id and r.platform_id == bank.platform_id for r in runs)
    coordinator = db.session.scalar(
        select(User).where(User.organisation_id == bank.platform_id, User.role == Role.COORDINATOR)
    )
    run = sorted(runs, key=lambda r: r.start_at)[0]
    zones = picklist(db.session, coordinator, run)
    assert zones and all(line.item_id in {i.id for i in items} for z in zones for line in z.lines)


def test_kilograms_are_conserved_in_the_demo_depots(seeded):
    for item in db.session.scalars(select(StockItem)):
        moved = db.session.scalar(
            select(func.sum(StockMovement.delta_g)).where(StockMovement.item_id == item.id)
        )
        assert moved == item.grams, item.product
    for item in db.session.scalars(select(StockItem).where(StockItem.receipt_id.is_not(None))):
        offered = -(
            db.session.scalar(
                select(func.coalesce(func.sum(StockMovement.delta_g), 0)).where(
                    StockMovement.item_id == item.id, StockMovement.kind == MovementKind.OFFERED
                )
            )
        )
        lots = db.session.scalar(
            select(func.coalesce(func.sum(Lot.weight_g), 0)).where(Lot.stock_item_id == item.id)
        )
        assert item.receipt.grams == item.grams + offered and offered == lots
    for lot in db.session.scalars(select(Lot).where(Lot.stock_item_id.is_not(None))):
        live = db.session.scalar(
            select(func.coalesce(func.sum(Claim.grams), 0)).where(
                Claim.lot_id == lot.id, Claim.status.not_in([ClaimStatus.CANCELLED])
            )
        )
        assert live + lot.remaining_g == lot.weight_g
    assert db.session.scalar(select(func.count()).select_from(StockReceipt)) >= 7


def test_seeding_the_depots_fills_the_hub_and_the_fse_stock(app):
    from surplus.demo_depots import seed_depots

    seeder = demo.Seeder(db.session, 1)
    seeder.seed_platforms()
    seeder.seed_beneficiaries()
    seeder.seed_donors()
    seeder.seed_runs()
    db.session.flush()
    counts = seed_depots(db.session)
    assert counts["hub items"] >= 4 and counts["fse items"] == 4 and counts["booked"] >= 3
