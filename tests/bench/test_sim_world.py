"""The simulation's world and stream (bench/sim/world.py, stream.py): built through the
real models on a migrated database, calibrated, with rounds that pass where the food is,
and lots that the posting service accepts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bench.sim import calibration, stream, world
from surplus import clock
from surplus.extensions import db
from surplus.models import (
    Convention,
    ConventionStatus,
    DateKind,
    Lot,
    Organisation,
    OrgKind,
    Run,
    RunTemplate,
    TemplateStop,
    User,
    Vehicle,
)
from surplus.schemas.base import load
from surplus.schemas.lot import LotInSchema
from surplus.services import booking, claims, lots, runs
from surplus.services.booking import WEEKDAYS

START = date(2027, 1, 4)  # a Monday
SPEC = world.Spec("brabant-wallon", seed=11, start=START, days=28)


@pytest.fixture
def built(app) -> Iterator[world.World]:
    try:
        yield world.build(db.session, SPEC)
    finally:
        clock.set_time(None)


def test_counts_match_the_calibration(built):
    net = calibration.network(SPEC.province)
    kinds = dict(
        db.session.execute(
            select(Organisation.kind, func.count()).group_by(Organisation.kind)
        ).all()
    )
    assert kinds[OrgKind.PLATFORM] == net.platforms == len(built.platforms)
    assert kinds[OrgKind.CPAS] == net.cpas
    assert kinds[OrgKind.ASSOCIATION] == net.associations
    assert len(built.beneficiaries) == net.cpas + net.associations
    assert len(built.donors) == net.donors
    donor_rows = sum(n for kind, n in kinds.items() if kind.is_donor and kind != OrgKind.PLATFORM)
    assert donor_rows == net.donors
    assert db.session.scalar(select(func.count(Vehicle.id))) == net.vans
    fridges = db.session.scalar(select(func.count()).where(Vehicle.refrigerated.is_(True)))
    assert fridges == net.refrigerated
    # One social worker per beneficiary, one poster per donor, coordinator and driver.
    users = db.session.scalar(select(func.count(User.id)))
    assert users == net.cpas + net.associations + net.donors + 2 * net.platforms
    # Food aid is short: a week's supply is below a week's need.
    figures = world.describe(built)
    assert 0 < figures["supply t/week"] < figures["need t/week"]
    assert figures["supply t/week"] == pytest.approx(net.tonnes_per_year / 52.18, rel=0.01)


def test_every_beneficiary_has_an_approved_convention_with_a_platform_that_has_rounds(built):
    with_rounds = set(db.session.scalars(select(RunTemplate.platform_id)))
    stops = {
        (org_id, weekday)
        for org_id, weekday in db.session.execute(
            select(TemplateStop.organisation_id, RunTemplate.weekday).join(RunTemplate)
        )
    }
    for b in built.beneficiaries:
        conventions = db.session.scalars(
            select(Convention).where(Convention.beneficiary_id == b.org_id)
        ).all()
        assert {c.platform_id for c in conventions} == set(b.platform_ids)
        assert all(c.status == ConventionStatus.ACTIVE and c.in_force(START) for c in conventions)
        assert set(b.platform_ids) & with_rounds
        assert all(c.persons_per_week == b.persons_per_week > 0 for c in conventions)
        assert b.weekly_need_kg == pytest.approx(b.persons_per_week * 2.5)
        if b.fse_approved:
            assert all(c.allows_fse_plus(START) for c in conventions)
        # Its round comes on a weekday it is open, in the convention's delivery hours.
        assert b.round_weekdays and set(b.round_weekdays) <= set(b.open_weekdays)
        for weekday in b.round_weekdays:
            assert (b.org_id, weekday) in stops
            assert all(conv.opening_hours.get(WEEKDAYS[weekday]) for conv in conventions)
        assert b.looks_at and b.open_weekdays
        assert 0 <= b.cancel_rate < 0.2 and 0 <= b.miss_rate < 0.2


def test_rounds_collect_at_the_regular_donors(built):
    regular = [d for d in built.donors if d.round_weekdays]
    kinds = {d.kind for d in regular}
    assert {"supermarket", "auction"} <= kinds
    assert all(d.round_weekdays for d in built.donors if d.kind in ("supermarket", "auction"))
    visits = set(
        db.session.execute(
            select(TemplateStop.organisation_id, RunTemplate.weekday).join(RunTemplate)
        )
    )
    for d in regular:
        assert {(d.org_id, day) for day in d.round_weekdays} <= visits
    assert built.donor_stops == sum(len(d.round_weekdays) for d in built.donors)
    # The world's rounds are the templates, stop for stop.
    for r in built.rounds:
        template = db.session.get(RunTemplate, r.template_id)
        assert (template.platform_id, template.weekday) == (r.platform_id, r.weekday)
        assert template.vehicle.refrigerated == r.refrigerated
        assert tuple(s.organisation_id for s in template.stops) == r.stop_org_ids
    # The refrigerated vans go out every weekday (chilled lots can leave any day).
    fridge_days = set(
        db.session.scalars(
            select(RunTemplate.weekday).join(Vehicle).where(Vehicle.refrigerated.is_(True))
        )
    )
    assert fridge_days == {0, 1, 2, 3, 4}


def test_materialised_rounds_keep_every_window(built):
    with clock.travel(world.start_moment(SPEC)):
        created = runs.materialise(db.session, START, days=7)
        assert created == built.templates > 0
        for run in db.session.scalars(select(Run)):
            assert runs.timetable(run).problems == []


def test_a_regular_donors_lot_rides_the_round_that_collects_there(built):
    """The rounds pass where the food is: a supermarket's lot claimed by a beneficiary of
    the round that collects at that supermarket is booked on it at (almost) no added km."""
    benefs = {b.org_id: b for b in built.beneficiaries}
    donors = {d.org_id: d for d in built.donors}
    r, donor, ben = next(
        (r, donors[o], benefs[b])
        for r in built.rounds
        for i, o in enumerate(r.stop_org_ids)
        if o in donors and donors[o].kind == "supermarket"
        for b in r.stop_org_ids[i + 1 :]  # visited after the supermarket
        if b in benefs
    )
    day = START + timedelta(days=7 + r.weekday)
    at = runs.local_time(day, "06:00")
    sample = next(
        p
        for p in stream.postings(built, SPEC)
        if p.donor == donor and p.draft["storage"].value == "ambient"
    )
    draft = sample.draft | {
        "date_kind": DateKind.BEST_BEFORE,
        "date": day + timedelta(days=20),
        "pickup_from": at,
        "pickup_until": runs.local_time(day, "18:00"),
    }
    try:
        clock.set_time(at)
        runs.materialise(db.session, day - timedelta(days=1))
        lot, _ = lots.create_lot(db.session, db.session.get(User, donor.user_id), draft, now=at)
        claim, _ = claims.claim_lot(
            db.session, db.session.get(User, ben.user_id), lot.id, min(lot.remaining_kg, 10), now=at
        )
        coordinator = next(p.coordinator_id for p in built.platforms if p.org_id == r.platform_id)
        proposal = booking.book(db.session, db.session.get(User, coordinator), claim, now=at)
    finally:
        clock.set_time(None)
    assert proposal.run is not None and proposal.run.template_id == r.template_id
    assert proposal.insertion.added_km < 0.5


def _as_text(draft: dict) -> dict:
    """The draft as a form or an API client would send it (text and JSON values)."""
    out = {}
    for key, value in draft.items():
        if value is None:
            continue
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif hasattr(value, "value"):
            value = value.value
        out[key] = value
    return out


def test_every_kind_of_posting_passes_the_posting_service(built):
    postings = stream.postings(built, SPEC)
    first: dict[str, stream.Posting] = {}
    for p in postings:
        key = f"{p.donor.kind}:{p.draft['storage']}:{p.draft['date_kind']}"
        first.setdefault(key, p)
    sample = sorted(first.values(), key=lambda p: p.at)
    assert {p.donor.kind for p in sample} >= {"supermarket", "shop", "producer", "auction"}
    assert any(p.draft["fse_plus"] for p in sample)
    try:
        for p in sample:
            clock.set_time(p.at)
            # The draft is exactly what the lot schema loads from the form or the API.
            loaded = load(LotInSchema(), _as_text(p.draft))
            assert {k: loaded.get(k) for k in p.draft if p.draft[k] is not None} == {
                k: v for k, v in p.draft.items() if v is not None
            }
            donor = db.session.get(User, p.donor.user_id)
            lot, _warnings = lots.create_lot(db.session, donor, p.draft, now=p.at)
            assert lot.weight_g == round(p.draft["weight_kg"] * 1000)
            assert lot.pickup_from <= lot.pickup_until
            assert lot.expires_at is None or lot.pickup_until <= lot.expires_at
    finally:
        clock.set_time(None)
    db.session.flush()
    assert db.session.scalar(select(func.count(Lot.id))) == len(sample)


def test_the_same_spec_gives_the_same_world_and_stream(built):
    # Drawn again without a database, the world is the same, ids included (a fresh
    # database numbers each table from 1 in creation order).
    assert world.preview(SPEC) == built
    assert world.plan(SPEC).fingerprint() == world.plan(SPEC).fingerprint()
    other = world.Spec(SPEC.province, SPEC.seed + 1, SPEC.start, SPEC.days)
    assert world.plan(other).fingerprint() != world.plan(SPEC).fingerprint()
    first = stream.postings(built, SPEC)
    assert stream.postings(built, SPEC) == first
    assert [p.at for p in first] == sorted(p.at for p in first)
    # Each donor's lots come from its own draws: a shorter period is a prefix.
    week = world.Spec(SPEC.province, SPEC.seed, SPEC.start, 7)
    end = world.start_moment(SPEC) + timedelta(days=7)
    assert stream.postings(built, week) == [p for p in first if p.at < end]


def test_the_stream_follows_the_calibration():
    # The same draws as build's, without a database (placeholder ids).
    preview = world.preview(SPEC)
    first = stream.postings(preview, SPEC)
    # Nearly every kilogram can meet a round of a suitable van in its pickup window.
    assert stream.reach(preview, first)["window meets a round"] > 0.9
    # Posting hours: supermarkets and shops in the evening, the auction at dawn (local).
    hours = {
        kind: {p.at.astimezone(clock.BRUSSELS).hour for p in first if p.donor.kind == kind}
        for kind in ("supermarket", "shop", "auction")
    }
    assert min(hours["supermarket"]) >= 18 and min(hours["shop"]) >= 17
    assert max(hours["auction"]) <= 8
    # Chilled use-by food keeps 2 to 5 days from its posting.
    for p in first:
        if p.draft["date_kind"] is not None and p.draft["storage"].value == "chilled":
            days = (p.draft["date"] - p.at.astimezone(clock.BRUSSELS).date()).days
            assert 1 <= days <= 25
            if p.draft["date_kind"].value == "use_by":
                assert 2 <= days <= 5
    tonnes = sum(p.draft["weight_kg"] for p in first) / 1000
    expected = calibration.network(SPEC.province).tonnes_per_year * SPEC.days / 365
    assert tonnes == pytest.approx(expected, rel=0.2)
    assert all(p.withdraw_at is None or p.at < p.withdraw_at for p in first)
    assert all(p.draft["pickup_until"] > p.at for p in first)
    window = [p.draft["pickup_until"] - p.draft["pickup_from"] for p in first]
    assert min(window) >= timedelta(hours=2)
