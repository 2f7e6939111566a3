"""Transport agreements: who carries, which side decides, clashes, ending, and the dates
``carriers_for`` honours; and a platform's service area."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from surplus.errors import Conflict, Forbidden, Invalid
from surplus.extensions import db
from surplus.models import AgreementStatus, Event, Notification, Role
from surplus.services import agreements, platform_area
from surplus.services.lot_dates import local_today
from tests import factories


@pytest.fixture
def w(app):
    w = factories.world()
    w.today = local_today()
    return w


def _ask(w, direction="we_carry", **kw):
    kw.setdefault("valid_from", w.today.isoformat())
    return agreements.request(db.session, w.coordinator, other_id=w.other_platform.id,
                              direction=direction, **kw)


def test_direction_says_who_carries_and_the_other_side_decides(w):
    ours = _ask(w, "we_carry")
    assert (ours.carrier_id, ours.client_id) == (w.platform.id, w.other_platform.id)
    assert ours.status == AgreementStatus.REQUESTED
    assert ours.deciding_org_id == w.other_platform.id
    theirs = _ask(w, "they_carry")
    assert (theirs.carrier_id, theirs.client_id) == (w.other_platform.id, w.platform.id)
    assert theirs.deciding_org_id == w.other_platform.id
    with pytest.raises(Forbidden):
        agreements.decide(db.session, w.coordinator, ours, "approve")
    agreements.decide(db.session, w.other_coordinator, ours, "approve")
    assert ours.status == AgreementStatus.ACTIVE
    with pytest.raises(Conflict):
        agreements.decide(db.session, w.other_coordinator, ours, "refuse", "late")
    assert db.session.scalar(select(Event).where(Event.subject_type == "transportagreement",
                                                 Event.action == "approve")) is not None


def test_refusing_needs_a_reason_and_only_coordinators_act(w):
    agreement = _ask(w)
    with pytest.raises(Invalid) as caught:
        agreements.decide(db.session, w.other_coordinator, agreement, "refuse", "  ")
    assert "reason" in caught.value.fields
    agreements.decide(db.session, w.other_coordinator, agreement, "refuse", "No cold van")
    assert agreement.status == AgreementStatus.REFUSED
    assert agreement.decision_reason == "No cold van"
    with pytest.raises(Forbidden):
        agreements.request(db.session, w.cpas_user, other_id=w.platform.id,
                           direction="we_carry", valid_from=w.today.isoformat())
    third = factories.org("platform", postcode="6000", locality="Charleroi")
    with pytest.raises(Forbidden):
        agreements.decide(db.session, factories.user(third, Role.COORDINATOR), agreement,
                          "end")


def test_bad_input_is_reported_per_field(w):
    with pytest.raises(Invalid) as caught:
        agreements.request(db.session, w.coordinator, other_id=w.platform.id,
                           direction="both", valid_from="yesterday",
                           valid_until=(w.today - timedelta(days=1)).isoformat())
    assert set(caught.value.fields) == {"other_id", "direction", "valid_from"}
    with pytest.raises(Invalid) as caught:
        _ask(w, valid_from=(w.today + timedelta(days=5)).isoformat(),
             valid_until=(w.today + timedelta(days=2)).isoformat())
    assert set(caught.value.fields) == {"valid_until"}
    with pytest.raises(Invalid) as caught:
        _ask(w, valid_from=(w.today - timedelta(days=1)).isoformat())
    assert set(caught.value.fields) == {"valid_from"}


def test_a_live_agreement_in_the_same_direction_clashes(w):
    first = _ask(w, valid_until=(w.today + timedelta(days=10)).isoformat())
    with pytest.raises(Conflict):
        _ask(w, valid_from=(w.today + timedelta(days=5)).isoformat())
    later = _ask(w, valid_from=(w.today + timedelta(days=11)).isoformat())
    assert later.id != first.id
    _ask(w, "they_carry")  # the other direction is another agreement
    agreements.decide(db.session, w.other_coordinator, first, "refuse", "No")
    _ask(w, valid_until=(w.today + timedelta(days=3)).isoformat())  # refused: free again


def test_ending_sets_the_last_day_and_either_side_may_end(w):
    agreement = _ask(w)
    with pytest.raises(Conflict):
        agreements.decide(db.session, w.coordinator, agreement, "end")
    agreements.decide(db.session, w.other_coordinator, agreement, "approve")
    agreements.decide(db.session, w.coordinator, agreement, "end", "Van sold")
    assert agreement.status == AgreementStatus.ENDED
    assert agreement.valid_until == w.today
    assert not agreement.in_force(w.today)


def test_carriers_for_honours_the_dates(w):
    start = w.today + timedelta(days=3)
    agreement = _ask(w, valid_from=start.isoformat(),
                     valid_until=(start + timedelta(days=4)).isoformat())
    client = [w.other_platform.id]
    assert agreements.carriers_for(db.session, client, start, start) == {}  # not approved
    agreements.decide(db.session, w.other_coordinator, agreement, "approve")
    found = agreements.carriers_for(db.session, client, w.today, w.today + timedelta(days=2))
    assert found == {}
    found = agreements.carriers_for(db.session, client, w.today, start)
    assert [a.id for a in found[w.platform.id]] == [agreement.id]
    assert not agreement.in_force(w.today) and agreement.in_force(start)
    assert agreements.carriers_for(db.session, client, start + timedelta(days=5),
                                   start + timedelta(days=9)) == {}
    assert agreements.carriers_for(db.session, [w.platform.id], w.today, start) == {}


def test_area_keeps_known_postcodes_and_checks_the_radius(w):
    platform = platform_area.update_area(db.session, w.coordinator, "6800, 6600\n6800 5000",
                                         "25,5")
    assert platform.service_postcodes == ["5000", "6600", "6800"]
    assert platform.service_radius_km == 25.5
    with pytest.raises(Invalid) as caught:
        platform_area.update_area(db.session, w.coordinator, "6800 9999 abc", "0")
    assert set(caught.value.fields) == {"postcodes", "radius_km"}
    assert "9999" in caught.value.fields["postcodes"]
    with pytest.raises(Invalid):
        platform_area.update_area(db.session, w.coordinator, "", "201")
    cleared = platform_area.update_area(db.session, w.coordinator, "", "")
    assert cleared.service_postcodes == [] and cleared.service_radius_km is None
    with pytest.raises(Forbidden):
        platform_area.update_area(db.session, w.cpas_user, "6800", "")


def test_each_step_notifies_the_other_platform(w):
    def notes(user):
        return [n.params["action"] for n in db.session.scalars(
            select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.id))]

    agreement = _ask(w)
    agreements.decide(db.session, w.other_coordinator, agreement, "approve")
    agreements.decide(db.session, w.other_coordinator, agreement, "end", "Van sold")
    assert notes(w.other_coordinator) == ["requested"]
    assert notes(w.coordinator) == ["approved", "ended"]
