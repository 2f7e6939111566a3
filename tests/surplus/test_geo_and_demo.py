"""The offline gazetteer, the opt-in geocoder's fallback, distances, and the demo region."""

import pytest
from flask import current_app
from sqlalchemy import func, select

from matching.distance import RoadEstimate, great_circle_km
from surplus import clock, demo, geo
from surplus.extensions import db
from surplus.models import (
    Claim,
    Convention,
    JobOutcome,
    JobRun,
    Lot,
    LotOffer,
    LotStatus,
    Organisation,
    OrgKind,
    Run,
    Stop,
    User,
)


def test_gazetteer_finds_localities_and_refuses_unknown_postcodes(app):
    place = geo.lookup("6800", "libramont-chevigny")
    assert place.locality == "Libramont-Chevigny" and 49.9 < place.lat < 50.0
    assert geo.lookup("6800", "Nowhere").postcode == "6800"  # the postcode's first point
    assert geo.lookup("9999") is None and not geo.is_known_postcode("0000")


def test_geopy_failure_falls_back_to_the_gazetteer(app):
    # A geocoder that refuses connections (a closed local port) stands for an outage.
    current_app.config.update(
        GEOCODER="nominatim",
        GEOCODER_TIMEOUT=0.5,
        GEOCODER_USER_AGENT="maillon-tests",
        GEOCODER_DOMAIN="127.0.0.1:9",
        GEOCODER_SCHEME="http",
    )
    place = geo.geocode("Rue de la Gare 1", "5000", "Namur")
    gazetteer = geo.lookup("5000", "Namur")
    assert place is not None
    assert (place.lat, place.lon) == (gazetteer.lat, gazetteer.lon)
    assert geo.geocode("Rue 1", "9999", "X") is None


def test_road_estimate_is_great_circle_times_circuity():
    namur, liege = (50.4669, 4.8675), (50.6326, 5.5797)
    km = float(great_circle_km(*namur, *liege))
    assert 50 < km < 56
    assert RoadEstimate(1.3).km(*namur, *liege) == pytest.approx(km * 1.3)
    matrix = RoadEstimate(1.0).matrix(
        [namur[0], liege[0]], [namur[1], liege[1]], [liege[0]], [liege[1]]
    )
    assert matrix.shape == (2, 1) and matrix[1, 0] == pytest.approx(0.0, abs=1e-9)


def test_demo_region_is_believable(seeded_app, seeded_demo, backend):
    counts = seeded_demo.counts(backend)  # what demo.seed returned for this region
    assert counts["platforms"] == 6 and counts["beneficiaries"] >= 40
    assert counts["donors"] >= 30 and counts["lots"] >= 100
    emails = set(db.session.scalars(select(User.email)))
    for local in ("producteur", "epicerie", "cpas", "asbl", "coordination", "admin"):
        assert f"{local}@demo.maillon.be" in emails
    cpas = db.session.scalar(
        select(Organisation).where(Organisation.name == "CPAS de Libramont-Chevigny")
    )
    assert any(
        c.fse_plus_allowed
        for c in db.session.scalars(select(Convention).where(Convention.beneficiary_id == cpas.id))
    )
    asbl = db.session.scalar(select(User).where(User.email == "asbl@demo.maillon.be"))
    assert not any(
        c.fse_plus_allowed
        for c in db.session.scalars(
            select(Convention).where(Convention.beneficiary_id == asbl.organisation_id)
        )
    )
    assert (
        db.session.scalar(
            select(func.count(Lot.id)).where(Lot.fse_plus.is_(True), Lot.status == LotStatus.OPEN)
        )
        >= 5
    )
    assert (
        db.session.scalar(
            select(func.count(Organisation.id)).where(Organisation.kind == OrgKind.PLATFORM)
        )
        == 7
    )  # six platforms and the site team
    assert not demo.is_empty(db.session)


def test_demo_region_shows_a_wave_a_shared_run_and_the_job_log(seeded_app, seeded_demo, backend):
    # As `flask demo seed` does, right after seeding (the run's region may have been
    # seeded minutes ago, before midnight: its lots of "today" would be over now).
    with clock.travel(seeded_demo.seeded_at(backend)):
        demo.first_jobs(seeded_app)
    db.session.rollback()
    log = {run.job: run for run in db.session.scalars(select(JobRun))}
    assert set(log) == set(demo.FIRST_JOBS)
    assert log["escalate_waves"].outcome == JobOutcome.OK
    assert log["escalate_waves"].counts["lots"] >= 1
    assert log["remind_expiring"].counts["count"] >= 1  # Bastogne's FSE+ approval
    assert log["expire_lots"].counts["count"] == 0, "nothing seeded is already over"
    namur = db.session.scalar(
        select(Organisation).where(
            Organisation.locality == "Namur", Organisation.name.like("Distri%")
        )
    )
    story = db.session.scalar(select(Lot).where(Lot.title.like("Chicons%")))
    assert story.donor.postcode == "7000" and story.wave == 2
    assert (
        db.session.scalar(
            select(LotOffer.wave).where(
                LotOffer.lot_id == story.id, LotOffer.platform_id == namur.id
            )
        )
        == 2
    )
    shared = db.session.execute(
        select(Run.platform_id, Claim.platform_id)
        .join(Stop, Stop.run_id == Run.id)
        .join(Claim, Claim.id == Stop.claim_id)
        .where(Run.platform_id != Claim.platform_id)
    ).all()
    assert shared, "a claim of one platform rides on another platform's run"
