"""Depot stock through its services, on SQLite and PostgreSQL: receipts (from outside, at
the door, from the platform's own claim), the check at the door, the zone food goes to,
split, merge, adjustments, counts, offers to the network and their return, and the
platform's claim for its depot from the claim to the drop-off that makes it stock."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from surplus.errors import Conflict, Forbidden, Invalid, NotFound
from surplus.extensions import db
from surplus.models import (
    AdjustmentReason,
    ClaimStatus,
    Depot,
    DepotZone,
    Event,
    Lot,
    LotOffer,
    MovementKind,
    Role,
    StockItem,
    StockMovement,
    StockReceipt,
    StockSource,
    StopKind,
    StopStatus,
    StorageClass,
)
from surplus.schemas.base import load
from surplus.schemas.depot import GoodsReceiptSchema
from surplus.services import booking, claims, lots, stops
from surplus.services.depots import receipts, stock
from surplus.services.lot_dates import local_today
from tests import factories


@pytest.fixture
def w(make_fleet):
    w = factories.world()
    w.depot, w.van, w.template = make_fleet(w)
    w.team = factories.user(w.platform, Role.MEMBER)  # a depot hand, not a coordinator
    db.session.commit()
    return w


def goods(**over):
    """A receipt's values as the API loads them: FSE+ pasta from the federal supplier."""
    body = {
        "source": "outside",
        "supplier": "SPP Intégration sociale (FSE+)",
        "title": "Pâtes",
        "category": "dry_goods",
        "weight_kg": 100,
        "units": 200,
        "lot_number": "P-2026",
        "date_kind": "best_before",
        "date": (local_today() + timedelta(days=120)).isoformat(),
        "storage": "ambient",
        "fse_plus": True,
        **over,
    }
    return load(GoodsReceiptSchema(), {k: v for k, v in body.items() if v is not None})


def chilled(**over):
    values = {
        "title": "Yaourts nature",
        "category": "dairy",
        "weight_kg": 60,
        "units": 240,
        "date_kind": "use_by",
        "date": (local_today() + timedelta(days=5)).isoformat(),
        "storage": "chilled",
        "fse_plus": False,
        "temperature": 3,
    }
    return goods(**(values | over))


def receive(w, values=None, depot=None):
    got = receipts.receive_goods(db.session, w.team, depot or w.depot, values or goods())
    db.session.commit()
    return got


def rows(model):
    return db.session.scalar(select(func.count()).select_from(model))


def movements(item):
    return [
        (m.kind, m.delta_g)
        for m in db.session.scalars(
            select(StockMovement).where(StockMovement.item_id == item.id).order_by(StockMovement.id)
        )
    ]


def grams_of(item_id):
    db.session.expire_all()
    return db.session.scalar(select(StockItem.grams).where(StockItem.id == item_id))


# -- receipts ------------------------------------------------------------------------------


def test_a_delivery_from_outside_becomes_stock_with_its_receipt(w):
    got = receive(w)
    receipt, item = got.receipt, got.item
    assert receipt.accepted and got.reason is None and receipt.supplier.startswith("SPP")
    assert receipt.checked_by_id == w.team.id and receipt.donor_id is None
    assert item is not None and item.grams == 100_000 and item.units == 200
    assert item.zone.storage == StorageClass.AMBIENT and item.fse_plus
    assert [(o.receipt.id, o.grams) for o in stock.origins(db.session, item)] == [
        (receipt.id, 100_000)
    ]
    assert movements(item) == [(MovementKind.RECEIVED, 100_000)]


def test_a_delivery_from_outside_names_its_supplier(app):
    with pytest.raises(Invalid) as refused:
        goods(supplier="")
    assert "supplier" in refused.value.fields


def test_food_at_the_door_comes_from_a_verified_donor(w):
    with pytest.raises(Invalid) as refused:
        goods(source="door", supplier=None)
    assert "donor_id" in refused.value.fields
    newcomer = factories.org("producer", verified=False)
    db.session.commit()
    for who in (w.cpas.id, newcomer.id, 2**40):
        with pytest.raises(Invalid) as refused:
            receive(w, goods(source="door", donor_id=who, supplier=None))
        assert "donor_id" in refused.value.fields
        db.session.rollback()
    assert rows(StockReceipt) == rows(StockItem) == 0

    got = receive(w, goods(source="door", donor_id=w.donor.id, supplier="ignored"))
    assert got.receipt.accepted and got.receipt.donor_id == w.donor.id
    assert got.receipt.supplier == "" and got.item.grams == 100_000


