"""Conventions: requests, decisions, their effect on claims, and who may decide."""

from datetime import timedelta

import pytest

from surplus.errors import Conflict, Forbidden, Invalid
from surplus.extensions import db
from surplus.models import ClaimStatus, ConventionStatus, DistributionMode, Role
from surplus.schemas.base import load
from surplus.schemas.convention import (
    ConventionInSchema,
    DecisionSchema,
    FiguresFormSchema,
    FiguresSchema,
)
from surplus.services import claims, conventions
from surplus.services.eligibility import lot_refusal
from surplus.services.lot_dates import local_today
from tests import factories


@pytest.fixture
def w(w):
    """The world's platforms are logistics platforms: each serves its commune."""
    w.platform.service_postcodes = ["6800"]
    w.other_platform.service_postcodes = ["5000"]
    db.session.commit()
    return w


def _raw(**overrides):
    data = {
        "persons_per_week": "120",
        "chilled_capacity_kg": "80",
        "frozen_capacity_kg": "0",
        "accepted_categories": [],
        "opening_hours": {"mon": "09:00-12:00, 13:30-16:00"},
        "fse_plus_approval_number": "FSE+/BE/777",
        "fse_plus_approval_expires": (local_today() + timedelta(days=90)).isoformat(),
        "contact_name": "Anne",
        "contact_phone": "061 00 00 00",
    }
    data.update(overrides)
    return data


def _figures(**overrides):
    return load(FiguresSchema(), _raw(**overrides))


def _newcomer(w):
    org = factories.org("association", name="Épicerie Test", mode="social_restaurant")
    admin = factories.user(org, Role.ORG_ADMIN)
    db.session.commit()
    return org, admin


def test_request_then_approve_then_claim(w):
    org, admin = _newcomer(w)
    conv = conventions.request_convention(db.session, admin, w.platform.id, _figures())
    assert conv.status == ConventionStatus.REQUESTED
    assert conv.opening_hours == {"mon": [["09:00", "12:00"], ["13:30", "16:00"]]}
    lot = factories.lot(w.donor)
    assert lot_refusal(db.session, org, lot) is not None
    conventions.decide(db.session, w.coordinator, conv, "approve")
    assert lot_refusal(db.session, org, lot) is None
    claims.claim_lot(db.session, admin, lot.id, 10)


def test_second_open_request_conflicts(w):
    _org, admin = _newcomer(w)
    conventions.request_convention(db.session, admin, w.platform.id, _figures())
    with pytest.raises(Conflict):
        conventions.request_convention(db.session, admin, w.platform.id, _figures())


def test_bad_figures_are_reported_per_field(app):
    with pytest.raises(Invalid) as caught:
        load(
            ConventionInSchema(),
            _raw(
                platform_id="x",
                persons_per_week="",
                chilled_capacity_kg="-3",
                opening_hours={"tue": "noon"},
                fse_plus_approval_expires="soon",
            ),
        )
    assert set(caught.value.fields) == {
        "platform_id",
        "persons_per_week",
        "chilled_capacity_kg",
        "opening_hours",
        "fse_plus_approval_expires",
    }
    assert caught.value.fields["opening_hours"].startswith("tue: ")
    # The page's form names the weekday's field.
    with pytest.raises(Invalid) as caught:
        load(
            FiguresFormSchema(),
            {"persons_per_week": "10", "hours_tue": "12:00-09:00", "hours_wed": "9-12"},
        )
    assert set(caught.value.fields) == {"hours_tue", "hours_wed"}


