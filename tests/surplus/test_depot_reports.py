"""A platform's depot in its reports (issue 16), on SQLite and PostgreSQL: kilograms in,
out and lost per month, stock on hand by zone and days of cover (the report page, its
CSV and XLSX); the FSE+ register's depot sections (received, distributed, on hand), its
exports and ``GET /api/v1/fse-register/stock``; each reader sees only its own depots."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from surplus import access
from surplus.errors import Forbidden
from surplus.extensions import db
from surplus.models import AdjustmentReason, Role, StopKind
from surplus.schemas.base import load
from surplus.schemas.depot import GoodsReceiptSchema
from surplus.services import booking, claims, lots, stops
from surplus.services.depots import receipts, stock
from surplus.services.lot_dates import local_today
from surplus.services.reports import fse_register
from surplus.services.reports.depot import depot_figures
from surplus.services.reports.period import Period
from tests import factories


def goods(**over):
    """FSE+ pasta from the federal supplier, as the API loads a receipt."""
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
    return load(GoodsReceiptSchema(), body)


@pytest.fixture
def w(daily_rounds):
    """``daily_rounds``' world; ``team`` a depot hand of the platform; the platform
    received 100 kg of FSE+ pasta (``item``) and a chilled receipt refused at 9 °C."""
    w = daily_rounds
    w.team = factories.user(w.platform, Role.MEMBER)
    db.session.commit()
    got = receipts.receive_goods(db.session, w.team, w.depot, goods())
    w.item = got.item
    refused = receipts.receive_goods(
        db.session,
        w.team,
        w.depot,
        goods(
            title="Yaourts",
            category="dairy",
            storage="chilled",
            date_kind="use_by",
            date=(local_today() + timedelta(days=5)).isoformat(),
            fse_plus=False,
            temperature=9,
        ),
    )
    assert not refused.receipt.accepted
    db.session.commit()
    return w


def _deliver(w, claim):
    booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    pickup, drop = sorted(booking.booked_stops(db.session, claim), key=lambda s: s.kind.value)[::-1]
    assert pickup.kind == StopKind.PICKUP and drop.kind == StopKind.DROPOFF
    assert stops.confirm(db.session, w.driver, pickup).ok
    assert stops.confirm(db.session, w.driver, drop, None, "Marie").ok
    db.session.commit()
    assert claim.status.value == "delivered"


def _work_the_stock(w):
    """Offer 40 kg, lose 5 kg damaged and 5 kg at a count, offer 10 kg and withdraw it:
    in 100, out 40, lost 10, on hand 50."""
    w.offered = stock.offer(db.session, w.coordinator, w.item, {"kg": 40})
    stock.adjust(db.session, w.team, w.item, 5, AdjustmentReason.DAMAGED)
    assert stock.count(db.session, w.team, w.item, 50) == -5_000
    back = stock.offer(db.session, w.coordinator, w.item, {"kg": 10})
    lots.withdraw_lot(db.session, w.coordinator, back, "Plus tard")
    db.session.commit()


def test_depot_figures_in_out_lost_on_hand_and_cover(w):
    _work_the_stock(w)
    figures = depot_figures(db.session, w.platform.id, Period.default())
    month = figures.months[-1]
    assert (month.kg_in, month.kg_out, month.kg_lost) == (100, 40, 10)  # the refusal: nothing
    assert sum(m.in_g for m in figures.months[:-1]) == 0
    zones = {z.zone: z for z in figures.zones}
    assert zones["Réserve"].held_kg == 50 and zones["Réserve"].used == 0.025
    assert zones["Chambre froide"].held_kg == 0
    [cover] = figures.cover
    assert cover.kg_on_hand == 50
    assert cover.daily_out_kg == round(40 / 28, 3)
    assert cover.days_of_cover == 35.0  # 50 kg / (40 kg / 28 days)


def test_days_of_cover_is_none_when_nothing_went_out(w):
    [cover] = depot_figures(db.session, w.platform.id, factories.today_period()).cover
    assert cover.kg_on_hand == 100 and cover.days_of_cover is None


def test_a_platform_without_depot_has_no_depot_figures(w):
    assert depot_figures(db.session, w.other_platform.id, factories.today_period()) is None


def test_the_report_page_and_exports_show_the_depot_to_its_coordinator(w, login_as):
    _work_the_stock(w)
    coordinator = login_as(w.coordinator)
    page = coordinator.get("/reports").get_data(as_text=True)
    assert 'id="depots"' in page and w.depot.name in page
    csv = coordinator.get("/reports/depot_months.csv").get_data(as_text=True)
    assert f"{local_today():%Y-%m};100;40;10" in csv.replace("\r", "")
    book = load_workbook(io.BytesIO(coordinator.get("/reports/report.xlsx").data))
    assert len(book.sheetnames) == 10  # the summary, six tables, then the depots' three
    cover = list(book.worksheets[-1].iter_rows(values_only=True))
    assert cover[1][1:] == (w.depot.name, 50, round(40 / 28, 3), 35)
    # Another platform's coordinator and a beneficiary read no depot of this one.
    other = login_as(w.other_coordinator).get("/reports").get_data(as_text=True)
    assert 'id="depots"' not in other  # its own depots received nothing; this one's not its
    cpas = login_as(w.cpas_user)
    assert 'id="depots"' not in cpas.get("/reports").get_data(as_text=True)
    cpas_book = load_workbook(io.BytesIO(cpas.get("/reports/report.xlsx").data))
    assert len(cpas_book.sheetnames) == 7


def test_fse_register_received_distributed_and_on_hand(w):
    offered = stock.offer(db.session, w.coordinator, w.item, {"kg": 40})
    assert offered.fse_plus
    db.session.commit()
    claim, _ = claims.claim_lot(db.session, w.cpas_user, offered.id, 40)
    db.session.commit()
    _deliver(w, claim)
    scope = access.fse_register_claims(w.coordinator)
    [row] = fse_register.register_rows(db.session, scope, factories.today_period())
    assert (row.claim_id, row.organisation_id, row.kg, row.units) == (claim.id, w.cpas.id, 40, 80)
    assert row.product == "Pâtes" and row.lot_number == "P-2026"
    depots = access.fse_register_depots(w.coordinator)
    [got] = fse_register.stock_received(db.session, depots, factories.today_period())
    assert (got.supplier, got.product, got.lot_number, got.kg, got.units) == (
        "SPP Intégration sociale (FSE+)",
        "Pâtes",
        "P-2026",
        100,
        200,
    )
    assert got.received_on == local_today() and got.depot_id == w.depot.id
    [held] = fse_register.stock_on_hand(db.session, depots)
    assert (held.item_id, held.kg, held.units, held.zone) == (w.item.id, 60, 120, "Réserve")


def test_fse_stock_is_scoped_to_the_reader_s_depots(w):
    assert (
        fse_register.stock_on_hand(db.session, access.fse_register_depots(w.other_coordinator))
        == []
    )
    assert fse_register.stock_on_hand(db.session, access.fse_register_depots(w.cpas_user)) == []
    narrowed = access.fse_register_depots(w.coordinator, w.cpas.id)
    assert fse_register.stock_received(db.session, narrowed, factories.today_period()) == []
    with pytest.raises(Forbidden):
        access.fse_register_depots(w.donor_user)
    with pytest.raises(Forbidden):
        access.fse_register_depots(w.team)  # a depot hand keeps no register


def test_fse_register_api_page_and_exports(w, client, api_token, login_as):
    answer = client.get("/api/v1/fse-register/stock", headers=api_token(w.coordinator))
    body = answer.get_json()
    assert answer.status_code == 200, body
    [got] = body["received"]
    assert got["receipt_id"] == w.item.receipt_id and got["kg"] == 100 and got["units"] == 200
    assert got["supplier"] == "SPP Intégration sociale (FSE+)"
    assert got["received_on"] == local_today().isoformat()
    [held] = body["on_hand"]
    assert held["item_id"] == w.item.id and held["kg"] == 100 and held["zone"] == "Réserve"
    # The rows of the register stay the deliveries.
    rows = client.get("/api/v1/fse-register", headers=api_token(w.coordinator)).get_json()
    assert rows == []
    for person in (w.other_coordinator, w.cpas_user):
        other = client.get("/api/v1/fse-register/stock", headers=api_token(person)).get_json()
        assert other == {"received": [], "on_hand": []}
    donor = client.get("/api/v1/fse-register/stock", headers=api_token(w.donor_user))
    assert donor.status_code == 403

    coordinator = login_as(w.coordinator)
    page = coordinator.get("/fse-register").get_data(as_text=True)
    assert 'class="fse-depot"' in page and "P-2026" in page and "Réserve" in page
    csv = coordinator.get("/fse-register-stock.csv").get_data(as_text=True)
    assert "SPP Intégration sociale (FSE+)" in csv and "Réserve" in csv
    book = load_workbook(io.BytesIO(coordinator.get("/fse-register.xlsx").data))
    assert len(book.sheetnames) == 5  # the register's three, then received and on hand
    on_hand = list(book.worksheets[-1].iter_rows(values_only=True))
    assert on_hand[1][:6] == (w.depot.name, "Réserve", "Pâtes", "P-2026", 100, 200)
    cpas_page = login_as(w.cpas_user).get("/fse-register").get_data(as_text=True)
    assert 'class="fse-depot"' not in cpas_page
