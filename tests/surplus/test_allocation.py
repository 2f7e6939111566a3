"""Batch allocation: the matcher's proposal, edits, confirmation into claims, the job."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

import matching
from surplus.errors import Conflict, Forbidden, Invalid
from surplus.extensions import db
from surplus.models import (
    BatchStatus,
    Claim,
    ClaimStatus,
    LineStatus,
    Lot,
)
from surplus.schemas.allocation import BatchInSchema, LineInSchema
from surplus.schemas.base import load
from surplus.services import allocation, claims, matching_adapter
from surplus.services.eligibility import lot_refusal
from tests import factories


@pytest.fixture
def w(app):
    w = factories.world()
    w.yog = factories.lot(w.donor, kg=40, title="Yaourts")
    w.pasta = factories.lot(
        w.donor,
        kg=60,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=30,
        title="Pâtes",
    )
    w.pallet = factories.lot(w.donor, kg=25, divisible=False, title="Palette")
    w.far = factories.lot(w.other_donor, kg=30, title="Hors zone")  # Namur, not our area
    db.session.commit()
    return w


def test_proposal_is_feasible_and_explained(w):
    batch = allocation.propose(db.session, w.coordinator)
    db.session.commit()
    assert batch.status == BatchStatus.PREVIEW and batch.lines
    assert {line.lot_id for line in batch.lines} <= {w.yog.id, w.pasta.id, w.pallet.id}
    for line in batch.lines:
        lot = db.session.get(Lot, line.lot_id)
        assert lot_refusal(db.session, line.beneficiary, lot) is None
        assert line.explanation["reason"] in matching.WHY
        assert line.km >= 0
    given = {}
    for line in batch.lines:
        given[line.lot_id] = given.get(line.lot_id, 0) + line.grams
    assert (
        given[w.pallet.id] in (0, 25_000)
        and len([x for x in batch.lines if x.lot_id == w.pallet.id]) <= 1
    )
    assert all(grams <= db.session.get(Lot, lot_id).remaining_g for lot_id, grams in given.items())
    assert batch.summary["kg_placed"] == pytest.approx(sum(given.values()) / 1000)


def test_confirm_claims_lines_and_skips_lots_claimed_meanwhile(w):
    batch = allocation.propose(db.session, w.coordinator)
    db.session.commit()
    first, *rest = batch.lines
    allocation.remove_line(db.session, w.coordinator, first)
    taken = next(x for x in rest if x.lot_id != first.lot_id)
    lot = db.session.get(Lot, taken.lot_id)
    claims.claim_lot(
        db.session,
        w.cpas_user if taken.beneficiary_id != w.cpas.id else w.asbl_user,
        lot.id,
        lot.remaining_kg,
    )
    db.session.commit()
    counts = allocation.confirm(db.session, w.coordinator, batch)
    db.session.commit()
    assert counts["skipped"] >= 1 and taken.status == LineStatus.SKIPPED and taken.note
    assert first.status == LineStatus.REMOVED
    claimed = [x for x in batch.lines if x.status == LineStatus.CLAIMED]
    assert counts["claimed"] == len(claimed)
    for line in claimed:
        claim = db.session.get(Claim, line.claim_id)
        assert claim.beneficiary_id == line.beneficiary_id and claim.grams == line.grams
        assert claim.platform_id == w.platform.id and claim.status == ClaimStatus.ACTIVE
    with pytest.raises(Conflict):
        allocation.confirm(db.session, w.coordinator, batch)


def test_adjusting_a_line_is_checked(w):
    batch = allocation.propose(db.session, w.coordinator)
    line = batch.lines[0]
    with pytest.raises(Invalid) as refused:  # more than the lot has
        allocation.adjust_line(db.session, w.coordinator, line, 1000)
    assert set(refused.value.fields) == {"kg"}
    allocation.adjust_line(db.session, w.coordinator, line, 1.5)
    assert line.grams == 1500


@pytest.mark.parametrize("typed", ["0", "-1", "0,0004", "abc", "NaN", "1e308", "\x00"])
def test_line_kilograms_are_refused_by_the_schema(app, typed):
    with pytest.raises(Invalid) as refused:
        load(LineInSchema(), {"kg": typed})
    assert set(refused.value.fields) == {"kg"}


def test_line_kilograms_read_a_decimal_comma(app):
    assert load(LineInSchema(), {"kg": "1,5"}) == {"kg": 1.5}
    assert load(BatchInSchema(), {}) == {"within_hours": None}
    with pytest.raises(Invalid):
        load(BatchInSchema(), {"within_hours": "99999999999"})


def test_only_coordinators_run_it(w):
    with pytest.raises(Forbidden):
        allocation.propose(db.session, w.cpas_user)
    batch = allocation.propose(db.session, w.coordinator)
    with pytest.raises(Forbidden):
        allocation.remove_line(db.session, w.asbl_user, batch.lines[0])


def test_receipts_reduce_need_and_transit_takes_room(w):
    claims.claim_lot(db.session, w.cpas_user, w.yog.id, 30)
    db.session.commit()
    now = datetime.now(UTC)
    assert matching_adapter.received_kg(db.session, [w.cpas.id], now) == {w.cpas.id: 30.0}
    assert matching_adapter.in_transit_kg(db.session, [w.cpas.id]) == {(w.cpas.id, "chilled"): 30.0}
    future = now + timedelta(days=8)
    assert matching_adapter.received_kg(db.session, [w.cpas.id], future) == {}


def test_the_proposal_filters_by_date_and_posting_time_and_takes_another_allocator(w):
    w.yog.expires_at = datetime.now(UTC) + timedelta(hours=20)
    w.pasta.created_at = datetime.now(UTC) - timedelta(hours=2)
    db.session.commit()
    urgent = allocation.propose(db.session, w.coordinator, within_hours=48)
    assert {line.lot_id for line in urgent.lines} == {w.yog.id}, "only lots nearing their date"
    early = allocation.propose(
        db.session, w.coordinator, posted_before=datetime.now(UTC) - timedelta(hours=1)
    )
    assert early.summary["lots"] == 1 and {x.lot_id for x in early.lines} <= {w.pasta.id}
    seen = []

    def nearest_first(lots, beneficiaries, params):
        seen.append(sorted(x.id for x in lots))
        return matching.greedy_allocate(lots, beneficiaries, params)

    greedy = allocation.propose(db.session, w.coordinator, allocate=nearest_first)
    assert seen == [sorted([w.yog.id, w.pasta.id, w.pallet.id, w.far.id])], "all offered lots"
    assert greedy.lines and all(line.explanation["reason"] in matching.WHY for line in greedy.lines)


def test_two_unattended_proposals_over_the_same_lots_never_claim_more_than_they_have(w):
    first = allocation.propose(db.session, None, platform=w.platform)
    second = allocation.propose(db.session, None, platform=w.platform)
    db.session.commit()
    assert first.unattended and first.created_by_id is None
    done = allocation.confirm(db.session, None, first)
    again = allocation.confirm(db.session, None, second)
    db.session.commit()
    assert done["claimed"] > 0 and again["claimed"] == 0
    assert again["skipped"] == len(second.lines), "each line finds its kilograms gone"
    for lot in (w.yog, w.pasta, w.pallet):
        claimed = db.session.scalar(
            select(func.coalesce(func.sum(Claim.grams), 0)).where(
                Claim.lot_id == lot.id, Claim.status == ClaimStatus.ACTIVE
            )
        )
        assert claimed <= lot.weight_g
