"""Conventions: requests, decisions, their effect on claims, and who may decide."""

from datetime import timedelta

import pytest

from surplus.errors import Conflict, Forbidden, Invalid
from surplus.extensions import db
from surplus.models import ClaimStatus, ConventionStatus, Role
from surplus.services import claims, conventions
from surplus.services.eligibility import lot_refusal
from surplus.services.lot_dates import local_today
from tests import factories


@pytest.fixture
def w(app):
    return factories.world()


def _figures(**overrides):
    data = {"persons_per_week": "120", "chilled_capacity_kg": "80", "frozen_capacity_kg": "0",
            "accepted_categories": [], "opening_hours": {"mon": "09:00-12:00, 13:30-16:00"},
            "fse_plus_approval_number": "FSE+/BE/777",
            "fse_plus_approval_expires": (local_today() + timedelta(days=90)).isoformat(),
            "contact_name": "Anne", "contact_phone": "061 00 00 00"}
    data.update(overrides)
    return data


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


def test_request_errors_per_field(w):
    _org, admin = _newcomer(w)
    with pytest.raises(Invalid) as caught:
        conventions.request_convention(db.session, admin, w.platform.id, _figures(
            persons_per_week="", chilled_capacity_kg="-3", opening_hours={"tue": "noon"},
            fse_plus_approval_expires="soon"))
    assert {"persons_per_week", "chilled_capacity_kg", "hours_tue",
            "fse_plus_approval_expires"} <= set(caught.value.fields)
    with pytest.raises(Invalid):
        conventions.request_convention(db.session, admin, w.donor.id, _figures())


def test_fse_plus_only_with_an_unexpired_approval_on_file(w):
    _org, admin = _newcomer(w)
    conv = conventions.request_convention(db.session, admin, w.platform.id, _figures(
        fse_plus_approval_number="", fse_plus_approval_expires=""))
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
    held = conventions.update_figures(db.session, admin, conv, _figures(
        persons_per_week="150", frozen_capacity_kg="40"))
    assert set(held) == {"fse_plus_approval_number", "fse_plus_approval_expires",
                         "frozen_capacity_kg"}
    assert conv.persons_per_week == 150  # applied at once
    assert conv.frozen_capacity_kg == 0 and conv.fse_plus_approval_number is None
    frozen = factories.lot(w.donor, storage="frozen", category="frozen",
                           date_kind="best_before", days=60)
    assert lot_refusal(db.session, w.asbl, frozen) is not None
    conventions.decide(db.session, w.coordinator, conv, "approve", fse_plus=True)
    assert conv.frozen_capacity_kg == 40 and conv.fse_plus_allowed
    assert conv.pending_changes is None
    assert lot_refusal(db.session, w.asbl, frozen) is None


def test_every_decision_is_in_the_beneficiarys_history(w):
    conventions.decide(db.session, w.coordinator, w.asbl_convention, "suspend", reason="Audit")
    conventions.decide(db.session, w.coordinator, w.asbl_convention, "reinstate")
    actions = [(e.action, e.reason) for e in conventions.history(db.session, w.asbl_convention)]
    assert actions == [("suspend", "Audit"), ("reinstate", "")]
