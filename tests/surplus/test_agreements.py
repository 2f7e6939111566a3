"""Transport agreements: who carries, which side decides, clashes, ending, and the dates
``carriers_for`` honours; and a platform's service area."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from surplus.errors import Conflict, Forbidden, Invalid
from surplus.extensions import db
from surplus.models import AgreementStatus, Event, Notification, Organisation, Role
from surplus.schemas.agreement import AgreementDecisionSchema, AgreementRequestSchema
from surplus.schemas.area import AreaSchema
from surplus.schemas.base import load
from surplus.services import agreements, platform_area
from surplus.services.lot_dates import local_today
from tests import factories


@pytest.fixture
def w(w):
    """The world's platforms are logistics platforms: each serves its commune."""
    w.platform.service_postcodes = ["6800"]
    w.other_platform.service_postcodes = ["5000"]
    db.session.commit()
    w.today = local_today()
    return w


def _ask(w, direction="we_carry", **raw):
    raw.setdefault("valid_from", w.today.isoformat())
    data = load(
        AgreementRequestSchema(), {"other_id": w.other_platform.id, "direction": direction, **raw}
    )
    return agreements.request(db.session, w.coordinator, **data)


def _day(w, days):
    return (w.today + timedelta(days=days)).isoformat()


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
    assert (
        db.session.scalar(
            select(Event).where(
                Event.subject_type == "transportagreement", Event.action == "approve"
            )
        )
        is not None
    )


def test_refusing_needs_a_reason_and_only_coordinators_act(w):
    agreement = _ask(w)
    with pytest.raises(Invalid) as caught:
        agreements.decide(db.session, w.other_coordinator, agreement, "refuse", "  ")
    assert "reason" in caught.value.fields
    agreements.decide(db.session, w.other_coordinator, agreement, "refuse", "No cold van")
    assert agreement.status == AgreementStatus.REFUSED
    assert agreement.decision_reason == "No cold van"
    with pytest.raises(Forbidden):
        agreements.request(
            db.session,
            w.cpas_user,
            other_id=w.platform.id,
            direction="we_carry",
            valid_from=w.today,
        )
    third = factories.org("platform", postcode="6000", locality="Charleroi")
    with pytest.raises(Forbidden):
        agreements.decide(db.session, factories.user(third, Role.COORDINATOR), agreement, "end")


def test_bad_input_is_reported_per_field(w):
    with pytest.raises(Invalid) as caught:
        load(
            AgreementRequestSchema(),
            {
                "other_id": "abc",
                "direction": "both",
                "valid_from": "yesterday",
                "valid_until": _day(w, -1),
            },
        )
    assert set(caught.value.fields) == {"other_id", "direction", "valid_from"}
    with pytest.raises(Invalid) as caught:
        _ask(w, valid_from=_day(w, 5), valid_until=_day(w, 2))
    assert set(caught.value.fields) == {"valid_until"}
    with pytest.raises(Invalid) as caught:  # both messages at once
        _ask(w, valid_from=_day(w, -1), valid_until=_day(w, -2))
    assert set(caught.value.fields) == {"valid_from", "valid_until"}
    for far in ("9999-12-31", "0001-01-01"):
        with pytest.raises(Invalid) as caught:
            _ask(w, valid_from=far)
        assert set(caught.value.fields) == {"valid_from"}
    with pytest.raises(Invalid) as caught:
        _ask(w, note="Mardi\x00", other_id=2**31)
    assert set(caught.value.fields) == {"note", "other_id"}
    with pytest.raises(Invalid) as caught:
        load(AgreementDecisionSchema(), {"action": "approve all", "reason": "x" * 1001})
    assert set(caught.value.fields) == {"action", "reason"}


def test_only_another_logistics_platform_can_be_asked(w):
    team = factories.org("platform", name="Maillon — équipe du site")
    db.session.commit()
    for other in (w.platform, w.donor, team):
        with pytest.raises(Invalid) as caught:
            _ask(w, other_id=other.id)
        assert set(caught.value.fields) == {"other_id"}


def test_a_live_agreement_in_the_same_direction_clashes(w):
    first = _ask(w, valid_until=_day(w, 10))
    with pytest.raises(Conflict):
        _ask(w, valid_from=_day(w, 5))
    later = _ask(w, valid_from=_day(w, 11))
    assert later.id != first.id
    _ask(w, "they_carry")  # the other direction is another agreement
    agreements.decide(db.session, w.other_coordinator, first, "refuse", "No")
    _ask(w, valid_until=_day(w, 3))  # refused: free again


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
    agreement = _ask(
        w, valid_from=start.isoformat(), valid_until=(start + timedelta(days=4)).isoformat()
    )
    client = [w.other_platform.id]
    assert agreements.carriers_for(db.session, client, start, start) == {}  # not approved
    agreements.decide(db.session, w.other_coordinator, agreement, "approve")
    found = agreements.carriers_for(db.session, client, w.today, w.today + timedelta(days=2))
    assert found == {}
    found = agreements.carriers_for(db.session, client, w.today, start)
    assert [a.id for a in found[w.platform.id]] == [agreement.id]
    assert not agreement.in_force(w.today) and agreement.in_force(start)
    assert (
        agreements.carriers_for(
            db.session, client, start + timedelta(days=5), start + timedelta(days=9)
        )
        == {}
    )
    assert agreements.carriers_for(db.session, [w.platform.id], w.today, start) == {}


def _area(w, user=None, **raw):
    data = load(AreaSchema(), raw)
    return platform_area.update_area(db.session, user or w.coordinator, **data)


def test_area_keeps_known_postcodes_and_checks_the_radius(w):
    platform = _area(w, postcodes="6800, 6600\n6800 5000", radius_km="25,5")
    assert platform.service_postcodes == ["5000", "6600", "6800"]
    assert platform.service_radius_km == 25.5
    assert _area(w, postcodes=["6840", "6800"]).service_postcodes == ["6800", "6840"]
    with pytest.raises(Invalid) as caught:
        _area(w, postcodes="6800 9999 abc", radius_km="0")
    assert set(caught.value.fields) == {"postcodes", "radius_km"}
    assert "9999" in caught.value.fields["postcodes"]
    for radius in ("201", "NaN", "1e308", "-5", "inf", True):
        with pytest.raises(Invalid):
            _area(w, postcodes="", radius_km=radius)
    cleared = _area(w, postcodes="", radius_km="")
    assert cleared.service_postcodes == [] and cleared.service_radius_km is None
    with pytest.raises(Forbidden):
        _area(w, w.cpas_user, postcodes="6800")


@pytest.mark.parametrize(
    "postcodes",
    [
        "6800\x00",
        ["6800", 6600],
        {"a": "6800"},
        "6800 " * 800,
        ["6800"] * 601,
        6800,
    ],
)
def test_area_postcodes_are_bounded(w, postcodes):
    with pytest.raises(Invalid) as caught:
        _area(w, postcodes=postcodes)
    assert list(caught.value.fields) == ["postcodes"]
    db.session.rollback()
    assert db.session.get(Organisation, w.platform.id).service_postcodes == ["6800"]


def test_each_step_notifies_the_other_platform(w):
    def notes(user):
        return [
            n.params["action"]
            for n in db.session.scalars(
                select(Notification)
                .where(Notification.user_id == user.id)
                .order_by(Notification.id)
            )
        ]

    agreement = _ask(w)
    agreements.decide(db.session, w.other_coordinator, agreement, "approve")
    agreements.decide(db.session, w.other_coordinator, agreement, "end", "Van sold")
    assert notes(w.other_coordinator) == ["requested"]
    assert notes(w.coordinator) == ["approved", "ended"]
