"""The hand-over check (services.food_safety) and what a refusal does: the limits table
of Reg. (EC) 853/2004 Annex III with the donor's stricter limit, the use-by at delivery
and at self-collection, and a refused claim that ends refused, keeps its kilograms out
of the lot, leaves the runs and tells the beneficiary, the coordinator and the donor."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from surplus.errors import Conflict, Invalid
from surplus.extensions import db
from surplus.models import (
    ClaimStatus,
    Event,
    Lot,
    Notification,
    NotificationKind,
    ProductKind,
    Stop,
    StopKind,
    StopStatus,
    StorageClass,
)
from surplus.schemas.base import load
from surplus.schemas.lot import LotInSchema
from surplus.services import booking, claims, food_safety, stops
from surplus.services import lots as lot_service
from surplus.services.booking import WEEKDAYS
from surplus.services.lot_dates import local_today
from surplus.services.notifications.text import text
from tests import factories

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _lot(storage="chilled", kind=None, own=None, expires=NOW + timedelta(days=2)) -> Lot:
    return Lot(
        storage=StorageClass(storage),
        product_kind=ProductKind(kind) if kind else None,
        max_temperature_c=own,
        expires_at=expires,
    )


@pytest.mark.parametrize(
    ("kind", "limit"),
    [
        (None, 7.0),
        ("fresh_meat", 7.0),
        ("poultry", 4.0),
        ("offal", 3.0),
        ("minced_meat", 2.0),
        ("meat_preparation", 4.0),
        ("fishery", 2.0),
    ],
)
def test_chilled_limits_follow_annex_iii(app, kind, limit):
    lot = _lot(kind=kind)
    assert food_safety.limit_for(lot) == limit
    assert food_safety.check_handover(lot, limit, NOW).ok
    refused = food_safety.check_handover(lot, limit + 0.1, NOW)
    assert not refused.ok and refused.reason == "too_warm" and refused.limit_c == limit


def test_poultry_at_4_1_is_refused_and_at_4_0_accepted(app):
    poultry = _lot(kind="poultry")
    assert food_safety.check_handover(poultry, 4.0, NOW).ok
    verdict = food_safety.check_handover(poultry, 4.1, NOW)
    assert not verdict.ok and verdict.limit_c == 4.0 and "4,1" in verdict.message


def test_the_stricter_limit_wins(app):
    assert food_safety.limit_for(_lot(kind="fresh_meat", own=5.0)) == 5.0
    assert food_safety.limit_for(_lot(kind="poultry", own=6.0)) == 4.0  # the law is stricter
    assert food_safety.limit_for(_lot(own=3.0)) == 3.0
    assert not food_safety.check_handover(_lot(kind="fresh_meat", own=5.0), 5.5, NOW).ok
    assert food_safety.limit_for(_lot("frozen", own=-20.0)) == -20.0


def test_frozen_food_is_tolerated_to_minus_15_in_transport(app):
    frozen = _lot("frozen")
    assert food_safety.limit_for(frozen) == -15.0
    assert food_safety.limit_for(frozen, transport=False) == -18.0
    assert food_safety.check_handover(frozen, -16, NOW).ok
    assert food_safety.check_handover(frozen, -15, NOW).ok
    verdict = food_safety.check_handover(frozen, -14, NOW)
    assert not verdict.ok and verdict.limit_c == -15.0


def test_ambient_food_needs_no_reading(app):
    ambient = _lot("ambient")
    assert food_safety.limit_for(ambient) is None
    assert food_safety.check_handover(ambient, None, NOW).ok


@pytest.mark.parametrize("reading", [None, float("nan"), float("inf"), float("-inf"), 80, -41])
def test_a_missing_or_implausible_reading_is_invalid(app, reading):
    with pytest.raises(Invalid) as raised:
        food_safety.check_handover(_lot(kind="poultry"), reading, NOW)
    assert "temperature" in raised.value.fields


def test_the_use_by_is_checked_at_the_moment_of_the_handover(app):
    lot = _lot(kind="poultry", expires=NOW)
    assert food_safety.check_handover(lot, 2, NOW - timedelta(seconds=1)).ok
    verdict = food_safety.check_handover(lot, 2, NOW)  # expires_at: first moment refused
    assert not verdict.ok and verdict.reason == "use_by_passed" and verdict.limit_c == 4.0
    ambient = _lot("ambient", expires=NOW)
    assert food_safety.check_handover(ambient, None, NOW, measured=False).reason == (
        "use_by_passed"
    )


# -- refusals in the world ------------------------------------------------------------


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    w.lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, category="meat_fish")
    w.lot.product_kind = ProductKind.POULTRY
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, w.lot.id, 30)
    booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    w.pickup, w.drop = booking.booked_stops(db.session, w.claim)
    assert (w.pickup.kind, w.drop.kind) == (StopKind.PICKUP, StopKind.DROPOFF)
    return w


def _told(claim_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.kind == NotificationKind.HANDOVER_REFUSED,
                Notification.subject_type == "claim",
                Notification.subject_id == claim_id,
            )
        )
    )


def test_refused_at_pickup_the_part_is_unfit_and_not_offered_again(w):
    remaining = w.lot.remaining_g
    outcome = stops.confirm(db.session, w.driver, w.pickup, 4.5)
    db.session.commit()
    assert not outcome.ok and outcome.limit_c == 4.0 and outcome.reason == "too_warm"
    assert w.claim.status == ClaimStatus.REFUSED and w.claim.status_reason == outcome.message
    assert w.pickup.status == StopStatus.REJECTED and w.pickup.temperature_c == 4.5
    db.session.expire_all()
    assert db.session.get(Lot, w.lot.id).remaining_g == remaining  # the kg do not return
    # The drop-off left the run: no driver carries refused food on.
    assert db.session.get(Stop, w.drop.id) is None
    assert [s.id for s in booking.booked_stops(db.session, w.claim)] == [w.pickup.id]
    told = _told(w.claim.id)
    assert {w.cpas_user.id, w.coordinator.id, w.donor_user.id} <= told
    assert w.asbl_user.id not in told
    with pytest.raises(Conflict):
        claims.cancel_claim(db.session, w.cpas_user, w.claim)
    with pytest.raises(Conflict):
        booking.self_collect(db.session, w.cpas_user, w.claim)
    event = db.session.scalars(
        select(Event).where(
            Event.subject_type == "claim", Event.subject_id == w.claim.id, Event.action == "refused"
        )
    ).one()
    assert event.before["status"] == "active" and event.after["status"] == "refused"


def test_refused_at_delivery_the_claim_ends_refused_with_the_reading(w, app):
    assert stops.confirm(db.session, w.driver, w.pickup, 3).ok
    outcome = stops.confirm(db.session, w.driver, w.drop, 5, "Marie")
    db.session.commit()
    assert not outcome.ok and outcome.reason == "too_warm"
    assert w.claim.status == ClaimStatus.REFUSED  # not delivered
    assert w.drop.receiver_name == "Marie" and w.drop.confirmed_at is not None
    notes = db.session.scalars(
        select(Notification).where(
            Notification.kind == NotificationKind.HANDOVER_REFUSED,
            Notification.user_id == w.cpas_user.id,
        )
    ).all()
    assert len(notes) == 1
    with app.test_request_context(headers={"Accept-Language": "en"}):
        line = text(notes[0])
    assert "5 °C" in line and "4 °C" in line and "30 kg" in line.replace("\u202f", " ")
    lot_events = db.session.scalars(
        select(Event.action).where(Event.subject_type == "lot", Event.subject_id == w.lot.id)
    ).all()
    assert "handover_refused" in lot_events


def test_a_delivery_after_the_use_by_is_refused_and_recorded(w):
    assert stops.confirm(db.session, w.driver, w.pickup, 3).ok
    w.lot.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    outcome = stops.confirm(db.session, w.driver, w.drop, 3, "Marie")
    db.session.commit()
    assert not outcome.ok and outcome.reason == "use_by_passed"
    assert w.drop.status == StopStatus.REJECTED and w.claim.status == ClaimStatus.REFUSED


def test_self_collection_after_the_use_by_is_refused(w):
    booking.unbook(db.session, w.coordinator, w.claim)
    w.lot.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(Conflict) as raised:
        booking.self_collect(db.session, w.cpas_user, w.claim)
    assert raised.value.extra["reason"] == "use_by_passed"
    assert raised.value.extra["refused"] is True
    db.session.rollback()
    assert not w.claim.self_collect


def test_self_collection_before_the_use_by_is_accepted(w):
    booking.self_collect(db.session, w.cpas_user, w.claim)
    assert w.claim.self_collect and not booking.booked_stops(db.session, w.claim)


# -- posting a lot: its kind and its own limit ----------------------------------------


def _lot_values(**overrides) -> dict:
    start = datetime.now(UTC) + timedelta(hours=1)
    data = {
        "title": "Filets de poulet",
        "category": "meat_fish",
        "weight_kg": "20",
        "date_kind": "use_by",
        "date": (local_today() + timedelta(days=4)).isoformat(),
        "storage": "chilled",
        "pickup_from": start.isoformat(),
        "pickup_until": (start + timedelta(hours=8)).isoformat(),
    }
    data.update(overrides)
    return data


def _load_errors(**overrides) -> dict:
    with pytest.raises(Invalid) as caught:
        load(LotInSchema(), _lot_values(**overrides))
    return caught.value.fields


def test_chilled_meat_or_fish_says_which_kind_it_is(app):
    assert "product_kind" in _load_errors()
    assert "product_kind" in _load_errors(storage="frozen")
    assert "product_kind" in _load_errors(category="dairy", product_kind="poultry")
    assert "max_temperature_c" in _load_errors(
        category="dry_goods", storage="ambient", product_kind=None, max_temperature_c="5"
    )
    assert "max_temperature_c" in _load_errors(product_kind="poultry", max_temperature_c="NaN")
    values = load(LotInSchema(), _lot_values(product_kind="poultry", max_temperature_c="3,5"))
    assert values["product_kind"] == ProductKind.POULTRY and values["max_temperature_c"] == 3.5
    # Meat in a tin (ambient) needs no kind.
    assert load(LotInSchema(), _lot_values(storage="ambient", date_kind="best_before"))


def test_a_posted_lot_keeps_its_kind_and_limit_also_from_csv(app):
    donor = factories.user(factories.org("producer"))
    db.session.commit()
    lot, _ = lot_service.create_lot(
        db.session,
        donor,
        load(LotInSchema(), _lot_values(product_kind="minced_meat", max_temperature_c="1")),
    )
    assert lot.product_kind == ProductKind.MINCED_MEAT and lot.max_temperature_c == 1.0
    assert food_safety.limit_for(lot) == 1.0
    row = _lot_values(product_kind="fishery")
    csv_text = ",".join(lot_service.CSV_COLUMNS) + "\n"
    csv_text += ",".join(f'"{row.get(c, "")}"' for c in lot_service.CSV_COLUMNS) + "\n"
    (posted,) = lot_service.create_lots_from_csv(db.session, donor, csv_text)
    assert posted.product_kind == ProductKind.FISHERY and food_safety.limit_for(posted) == 2.0


def test_refused_at_the_hub_the_second_leg_leaves_its_run(shared_world, agree, add_run):
    w = shared_world
    agree(w)
    w.cpas_convention.opening_hours = {WEEKDAYS[w.day2.weekday()]: [["08:00", "17:00"]]}
    hub_run = add_run(w.platform, w.hub_depot, w.hub_van, w.day2)
    db.session.commit()
    booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    by = {(s.leg, s.kind): s for s in booking.booked_stops(db.session, w.claim)}
    assert stops.confirm(db.session, w.other_coordinator, by[1, StopKind.PICKUP], 4).ok
    outcome = stops.confirm(db.session, w.other_coordinator, by[1, StopKind.DROPOFF], 9, "Quai")
    db.session.commit()
    assert not outcome.ok and outcome.limit_c == 7.0
    assert w.claim.status == ClaimStatus.REFUSED
    left = booking.booked_stops(db.session, w.claim)
    assert {(s.leg, s.kind) for s in left} == {(1, StopKind.PICKUP), (1, StopKind.DROPOFF)}
    assert not any(s.claim_id == w.claim.id for s in hub_run.stops)
    # The carrying platform's coordinator is told too, on its run.
    carried = db.session.scalars(
        select(Notification.subject_type).where(
            Notification.kind == NotificationKind.HANDOVER_REFUSED,
            Notification.user_id == w.other_coordinator.id,
        )
    ).all()
    assert carried == ["run"]