@pytest.mark.parametrize(
    "field, value",
    [
        ("persons_per_week", 10**12),
        ("persons_per_week", 2.5),
        ("persons_per_week", "NaN"),
        ("persons_per_week", True),
        ("chilled_capacity_kg", 1e308),
        ("chilled_capacity_kg", float("inf")),
        ("frozen_capacity_kg", "1e400"),
        ("fse_plus_approval_expires", "9999-12-31"),
        ("fse_plus_approval_expires", "0001-01-01"),
        ("contact_name", "Anne\x00"),
        ("contact_phone", "\ud800"),
        ("contact_name", "x" * 201),
        ("afsca_number", ["a"]),
        ("accepted_categories", ["bread"]),
        ("accepted_categories", ["dairy"] * 51),
        ("opening_hours", {"monday": "09:00-12:00"}),
        ("opening_hours", {"mon": ["09:00-10:00"] * 7}),
        ("opening_hours", {"mon": 9}),
        ("opening_hours", {"mon": [["09:00", "25:00"]]}),
        ("opening_hours", "09:00-12:00"),
        ("opening_hours", {"mon": [["09:00", "12:00", "13:00"]]}),
        ("opening_hours", {"mon": "9" * 201}),
    ],
)
def test_every_figure_is_bounded(app, field, value):
    with pytest.raises(Invalid) as caught:
        load(FiguresSchema(), _raw(**{field: value}))
    assert list(caught.value.fields) == [field]


def test_opening_hours_as_text_or_pairs_load_the_same(app):
    as_text = load(
        FiguresSchema(), _raw(opening_hours={"mon": "9h00-12h00, 13.30-16:30", "sun": ""})
    )
    as_pairs = load(
        FiguresSchema(),
        _raw(opening_hours={"mon": [["13:30", "16:30"], ["09:00", "12:00"]], "sun": None}),
    )
    form = load(
        FiguresFormSchema(), {**_raw(), "hours_mon": "09:00-12:00, 13:30-16:30", "hours_sun": ""}
    )
    expected = {"mon": [["09:00", "12:00"], ["13:30", "16:30"]]}
    assert as_text["opening_hours"] == as_pairs["opening_hours"] == expected
    assert form["opening_hours"] == expected and "hours_mon" not in form


def test_only_a_logistics_platform_can_be_asked(w):
    """A donor, or the site team's own organisation (of kind platform, but with neither
    depot nor service area), is no platform to sign a convention with."""
    _org, admin = _newcomer(w)
    team = factories.org(
        "platform", name="Maillon — équipe du site", postcode="5000", locality="Namur"
    )
    factories.user(team, Role.SITE_ADMIN)
    db.session.commit()
    for platform_id in (w.donor.id, team.id, 2**31 - 1):
        with pytest.raises(Invalid) as caught:
            conventions.request_convention(db.session, admin, platform_id, _figures())
        assert set(caught.value.fields) == {"platform_id"}
    assert team not in [p for p, _km, _serves in conventions.platforms_for(db.session, w.cpas)]


def test_an_approval_is_a_number_and_a_date(w):
    _org, admin = _newcomer(w)
    with pytest.raises(Invalid) as caught:
        conventions.request_convention(
            db.session, admin, w.platform.id, _figures(fse_plus_approval_expires="")
        )
    assert set(caught.value.fields) == {"fse_plus_approval_expires"}
    with pytest.raises(Invalid) as caught:
        conventions.request_convention(
            db.session, admin, w.platform.id, _figures(fse_plus_approval_number=" ")
        )
    assert set(caught.value.fields) == {"fse_plus_approval_number"}


def test_fse_plus_only_with_an_unexpired_approval_on_file(w):
    _org, admin = _newcomer(w)
    conv = conventions.request_convention(
        db.session,
        admin,
        w.platform.id,
        _figures(fse_plus_approval_number="", fse_plus_approval_expires=""),
    )
    with pytest.raises(Invalid) as caught:
        conventions.decide(db.session, w.coordinator, conv, "approve", fse_plus=True)
    assert "fse_plus" in caught.value.fields
    db.session.rollback()
    conv.fse_plus_approval_number = "FSE+/1"
    conv.fse_plus_approval_expires = local_today() - timedelta(days=1)
    with pytest.raises(Invalid):
        conventions.decide(db.session, w.coordinator, conv, "approve", fse_plus=True)


def test_only_the_platforms_coordinators_decide(w):
    _org, admin = _newcomer(w)
    conv = conventions.request_convention(db.session, admin, w.platform.id, _figures())
    for outsider in (w.other_coordinator, admin, w.cpas_user):
        with pytest.raises(Forbidden):
            conventions.decide(db.session, outsider, conv, "approve")
    site_admin = factories.user(w.other_platform, Role.SITE_ADMIN)
    conventions.decide(db.session, site_admin, conv, "approve")
    assert conv.status == ConventionStatus.ACTIVE


