"""Stock never goes negative under concurrency: parallel splits, offers and adjustments of
one item take no more than it holds.

Threads, each with its own application context and database session, act at the same
instant (a barrier releases them) on an item that can satisfy only some of them, on
SQLite and on PostgreSQL: through the services, then through the API. Every loser gets
a Conflict (409), never a server error, and the grams add up.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from surplus.extensions import db
from surplus.models import (
    AdjustmentReason,
    Lot,
    MovementKind,
    Role,
    StockItem,
    StockMovement,
    StockSource,
)
from surplus.schemas.base import load
from surplus.schemas.depot import GoodsReceiptSchema
from surplus.services.depots import receipts, stock
from surplus.services.lot_dates import local_today
from tests import factories
from tests.races import race

THREADS = 30
KG_EACH = 7
ITEM_KG = 100  # 14 takings of 7 kg fit, 16 must lose


def _world(make_fleet):
    w = factories.world()
    w.depot, _van, _template = make_fleet(w)
    w.team = factories.user(w.platform, Role.MEMBER)
    values = load(
        GoodsReceiptSchema(),
        {
            "supplier": "Collecte de l'école",
            "title": "Conserves de haricots",
            "category": "dry_goods",
            "weight_kg": ITEM_KG,
            "units": 400,
            "date_kind": "best_before",
            "date": (local_today() + timedelta(days=200)).isoformat(),
            "storage": "ambient",
        },
    )
    w.item = receipts.receive_goods(db.session, w.team, w.depot, values).item
    db.session.commit()
    return w


def _taken(item_id: int) -> dict[str, int]:
    """Grams that left the item by each way, and what is left, as the database has them."""
    db.session.rollback()
    parts = db.session.scalar(
        select(func.coalesce(func.sum(StockItem.grams), 0))
        .join(StockSource, StockSource.item_id == StockItem.id)
        .where(StockSource.source_item_id == item_id)
    )
    offered = db.session.scalar(
        select(func.coalesce(func.sum(Lot.weight_g), 0)).where(Lot.stock_item_id == item_id)
    )
    adjusted = -db.session.scalar(
        select(func.coalesce(func.sum(StockMovement.delta_g), 0)).where(
            StockMovement.item_id == item_id, StockMovement.kind == MovementKind.ADJUSTED
        )
    )
    moved = db.session.scalar(
        select(func.sum(StockMovement.delta_g)).where(StockMovement.item_id == item_id)
    )
    left = db.session.scalar(select(StockItem.grams).where(StockItem.id == item_id))
    return {"parts": parts, "offered": offered, "adjusted": adjusted, "left": left, "moved": moved}


def _check(outcomes: list[str], taken: dict[str, int], label: str) -> None:
    won = len(outcomes) - outcomes.count("lost")
    print(
        f"\n[{label}] {THREADS} parallel takings of {KG_EACH} kg from {ITEM_KG} kg: "
        f"{won} won, {outcomes.count('lost')} got 409; {taken}"
    )
    assert set(outcomes) <= {"split", "offer", "adjust", "lost"}, outcomes
    assert won == ITEM_KG // KG_EACH
    assert taken["left"] >= 0
    assert taken["parts"] + taken["offered"] + taken["adjusted"] == won * KG_EACH * 1000
    assert taken["parts"] + taken["offered"] + taken["adjusted"] + taken["left"] == ITEM_KG * 1000
    assert taken["moved"] == taken["left"], "the movements add up to what is left"
    for kind in ("split", "offer", "adjust"):
        assert (
            outcomes.count(kind) * KG_EACH * 1000
            == taken[{"split": "parts", "offer": "offered", "adjust": "adjusted"}[kind]]
        )


def test_parallel_splits_offers_and_adjustments_never_take_more_than_is_there(
    app, backend, make_fleet
):
    w = _world(make_fleet)
    item_id = w.item.id
    jobs = [
        (("split", "offer", "adjust")[i % 3], (w.coordinator if i % 3 == 1 else w.team).id)
        for i in range(THREADS)
    ]

    def act(session, actor, i: int) -> str:
        kind = jobs[i][0]
        item = session.get(StockItem, item_id)
        if kind == "split":
            stock.split(session, actor, item, [KG_EACH])
        elif kind == "offer":
            stock.offer(session, actor, item, {"kg": KG_EACH})
        else:
            stock.adjust(session, actor, item, KG_EACH, AdjustmentReason.DAMAGED)
        return kind

    def too_little(conflict) -> None:
        assert 0 <= conflict.extra["available_kg"] < KG_EACH

    outcomes = race(app, [user_id for _kind, user_id in jobs], act, on_conflict=too_little)
    _check(outcomes, _taken(item_id), f"{backend} services")


def test_parallel_requests_lose_with_a_409_not_a_server_error(
    app, backend, make_fleet, client, api_token
):
    w = _world(make_fleet)
    item_id = w.item.id
    team, coordinator = api_token(w.team), api_token(w.coordinator)
    jobs = [
        ("split", f"/api/v1/stock/{item_id}/split", {"parts": [KG_EACH]}, team)
        if i % 2
        else ("offer", f"/api/v1/stock/{item_id}/offer", {"kg": KG_EACH}, coordinator)
        for i in range(THREADS)
    ]
    barrier = threading.Barrier(THREADS)

    def attempt(job) -> str:
        kind, path, body, headers = job
        barrier.wait()
        answer = app.test_client().post(path, json=body, headers=headers)
        if answer.status_code == 409:
            assert "available_kg" in answer.get_json(), answer.get_json()
            return "lost"
        assert answer.status_code == 201, (answer.status_code, answer.get_data(as_text=True))
        return kind

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = list(pool.map(attempt, jobs))

    _check(outcomes, _taken(item_id), f"{backend} API")


def test_parallel_merges_of_one_item_count_its_grams_once(app, backend, make_fleet):
    """Ten hands merge the same item into ten others at once: one wins, the others get a
    Conflict, and the item's grams are in exactly one place."""
    w = _world(make_fleet)
    values = load(
        GoodsReceiptSchema(),
        {
            "supplier": "Collecte de l'école",
            "title": "Conserves de haricots",
            "category": "dry_goods",
            "weight_kg": ITEM_KG,
            "date_kind": "best_before",
            "date": (local_today() + timedelta(days=200)).isoformat(),
            "storage": "ambient",
        },
    )
    targets = [
        receipts.receive_goods(db.session, w.team, w.depot, values).item.id for _ in range(10)
    ]
    db.session.commit()
    source_id = w.item.id

    def merge(session, actor, i: int) -> None:
        target = session.get(StockItem, targets[i])
        stock.merge(session, actor, target, [session.get(StockItem, source_id)])

    outcomes = race(app, [w.team.id] * len(targets), merge)
    held = db.session.scalar(
        select(func.sum(StockItem.grams)).where(StockItem.id.in_([source_id, *targets]))
    )
    print(f"\n[{backend}] 10 parallel merges of one item: {outcomes.count('won')} won")
    assert outcomes.count("won") == 1 and outcomes.count("lost") == len(targets) - 1
    assert held == 11 * ITEM_KG * 1000  # nothing counted twice, nothing lost
    assert db.session.scalar(select(StockItem.grams).where(StockItem.id == source_id)) == 0