def test_chilled_food_without_a_reading_is_refused_and_nothing_is_recorded(w):
    events = rows(Event)
    with pytest.raises(Invalid) as refused:
        receive(w, chilled(temperature=None))
    assert refused.value.status == 400 and "temperature" in refused.value.fields
    db.session.rollback()
    assert rows(StockReceipt) == rows(StockItem) == rows(StockMovement) == 0
    assert rows(Event) == events


def test_food_past_its_use_by_is_refused_and_recorded(w):
    got = receive(w, chilled(date=(local_today() - timedelta(days=1)).isoformat()))
    assert got.reason == "use_by_passed" and got.item is None
    assert not got.receipt.accepted and got.receipt.refusal_reason
    assert got.receipt.zone_id is None
    assert rows(StockReceipt) == 1 and rows(StockItem) == 0


@pytest.mark.parametrize("flag", ["packaging_ok", "labels_ok"])
def test_damaged_packaging_or_missing_labels_are_refused_at_the_door(w, flag):
    got = receive(w, goods(**{flag: False}))
    assert got.reason == receipts.DOOR == "door" and got.item is None
    assert not got.receipt.accepted and not getattr(got.receipt, flag)
    assert rows(StockItem) == 0


def test_too_warm_chilled_food_is_refused(w):
    got = receive(w, chilled(temperature=9))
    assert got.reason == "too_warm" and got.limit_c == 7.0 and got.item is None


# -- zones ---------------------------------------------------------------------------------


def test_food_goes_to_the_zone_of_its_storage_with_most_room_left(w):
    big = db.session.scalar(
        select(DepotZone).where(
            DepotZone.depot_id == w.depot.id, DepotZone.storage == StorageClass.CHILLED
        )
    )
    small = DepotZone(
        depot_id=w.depot.id, name="Frigo 2", storage=StorageClass.CHILLED, capacity_kg=300
    )
    db.session.add(small)
    db.session.commit()
    assert big.capacity_kg == 500
    # 500 kg free against 300: the cold room; then 440 against 300; then 190 against 300.
    chosen = [receive(w, chilled(weight_kg=kg)).item.zone_id for kg in (60, 250, 40)]
    assert chosen == [big.id, big.id, small.id]
    assert receipts.zone_load(db.session, [big.id, small.id]) == {big.id: 310_000, small.id: 40_000}


def test_a_depot_without_a_zone_for_the_storage_class_says_so(w):
    bare = Depot(
        platform_id=w.platform.id, name="Annexe", postcode="6800", locality="Libramont-Chevigny"
    )
    bare.lat, bare.lon = w.platform.lat, w.platform.lon
    db.session.add(bare)
    db.session.flush()
    factories.zones(bare, frozen_kg=None)
    db.session.commit()
    frozen = goods(title="Légumes surgelés", category="frozen", storage="frozen", temperature=-20)
    with pytest.raises(Invalid) as refused:
        receive(w, frozen, depot=bare)
    assert "zone_id" in refused.value.fields
    db.session.rollback()
    assert rows(StockReceipt) == 0


def test_a_chosen_zone_must_be_of_the_depot_and_the_storage(w):
    zones = {z.storage: z for z in db.session.scalars(select(DepotZone))}
    with pytest.raises(Invalid):
        receive(w, goods(zone_id=zones[StorageClass.CHILLED].id))
    db.session.rollback()
    other = Depot(platform_id=w.other_platform.id, name="Namur", postcode="5000", locality="Namur")
    other.lat, other.lon = w.other_platform.lat, w.other_platform.lon
    db.session.add(other)
    db.session.flush()
    theirs = factories.zones(other)[0]
    db.session.commit()
    with pytest.raises(Invalid):
        receive(w, goods(zone_id=theirs.id))
    db.session.rollback()
    assert rows(StockReceipt) == 0
    got = receive(w, goods(zone_id=zones[StorageClass.AMBIENT].id))
    assert got.item.zone_id == zones[StorageClass.AMBIENT].id


