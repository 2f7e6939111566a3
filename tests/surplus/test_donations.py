"""Donation documents (Belgian VAT): a donation is a claim whose food left the donor (its
pickup confirmed by a driver); only free distribution gets a document; numbers per donor
and year follow the hand-overs and never move; the recap adds up the claims."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale

from surplus import access
from surplus.errors import Forbidden, NotFound
from surplus.extensions import db
from surplus.models import DistributionMode, Role
from surplus.services import booking, claims, stops
from surplus.services.lot_dates import local_today
from surplus.services.reports import donations as service
from surplus.services.reports.period import Period
from tests import factories


@pytest.fixture
def w(daily_rounds):
    """``factories.world()`` driving every day; the donor and the CPAS have enterprise
    numbers; the CPAS hands out free parcels, the association runs a social restaurant."""
    w = daily_rounds
    w.donor.enterprise_number = "0123.456.789"
    w.cpas.enterprise_number = "0212.345.678"
    w.cpas_convention.distribution_mode = DistributionMode.FREE_PARCELS
    w.asbl_convention.distribution_mode = DistributionMode.SOCIAL_RESTAURANT
    db.session.commit()
    return w


def claimed(w, user, kg, *, donor=None, lot_kg=100, units=None, title="Yaourts nature"):
    """A lot of ``donor`` (``w.donor``) claimed by ``user``'s organisation, booked on a run."""
    lot = factories.lot(donor or w.donor, kg=lot_kg, hours_open=60, title=title)
    lot.units = units
    lot.lot_number = f"L-{title[:3]}"
    db.session.commit()
    claim, _ = claims.claim_lot(db.session, user, lot.id, kg)
    booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    return claim


def picked_up(w, claim):
    """The driver confirms the pickup at the donor (3 °C): the food left the donor."""
    pickup, _drop = booking.booked_stops(db.session, claim)
    assert stops.confirm(db.session, w.driver, pickup, 3.0).ok
    db.session.commit()
    return pickup


def donated(w, user, kg, **kw):
    claim = claimed(w, user, kg, **kw)
    picked_up(w, claim)
    return claim


def this_month() -> Period:
    return Period.month(local_today())


def test_a_confirmed_pickup_is_a_donation_of_the_claims_kilograms(w):
    claim = donated(w, w.cpas_user, 30, lot_kg=100, units=200)
    d = service.donation(db.session, claim)
    assert d is not None and d.eligible
    assert d.kg == claim.kg == 30
    assert [(line.lot.id, line.kg, line.units) for line in d.lines] == [(claim.lot_id, 30, 60)]
    assert d.number == f"D-{local_today().year}-00001"
    assert d.day == local_today()
    assert d.recipient.id == w.cpas.id and d.standing == "cpas"
    assert service.vat_number(d.donor.enterprise_number) == "BE0123456789"


def test_an_unconfirmed_claim_is_not_a_donation(w):
    claim = claimed(w, w.cpas_user, 30)  # booked, not picked up
    assert service.donation(db.session, claim) is None
    assert service.donations(db.session, w.donor.id, this_month()) == []
    assert service.recap(db.session, w.donor, this_month()).kg == 0


def test_numbers_follow_the_hand_overs_and_never_move(w):
    first = donated(w, w.cpas_user, 10)
    second = donated(w, w.asbl_user, 20)
    third = donated(w, w.cpas_user, 5)
    year = local_today().year
    numbers = [
        (d.claim_id, d.number) for d in service.donations(db.session, w.donor.id, this_month())
    ]
    assert numbers == [
        (first.id, f"D-{year}-00001"),
        (second.id, f"D-{year}-00002"),
        (third.id, f"D-{year}-00003"),
    ]
    again = [
        (d.claim_id, d.number) for d in service.donations(db.session, w.donor.id, this_month())
    ]
    assert again == numbers
    later = donated(w, w.asbl_user, 1)
    after = [
        (d.claim_id, d.number) for d in service.donations(db.session, w.donor.id, this_month())
    ]
    assert after == [*numbers, (later.id, f"D-{year}-00004")]
    # One document reads the same number as the list.
    assert service.donation(db.session, second).number == f"D-{year}-00002"
    # Another donor counts its own donations.
    other = donated(w, w.cpas_user, 3, donor=w.other_donor)
    assert service.donation(db.session, other).number == f"D-{year}-00001"


