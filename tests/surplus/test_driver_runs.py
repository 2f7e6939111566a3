"""Runs assigned to drivers: who may assign whom, the event it leaves, the driver's runs
of today with their progress and next stop, "my runs today" on the home page, the run
sheet's food facts (use-by, allergens, storage, FSE+) loaded without a query per stop,
and a client platform seeing only its own stops of a shared run."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from surplus.errors import Conflict, Forbidden, Invalid, NotFound
from surplus.extensions import db
from surplus.models import DateKind, Event, Role, Run, Stop, StopKind, StopStatus
from surplus.services import booking, claims, dashboard
from surplus.services import runs as service
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories


def _runs_from(w, day: date) -> list[Run]:
    return db.session.scalars(
        select(Run)
        .where(Run.platform_id == w.platform.id, Run.run_date >= day)
        .order_by(Run.start_at)
    ).all()


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    w.today = local_today()
    w.todays, w.tomorrows = _runs_from(w, w.today)[:2]
    assert w.todays.run_date == w.today and w.tomorrows.run_date == w.today + timedelta(days=1)
    db.session.commit()
    return w


def _booked(w, allergens=("milk",), units=None, **lot_kw):
    """A claim of the CPAS for 20 kg of a 40 kg lot of the donor, booked on tomorrow's run."""
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, **lot_kw)
    lot.allergens, lot.units = list(allergens), units
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 20)
    db.session.commit()
    booking.book(db.session, w.coordinator, claim, run_id=w.tomorrows.id)
    db.session.commit()
    return claim


def test_a_coordinator_assigns_an_active_member_and_it_is_recorded(w):
    service.assign_driver(db.session, w.coordinator, w.todays, w.driver.id)
    db.session.commit()
    assert w.todays.driver_id == w.driver.id
    events = db.session.scalars(
        select(Event).where(Event.subject_type == "run", Event.subject_id == w.todays.id)
    ).all()
    assert [(e.action, e.before, e.after) for e in events] == [
        ("driver_assigned", {"driver_id": None}, {"driver_id": w.driver.id})
    ]
    assert events[0].organisation_id == w.platform.id
    # Again the same: nothing new; then to nobody.
    service.assign_driver(db.session, w.coordinator, w.todays, w.driver.id)
    service.assign_driver(db.session, w.coordinator, w.todays, None)
    db.session.commit()
    assert w.todays.driver_id is None
    actions = db.session.scalars(
        select(Event.action).where(Event.subject_type == "run", Event.subject_id == w.todays.id)
    ).all()
    assert actions == ["driver_assigned", "driver_unassigned"]


def test_only_the_runs_coordinators_assign_and_only_their_active_members(w):
    with pytest.raises(Forbidden):
        service.assign_driver(db.session, w.driver, w.todays, w.driver.id)
    with pytest.raises(NotFound):  # another platform's run: as if it did not exist
        service.assign_driver(db.session, w.other_coordinator, w.todays, w.driver.id)
    for stranger in (w.other_coordinator.id, w.cpas_user.id, 2_000_000):
        with pytest.raises(Invalid) as refused:
            service.assign_driver(db.session, w.coordinator, w.todays, stranger)
        assert "driver_id" in refused.value.fields
    w.driver.active = False
    db.session.flush()
    with pytest.raises(Conflict):
        service.assign_driver(db.session, w.coordinator, w.todays, w.driver.id)
    assert w.driver not in service.drivers(db.session, w.platform.id)
    assert w.coordinator in service.drivers(db.session, w.platform.id)
    assert w.todays.driver_id is None