def test_only_the_platform_s_people_receive_food(w):
    for outsider in (w.other_coordinator, w.cpas_user, w.donor_user):
        with pytest.raises(NotFound):
            receipts.receive_goods(db.session, outsider, w.depot, goods())
    assert rows(StockReceipt) == 0


# -- split -----------------------------------------------------------------------------------


def test_split_shares_units_and_keeps_the_sources(w):
    got = receive(w)
    item = got.item
    parts = stock.split(db.session, w.team, item, [20, 30])
    db.session.commit()
    assert [(p.grams, p.units) for p in parts] == [(20_000, 40), (30_000, 60)]
    assert (item.grams, item.units) == (50_000, 100)
    for part in parts:
        sources = db.session.scalars(select(StockSource).where(StockSource.item_id == part.id))
        assert [(s.source_item_id, s.grams) for s in sources] == [(item.id, part.grams)]
        assert [o.receipt.id for o in stock.origins(db.session, part)] == [got.receipt.id]
        assert movements(part) == [(MovementKind.SPLIT_IN, part.grams)]
        assert (part.product, part.zone_id, part.fse_plus) == (
            item.product,
            item.zone_id,
            item.fse_plus,
        )
    assert movements(item) == [
        (MovementKind.RECEIVED, 100_000),
        (MovementKind.SPLIT_OUT, -20_000),
        (MovementKind.SPLIT_OUT, -30_000),
    ]


def test_parts_adding_up_to_more_than_is_left_are_a_conflict_that_changes_nothing(w):
    item = receive(w).item
    stock.split(db.session, w.team, item, [60])
    db.session.commit()
    items, moves = rows(StockItem), rows(StockMovement)
    with pytest.raises(Conflict) as lost:
        stock.split(db.session, w.team, item, [30, 15])
    assert lost.value.status == 409 and lost.value.extra["available_kg"] == 40
    db.session.rollback()
    assert grams_of(item.id) == 40_000
    assert (rows(StockItem), rows(StockMovement)) == (items, moves)


def test_a_part_of_nothing_is_invalid(w):
    item = receive(w).item
    with pytest.raises(Invalid):
        stock.split(db.session, w.team, item, [10, 0])
    db.session.rollback()
    assert grams_of(item.id) == 100_000 and rows(StockItem) == 1


def test_another_platform_cannot_touch_the_stock(w):
    item = receive(w).item
    with pytest.raises(NotFound):
        stock.split(db.session, w.other_coordinator, item, [10])
    with pytest.raises(NotFound):
        stock.adjust(db.session, w.cpas_user, item, 10, AdjustmentReason.DAMAGED)
    with pytest.raises(NotFound):
        stock.offer(db.session, w.other_coordinator, item, {})
    db.session.rollback()
    assert grams_of(item.id) == 100_000


# -- merge -----------------------------------------------------------------------------------


def test_merge_takes_items_of_the_same_product_and_date_with_their_sources(w):
    first, second = receive(w), receive(w, goods(weight_kg=40, units=80))
    item = stock.merge(db.session, w.team, first.item, [second.item])
    db.session.commit()
    assert (item.grams, item.units) == (140_000, 280)
    assert grams_of(second.item.id) == 0
    assert [o.receipt.id for o in stock.origins(db.session, item)] == [
        first.receipt.id,
        second.receipt.id,
    ]
    assert movements(second.item)[-1] == (MovementKind.MERGED_OUT, -40_000)
    assert movements(item)[-1] == (MovementKind.MERGED_IN, 40_000)


def test_items_of_another_date_or_product_do_not_merge(w):
    item = receive(w).item
    later = receive(w, goods(date=(local_today() + timedelta(days=150)).isoformat())).item
    rice = receive(w, goods(title="Riz")).item
    twin = receive(w).item
    for others in ([later], [rice], [item], [twin, twin]):
        with pytest.raises(Invalid) as refused:
            stock.merge(db.session, w.team, item, others)
        assert "item_ids" in refused.value.fields
        db.session.rollback()
    assert [grams_of(i.id) for i in (item, later, rice, twin)] == [100_000] * 4