def test_a_tie_between_two_hand_overs_is_broken_by_the_claim_id(w):
    early_id = claimed(w, w.asbl_user, 10)  # the smaller claim id, picked up second
    first = donated(w, w.cpas_user, 10)
    late_pickup = picked_up(w, early_id)
    first_pickup, _ = booking.booked_stops(db.session, first)
    found = service.donations(db.session, w.donor.id, this_month())
    assert [d.claim_id for d in found] == [first.id, early_id.id]  # by moment
    late_pickup.confirmed_at = first_pickup.confirmed_at  # the same instant
    db.session.commit()
    found = service.donations(db.session, w.donor.id, this_month())
    assert [d.claim_id for d in found] == [early_id.id, first.id]  # then by claim id
    assert [d.number[-5:] for d in found] == ["00001", "00002"]


def test_a_social_grocery_gets_no_document_and_no_number(w):
    w.asbl_convention.distribution_mode = DistributionMode.SOCIAL_GROCERY
    db.session.commit()
    grocery = donated(w, w.asbl_user, 20)
    parcels = donated(w, w.cpas_user, 10)
    d = service.donation(db.session, grocery)
    assert d is not None and not d.eligible and d.number is None
    assert d.distribution_mode == "social_grocery"
    assert service.donation(db.session, parcels).number.endswith("-00001")
    recap = service.recap(db.session, w.donor, this_month())
    assert [x.claim_id for x in recap.donations] == [parcels.id]
    month = service.kg_by_month(db.session, w.donor.id, local_today())[-1]
    assert (month.kg, month.eligible_kg) == (30, 10)


def test_the_recap_adds_up_the_claims_per_recipient(w):
    one = donated(w, w.cpas_user, 12.5)
    two = donated(w, w.asbl_user, 7)
    three = donated(w, w.cpas_user, 2.25)
    recap = service.recap(db.session, w.donor, this_month())
    assert recap.number == local_today().strftime("R-%Y-%m")
    assert [d.claim_id for d in recap.donations] == [one.id, two.id, three.id]
    totals = {t.organisation.id: (t.kg, t.count) for t in recap.totals}
    assert totals == {w.cpas.id: (one.kg + three.kg, 2), w.asbl.id: (two.kg, 1)}
    assert recap.kg == one.kg + two.kg + three.kg == 21.75


def test_kilograms_per_month_cover_twelve_months(w):
    donated(w, w.cpas_user, 4)
    months = service.kg_by_month(db.session, w.donor.id, local_today())
    assert len(months) == 12
    assert months[-1].month == local_today().replace(day=1)
    assert [m.kg for m in months] == [0] * 11 + [4]
    assert months[0].month < months[-1].month - timedelta(days=300)


def test_vat_number_and_standing():
    assert service.vat_number("0123.456.789") == "BE0123456789"
    assert service.vat_number("BE 0123 456 789") == "BE0123456789"
    assert service.vat_number(None) is None
    assert service.vat_number("123.456") is None


def test_standing_follows_the_kind_of_recipient(w):
    assert service.standing(w.platform) == "platform"
    assert service.standing(w.cpas) == "cpas"
    assert service.standing(w.asbl) == "charity"


def test_the_statement_is_french_first_then_the_readers(app):
    with force_locale("nl"):
        languages = [language for language, _text in service.statements("nl")]
    assert languages == ["fr", "nl"]
    assert [language for language, _t in service.statements("fr")] == ["fr"]
    for _language, text in service.statements("en"):
        assert "2026/C/22" in text and "18 " in text


def test_who_reads_a_donors_documents(w):
    claim = donated(w, w.cpas_user, 10)
    admin = factories.user(w.cpas, Role.SITE_ADMIN)
    member = factories.user(w.donor, Role.MEMBER)
    db.session.commit()
    assert access.may_read_donations(w.donor_user, w.donor)
    assert access.may_read_donations(member, w.donor)
    assert access.may_read_donations(admin, w.donor)
    assert not access.may_read_donations(w.other_donor_user, w.donor)
    assert not access.may_read_donations(w.coordinator, w.donor)
    assert access.donation_claim(w.donor_user, claim.id).id == claim.id
    assert access.donation_claim(admin, claim.id).id == claim.id
    with pytest.raises(NotFound):
        access.donation_claim(w.other_donor_user, claim.id)
    with pytest.raises(NotFound):
        access.donation_claim(w.coordinator, claim.id)  # a platform, not this lot's donor
    with pytest.raises(Forbidden):
        access.donation_claim(w.cpas_user, claim.id)
    with pytest.raises(Forbidden):
        access.donor_of_documents(w.asbl_user)
    assert access.donor_of_documents(w.coordinator).id == w.platform.id
