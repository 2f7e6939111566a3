"""Self-collection's hand-over (services.collection): who may record it, on which claims,
the check of every hand-over (a reading for chilled food, the use-by, the product's
limit), the claim delivered with its events, or refused as at a stop with its people
told; and the reports counting it as donated and delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from surplus import access
from surplus.errors import Conflict, Forbidden, Invalid
from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Event,
    Lot,
    Notification,
    NotificationKind,
    ProductKind,
    Role,
)
from surplus.services import booking, claims, collection
from surplus.services import trace as trace_service
from surplus.services.lot_dates import BRUSSELS
from surplus.services.notifications.text import text
from surplus.services.reports import ledger
from surplus.services.reports.period import Period
from surplus.services.reports.summary import summary
from tests import factories
from tests.factories import translated


@pytest.fixture
def w(w):
    """The CPAS claimed 30 kg of chilled poultry (limit 4 °C) and collects it itself."""
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, category="meat_fish")
    lot.product_kind = ProductKind.POULTRY
    w.lot = lot
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    booking.self_collect(db.session, w.cpas_user, w.claim)
    db.session.commit()
    return w


def _events(subject: str, subject_id: int, action: str) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event).where(
                Event.subject_type == subject,
                Event.subject_id == subject_id,
                Event.action == action,
            )
        )
    )


def _told(claim_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.kind == NotificationKind.HANDOVER_REFUSED,
                Notification.subject_id == claim_id,
            )
        )
    )


def test_a_collection_within_the_limit_delivers_the_claim(w):
    remaining = w.lot.remaining_g
    outcome = collection.confirm_collection(db.session, w.cpas_user, w.claim, 3.5, "Marie")
    db.session.commit()
    assert outcome.ok and outcome.limit_c == 4.0
    assert w.claim.status == ClaimStatus.DELIVERED
    (event,) = _events("claim", w.claim.id, "self_collected")
    assert event.before == {"status": "active"}
    assert event.after == {"status": "delivered", "temperature_c": 3.5, "limit_c": 4.0}
    assert event.actor_id == w.cpas_user.id and event.organisation_id == w.cpas.id
    (on_lot,) = _events("lot", w.lot.id, "self_collected")
    assert on_lot.organisation_id == w.donor.id
    assert on_lot.after["claim_id"] == w.claim.id and on_lot.after["kg"] == 30
    # The event log never holds the receiver's name (README, "Hand-over events"): the
    # claim does, as a stop does, for the retention job to blank.
    assert "Marie" not in str(event.after) + str(on_lot.after)
    assert w.claim.collected_by == "Marie" and w.claim.collection_note == ""
    assert db.session.get(Lot, w.lot.id).remaining_g == remaining
    assert _told(w.claim.id) == set()


def test_the_receiver_and_the_note_are_kept_on_the_claim_even_when_refused(w):
    outcome = collection.confirm_collection(
        db.session, w.cpas_user, w.claim, 9.0, "  Marie ", "Caisse abîmée"
    )
    db.session.commit()
    assert not outcome.ok
    db.session.expire_all()
    claim = db.session.get(Claim, w.claim.id)
    assert (claim.collected_by, claim.collection_note) == ("Marie", "Caisse abîmée")


def test_the_round_trip_km_are_kept_when_the_caller_knows_them(w):
    collection.confirm_collection(db.session, w.cpas_user, w.claim, 2, "Marie", km=12.4)
    (event,) = _events("claim", w.claim.id, "self_collected")
    assert event.after["km"] == 12.4


def test_too_warm_ends_the_claim_refused_and_tells_its_people(w, app):
    remaining = w.lot.remaining_g
    outcome = collection.confirm_collection(db.session, w.cpas_user, w.claim, 4.1, "Marie")
    db.session.commit()
    assert not outcome.ok and outcome.reason == "too_warm" and outcome.limit_c == 4.0
    assert w.claim.status == ClaimStatus.REFUSED and w.claim.status_reason == outcome.message
    db.session.expire_all()
    assert db.session.get(Lot, w.lot.id).remaining_g == remaining  # the kg do not return
    (refused,) = _events("claim", w.claim.id, "refused")
    assert refused.before["status"] == "active" and refused.after["status"] == "refused"
    (on_lot,) = _events("lot", w.lot.id, "handover_refused")
    assert on_lot.after["stage"] == "self_collection" and on_lot.after["reason"] == "too_warm"
    assert _events("claim", w.claim.id, "self_collected") == []
    told = _told(w.claim.id)
    assert {w.cpas_user.id, w.coordinator.id, w.donor_user.id} <= told
    assert w.asbl_user.id not in told and w.other_coordinator.id not in told
    note = db.session.scalars(
        select(Notification).where(
            Notification.kind == NotificationKind.HANDOVER_REFUSED,
            Notification.user_id == w.donor_user.id,
        )
    ).one()
    with app.test_request_context():  # in the reader's language, French here
        line = text(note).replace("\u202f", " ").replace("\xa0", " ")
    assert translated("fr", "at the collection by the beneficiary at the donor's") in line
    assert "4,1 °C" in line and "4 °C" in line and "30 kg" in line


def test_past_the_use_by_it_is_refused(w):
    w.lot.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    outcome = collection.confirm_collection(db.session, w.cpas_user, w.claim, 2, "Marie")
    assert not outcome.ok and outcome.reason == "use_by_passed"
    assert w.claim.status == ClaimStatus.REFUSED


@pytest.mark.parametrize("reading", [None, float("nan"), 80])
def test_chilled_food_needs_a_plausible_reading_and_a_receiver(w, reading):
    with pytest.raises(Invalid) as raised:
        collection.confirm_collection(db.session, w.cpas_user, w.claim, reading, "")
    assert set(raised.value.fields) == {"temperature_c", "receiver"}
    db.session.rollback()
    assert w.claim.status == ClaimStatus.ACTIVE
    assert _events("claim", w.claim.id, "self_collected") == []


def test_ambient_food_needs_no_reading_but_a_receiver(w):
    lot = factories.lot(
        w.donor, kg=10, storage="ambient", category="dry_goods", date_kind="best_before"
    )
    claim, _ = claims.claim_lot(db.session, w.asbl_user, lot.id, 10)
    booking.self_collect(db.session, w.asbl_user, claim)
    with pytest.raises(Invalid) as raised:
        collection.confirm_collection(db.session, w.asbl_user, claim, None, "  ")
    assert raised.value.fields == {"receiver": raised.value.fields["receiver"]}
    outcome = collection.confirm_collection(db.session, w.asbl_user, claim, None, "Paul")
    assert outcome.ok and outcome.limit_c is None and claim.status == ClaimStatus.DELIVERED


def test_only_an_active_self_collected_claim_is_collected(w):
    other = factories.lot(w.donor, kg=20)
    carried, _ = claims.claim_lot(db.session, w.cpas_user, other.id, 10)
    with pytest.raises(Conflict) as raised:  # a run is to carry it
        collection.confirm_collection(db.session, w.cpas_user, carried, 3, "Marie")
    assert raised.value.message == translated(
        "fr",
        "This claim is not to be collected by the beneficiary: choose self-collection first.",
    )
    assert collection.confirm_collection(db.session, w.cpas_user, w.claim, 3, "Marie").ok
    with pytest.raises(Conflict) as raised:  # twice
        collection.confirm_collection(db.session, w.cpas_user, w.claim, 3, "Marie")
    assert raised.value.message == translated(
        "fr", "This claim was already collected or delivered."
    )
    cancelled, _ = claims.claim_lot(db.session, w.cpas_user, other.id, 5)
    booking.self_collect(db.session, w.cpas_user, cancelled)
    claims.cancel_claim(db.session, w.cpas_user, cancelled)
    with pytest.raises(Conflict):
        collection.confirm_collection(db.session, w.cpas_user, cancelled, 3, "Marie")


def test_of_two_recordings_at_once_the_second_is_a_conflict(w):
    # Another request delivered it since this one read the claim (still active here).
    db.session.execute(
        update(Claim)
        .where(Claim.id == w.claim.id)
        .values(status=ClaimStatus.DELIVERED)
        .execution_options(synchronize_session=False)
    )
    assert w.claim.status == ClaimStatus.ACTIVE
    with pytest.raises(Conflict) as raised:
        collection.confirm_collection(db.session, w.cpas_user, w.claim, 3, "Marie")
    assert raised.value.message == translated(
        "fr", "This claim was already collected or delivered."
    )
    assert _events("claim", w.claim.id, "self_collected") == []


def test_a_refused_claim_cannot_be_collected_again(w):
    collection.confirm_collection(db.session, w.cpas_user, w.claim, 9, "Marie")
    with pytest.raises(Conflict) as raised:
        collection.confirm_collection(db.session, w.cpas_user, w.claim, 2, "Marie")
    assert raised.value.message == translated(
        "fr", "This claim was refused at an earlier hand-over."
    )


def test_who_may_record_it(w):
    member = factories.user(w.cpas, Role.MEMBER)
    platform_member = factories.user(w.platform, Role.MEMBER)
    assert access.can(member, access.COLLECT, w.claim)
    assert access.can(w.coordinator, access.COLLECT, w.claim)
    for outsider in (w.donor_user, w.asbl_user, w.other_coordinator, platform_member):
        assert not access.can(outsider, access.COLLECT, w.claim)
        with pytest.raises(Forbidden):
            collection.confirm_collection(db.session, outsider, w.claim, 3, "Marie")
    assert w.claim.status == ClaimStatus.ACTIVE
    assert collection.confirm_collection(db.session, w.coordinator, w.claim, 3, "Marie").ok


def test_reports_count_it_donated_and_delivered_when_it_happened(w):
    before = summary(db.session, access.report_scope(w.cpas_user), Period.default(), 5.0)
    assert collection.confirm_collection(db.session, w.cpas_user, w.claim, 3, "Marie").ok
    db.session.commit()
    (event,) = _events("claim", w.claim.id, "self_collected")
    moments = ledger.moments(db.session, [w.claim.id])[w.claim.id]
    assert moments.picked_up_at == event.at and moments.delivered_at == event.at
    assert moments.added_km == 0.0
    for moment in (ledger.delivered_at(), ledger.picked_up_at()):
        rows = db.session.execute(select(moment.c.claim_id, moment.c.at)).all()
        assert rows == [(w.claim.id, event.at)]
    after = summary(db.session, access.report_scope(w.cpas_user), Period.default(), 5.0)
    assert after.total.kg_delivered - before.total.kg_delivered == 30


def test_a_refused_collection_is_neither_donated_nor_delivered(w):
    collection.confirm_collection(db.session, w.cpas_user, w.claim, 9, "Marie")
    db.session.commit()
    moments = ledger.moments(db.session, [w.claim.id])[w.claim.id]
    assert moments.picked_up_at is None and moments.delivered_at is None


def test_the_trace_shows_the_collection_as_a_hand_over_at_the_donors(w):
    collection.confirm_collection(db.session, w.cpas_user, w.claim, 3.5, "Marie")
    db.session.commit()
    trace = trace_service.lot_trace(db.session, w.lot)
    (recipient,) = trace.recipients
    (handover,) = recipient.handovers
    (event,) = _events("claim", w.claim.id, "self_collected")
    assert (handover.kind, handover.accepted, handover.temperature_c) == ("collection", True, 3.5)
    assert (handover.receiver, handover.at, handover.carrier.id) == ("Marie", event.at, w.cpas.id)
    assert (handover.place, handover.run_id, handover.leg) == (w.donor.name, None, None)
    assert (recipient.kg_picked_up, recipient.kg_delivered) == (30, 30)
    assert recipient.delivered_at == event.at
    # The inspection search dates the claim by its collection, not by when it was made.
    day = event.at.astimezone(BRUSSELS).date()
    found = trace_service.search(db.session, access.traceable_claims(w.donor_user), day, day)
    assert found == [(w.claim, event.at)]


def test_the_trace_shows_a_refused_collection_and_no_delivery(w):
    collection.confirm_collection(db.session, w.cpas_user, w.claim, 9.0, "Marie")
    db.session.commit()
    (recipient,) = trace_service.lot_trace(db.session, w.lot).recipients
    (handover,) = recipient.handovers
    assert (handover.kind, handover.accepted, handover.temperature_c) == ("collection", False, 9.0)
    assert (recipient.kg_picked_up, recipient.kg_delivered, recipient.delivered_at) == (0, 0, None)


def test_a_claim_not_collected_by_its_people_has_no_collection_on_the_trace(w):
    other = factories.lot(w.donor, kg=10, days=5, hours_open=60)
    claim, _ = claims.claim_lot(db.session, w.asbl_user, other.id, 10)
    db.session.commit()
    (recipient,) = trace_service.lot_trace(db.session, other).recipients
    assert recipient.claim.id == claim.id and recipient.handovers == []
