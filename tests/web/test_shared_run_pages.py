"""Shared runs on the pages: the carrier's sheet says for whom a stop is made, the client
platform follows the run without changing it, a relay is proposed and booked."""

import re

import pytest

from surplus.extensions import db
from surplus.models import Run, Stop
from surplus.services.booking import WEEKDAYS


@pytest.fixture
def booked(shared_world, agree, login_as):
    w = shared_world
    agree(w)
    client = login_as(w.coordinator)
    page = client.get(f"/claims/{w.claim.id}").get_data(as_text=True)
    assert 'id="book-proposal"' in page and w.namur_run.name in page
    assert client.post(f"/claims/{w.claim.id}/booking").status_code == 302
    db.session.rollback()
    return w


def test_the_carriers_sheet_shows_for_whom(booked, login_as):
    w = booked
    carrier = login_as(w.other_coordinator)
    for url in (
        f"/runs/{w.namur_run.id}",
        f"/runs/{w.namur_run.id}/sheet",
        f"/runs/{w.namur_run.id}/sheet?print=1",
    ):
        page = carrier.get(url).get_data(as_text=True)
        found = re.findall(r'class="for-platform">([^<]*)<', page)
        assert found and all(w.platform.name in text for text in found), url


def test_the_client_platform_follows_the_run_but_cannot_change_it(booked, login_as):
    w = booked
    client = login_as(w.coordinator)
    assert client.get(f"/runs/{w.namur_run.id}").status_code == 200
    stop = db.session.query(Stop).filter_by(claim_id=w.claim.id).first()
    assert client.post(f"/runs/stops/{stop.id}/remove").status_code in (403, 404)
    assert db.session.get(Stop, stop.id) is not None
    # A beneficiary, and a run carrying nothing for the hub, stay invisible.
    assert login_as(w.cpas_user).get(f"/runs/{w.namur_run.id}").status_code == 404
    empty = Run(
        platform_id=w.other_platform.id,
        vehicle_id=w.namur_van.id,
        depot_id=w.namur_depot.id,
        name="Vide",
        start_at=w.namur_run.start_at,
    )
    db.session.add(empty)
    db.session.commit()
    assert client.get(f"/runs/{empty.id}").status_code == 404


def test_a_relay_is_proposed_and_booked_from_the_claim_page(shared_world, agree, add_run, login_as):
    w = shared_world
    agree(w)
    w.cpas_convention.opening_hours = {WEEKDAYS[w.day2.weekday()]: [["08:00", "17:00"]]}
    add_run(w.platform, w.hub_depot, w.hub_van, w.day2)
    db.session.commit()
    client = login_as(w.coordinator)
    page = client.get(f"/claims/{w.claim.id}").get_data(as_text=True)
    assert 'id="book-relay"' in page and w.hub_depot.name in page
    assert client.post(f"/claims/{w.claim.id}/booking").status_code == 302
    db.session.rollback()
    page = client.get(f"/claims/{w.claim.id}").get_data(as_text=True)
    assert page.count('class="booked-stop"') == 4