def test_the_drivers_runs_say_what_is_done_and_where_to_go_next(w):
    claim = _booked(w)
    w.todays.stops.append(
        Stop(
            position=len(w.todays.stops),
            kind=StopKind.REGULAR,
            organisation_id=w.asbl.id,
            address="Rue de l'Église 1, 6600 Bastogne",
            lat=w.asbl.lat,
            lon=w.asbl.lon,
            load_delta_kg=-50,
        )
    )
    for run in (w.todays, w.tomorrows):
        service.assign_driver(db.session, w.coordinator, run, w.driver.id)
    db.session.commit()
    cards = service.driver_runs(db.session, w.driver, w.today, 2)
    assert [c.run.id for c in cards] == [w.todays.id, w.tomorrows.id]
    today, tomorrow = cards
    assert (today.done, today.total) == (0, len(w.todays.stops))
    assert today.next_stop.id == w.todays.stops[0].id
    pickup = next(s for s in w.tomorrows.stops if s.claim_id == claim.id)
    assert tomorrow.total == len(w.tomorrows.stops) >= 2
    assert tomorrow.next_stop.id == w.tomorrows.stops[0].id
    # Once the first stops are done, the next is the first still planned.
    for stop in w.tomorrows.stops:
        if stop.id == pickup.id:
            break
        stop.status = StopStatus.DONE
    db.session.commit()
    tomorrow = service.driver_runs(db.session, w.driver, w.today, 2)[1]
    assert tomorrow.next_stop.id == pickup.id and tomorrow.done == pickup.position
    assert tomorrow.next_at.astimezone(BRUSSELS).date() == w.today + timedelta(days=1)
    # Nobody else's: the coordinator drives none of them.
    assert service.driver_runs(db.session, w.coordinator, w.today, 8) == []


def test_the_home_page_of_a_driver_is_its_runs_of_today(w, login_as):
    service.assign_driver(db.session, w.coordinator, w.todays, w.driver.id)
    service.assign_driver(db.session, w.coordinator, w.tomorrows, w.driver.id)
    db.session.commit()
    board = dashboard.build(db.session, w.driver, w.today)
    assert board.driver_first
    assert [c.run.id for c in board.runs_today] == [w.todays.id]
    assert [c.run.id for c in board.runs_next_day] == [w.tomorrows.id]
    page = login_as(w.driver).get("/").get_data(as_text=True)
    mine = page[page.index('id="my-runs"') :]
    assert f'id="my-run-{w.todays.id}"' in mine and f'id="my-run-{w.tomorrows.id}"' in mine
    assert f'href="/runs/{w.todays.id}/sheet"' in mine
    assert "driver-run-small" in mine[mine.index(f'id="my-run-{w.tomorrows.id}"') :]
    assert page.index('id="my-runs"') < page.index('class="figures"')
    assert re.search(r"\b07:30\b", mine) and w.van.name in mine
    # A coordinator who drives nothing has no such section; one who drives sees it lower.
    coordinator = login_as(w.coordinator)
    assert 'id="my-runs"' not in coordinator.get("/").get_data(as_text=True)
    service.assign_driver(db.session, w.coordinator, w.todays, w.coordinator.id)
    db.session.commit()
    page = coordinator.get("/").get_data(as_text=True)
    assert f'id="my-run-{w.todays.id}"' in page
    assert page.index('class="figures"') < page.index('id="my-runs"')


def test_my_runs_lists_the_coming_week_and_only_mine(w, login_as):
    week = _runs_from(w, w.today)
    for run in week[:9]:
        service.assign_driver(db.session, w.coordinator, run, w.driver.id)
    colleague = factories.user(w.platform, Role.MEMBER)
    service.assign_driver(db.session, w.coordinator, week[1], colleague.id)
    db.session.commit()
    page = login_as(w.driver).get("/runs/mine").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'id="my-run-(\d+)"', page)]
    in_week = [r.id for r in week if r.run_date < w.today + timedelta(days=8)]
    assert shown == [i for i in in_week if i != week[1].id]
    # A beneficiary has no runs.
    assert login_as(w.cpas_user).get("/runs/mine").status_code == 403


