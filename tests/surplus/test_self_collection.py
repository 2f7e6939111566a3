"""Self-collection in placement: a beneficiary whose convention says its own people
collect at donors within some km is given lots no run carries but that it can fetch
in time, and such a claim is booked as self-collected (services/self_collection.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from surplus import clock
from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Convention,
    Event,
    Notification,
    NotificationKind,
    Role,
    Stop,
)
from surplus.services import placement, self_collection
from surplus.services.booking import WEEKDAYS
from surplus.services.lot_dates import BRUSSELS
from surplus.services.notifications import text
from tests import factories


@pytest.fixture(autouse=True)
def _moving_clock():
    clock.set_time(datetime.now(UTC))
    yield
    clock.set_time(None)


def _place() -> dict[str, int]:
    counts = placement.run(db.session, clock.now())
    db.session.commit()
    clock.set_time(clock.now() + timedelta(minutes=15))
    return counts


def _claims(lot) -> list[Claim]:
    return list(
        db.session.scalars(
            select(Claim).where(Claim.lot_id == lot.id, Claim.status == ClaimStatus.ACTIVE)
        )
    )


def _no_run_reaches(app):
    """No van may add a single km: no run reaches anybody."""
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 0.0
    app.config["PLACEMENT_DETOUR_KM_PER_KG"] = 0.0


def _km(conv, lot) -> float:
    return self_collection.road_km(conv, lot)


def test_a_lot_no_run_reaches_goes_to_the_beneficiary_that_collects_that_far(app, daily_rounds):
    w = daily_rounds
    _no_run_reaches(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60, title="Pommes")
    km = _km(w.asbl_convention, lot)
    w.asbl_convention.self_collect_km = km + 2
    db.session.commit()

    counts = _place()

    placed = _claims(lot)
    assert placed, "the association that collects itself was given the lot"
    assert {c.beneficiary_id for c in placed} == {w.asbl.id}, "the CPAS does not collect"
    assert counts["booked"] == len(placed) and counts["given_back"] == 0
    for claim in placed:
        assert claim.self_collect
        assert db.session.scalars(select(Stop).where(Stop.claim_id == claim.id)).all() == []
    notices = db.session.scalars(
        select(Notification).where(
            Notification.kind == NotificationKind.BOOKING,
            Notification.subject_id == placed[0].id,
        )
    ).all()
    told = {n.user_id for n in notices}
    assert w.asbl_user.id in told, "the beneficiary is told"
    assert told & {u.id for u in w.donor.users}, "the donor is told"
    when = notices[0].params["pickup"]
    assert when is not None
    with force_locale("fr"):
        line = text.text(notices[0])
    assert "Pommes" in line and "30" in line, line


def test_too_far_to_collect_nobody_is_given_the_lot(app, daily_rounds):
    w = daily_rounds
    _no_run_reaches(app)
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60, title="Pommes")
    w.asbl_convention.self_collect_km = _km(w.asbl_convention, lot) - 1
    db.session.commit()

    _place()

    assert _claims(lot) == []


def test_a_run_within_the_budget_carries_it_even_for_those_who_collect(app, daily_rounds):
    """Collecting is for what vans would go out of their way for: within placement's
    detour budget the run carries it; and once a van stops at that donor and that
    beneficiary, the next lot rides along at no added km even with no budget at all."""
    w = daily_rounds
    lot = factories.lot(w.donor, kg=30, days=5, hours_open=60, title="Pommes")
    w.asbl_convention.self_collect_km = _km(w.asbl_convention, lot) + 2
    w.cpas_convention.self_collect_km = _km(w.cpas_convention, lot) + 2
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 10_000.0  # any van detour is fine
    db.session.commit()
    _place()
    on_runs = _claims(lot)
    assert on_runs and not any(c.self_collect for c in on_runs)

    other = factories.lot(w.donor, kg=20, days=5, hours_open=60, title="Poires")
    db.session.commit()
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 0.0
    app.config["PLACEMENT_DETOUR_KM_PER_KG"] = 0.0
    _place()
    riding = _claims(other)
    assert riding and not any(c.self_collect for c in riding)
    booked = db.session.scalars(
        select(Event).where(
            Event.subject_type == "claim",
            Event.action == "booked",
            Event.subject_id.in_([c.id for c in riding]),
        )
    ).all()
    assert booked and all(e.after["added_km"] == 0 for e in booked), [e.after for e in booked]


def _local(day_offset: int, hhmm: str) -> datetime:
    now = clock.now().astimezone(BRUSSELS)
    hour, minute = map(int, hhmm.split(":"))
    moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return (moment + timedelta(days=day_offset)).astimezone(UTC)


def test_the_moment_is_in_the_opening_hours_and_the_pickup_window(app, daily_rounds):
    w = daily_rounds
    clock.set_time(datetime(2026, 12, 8, 7, 0, tzinfo=UTC))  # a Tuesday, 08:00 in Brussels
    conv = w.asbl_convention
    conv.opening_hours = {day: [["13:00", "15:00"]] for day in WEEKDAYS}
    lot = factories.lot(w.donor, kg=10, days=5, hours_open=60)
    conv.self_collect_km = _km(conv, lot) + 1
    lot.pickup_from = _local(0, "09:00")
    lot.pickup_until = _local(1, "18:00")
    lot.expires_at = _local(3, "23:59")
    db.session.flush()

    moment = self_collection.fetch_from(conv, lot, clock.now())
    assert moment == _local(0, "13:00"), "today's opening, past the 3-hour lead"

    late = clock.now().astimezone(BRUSSELS).replace(hour=14, minute=30).astimezone(UTC)
    assert self_collection.fetch_from(conv, lot, late) == _local(1, "13:00"), "tomorrow"

    lot.pickup_until = _local(0, "13:20")  # closes before they could be there, 30 min early
    assert self_collection.fetch_from(conv, lot, clock.now()) is None

    conv.self_collect_km = 0
    lot.pickup_until = _local(1, "18:00")
    assert self_collection.fetch_from(conv, lot, clock.now()) is None, "it does not collect"


def test_the_convention_api_takes_the_radius_and_refuses_nonsense(client, api_token):
    """The radius is one of the convention's figures: the API's PATCH and its errors."""
    w = factories.world()
    admin = factories.user(w.asbl, Role.ORG_ADMIN)
    db.session.commit()
    headers = api_token(admin)
    url = f"/api/v1/conventions/{w.asbl_convention.id}"
    ok = client.patch(url, json={"self_collect_km": 12.5}, headers=headers)
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["self_collect_km"] == 12.5
    for nonsense in (-3, 1000, "far"):
        bad = client.patch(url, json={"self_collect_km": nonsense}, headers=headers)
        assert bad.status_code == 400, bad.get_json()
        assert "self_collect_km" in str(bad.get_json()), bad.get_json()
    db.session.rollback()
    assert db.session.get(Convention, w.asbl_convention.id).self_collect_km == 12.5


def test_the_convention_form_shows_and_keeps_the_radius(login_as):
    w = factories.world()
    admin = factories.user(w.asbl, Role.ORG_ADMIN)
    w.asbl_convention.self_collect_km = 8
    db.session.commit()
    client = login_as(admin)
    page = client.get(f"/conventions/{w.asbl_convention.id}")
    assert page.status_code == 200
    assert 'name="self_collect_km"' in page.text and 'value="8"' in page.text
    # a bad value comes back with the entry kept and a message for the field
    form = client.post(
        f"/conventions/{w.asbl_convention.id}/figures",
        data={
            "persons_per_week": "40",
            "self_collect_km": "-2",
            "distribution_mode": "free_parcels",
        },
    )
    assert form.status_code in (400, 422), form.status_code
    assert 'value="-2"' in form.text
    db.session.rollback()
    assert db.session.get(Convention, w.asbl_convention.id).self_collect_km == 8