def test_only_the_beneficiarys_admin_requests_and_updates(w):
    with pytest.raises(Forbidden):
        conventions.request_convention(db.session, w.cpas_user, w.other_platform.id, _figures())
    with pytest.raises(Forbidden):
        conventions.request_convention(db.session, w.coordinator, w.other_platform.id, _figures())
    for outsider in (w.cpas_user, w.coordinator, factories.user(w.asbl, Role.ORG_ADMIN)):
        with pytest.raises(Forbidden):
            conventions.update_figures(
                db.session, outsider, w.cpas_convention, {"persons_per_week": 5}
            )
    assert w.cpas_convention.persons_per_week == 100


def test_decision_dates_are_bounded_and_ordered(w):
    def decision(**raw):
        return load(DecisionSchema(), {"action": "approve", **raw})

    for far in ("9999-12-31", "0001-01-01", "2026-02-30", "tomorrow"):
        with pytest.raises(Invalid) as caught:
            decision(valid_from=far)
        assert set(caught.value.fields) == {"valid_from"}
    with pytest.raises(Invalid) as caught:
        decision(action="approve!", reason="\x00")
    assert set(caught.value.fields) == {"action", "reason"}
    # The end may not precede the start, be it given or the one on file.
    on_file = w.cpas_convention.valid_from
    with pytest.raises(Invalid) as caught:
        conventions.decide(
            db.session,
            w.coordinator,
            w.cpas_convention,
            **decision(valid_until=(on_file - timedelta(days=1)).isoformat()),
        )
    assert set(caught.value.fields) == {"valid_until"}
    db.session.rollback()
    start = local_today() + timedelta(days=10)
    conventions.decide(
        db.session,
        w.coordinator,
        w.cpas_convention,
        **decision(
            valid_from=start.isoformat(), valid_until=(start + timedelta(days=1)).isoformat()
        ),
    )
    assert w.cpas_convention.valid_from == start


def test_suspension_stops_new_claims_and_keeps_existing_ones(w):
    lot = factories.lot(w.donor, kg=100)
    claim, _ = claims.claim_lot(db.session, w.asbl_user, lot.id, 20)
    conv = w.asbl_convention
    with pytest.raises(Invalid):  # a reason is required
        conventions.decide(db.session, w.coordinator, conv, "suspend")
    conventions.decide(db.session, w.coordinator, conv, "suspend", reason="Contrôle AFSCA")
    db.session.commit()
    with pytest.raises(Forbidden):
        claims.claim_lot(db.session, w.asbl_user, lot.id, 10)
    assert claim.status == ClaimStatus.ACTIVE
    assert conventions.live_claims(db.session, conv) == [claim]
    conventions.decide(db.session, w.coordinator, conv, "reinstate")
    claims.claim_lot(db.session, w.asbl_user, lot.id, 10)
    conventions.decide(db.session, w.coordinator, conv, "end", reason="Fin du partenariat")
    with pytest.raises(Conflict):
        conventions.decide(db.session, w.coordinator, conv, "reinstate")


def test_widening_figure_changes_wait_for_the_coordinator(w):
    admin = factories.user(w.asbl, Role.ORG_ADMIN)
    conv = w.asbl_convention
    held = conventions.update_figures(
        db.session, admin, conv, _figures(persons_per_week="150", frozen_capacity_kg="40")
    )
    assert set(held) == {
        "fse_plus_approval_number",
        "fse_plus_approval_expires",
        "frozen_capacity_kg",
    }
    assert conv.persons_per_week == 150  # applied at once
    assert conv.frozen_capacity_kg == 0 and conv.fse_plus_approval_number is None
    frozen = factories.lot(
        w.donor, storage="frozen", category="frozen", date_kind="best_before", days=60
    )
    assert lot_refusal(db.session, w.asbl, frozen) is not None
    conventions.decide(db.session, w.coordinator, conv, "approve", fse_plus=True)
    assert conv.frozen_capacity_kg == 40 and conv.fse_plus_allowed
    assert conv.pending_changes is None
    assert lot_refusal(db.session, w.asbl, frozen) is None


