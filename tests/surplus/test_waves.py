"""Offer waves: a lot reaches the platforms serving the donor first, then those within the
radius, then everyone; claims, the lot list and the matcher follow the waves."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from surplus.errors import Forbidden
from surplus.extensions import db
from surplus.models import Event, LotOffer, Role
from surplus.services import allocation, browse, claims, waves
from surplus.services.eligibility import conventions_for, lot_refusal
from tests import factories


@pytest.fixture
def region(app):
    """Mons (SOREAL serves 7000), Namur (~85 road km away), Libramont (far away)."""

    class R:
        pass

    r = R()
    r.soreal = factories.org("platform", name="SOREAL", postcode="7000", locality="Mons")
    r.soreal.service_postcodes = ["7000", "7300"]
    r.namur = factories.org("platform", name="Distri Namur", postcode="5000", locality="Namur")
    r.libramont = factories.org("platform", name="Hub Libramont")
    r.cpas_mons = factories.org("cpas", name="CPAS Mons", postcode="7000", locality="Mons")
    r.cpas_namur = factories.org("cpas", name="CPAS Namur", postcode="5000", locality="Namur")
    r.cpas_libramont = factories.org("cpas", name="CPAS Libramont")
    r.mons_user = factories.user(r.cpas_mons)
    factories.convention(r.soreal, r.cpas_mons)
    factories.convention(r.namur, r.cpas_namur)
    factories.convention(r.libramont, r.cpas_libramont)
    r.namur_coordinator = factories.user(r.namur, Role.COORDINATOR)
    r.namur_user = factories.user(r.cpas_namur)
    r.donor = factories.org("auction", name="Criée de Mons", postcode="7000", locality="Mons")
    r.now = datetime.now(UTC)
    r.lot = factories.lot(r.donor, kg=80, days=5, title="Tomates")
    assert waves.publish(db.session, r.lot, r.now) == 1
    db.session.commit()
    return r


def _offered(lot):
    return set(db.session.scalars(select(LotOffer.platform_id).where(LotOffer.lot_id == lot.id)))


def _visible(org, lot):
    page = browse.browse(db.session, org, browse.Filters(), per_page=100)
    return lot.id in {card.lot.id for card in page.cards}


def test_wave_one_reaches_only_the_platforms_serving_the_donor(region):
    r = region
    assert r.lot.wave == 1 and _offered(r.lot) == {r.soreal.id}
    assert r.lot.next_wave_at == r.now + timedelta(hours=12)
    assert _visible(r.cpas_mons, r.lot)
    assert not _visible(r.cpas_namur, r.lot)
    reason = lot_refusal(db.session, r.cpas_namur, r.lot)
    assert reason is not None and "1" in reason
    with pytest.raises(Forbidden):
        claims.claim_lot(db.session, r.namur_user, r.lot.id, 10)


def test_escalation_reaches_namur_then_everyone_once(region):
    r = region
    assert waves.escalate(db.session, r.now + timedelta(hours=1)) == {"lots": 0, "platforms": 0}
    moved = waves.escalate(db.session, r.now + timedelta(hours=13))
    db.session.commit()
    assert moved == {"lots": 1, "platforms": 1}
    assert r.lot.wave == 2 and _offered(r.lot) == {r.soreal.id, r.namur.id}
    assert _visible(r.cpas_namur, r.lot) and not _visible(r.cpas_libramont, r.lot)
    [through] = waves.why_visible(
        db.session, r.lot, conventions_for(db.session, r.cpas_namur, r.lot)
    )
    assert (through.platform.id, through.wave) == (r.namur.id, 2)
    # Running the job again at the same moment changes nothing.
    assert waves.escalate(db.session, r.now + timedelta(hours=13))["lots"] == 0
    claim, _ = claims.claim_lot(db.session, r.namur_user, r.lot.id, 10)
    assert claim.platform_id == r.namur.id
    waves.escalate(db.session, r.now + timedelta(hours=26))
    db.session.commit()
    assert r.lot.wave == 3 and r.lot.next_wave_at is None
    assert _visible(r.cpas_libramont, r.lot)
    escalations = db.session.scalar(
        select(func.count(Event.id)).where(
            Event.subject_type == "lot", Event.subject_id == r.lot.id, Event.action == "escalated"
        )
    )
    assert escalations == 2


def test_a_lot_near_its_date_goes_to_everyone_at_once(region):
    r = region
    urgent = factories.lot(r.donor, kg=20, days=0, title="Salades")
    assert waves.publish(db.session, urgent, r.now) == 3
    db.session.commit()
    assert urgent.next_wave_at is None and _visible(r.cpas_libramont, urgent)


def test_waves_that_add_nobody_are_skipped(region, app):
    r = region
    # Nobody serves Arlon and, with a 30 km radius, no platform is near: wave 3 at once.
    app.config["WAVE_RADIUS_KM"] = 30
    far_donor = factories.org("shop", name="Shop Arlon", postcode="6700", locality="Arlon")
    lot = factories.lot(far_donor, kg=20, days=6)
    assert waves.publish(db.session, lot, r.now) == 3
    assert not _offered(lot) and lot.next_wave_at is None
    # With the default radius, Libramont (about 50 road km away) makes wave 2 worth it.
    app.config["WAVE_RADIUS_KM"] = 90
    lot = factories.lot(far_donor, kg=20, days=6)
    assert waves.publish(db.session, lot, r.now) == 2
    assert _offered(lot) == {r.libramont.id}


def test_a_service_radius_puts_a_platform_in_wave_one(region):
    r = region
    r.namur.service_radius_km = 100
    lot = factories.lot(r.donor, kg=20, days=6)
    waves.publish(db.session, lot, r.now)
    assert _offered(lot) == {r.soreal.id, r.namur.id} and lot.wave == 1


def test_the_matcher_allocates_only_within_the_current_wave(region, app):
    r = region
    app.config["MATCH_MAX_KM"] = 200
    batch = allocation.propose(db.session, r.namur_coordinator)
    assert r.lot.id not in {line.lot_id for line in batch.lines}
    waves.escalate(db.session, r.now + timedelta(hours=13))
    batch = allocation.propose(db.session, r.namur_coordinator)
    assert {(line.lot_id, line.beneficiary_id) for line in batch.lines} == {
        (r.lot.id, r.cpas_namur.id)
    }


def test_each_wave_tells_the_organisations_it_reaches(region):
    from surplus.models import Notification, NotificationKind

    r = region

    def told(org):
        return db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.kind == NotificationKind.NEW_LOT,
                Notification.subject_id == r.lot.id,
                Notification.user_id.in_([u.id for u in org.users]),
            )
        )

    assert told(r.cpas_mons) == 1 and told(r.cpas_namur) == 0
    waves.escalate(db.session, r.now + timedelta(hours=13))
    assert told(r.cpas_namur) == 1 and told(r.cpas_mons) == 1


def test_a_platform_sees_the_lots_offered_to_its_network(region, login_as):
    r = region
    coordinator = login_as(r.namur_coordinator)
    assert coordinator.get(f"/lots/{r.lot.id}").status_code == 404
    waves.escalate(db.session, r.now + timedelta(hours=13))
    db.session.commit()
    page = coordinator.get(f"/lots/{r.lot.id}")
    assert page.status_code == 200
    assert "Distri Namur" in page.get_data(as_text=True)  # listed among those offered
