"""What a claimant is told: too much or someone was faster, what it already holds, which
platform allocated a claim (and who is told of it), and when a booked claim is planned."""

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from surplus.errors import Conflict
from surplus.extensions import db
from surplus.models import (
    Notification,
    NotificationKind,
    Role,
    StopKind,
)
from surplus.services import booking, claim_facts, claims, runs
from surplus.services.notifications import text
from surplus.templating import when
from tests import factories
from tests.factories import translated


def _rows(kind):
    db.session.expire_all()
    query = select(Notification).where(Notification.kind == kind).order_by(Notification.id)
    return db.session.scalars(query).all()


def _recipients(rows):
    return {n.user_id for n in rows}


def test_too_much_and_claimed_meanwhile_are_told_apart(w):
    lot = factories.lot(w.donor, kg=40, min_part_kg=5)
    db.session.commit()
    seen = lot.remaining_g
    claims.claim_lot(db.session, w.cpas_user, lot.id, 10, seen_g=seen)
    with pytest.raises(Conflict) as raced:  # the page said 40 kg; 30 are left now
        claims.claim_lot(db.session, w.asbl_user, lot.id, 35, seen_g=seen)
    assert raced.value.extra == {"available_kg": 30, "code": "claimed_meanwhile"}
    with pytest.raises(Conflict) as too_much:  # the page said 30 kg; still 30
        claims.claim_lot(db.session, w.asbl_user, lot.id, 35, seen_g=30_000)
    assert too_much.value.extra == {"available_kg": 30, "code": "too_much"}
    assert too_much.value.fields["kg"] == translated(
        "fr", "Only %(left)s are left; you asked for %(asked)s.", left="30 kg", asked="35 kg"
    )
    with pytest.raises(Conflict) as unknown:  # the API without what was seen: too much
        claims.claim_lot(db.session, w.asbl_user, lot.id, 35)
    assert unknown.value.extra["code"] == "too_much"
    claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    with pytest.raises(Conflict) as gone:
        claims.claim_lot(db.session, w.asbl_user, lot.id, 5, seen_g=30_000)
    assert gone.value.extra == {"available_kg": 0, "code": "claimed_meanwhile"}


def test_held_kilograms_count_live_claims_of_the_organisation_only(w):
    lot = factories.lot(w.donor, kg=90)
    other = factories.lot(w.donor, kg=20)
    first, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 15)
    claims.claim_lot(db.session, w.asbl_user, lot.id, 5)
    claims.cancel_claim(db.session, w.cpas_user, first)
    held = claim_facts.held_kg(db.session, w.cpas.id, [lot.id, other.id])
    assert held == {lot.id: 15}


def test_an_allocation_tells_the_beneficiary_and_the_donor_not_the_coordinator(w):
    colleague = factories.user(w.platform, Role.COORDINATOR)
    mine = factories.lot(w.platform, kg=336, title="Thon")  # the platform's own stock
    theirs = factories.lot(w.donor, kg=50, title="Yaourts")
    claim = factories.allocated_claim(w.coordinator, mine, 336, w.cpas)
    factories.allocated_claim(w.coordinator, theirs, 20, w.cpas)
    assert claim_facts.allocated_by(db.session, [claim.id]) == {claim.id: w.platform}
    told = _rows(NotificationKind.LOT_CLAIMED)
    # the coordinator who confirmed is not told what he did; his colleague and the donor are
    assert _recipients(told) == {colleague.id, w.donor_user.id}
    with force_locale("fr"):
        line = text.text(next(n for n in told if n.user_id == w.donor_user.id))
    assert line == translated(
        "fr",
        "%(platform)s allocated %(kg)s of your lot %(title)s to %(org)s.",
        platform="Hub Libramont",
        kg="20 kg",
        title="Yaourts",
        org="CPAS Test",
    )
    allocated = _rows(NotificationKind.CLAIM_ALLOCATED)
    assert _recipients(allocated) == {w.cpas_user.id}
    tuna = next(n for n in allocated if n.subject_id == claim.id)
    with force_locale("fr"):
        body, title = text.text(tuna), text.subject(tuna)
    assert "336 kg" in body and "Thon" in body and "Hub Libramont" in body
    assert translated("fr", "The platform will plan the delivery.") in body
    assert title == translated(
        "fr",
        "%(platform)s allocated %(kg)s of %(title)s to you",
        platform="Hub Libramont",
        kg="336 kg",
        title="Thon",
    )


def test_a_booked_claim_is_planned_at_its_stops_timetable_and_the_notice_says_both(
    daily_rounds,
):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()
    proposal = booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    drop = next(
        s for s in proposal.run.stops if s.claim_id == claim.id and s.kind == StopKind.DROPOFF
    )
    timetable = {stop.id: at for stop, at, _load in runs.timetable(proposal.run).rows}
    assert claim_facts.planned_delivery(db.session, claim) == timetable[drop.id]
    assert claim_facts.planned_at([drop])[drop.id] == timetable[drop.id]
    notice = next(n for n in _rows(NotificationKind.BOOKING) if n.user_id == w.cpas_user.id)
    assert notice.params["delivery"] == proposal.insertion.drop_eta.isoformat()
    with force_locale("fr"):
        line = text.text(notice)
        times = translated(
            "fr",
            "Pickup planned on %(pickup)s, delivery on %(delivery)s.",
            pickup=when(proposal.insertion.pickup_eta),
            delivery=when(proposal.insertion.drop_eta),
        )
    assert times in line
