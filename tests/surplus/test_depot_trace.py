"""Following food through a platform's depot (issue 16), on SQLite and PostgreSQL: one
step back from a lot offered from stock reaches the donor's lot, one step forward from
the donor's lot shows the receipt at the depot and where that stock went; a recall
follows the food through the depot; the ledger dates a depot claim by its receipt, so
the donor's donation documents list it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surplus import access
from surplus.errors import Conflict, NotFound
from surplus.extensions import db
from surplus.models import AdjustmentReason, ClaimStatus, Event, LotStatus, Recall, Role, StockItem
from surplus.services import claims, food_safety, recalls
from surplus.services import trace as trace_service
from surplus.services.depots import receipts, stock
from surplus.services.reports import donations, ledger
from surplus.services.reports.period import Period, local_day
from tests import factories


@pytest.fixture
def w(make_fleet):
    """A donor's 60 kg chilled lot (240 units) claimed whole by the platform for its depot
    and received at the door at 3 °C (no run: the donor brought it); split into 20 + 20
    kg (``parcel``, ``other_parcel``; ``pallet`` keeps 20); ``parcel`` offered to the
    network (``onward``) and claimed whole by the CPAS (``cpas_claim``)."""
    w = factories.world()
    w.depot, w.van, w.template = make_fleet(w)
    w.team = factories.user(w.platform, Role.MEMBER)
    w.lot = factories.lot(w.donor, kg=60, title="Yaourts nature")
    w.lot.units, w.lot.lot_number = 240, "Y-2026-12"
    db.session.commit()
    w.depot_claim, _ = claims.claim_lot(db.session, w.coordinator, w.lot.id, 60)
    assert w.depot_claim.depot_id == w.depot.id
    got = receipts.receive_claim(
        db.session, w.team, w.depot, w.depot_claim.id, {"temperature": 3.0}
    )
    assert got.item is not None
    w.receipt, w.pallet = got.receipt, got.item
    w.parcel, w.other_parcel = stock.split(db.session, w.team, w.pallet, [20, 20])
    w.onward = stock.offer(db.session, w.coordinator, w.parcel, {})
    db.session.commit()
    w.cpas_claim, _ = claims.claim_lot(db.session, w.cpas_user, w.onward.id, 20)
    db.session.commit()
    return w


def test_one_step_back_from_a_lot_offered_from_stock_reaches_the_donor_s_lot(w):
    part = access.trace_part(w.cpas_user, w.onward)
    assert part == w.cpas.id  # the CPAS reads its own part ...
    mine = trace_service.lot_trace(db.session, w.onward, only_org=part)
    [source] = mine.sources  # ... and where its food came from, one step back
    assert source.lot_id == w.lot.id and source.donor.id == w.donor.id
    assert source.lot_number == "Y-2026-12" and source.kg == 20
    assert source.depot.id == w.depot.id and source.temperature_c == 3.0
    assert source.received_at == w.receipt.checked_at
    assert source.claim_id is None  # the platform's own claim number is not the CPAS's
    whole = trace_service.lot_trace(db.session, w.onward)  # the platform, its donor
    assert [s.claim_id for s in whole.sources] == [w.depot_claim.id]


def test_a_source_is_never_more_than_the_lot_offered(w):
    part = stock.offer(db.session, w.coordinator, w.other_parcel, {"kg": 5})
    [source] = trace_service.lot_trace(db.session, part).sources
    assert source.lot_id == w.lot.id and source.kg == 5


def test_a_donor_s_lot_in_a_depot_shows_its_receipt_and_where_the_stock_went(w):
    trace = trace_service.lot_trace(db.session, w.lot, access.trace_part(w.donor_user, w.lot))
    assert trace.whole and trace.sources == []  # the donor's own lot: no depot behind it
    [platform] = trace.recipients
    assert platform.claim.id == w.depot_claim.id and platform.status == "delivered"
    assert platform.receipt.id == w.receipt.id and platform.receipt.temperature_c == 3.0
    assert platform.depot.id == w.depot.id and platform.delivered_at == w.receipt.checked_at
    assert platform.kg_delivered == 60 and platform.kg_picked_up == 60
    [onward] = platform.onward
    assert onward.lot.id == w.onward.id
    assert [(c.beneficiary_id, c.kg) for c in onward.claims] == [(w.cpas.id, 20)]


def test_the_trace_api_and_sheet_show_the_depot(w, client, api_token, login_as):
    answer = client.get(f"/api/v1/lots/{w.lot.id}/trace", headers=api_token(w.donor_user))
    body = answer.get_json()
    assert answer.status_code == 200, body
    [platform] = body["recipients"]
    receipt = platform["depot_receipt"]
    assert receipt["depot"] == {"id": w.depot.id, "name": w.depot.name}
    assert receipt["platform"]["id"] == w.platform.id and receipt["temperature_c"] == 3.0
    assert receipt["accepted"] is True and receipt["kg"] == 60
    assert platform["onward"][0]["lot_id"] == w.onward.id
    assert platform["onward"][0]["claims"][0]["organisation"]["id"] == w.cpas.id

    back = client.get(f"/api/v1/lots/{w.onward.id}/trace", headers=api_token(w.cpas_user))
    [source] = back.get_json()["sources"]
    assert source["lot_id"] == w.lot.id and source["claim_id"] is None
    assert source["donor"] == {"id": w.donor.id, "name": w.donor.name}
    assert source["depot"]["id"] == w.depot.id and source["kg"] == 20

    page = login_as(w.cpas_user).get(f"/lots/{w.onward.id}/trace").get_data(as_text=True)
    assert 'class="trace-sources"' in page and w.donor.name in page and "Y-2026-12" in page
    donor_page = login_as(w.donor_user).get(f"/lots/{w.lot.id}/trace").get_data(as_text=True)
    assert 'class="trace-onward"' in donor_page and w.cpas.name in donor_page


def test_another_organisation_reads_neither_trace(w):
    for person in (w.other_donor_user, w.other_coordinator, w.asbl_user):
        for lot in (w.lot, w.onward):
            with pytest.raises(NotFound):
                access.trace_part(person, lot)


def test_a_recall_follows_the_food_through_the_depot(w):
    recall = recalls.open_recall(db.session, w.donor_user, w.lot, "Listeria")
    db.session.commit()
    # The platform holds the 60 kg it received at its depot, and must answer for them.
    [holder] = recall.holders
    assert holder.organisation_id == w.platform.id
    assert holder.delivered_g == 60_000 and holder.must_acknowledge
    # The lot offered from that stock is recalled onward: its planned claim ends.
    onward = db.session.scalar(select(Recall).where(Recall.lot_id == w.onward.id))
    assert onward is not None and "Listeria" in onward.reason
    assert w.onward.status == LotStatus.WITHDRAWN
    assert w.cpas_claim.status == ClaimStatus.WITHDRAWN
    assert [(h.organisation_id, h.cancelled_g) for h in onward.holders] == [(w.cpas.id, 20_000)]
    # The recall lists the stock still held (the parcel had gone out as the lot) ...
    event = db.session.scalar(
        select(Event).where(
            Event.subject_type == "lot", Event.subject_id == w.lot.id, Event.action == "recalled"
        )
    )
    held = {s["item_id"]: s["grams"] for s in event.after["stock"]}
    assert held == {w.pallet.id: 20_000, w.other_parcel.id: 20_000}
    assert event.after["onward_lots"] == [w.onward.id]
    # ... and the withdrawn lot's 20 kg are back on the parcel, at the depot.
    db.session.refresh(w.parcel)
    assert w.parcel.grams == 20_000


def test_a_lot_offered_from_recalled_stock_is_refused_at_hand_over(w):
    before = stock.offer(db.session, w.coordinator, w.other_parcel, {"kg": 5})
    recalls.open_recall(db.session, w.donor_user, w.lot, "Listeria")
    verdict = food_safety.check_handover(before, 3.0)
    assert not verdict.ok and verdict.reason == food_safety.RECALLED
    with pytest.raises(Conflict):  # and recalled stock is offered no more
        stock.offer(db.session, w.coordinator, w.other_parcel, {"kg": 1})
    # Stock from elsewhere is not affected.
    clean = factories.lot(w.other_donor, kg=10)
    assert food_safety.check_handover(clean, 3.0).ok


def test_the_depot_receipt_is_when_the_food_left_the_donor_and_was_delivered(w):
    at = w.receipt.checked_at
    picked = ledger.picked_up_at()
    delivered = ledger.delivered_at()
    claim_id = w.depot_claim.id
    assert db.session.scalar(select(picked.c.at).where(picked.c.claim_id == claim_id)) == at
    assert db.session.scalar(select(delivered.c.at).where(delivered.c.claim_id == claim_id)) == at
    m = ledger.moments(db.session, [claim_id])[claim_id]
    assert m.picked_up_at == at and m.delivered_at == at


def test_a_refused_receipt_moves_nothing(w):
    lot = factories.lot(w.donor, kg=10)
    db.session.commit()
    claim, _ = claims.claim_lot(db.session, w.coordinator, lot.id, 10)
    got = receipts.receive_claim(db.session, w.team, w.depot, claim.id, {"temperature": 9.0})
    assert not got.receipt.accepted
    moments = ledger.moments(db.session, [claim.id])[claim.id]
    assert moments.picked_up_at is None and moments.delivered_at is None
    assert donations.donation(db.session, claim) is None


def test_the_donor_s_documents_list_the_donation_to_the_platform(w):
    day = local_day(w.receipt.checked_at)
    found = donations.donations(db.session, w.donor.id, Period(day, day))
    [d] = [d for d in found if d.claim.id == w.depot_claim.id]
    assert d.recipient.id == w.platform.id and d.standing == "platform"
    assert d.eligible and d.number == f"D-{day.year}-00001"
    assert d.distribution_mode == donations.REDISTRIBUTION
    assert d.kg == 60 and d.at == w.receipt.checked_at
    assert [(line.lot.id, line.kg, line.units) for line in d.lines] == [(w.lot.id, 60, 240)]
    recap = donations.recap(db.session, w.donor, Period.month(day))
    assert [(t.organisation.id, t.kg) for t in recap.totals] == [(w.platform.id, 60)]


def test_the_stock_left_in_a_recall_counts_only_items_with_food(w):
    stock.adjust(db.session, w.team, w.pallet, 20, AdjustmentReason.DESTROYED)
    items, lots = recalls.in_stock(db.session, w.lot)
    assert [i.id for i in items] == [w.other_parcel.id]  # the parcel went out as a lot
    assert [lot.id for lot in lots] == [w.onward.id]
    assert db.session.get(StockItem, w.pallet.id).grams == 0
