"""The depot pages, as the depot team and a coordinator use them on a phone: the
depots and their zones, the stock first expired first out, receipts at the door (a
platform's claim at 3 °C becomes stock, at 9 °C it is refused and recorded), an item's
sources and forms (split, adjust, count, merge, offer) and the zones; another platform
and a CPAS see none of it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    DepotZone,
    Lot,
    MovementKind,
    StockItem,
    StockMovement,
    StockReceipt,
)
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories
from tests.factories import translated


@pytest.fixture
def w(make_fleet):
    w = factories.world()
    w.depot, w.van, w.template = make_fleet(w)
    w.team = factories.user(w.platform)  # a depot hand, not a coordinator
    db.session.commit()
    return w


def _chilled_claim(client, api_token, w, kg=60) -> int:
    """A donor's chilled lot, claimed by the platform for its depot (through the API)."""
    start = datetime.now(BRUSSELS) + timedelta(minutes=5)
    lot = client.post(
        "/api/v1/lots",
        json={
            "title": "Yaourts nature",
            "category": "dairy",
            "weight_kg": 60,
            "units": 240,
            "lot_number": "Y-2026-12",
            "date_kind": "use_by",
            "date": (local_today() + timedelta(days=6)).isoformat(),
            "storage": "chilled",
            "allergens": ["milk"],
            "pickup_from": start.isoformat(),
            "pickup_until": (start + timedelta(hours=30)).isoformat(),
            "postcode": "6800",
            "locality": "Recogne",
        },
        headers=api_token(w.donor_user),
    )
    assert lot.status_code == 201, lot.get_json()
    claim = client.post(
        f"/api/v1/lots/{lot.get_json()['id']}/claims",
        json={"kg": kg},
        headers=api_token(w.coordinator),
    )
    assert claim.status_code == 201, claim.get_json()
    assert claim.get_json()["depot_id"] == w.depot.id
    return claim.get_json()["id"]


GOODS = {
    "source": "outside",
    "supplier": "Livraison FSE+ fédérale",
    "title": "Pâtes sèches",
    "category": "dry_goods",
    "weight_kg": "100",
    "units": "200",
    "lot_number": "P-77",
    "date_kind": "best_before",
    "storage": "ambient",
    "allergens": "gluten",
    "fse_plus": "y",
    "packaging_ok": "y",
    "labels_ok": "y",
}


def _goods(days: int = 90, **overrides) -> dict:
    return {"date": (local_today() + timedelta(days=days)).isoformat(), **GOODS, **overrides}


def _receive_goods(page, w, **overrides) -> StockItem:
    answer = page.post(f"/depots/{w.depot.id}/receive", data=_goods(**overrides))
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    item_id = int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    db.session.rollback()
    item = db.session.get(StockItem, item_id)
    assert item is not None
    return item


def _items(w) -> list[tuple[str, int]]:
    db.session.rollback()
    rows = db.session.execute(
        select(StockItem.product, StockItem.grams).where(
            StockItem.depot_id == w.depot.id, StockItem.grams > 0
        )
    ).all()
    return sorted((product, grams) for product, grams in rows)


# -- who sees what ------------------------------------------------------------------------


def test_every_page_renders_for_the_team_and_the_coordinator(w, login_as):
    item = _receive_goods(login_as(w.team), w)
    for person in (w.team, w.coordinator):
        page = login_as(person)
        listed = page.get("/depots")  # one depot: straight to it
        assert listed.status_code == 302
        assert listed.headers["Location"].endswith(f"/depots/{w.depot.id}")
        every = page.get("/depots?all=1")
        assert every.status_code == 200
        assert "Chambre froide" in every.get_data(as_text=True)
        assert "<meter" in every.get_data(as_text=True)
        shown = page.get(f"/depots/{w.depot.id}")
        assert shown.status_code == 200
        html = shown.get_data(as_text=True)
        assert "Pâtes sèches" in html and f"/stock/{item.id}" in html
        assert f"/depots/{w.depot.id}/receive" in html
        assert (f"/depots/{w.depot.id}/zones" in html) is (person is w.coordinator)
        assert page.get(f"/depots/{w.depot.id}/receive").status_code == 200
        item_page = page.get(f"/stock/{item.id}")
        assert item_page.status_code == 200
        text = item_page.get_data(as_text=True)
        assert "Livraison FSE+ fédérale" in text  # its source
        assert ('id="offer"' in text) is (person is w.coordinator)
    assert login_as(w.coordinator).get(f"/depots/{w.depot.id}/zones").status_code == 200
    assert login_as(w.team).get(f"/depots/{w.depot.id}/zones").status_code == 403