# -- adjustments and counts -------------------------------------------------------------------


def test_an_adjustment_takes_kilograms_off_with_its_reason(w):
    item = receive(w).item
    stock.adjust(db.session, w.team, item, 5, AdjustmentReason.DAMAGED, "palette tombée")
    db.session.commit()
    assert item.grams == 95_000 and item.units == 190
    last = db.session.scalars(
        select(StockMovement).where(StockMovement.item_id == item.id).order_by(StockMovement.id)
    ).all()[-1]
    assert (last.kind, last.delta_g, last.reason) == (
        MovementKind.ADJUSTED,
        -5_000,
        "damaged: palette tombée",
    )
    with pytest.raises(Conflict) as lost:
        stock.adjust(db.session, w.team, item, 96, AdjustmentReason.DESTROYED)
    assert lost.value.extra["available_kg"] == 95
    db.session.rollback()
    assert grams_of(item.id) == 95_000


def test_a_count_records_the_difference_either_way(w):
    item = receive(w).item
    assert stock.count(db.session, w.team, item, 97.5, "inventaire") == -2_500
    db.session.commit()
    assert stock.count(db.session, w.team, item, 98) == 500
    db.session.commit()
    assert item.grams == 98_000
    assert movements(item)[1:] == [(MovementKind.COUNTED, -2_500), (MovementKind.COUNTED, 500)]


def test_a_count_of_an_item_that_changed_meanwhile_is_a_conflict(w):
    item = receive(w).item
    assert item.grams == 100_000  # what the counter saw
    # Another hand's adjustment lands between the reading and the count.
    db.session.execute(
        update(StockItem)
        .where(StockItem.id == item.id)
        .values(grams=StockItem.grams - 1_000)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(Conflict):
        stock.count(db.session, w.team, item, 90)
    db.session.rollback()
    assert grams_of(item.id) == 100_000 and len(movements(item)) == 1


# -- offers ------------------------------------------------------------------------------------


def test_an_offer_is_a_lot_picked_up_at_the_depot_until_the_item_s_date(w):
    item = receive(w, chilled()).item
    now = datetime.now(UTC)
    lot = stock.offer(db.session, w.coordinator, item, {"kg": 20}, now)
    db.session.commit()
    assert lot.donor_id == w.platform.id and lot.stock_item_id == item.id
    assert (lot.weight_g, lot.remaining_g, lot.units) == (20_000, 20_000, 80)
    assert lot.pickup_postcode == w.depot.postcode and w.depot.name in lot.pickup_address
    assert lot.pickup_until == item.expires_at < now + timedelta(days=stock.OFFER_DAYS)
    assert (lot.expires_at, lot.lot_number, lot.fse_plus) == (item.expires_at, "P-2026", False)
    assert item.grams == 40_000 and item.units == 160
    last = db.session.scalars(
        select(StockMovement).where(StockMovement.item_id == item.id).order_by(StockMovement.id)
    ).all()[-1]
    assert (last.kind, last.delta_g, last.lot_id) == (MovementKind.OFFERED, -20_000, lot.id)


def test_an_offer_carries_the_fse_flag_and_only_coordinators_offer(w):
    item = receive(w).item
    with pytest.raises(Forbidden):
        stock.offer(db.session, w.team, item, {})
    db.session.rollback()
    lot = stock.offer(db.session, w.coordinator, item, {})
    db.session.commit()
    assert lot.fse_plus and lot.weight_g == 100_000 and grams_of(item.id) == 0
    with pytest.raises(Conflict):  # nothing left to offer
        stock.offer(db.session, w.coordinator, db.session.get(StockItem, item.id), {})


def test_withdrawing_an_offered_lot_returns_what_is_still_at_the_depot(w):
    item = receive(w, chilled()).item
    lot = stock.offer(db.session, w.coordinator, item, {"kg": 20})
    db.session.commit()
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 5)
    db.session.commit()
    assert lot.remaining_g == 15_000 and grams_of(item.id) == 40_000
    affected = lots.withdraw_lot(db.session, w.coordinator, lot, "Retiré pour inventaire")
    db.session.commit()
    assert [c.id for c in affected] == [claim.id] and claim.status == ClaimStatus.WITHDRAWN
    assert grams_of(item.id) == 60_000  # 15 kg unclaimed + 5 kg claimed and never collected
    assert movements(db.session.get(StockItem, item.id))[-1] == (MovementKind.RETURNED, 20_000)


