"""The report (services/reports/summary.py): its kilograms equal the claims made through
the real services, each reader sees only its scope, and the medians, need met and Jain's
index come out right on a small known example."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from surplus import access
from surplus.errors import Forbidden
from surplus.extensions import db
from surplus.models import ClaimStatus, Event, LotOffer, LotStatus, Role, StopKind
from surplus.services import booking, claims, stops
from surplus.services import lots as lot_service
from surplus.services.booking import WEEKDAYS
from surplus.services.lot_dates import local_today
from surplus.services.reports import co2
from surplus.services.reports.period import Period
from surplus.services.reports.summary import summary, windows_of
from tests import factories

KG_PER_PERSON = 2.5


def _report(user, period=None):
    return summary(db.session, access.report_scope(user), period or Period.default(), KG_PER_PERSON)


def reported_world(w):
    """On ``daily_rounds``'s world, through the services:

    - A, 100 kg dairy of the donor: the CPAS claims 30 (booked, picked up, delivered),
      the association 20 (still active);
    - B, 40 kg bakery of the donor: the CPAS claims 10, then the donor withdraws it;
    - C, 50 kg dairy of the donor, use-by tomorrow: the CPAS claims 5 and cancels it, the
      association claims 15; then it expires (the expiry cancels the 15);
    - D, 60 kg of the other donor, claimed by nobody.
    """
    w.a = factories.lot(w.donor, kg=100, days=5, hours_open=200)
    w.b = factories.lot(w.donor, kg=40, days=5, hours_open=200, category="bakery")
    w.c = factories.lot(w.donor, kg=50, days=1, hours_open=200)
    w.d = factories.lot(w.other_donor, kg=60, days=5, hours_open=200, category="fruit_veg")
    db.session.commit()
    w.a_cpas, _ = claims.claim_lot(db.session, w.cpas_user, w.a.id, 30)
    w.a_asbl, _ = claims.claim_lot(db.session, w.asbl_user, w.a.id, 20)
    w.b_cpas, _ = claims.claim_lot(db.session, w.cpas_user, w.b.id, 10)
    cancelled, _ = claims.claim_lot(db.session, w.cpas_user, w.c.id, 5)
    claims.cancel_claim(db.session, w.cpas_user, cancelled)
    w.c_asbl, _ = claims.claim_lot(db.session, w.asbl_user, w.c.id, 15)
    booking.book(db.session, w.coordinator, w.a_cpas)
    db.session.commit()
    pickup, drop = booking.booked_stops(db.session, w.a_cpas)
    assert stops.confirm(db.session, w.driver, pickup, 3).ok
    assert stops.confirm(db.session, w.driver, drop, 3, "Marie").ok
    lot_service.withdraw_lot(db.session, w.donor_user, w.b, "Rappel fournisseur")
    db.session.commit()
    lot_service.expire_lots(db.session, now=w.c.expires_at + timedelta(minutes=1))
    db.session.commit()
    db.session.expire_all()
    assert w.a_cpas.status == ClaimStatus.DELIVERED and w.a_asbl.status == ClaimStatus.ACTIVE
    assert w.b.status == LotStatus.WITHDRAWN and w.b_cpas.status == ClaimStatus.WITHDRAWN
    assert w.c.status == LotStatus.EXPIRED and w.c_asbl.status == ClaimStatus.CANCELLED
    assert w.a.status == LotStatus.OPEN and w.d.status == LotStatus.OPEN
    w.admin = factories.user(factories.org("platform", name="Admin org"), Role.SITE_ADMIN)
    db.session.commit()
    return w


@pytest.fixture
def r(daily_rounds):
    return reported_world(daily_rounds)


def _totals(report) -> tuple:
    return (
        report.kg_posted,
        report.kg_claimed,
        report.kg_delivered,
        report.kg_expired,
        report.kg_withdrawn,
    )


def test_the_summary_equals_the_claims(r):
    report = _report(r.admin)
    # posted A+B+C+D; claimed: live claims 30+20; delivered 30; withdrawn: B's 30 kg
    # unclaimed + its 10 kg claim; expired: C's 50 kg (35 unclaimed + the 15 cancelled).
    assert _totals(report) == (250, 50, 30, 50, 40)
    assert report.match_rate == round(30 / 250, 4)
    assert report.organisations_served == 1
    assert report.co2e_kg == pytest.approx(30 * co2.factor(r.a.category))
    month = local_today().strftime("%Y-%m")
    (this_month,) = [g for g in report.by_month if g.key == month]
    assert (this_month.kg_posted, this_month.kg_delivered) == (250, 30)
    assert sum(g.kg_posted for g in report.by_month) == 250
    donors = {g.key: g for g in report.by_donor}
    assert (donors[r.donor.id].kg_posted, donors[r.donor.id].name) == (190, "Ferme Test")
    assert donors[r.other_donor.id].kg_posted == 60
    assert {g.key.value: g.kg_posted for g in report.by_category} == {
        "dairy": 150,
        "bakery": 40,
        "fruit_veg": 60,
    }
    assert {g.key.value: g.kg_posted for g in report.by_storage} == {"chilled": 250}
    bens = {b.organisation_id: b for b in report.by_beneficiary}
    assert (bens[r.cpas.id].kg_claimed, bens[r.cpas.id].kg_delivered) == (30, 30)
    assert (bens[r.asbl.id].kg_claimed, bens[r.asbl.id].kg_delivered) == (20, 0)
    assert bens[r.cpas.id].kg_received == 30 and bens[r.cpas.id].persons_per_week == 100
    booked = db.session.scalars(
        select(Event).where(Event.subject_type == "claim", Event.action == "booked")
    ).one()
    assert report.km_added_per_kg == pytest.approx(booked.after["added_km"] / 30, abs=1e-4)
    assert report.median_minutes_to_first_claim is not None
    # A period before anything was posted is empty.
    past = Period(local_today() - timedelta(days=60), local_today() - timedelta(days=30))
    assert _totals(_report(r.admin, past)) == (0, 0, 0, 0, 0)


def test_a_donor_sees_only_its_lots_and_their_claims(r):
    mine = _report(r.donor_user)
    assert _totals(mine) == (190, 50, 30, 50, 40)
    assert [g.key for g in mine.by_donor] == [r.donor.id]
    assert _totals(_report(r.other_donor_user)) == (60, 0, 0, 0, 0)
    assert mine.carried_for_others_kg is None  # not a platform


def test_a_beneficiary_sees_only_its_claims_and_the_lots_they_are_on(r):
    asbl = _report(r.asbl_user)
    # Lots A and C (its claims are on them); its own claims only: 20 live, none delivered.
    assert _totals(asbl) == (150, 20, 0, 50, 0)
    assert [b.organisation_id for b in asbl.by_beneficiary] == [r.asbl.id]
    cpas = _report(r.cpas_user)
    assert _totals(cpas) == (190, 30, 30, 50, 40)
    assert {b.organisation_id for b in cpas.by_beneficiary} == {r.cpas.id}


def test_a_coordinator_sees_its_platform_and_not_another(r):
    mine = _report(r.coordinator)
    assert _totals(mine) == (190, 50, 30, 50, 40)
    assert {b.organisation_id for b in mine.by_beneficiary} == {r.cpas.id, r.asbl.id}
    assert (mine.carried_for_others_kg, mine.carried_by_others_kg) == (0, 0)
    other = _report(r.other_coordinator)
    assert _totals(other) == (0, 0, 0, 0, 0) and other.by_beneficiary == []
    # A lot offered to the other platform in wave 1 enters its report (not its claims).
    db.session.add(LotOffer(lot_id=r.a.id, platform_id=r.other_platform.id, wave=1))
    db.session.commit()
    assert _totals(_report(r.other_coordinator)) == (100, 0, 0, 0, 0)


def test_who_may_read_a_report(r):
    pending = factories.user(factories.org("shop", verified=False))
    driver = factories.user(r.platform, Role.MEMBER)
    db.session.commit()
    for refused in (pending, driver):
        with pytest.raises(Forbidden):
            access.report_scope(refused)


def test_medians_need_met_and_jain_on_a_known_example(r):
    # A, B and C posted 45 minutes before A's claim was booked (events are append-only:
    # move the postings, not the booking); their first claims came 10, 30 and 60 minutes
    # after posting (C's first one is the claim the CPAS cancelled).
    booked = db.session.scalars(
        select(Event).where(Event.subject_type == "claim", Event.action == "booked")
    ).one()
    for lot, after in ((r.a, 10), (r.b, 30), (r.c, 60)):
        lot.created_at = booked.at - timedelta(minutes=45)
        for i, claim in enumerate(sorted(lot.claims, key=lambda c: c.id)):
            claim.created_at = lot.created_at + timedelta(minutes=after + 5 * i)
    db.session.commit()
    today = local_today()
    four_weeks = Period(today - timedelta(days=27), today)
    report = _report(r.coordinator, four_weeks)
    assert report.median_minutes_to_first_claim == 30.0
    assert report.median_minutes_to_booking == 45.0
    # Need met: the CPAS (100 persons) received 30 kg in 4 weeks: 0.075 kg per
    # person-week, 3 % of 2.5 kg; the association nothing.
    bens = {b.organisation_id: b for b in report.by_beneficiary}
    assert bens[r.cpas.id].kg_per_person_week == 0.075 and bens[r.cpas.id].need_met == 0.03
    assert bens[r.asbl.id].need_met == 0
    # Jain over (0.03, 0): (0.03)² / (2 × 0.03²) = 0.5, one window.
    assert [w.jain for w in report.windows] == [0.5]
    # Eight weeks: the first window, nobody received anything (1.0, all alike).
    eight_weeks = Period(today - timedelta(days=55), today)
    longer = _report(r.coordinator, eight_weeks)
    assert [w.jain for w in longer.windows] == [1.0, 0.5]
    assert (longer.jain_mean, longer.jain_worst) == (0.75, 0.5)


def test_windows_are_four_weeks_from_the_start_and_the_last_may_be_shorter(app):
    start = local_today() - timedelta(days=59)
    windows = windows_of(Period(start, start + timedelta(days=59)))
    assert [(w.start - start).days for w in windows] == [0, 28, 56]
    assert [w.days for w in windows] == [28, 28, 4]


def test_kilograms_carried_for_and_by_other_platforms(shared_world, agree, add_run):
    """The CPAS claims 30 kg through the hub; Namur's van takes them to the hub (leg 1)
    under a transport agreement, the hub's van would deliver them (leg 2)."""
    w = shared_world
    agree(w)
    w.cpas_convention.opening_hours = {WEEKDAYS[w.day2.weekday()]: [["08:00", "17:00"]]}
    add_run(w.platform, w.hub_depot, w.hub_van, w.day2)
    db.session.commit()
    booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    hub, namur = _report(w.coordinator), _report(w.other_coordinator)
    # Booked, not yet moved: nothing carried yet.
    assert (hub.carried_by_others_kg, namur.carried_for_others_kg) == (0, 0)
    first = {(s.leg, s.kind): s for s in booking.booked_stops(db.session, w.claim)}
    assert stops.confirm(db.session, w.other_coordinator, first[1, StopKind.PICKUP], 4).ok
    db.session.commit()
    hub, namur = _report(w.coordinator), _report(w.other_coordinator)
    assert (hub.carried_by_others_kg, hub.carried_for_others_kg) == (30, 0)
    assert (namur.carried_for_others_kg, namur.carried_by_others_kg) == (30, 0)
    # Namur reports the claim its runs carry (and the lot, which it handled).
    assert (namur.kg_posted, namur.kg_claimed) == (40, 30)