def test_another_platform_and_a_cpas_get_404(w, login_as):
    item = _receive_goods(login_as(w.team), w)
    for person in (w.other_coordinator, w.cpas_user):
        page = login_as(person)
        for url in (
            f"/depots/{w.depot.id}",
            f"/depots/{w.depot.id}/receive",
            f"/depots/{w.depot.id}/zones",
            f"/stock/{item.id}",
        ):
            assert page.get(url).status_code == 404, (person.email, url)
        assert page.post(f"/depots/{w.depot.id}/receive", data=_goods()).status_code == 404
        assert page.post(f"/stock/{item.id}/split", data={"split-parts": "1"}).status_code == 404
        assert page.post(f"/stock/{item.id}/adjust", data={"adjust-kg": "1"}).status_code == 404
    assert login_as(w.cpas_user).get("/depots").status_code == 403
    assert _items(w) == [("Pâtes sèches", 100_000)]


def test_the_stock_is_first_expired_first_out_with_days_left_and_filters(w, login_as):
    page = login_as(w.team)
    late = _receive_goods(page, w, title="Riz", days=120)
    soon = _receive_goods(page, w, title="Biscuits", days=1, date_kind="use_by")
    html = page.get(f"/depots/{w.depot.id}").get_data(as_text=True)
    assert html.index(f"/stock/{soon.id}") < html.index(f"/stock/{late.id}")
    assert "urgent" in html.split(f"/stock/{soon.id}")[1].split("</article>")[0]
    found = page.get(f"/depots/{w.depot.id}?q=riz").get_data(as_text=True)
    assert f"/stock/{late.id}" in found and f"/stock/{soon.id}" not in found
    cold = db.session.scalar(select(DepotZone.id).where(DepotZone.name == "Chambre froide"))
    empty = page.get(f"/depots/{w.depot.id}?zone_id={cold}").get_data(as_text=True)
    assert f"/stock/{late.id}" not in empty
    assert page.get(f"/depots/{w.depot.id}?zone_id=abc").status_code in (400, 422)


# -- receiving ----------------------------------------------------------------------------