# -- the platform's claim for its depot --------------------------------------------------------


def test_a_coordinator_claims_for_the_depot_with_a_zone_for_the_storage(w):
    # A second depot at the donor's door, with a dry store only: nearer, but no cold room.
    near = Depot(platform_id=w.platform.id, name="Relais", postcode="6800", locality="Recogne")
    near.lat, near.lon = w.donor.lat, w.donor.lon
    db.session.add(near)
    db.session.flush()
    factories.zones(near, chilled_kg=None, frozen_kg=None)
    lot = factories.lot(w.donor, kg=40)
    db.session.commit()
    claim, created = claims.claim_lot(db.session, w.coordinator, lot.id, 30)
    db.session.commit()
    assert created and claim.depot_id == w.depot.id and claim.convention_id is None
    assert claim.beneficiary_id == w.platform.id and lot.remaining_g == 10_000


@pytest.mark.parametrize("case", ["fse_plus", "own", "other_wave"])
def test_a_platform_may_not_claim_every_lot_for_its_depot(w, case):
    if case == "fse_plus":
        lot = factories.lot(w.donor, fse_plus=True)
    elif case == "own":
        lot = factories.lot(w.platform)
    else:  # offered to Namur's network in wave 1, not yet to this platform
        lot = factories.lot(w.donor)
        lot.wave = 1
        db.session.add(LotOffer(lot_id=lot.id, platform_id=w.other_platform.id, wave=1))
    db.session.commit()
    with pytest.raises(Forbidden):
        claims.claim_lot(db.session, w.coordinator, lot.id, 10)
    db.session.rollback()
    assert db.session.get(type(lot), lot.id).remaining_g == lot.weight_g


def test_a_booked_depot_claim_is_dropped_at_the_depot_and_its_drop_off_makes_stock(
    daily_rounds,
):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60)
    db.session.commit()
    claim, _ = claims.claim_lot(db.session, w.coordinator, lot.id, 40)
    booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    booked = {s.kind: s for s in booking.booked_stops(db.session, claim)}
    pickup, dropoff = booked[StopKind.PICKUP], booked[StopKind.DROPOFF]
    assert (dropoff.lat, dropoff.lon) == (w.depot.lat, w.depot.lon)
    assert dropoff.organisation_id != w.cpas.id and dropoff.organisation_id != w.asbl.id

    assert stops.confirm(db.session, w.driver, pickup, 4).ok
    outcome = stops.confirm(db.session, w.driver, dropoff, 3, receiver="Équipe du dépôt")
    db.session.commit()
    assert outcome.ok and dropoff.status == StopStatus.DONE
    assert claim.status == ClaimStatus.DELIVERED
    receipt = db.session.scalar(select(StockReceipt).where(StockReceipt.claim_id == claim.id))
    assert receipt.accepted and receipt.temperature_c == 3 and receipt.donor_id == w.donor.id
    item = db.session.scalar(select(StockItem).where(StockItem.receipt_id == receipt.id))
    assert item.grams == 40_000 and item.depot_id == w.depot.id
    assert [o.lot_id for o in stock.origins(db.session, item)] == [lot.id]


def test_an_offer_s_window_ends_by_the_item_s_date_and_is_not_over(w):
    item = receive(w, chilled()).item
    now = datetime.now(UTC)
    for window in (
        {"pickup_until": item.expires_at + timedelta(hours=1)},
        {"pickup_from": now - timedelta(days=2), "pickup_until": now - timedelta(days=1)},
    ):
        with pytest.raises(Invalid) as refused:
            stock.offer(db.session, w.coordinator, item, {"kg": 10, **window}, now)
        assert "pickup_until" in refused.value.fields
        db.session.rollback()
    assert grams_of(item.id) == 60_000 and rows(Lot) == 0
    lot = stock.offer(db.session, w.coordinator, item, {"pickup_until": item.expires_at}, now)
    assert lot.pickup_until == item.expires_at
