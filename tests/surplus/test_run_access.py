"""Who may book, confirm and list runs, rounds and proposals: decided by surplus.access,
the same for the pages, the API and the services."""

import pytest

from surplus import access
from surplus.errors import Forbidden
from surplus.extensions import db
from surplus.models import AllocationBatch, Role, Run, Stop, StopKind
from surplus.services import allocation, booking, claims, runs, stops
from tests import factories


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60)
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()
    return w


def test_scoped_lists_show_only_the_users_platform(w):
    mine = db.session.scalars(access.visible_runs(w.coordinator)).all()
    assert mine and all(r.platform_id == w.platform.id for r in mine)
    assert db.session.scalars(access.visible_runs(w.other_coordinator)).all() == []
    assert db.session.scalars(access.visible_runs(w.cpas_user)).all() == []
    assert len(db.session.scalars(access.visible_templates(w.coordinator)).all()) == 7
    assert db.session.scalars(access.visible_templates(w.other_coordinator)).all() == []
    assert db.session.scalars(access.visible_vehicles(w.other_coordinator)).all() == []
    allocation.propose(db.session, w.coordinator)
    db.session.flush()
    assert len(db.session.scalars(access.visible_batches(w.coordinator)).all()) == 1
    driver = factories.user(w.platform)  # a member, not a coordinator
    assert db.session.scalars(access.visible_batches(driver)).all() == []
    assert db.session.scalars(access.visible_batches(w.other_coordinator)).all() == []
    batch = db.session.scalar(access.visible_batches(w.coordinator))
    assert isinstance(batch, AllocationBatch) and access.can(w.coordinator, access.CHANGE, batch)
    assert not access.can(driver, access.VIEW, batch)
    assert not access.can(w.other_coordinator, access.VIEW, batch)


def test_a_driver_of_the_platform_confirms_others_do_not(w):
    run = db.session.scalar(access.visible_runs(w.coordinator))
    stop = Stop(
        run_id=run.id,
        position=len(run.stops),
        kind=StopKind.REGULAR,
        lat=w.asbl.lat,
        lon=w.asbl.lon,
    )
    db.session.add(stop)
    db.session.flush()
    driver = factories.user(w.platform)
    assert access.can(driver, access.CONFIRM, stop)
    assert not access.can(driver, access.CHANGE, stop)  # removing stops: coordinators
    for outsider in (w.other_coordinator, w.cpas_user, w.donor_user):
        assert not access.can(outsider, access.CONFIRM, stop)
        with pytest.raises(Forbidden):
            stops.confirm(db.session, outsider, stop)
    assert stops.confirm(db.session, driver, stop).ok


def test_booking_and_self_collection_ask_access(w):
    with pytest.raises(Forbidden):
        booking.book(db.session, w.other_coordinator, w.claim)
    with pytest.raises(Forbidden):
        booking.self_collect(db.session, w.other_coordinator, w.claim)
    with pytest.raises(Forbidden):
        booking.self_collect(db.session, w.asbl_user, w.claim)  # another beneficiary
    booking.self_collect(db.session, w.cpas_user, w.claim)
    assert w.claim.self_collect


def test_a_site_admin_may_book_and_remove_stops(w):
    admin = factories.user(w.other_platform, Role.SITE_ADMIN)
    proposal = booking.book(db.session, admin, w.claim)
    assert proposal.run is not None and isinstance(proposal.run, Run)
    pickup = booking.booked_stops(db.session, w.claim)[0]
    with pytest.raises(Forbidden):
        runs.remove_stop(db.session, w.other_coordinator, pickup)
    assert booking.unbook(db.session, admin, w.claim) == 2