def test_crossed_merges_wait_for_each_other_instead_of_deadlocking(app, backend, make_fleet):
    """Two hands merge A into B and B into A at once, for several pairs: the second
    merge waits for the first and takes what is then there (or is refused, 409), never
    a deadlock's server error; each pair ends with all its grams in one item."""
    w = _world(make_fleet)
    values = load(
        GoodsReceiptSchema(),
        {
            "supplier": "Collecte de l'école",
            "title": "Conserves de haricots",
            "category": "dry_goods",
            "weight_kg": 10,
            "date_kind": "best_before",
            "date": (local_today() + timedelta(days=200)).isoformat(),
            "storage": "ambient",
        },
    )
    pairs = [
        tuple(receipts.receive_goods(db.session, w.team, w.depot, values).item.id for _ in "ab")
        for _ in range(6)
    ]
    db.session.commit()
    jobs = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]

    def merge(session, actor, i: int) -> None:
        target_id, other_id = jobs[i]
        target = session.get(StockItem, target_id)
        stock.merge(session, actor, target, [session.get(StockItem, other_id)])

    outcomes = race(app, [w.team.id] * len(jobs), merge)
    for a, b in pairs:
        grams = sorted(db.session.scalars(select(StockItem.grams).where(StockItem.id.in_([a, b]))))
        assert grams == [0, 20_000], (a, b, grams)
    assert outcomes.count("won") >= len(pairs), outcomes  # one per pair at least