def test_a_claim_received_at_3_degrees_becomes_stock(w, client, api_token, login_as):
    claim_id = _chilled_claim(client, api_token, w)
    page = login_as(w.team)
    listed = page.get(f"/depots/{w.depot.id}/receive").get_data(as_text=True)
    assert f'name="claim_id" value="{claim_id}"' in listed and "Yaourts nature" in listed
    answer = page.post(
        f"/depots/{w.depot.id}/receive",
        data={"claim_id": claim_id, "temperature": "3", "packaging_ok": "y", "labels_ok": "y"},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    assert _items(w) == [("Yaourts nature", 60_000)]
    item = db.session.scalar(select(StockItem))
    assert answer.headers["Location"].endswith(f"/stock/{item.id}")
    assert item.zone.name == "Chambre froide"
    assert db.session.get(Claim, claim_id).status == ClaimStatus.DELIVERED
    shown = page.get(f"/stock/{item.id}").get_data(as_text=True)
    lot_id = db.session.get(Claim, claim_id).lot_id
    assert f"/lots/{lot_id}" in shown  # one step back: the donor's lot
    assert "Ferme Test" in shown
    # Received, it no longer waits at the door.
    again = page.get(f"/depots/{w.depot.id}/receive").get_data(as_text=True)
    assert f'name="claim_id" value="{claim_id}"' not in again


def test_a_claim_at_9_degrees_is_refused_recorded_and_makes_no_stock(
    w, client, api_token, login_as
):
    claim_id = _chilled_claim(client, api_token, w, kg=30)
    answer = login_as(w.team).post(
        f"/depots/{w.depot.id}/receive",
        data={"claim_id": claim_id, "temperature": "9", "packaging_ok": "y", "labels_ok": "y"},
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    refusal = html.split('id="refusal"')[1].split("</article>")[0]
    assert "Yaourts nature" in refusal
    assert re.search(r"9\s*°C", refusal) and re.search(r"7\s*°C", refusal)  # measured, limit
    assert _items(w) == []
    receipt = db.session.scalar(select(StockReceipt))
    assert receipt is not None and not receipt.accepted and receipt.temperature_c == 9
    assert receipt.refusal_reason in refusal
    assert db.session.get(Claim, claim_id).status == ClaimStatus.REFUSED


def test_a_chilled_claim_without_a_reading_comes_back_marked(w, client, api_token, login_as):
    claim_id = _chilled_claim(client, api_token, w)
    answer = login_as(w.team).post(
        f"/depots/{w.depot.id}/receive",
        data={"claim_id": claim_id, "temperature": "", "note": "quai 2", "packaging_ok": "y"},
    )
    assert answer.status_code == 422
    card = answer.get_data(as_text=True).split(f'id="claim-{claim_id}"')[1].split("</article>")[0]
    assert 'aria-invalid="true"' in card and 'value="quai 2"' in card
    assert "labels_ok" in card and 'name="labels_ok" value="y">' in card  # left unticked
    assert _items(w) == [] and db.session.scalar(select(func.count(StockReceipt.id))) == 0


def test_a_goods_receipt_with_a_bad_weight_keeps_the_entries_and_marks_the_field(w, login_as):
    answer = login_as(w.team).post(
        f"/depots/{w.depot.id}/receive", data=_goods(weight_kg="beaucoup")
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    weight = re.search(r'<input[^>]*name="weight_kg"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in weight and 'value="beaucoup"' in weight
    assert 'id="weight_kg-msg" class="error"' in html
    assert 'value="Pâtes sèches"' in html and 'value="Livraison FSE+ fédérale"' in html
    db.session.rollback()
    assert db.session.scalar(select(func.count(StockReceipt.id))) == 0


def test_goods_with_damaged_packaging_are_refused_and_recorded(w, login_as):
    data = _goods()
    del data["packaging_ok"]
    answer = login_as(w.team).post(f"/depots/{w.depot.id}/receive", data=data)
    assert answer.status_code == 200 and 'id="refusal"' in answer.get_data(as_text=True)
    assert _items(w) == []
    receipt = db.session.scalar(select(StockReceipt))
    assert receipt is not None and not receipt.accepted and not receipt.packaging_ok


# -- working an item ----------------------------------------------------------------------


def test_split_adjust_and_count_through_the_forms(w, login_as):
    page = login_as(w.team)
    item = _receive_goods(page, w)
    split = page.post(f"/stock/{item.id}/split", data={"split-parts": ["20", "20,5", ""]})
    assert split.status_code == 302, split.get_data(as_text=True)[:2000]
    assert _items(w) == [
        ("Pâtes sèches", 20_000),
        ("Pâtes sèches", 20_500),
        ("Pâtes sèches", 59_500),
    ]
    adjust = page.post(
        f"/stock/{item.id}/adjust",
        data={"adjust-kg": "4,5", "adjust-reason": "damaged", "adjust-note": "palette percée"},
    )
    assert adjust.status_code == 302
    db.session.rollback()
    assert db.session.get(StockItem, item.id).grams == 55_000
    count = page.post(f"/stock/{item.id}/count", data={"count-kg": "54"})
    assert count.status_code == 302
    db.session.rollback()
    assert db.session.get(StockItem, item.id).grams == 54_000
    kinds = db.session.scalars(
        select(StockMovement.kind)
        .where(StockMovement.item_id == item.id)
        .order_by(StockMovement.id)
    ).all()
    assert kinds == [
        MovementKind.RECEIVED,
        MovementKind.SPLIT_OUT,
        MovementKind.SPLIT_OUT,
        MovementKind.ADJUSTED,
        MovementKind.COUNTED,
    ]
    html = page.get(f"/stock/{item.id}").get_data(as_text=True)
    movements = html.split('id="movements"')[1]
    assert "palette percée" in movements and translated("fr", "Damaged") in movements
    assert translated("fr", "Inventory count") in movements


def test_a_split_of_more_than_is_left_is_a_409_on_the_page_and_changes_nothing(w, login_as):
    page = login_as(w.team)
    item = _receive_goods(page, w)
    answer = page.post(f"/stock/{item.id}/split", data={"split-parts": ["60", "50"]})
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert 'id="conflict"' in html and "100" in html.split('id="conflict"')[1].split("</p>")[0]
    assert 'value="60"' in html and 'value="50"' in html  # the entries are kept
    assert _items(w) == [("Pâtes sèches", 100_000)]
    bad = page.post(f"/stock/{item.id}/adjust", data={"adjust-kg": "-3", "adjust-reason": "x"})
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.get_data(as_text=True)
    assert _items(w) == [("Pâtes sèches", 100_000)]


def test_merge_items_of_the_same_product_and_date(w, login_as):
    page = login_as(w.team)
    first = _receive_goods(page, w)
    second = _receive_goods(page, w)
    html = page.get(f"/stock/{first.id}").get_data(as_text=True)
    assert 'name="merge-item_ids"' in html and f'value="{second.id}"' in html
    answer = page.post(f"/stock/{first.id}/merge", data={"merge-item_ids": str(second.id)})
    assert answer.status_code == 302
    assert _items(w) == [("Pâtes sèches", 200_000)]


def test_a_coordinator_offers_stock_to_the_network_and_lands_on_the_lot(w, login_as):
    item = _receive_goods(login_as(w.team), w)
    refused = login_as(w.team).post(f"/stock/{item.id}/offer", data={"offer-kg": "10"})
    assert refused.status_code == 403
    answer = login_as(w.coordinator).post(
        f"/stock/{item.id}/offer", data={"offer-kg": "30", "offer-divisible": "y"}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    db.session.rollback()
    lot = db.session.scalar(select(Lot).where(Lot.stock_item_id == item.id))
    assert lot is not None and lot.weight_g == 30_000 and lot.donor_id == w.platform.id
    assert answer.headers["Location"].endswith(f"/lots/{lot.id}")
    assert db.session.get(StockItem, item.id).grams == 70_000


# -- zones --------------------------------------------------------------------------------


def test_coordinators_add_and_change_zones_and_the_team_may_not(w, login_as):
    page = login_as(w.coordinator)
    added = page.post(
        f"/depots/{w.depot.id}/zones",
        data={
            "zone": "new",
            "new-name": "Quai",
            "new-storage": "ambient",
            "new-capacity_kg": "300",
        },
    )
    assert added.status_code == 302
    db.session.rollback()
    zone = db.session.scalar(select(DepotZone).where(DepotZone.name == "Quai"))
    assert zone is not None and zone.capacity_kg == 300
    key = f"z{zone.id}"
    changed = page.post(
        f"/depots/{w.depot.id}/zones",
        data={
            "zone": key,
            f"{key}-name": "Quai nord",
            f"{key}-storage": "ambient",
            f"{key}-capacity_kg": "450,5",
        },
    )
    assert changed.status_code == 302
    db.session.rollback()
    db.session.refresh(zone)
    assert (zone.name, zone.capacity_kg) == ("Quai nord", 450.5)
    bad = page.post(
        f"/depots/{w.depot.id}/zones",
        data={"zone": "new", "new-name": "Cave", "new-storage": "ambient", "new-capacity_kg": "-1"},
    )
    assert bad.status_code == 422 and 'value="Cave"' in bad.get_data(as_text=True)
    team = login_as(w.team).post(
        f"/depots/{w.depot.id}/zones",
        data={"zone": "new", "new-name": "X", "new-storage": "ambient", "new-capacity_kg": "1"},
    )
    assert team.status_code == 403
    db.session.rollback()
    assert db.session.scalar(select(func.count(DepotZone.id)).where(DepotZone.name == "X")) == 0


def test_a_claim_received_twice_says_so_and_makes_no_second_item(w, client, api_token, login_as):
    claim_id = _chilled_claim(client, api_token, w)
    page = login_as(w.team)
    data = {"claim_id": claim_id, "temperature": "3", "packaging_ok": "y", "labels_ok": "y"}
    assert page.post(f"/depots/{w.depot.id}/receive", data=data).status_code == 302
    again = page.post(f"/depots/{w.depot.id}/receive", data=data)
    assert again.status_code == 409 and 'id="problem"' in again.get_data(as_text=True)
    assert _items(w) == [("Yaourts nature", 60_000)]