def test_the_sheet_shows_what_each_stop_carries(w, login_as):
    claim = _booked(w, allergens=["milk", "eggs"], fse_plus=True, units=40)
    lot = claim.lot
    assert lot.date_kind == DateKind.USE_BY
    page = login_as(w.driver).get(f"/runs/{w.tomorrows.id}/sheet").get_data(as_text=True)
    stops = [s for s in w.tomorrows.stops if s.claim_id == claim.id]
    assert [s.kind.value for s in stops] == ["pickup", "dropoff"]
    for stop in stops:
        card = page[page.index(f'id="stop-{stop.id}"') :]
        card = card[: card.index("</article>")]
        assert factories.translated("fr", "Use by") in card
        assert "Lait" in card and "Œufs" in card, card
        assert "FSE+" in card and "20 kg" in card and "20 unités" in card
        assert 'class="handover-limit"' in card and "°C" in card
    # Best before, and no allergens declared.
    other = _booked(
        w, allergens=[], date_kind="best_before", storage="ambient", category="dry_goods"
    )
    page = login_as(w.driver).get(f"/runs/{w.tomorrows.id}/sheet").get_data(as_text=True)
    pickup = next(s for s in w.tomorrows.stops if s.claim_id == other.id)
    card = page[page.index(f'id="stop-{pickup.id}"') :]
    card = card[: card.index("</article>")]
    assert factories.translated("fr", "Best before") in card
    assert factories.translated("fr", "none declared") in card


def test_the_sheet_loads_its_stops_in_a_fixed_number_of_queries(w, login_as, app):
    client = login_as(w.driver)

    def count(url: str) -> int:
        seen = []
        engine = db.engine

        def tally(*args, **kwargs):
            seen.append(1)

        event.listen(engine, "before_cursor_execute", tally)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", tally)
        return len(seen)

    url = f"/runs/{w.tomorrows.id}/sheet"
    _booked(w)
    db.session.rollback()
    few = count(url)
    for _ in range(3):
        _booked(w)
    db.session.rollback()
    assert count(url) == few


def test_a_client_platform_sees_only_its_own_stops_of_a_shared_run(shared_world, agree, login_as):
    w = shared_world
    agree(w)
    booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    run = w.namur_run
    # The carrier's own claim on the same run.
    lot = factories.lot(w.other_donor, kg=40, days=6, title="Soupe du carrier")
    lot.pickup_until = w.claim.lot.pickup_until
    beneficiary = factories.org("cpas", name="CPAS Namur", postcode="5000", locality="Namur")
    person = factories.user(beneficiary, Role.MEMBER)
    conv = factories.convention(w.other_platform, beneficiary)
    conv.opening_hours = w.cpas_convention.opening_hours
    db.session.commit()
    own_claim, _ = claims.claim_lot(db.session, person, lot.id, 10)
    db.session.commit()
    booking.book(db.session, w.other_coordinator, own_claim, run_id=run.id)
    db.session.commit()
    mine = {s.id for s in run.stops if s.claim_id == w.claim.id}
    theirs = {s.id for s in run.stops} - mine
    assert mine and theirs
    client, carrier = login_as(w.coordinator), login_as(w.other_coordinator)
    for url in (f"/runs/{run.id}", f"/runs/{run.id}/sheet"):
        client_page = client.get(url).get_data(as_text=True)
        carrier_page = carrier.get(url).get_data(as_text=True)
        assert all(f'id="stop-{i}"' in client_page for i in mine), url
        assert all(f'id="stop-{i}"' in carrier_page for i in mine | theirs), url
        assert not any(f'id="stop-{i}"' in client_page for i in theirs), url
    printed = client.get(f"/runs/{run.id}/sheet?print=1").get_data(as_text=True)
    assert w.claim.lot.title in printed and "Soupe du carrier" not in printed
    assert "Soupe du carrier" in carrier.get(f"/runs/{run.id}/sheet?print=1").get_data(as_text=True)