def test_free_distribution_waits_for_the_coordinator_and_a_selling_one_applies_at_once(w):
    """A convention's distribution mode opens FSE+ stock only when it is free distribution,
    and declaring it is a widening change: it waits for the coordinator."""
    admin = factories.user(w.cpas, Role.ORG_ADMIN)
    conv = w.cpas_convention  # FSE+ approved, free parcels
    fse = factories.lot(
        w.platform, fse_plus=True, category="dry_goods", date_kind="best_before", days=60
    )
    partial = {"partial": True}
    held = conventions.update_figures(
        db.session,
        admin,
        conv,
        load(FiguresSchema(), {"distribution_mode": "social_grocery"}, **partial),
    )
    assert held == {} and conv.distribution_mode == DistributionMode.SOCIAL_GROCERY
    assert lot_refusal(db.session, w.cpas, fse) is not None  # narrowed at once
    held = conventions.update_figures(
        db.session,
        admin,
        conv,
        load(FiguresSchema(), {"distribution_mode": "free_parcels"}, **partial),
    )
    assert held == {"distribution_mode": "free_parcels"}
    assert conv.distribution_mode == DistributionMode.SOCIAL_GROCERY
    assert lot_refusal(db.session, w.cpas, fse) is not None  # still waiting
    conventions.decide(db.session, w.coordinator, conv, "approve", fse_plus=True)
    assert conv.distribution_mode == DistributionMode.FREE_PARCELS
    assert lot_refusal(db.session, w.cpas, fse) is None


def test_a_partial_update_changes_only_the_fields_given(w):
    """PATCH {"persons_per_week": 139} once reset the chilled capacity and the hours."""
    admin = factories.user(w.cpas, Role.ORG_ADMIN)
    conv = w.cpas_convention
    conv.opening_hours = {"tue": [["08:00", "12:00"]]}
    conv.contact_name = "Anne"
    db.session.commit()
    kept = {name: getattr(conv, name) for name in conventions.FIGURES if name != "persons_per_week"}
    held = conventions.update_figures(
        db.session, admin, conv, load(FiguresSchema(), {"persons_per_week": 139}, partial=True)
    )
    assert held == {} and conv.persons_per_week == 139
    assert {name: getattr(conv, name) for name in kept} == kept
    # A held change stays held while other fields change; a newer value replaces it.
    new_expiry = (local_today() + timedelta(days=400)).isoformat()
    held = conventions.update_figures(
        db.session,
        admin,
        conv,
        load(FiguresSchema(), {"fse_plus_approval_expires": new_expiry}, partial=True),
    )
    assert held["fse_plus_approval_expires"] == new_expiry
    assert conv.fse_plus_approval_number == "FSE+/BE/1234"  # the pair stays as approved
    conventions.update_figures(
        db.session,
        admin,
        conv,
        load(FiguresSchema(), {"contact_phone": "061 11 11 11"}, partial=True),
    )
    assert conv.pending_changes["fse_plus_approval_expires"] == new_expiry
    conventions.update_figures(
        db.session,
        admin,
        conv,
        load(
            FiguresSchema(),
            {"fse_plus_approval_expires": None, "fse_plus_approval_number": None},
            partial=True,
        ),
    )  # giving up the approval narrows: applied at once
    assert conv.pending_changes is None and conv.fse_plus_approval_number is None
    assert conv.chilled_capacity_kg == 200 and conv.frozen_capacity_kg == 50


def test_every_decision_is_in_the_beneficiarys_history(w):
    conventions.decide(db.session, w.coordinator, w.asbl_convention, "suspend", reason="Audit")
    conventions.decide(db.session, w.coordinator, w.asbl_convention, "reinstate")
    actions = [(e.action, e.reason) for e in conventions.history(db.session, w.asbl_convention)]
    assert actions == [("suspend", "Audit"), ("reinstate", "")]
