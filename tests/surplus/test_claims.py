"""Claiming: eligibility rules 1-4, quantities, cancellation, withdrawal, expiry, events."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from surplus.errors import Conflict, Forbidden, Invalid, NotFound
from surplus.extensions import db
from surplus.models import ClaimStatus, ConventionStatus, DistributionMode, Event, LotStatus
from surplus.services import claims, lots
from surplus.services.eligibility import lot_refusal
from tests import factories
from tests.factories import translated


def test_claim_part_of_a_divisible_lot(w):
    lot = factories.lot(w.donor, kg=100, min_part_kg=10)
    claim, created = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()
    assert created and claim.grams == 30_000 and claim.platform_id == w.platform.id
    assert lot.remaining_g == 70_000 and lot.status == LotStatus.OPEN
    actions = db.session.scalars(
        select(Event.action).where(Event.subject_type.in_(["lot", "claim"]))
    ).all()
    assert "claimed" in actions and "created" in actions


def test_claiming_everything_closes_the_lot(w):
    lot = factories.lot(w.donor, kg=10)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
    db.session.commit()
    assert lot.status == LotStatus.CLAIMED and lot.remaining_g == 0


def test_below_minimum_part_is_refused_unless_it_is_the_remainder(w):
    lot = factories.lot(w.donor, kg=25, min_part_kg=10)
    with pytest.raises(Invalid):
        claims.claim_lot(db.session, w.cpas_user, lot.id, 5)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 18)
    claim, _ = claims.claim_lot(db.session, w.asbl_user, lot.id, 7)  # the whole remainder
    assert claim.grams == 7000


def test_indivisible_lot_goes_whole(w):
    lot = factories.lot(w.donor, kg=40, divisible=False)
    with pytest.raises(Invalid):
        claims.claim_lot(db.session, w.cpas_user, lot.id, 20)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 40)
    assert claim.grams == 40_000


def test_more_than_remains_is_a_conflict_with_the_available_kilograms(w):
    lot = factories.lot(w.donor, kg=50)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 45)
    with pytest.raises(Conflict) as caught:
        claims.claim_lot(db.session, w.asbl_user, lot.id, 10)
    assert caught.value.extra["available_kg"] == 5


def test_idempotency_key_returns_the_first_claim(w):
    lot = factories.lot(w.donor, kg=50)
    first, created = claims.claim_lot(db.session, w.cpas_user, lot.id, 10, idempotency_key="k1")
    again, created_again = claims.claim_lot(
        db.session, w.cpas_user, lot.id, 10, idempotency_key="k1"
    )
    assert created and not created_again and first.id == again.id
    assert lot.remaining_g == 40_000


def test_fse_plus_needs_an_approval_in_force(w):
    lot = factories.lot(
        w.platform,
        kg=100,
        fse_plus=True,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=60,
    )
    with pytest.raises(Forbidden) as caught:
        claims.claim_lot(db.session, w.asbl_user, lot.id, 10)
    assert "FSE+" in caught.value.message
    claims.claim_lot(db.session, w.cpas_user, lot.id, 10)  # approved CPAS


def test_fse_plus_refused_when_the_approval_has_expired(w):
    lot = factories.lot(
        w.platform,
        kg=100,
        fse_plus=True,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=60,
    )
    w.cpas_convention.fse_plus_approval_expires = datetime.now(UTC).date() - timedelta(days=1)
    db.session.commit()
    assert "FSE+" in lot_refusal(db.session, w.cpas, lot)


def test_fse_plus_never_goes_to_a_social_grocery(w):
    grocery = factories.org("association", mode="social_grocery")
    factories.convention(w.platform, grocery, fse=True)
    lot = factories.lot(
        w.platform,
        kg=100,
        fse_plus=True,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=60,
    )
    assert lot_refusal(db.session, grocery, lot) == translated(
        "fr",
        "FSE+ stock is only for free distribution; your organisation has declared: %(mode)s.",
        mode=translated("fr", "Social grocery"),
    )
    with pytest.raises(Forbidden):
        claims.claim_lot(db.session, factories.user(grocery), lot.id, 10)


def test_fse_plus_follows_the_convention_s_distribution_mode(w):
    """An organisation that declared nothing (signed up before the question existed)
    receives FSE+ only through a convention declaring free distribution."""
    w.cpas.distribution_mode = None
    w.cpas_convention.distribution_mode = DistributionMode.SOCIAL_GROCERY
    db.session.commit()
    lot = factories.lot(
        w.platform,
        kg=100,
        fse_plus=True,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=60,
    )
    assert lot_refusal(db.session, w.cpas, lot) == translated(
        "fr",
        "FSE+ stock is only for free distribution; your convention with %(platform)s "
        "declares: %(mode)s.",
        platform=w.platform.name,
        mode=translated("fr", "Social grocery"),
    )
    w.cpas_convention.distribution_mode = DistributionMode.SOCIAL_RESTAURANT
    db.session.commit()
    assert lot_refusal(db.session, w.cpas, lot) is None


def test_cold_chain_needs_storage(w):
    frozen = factories.lot(
        w.donor, storage="frozen", category="frozen", date_kind="best_before", days=60
    )
    assert lot_refusal(db.session, w.asbl, frozen) == translated(
        "fr", "Frozen food: your convention declares no freezer storage."
    )
    assert lot_refusal(db.session, w.cpas, frozen) is None


def test_no_claim_without_a_convention_in_force(w):
    lot = factories.lot(w.donor)
    w.cpas_convention.status = ConventionStatus.SUSPENDED
    db.session.commit()
    with pytest.raises(Forbidden):
        claims.claim_lot(db.session, w.cpas_user, lot.id, 10)


def test_category_outside_the_convention(w):
    w.asbl_convention.accepted_categories = ["bakery"]
    db.session.commit()
    assert lot_refusal(db.session, w.asbl, factories.lot(w.donor)) == translated(
        "fr", "Your conventions do not cover this category."
    )


def test_unverified_donor_lots_are_not_offered(w):
    newcomer = factories.org("producer", verified=False)
    assert lot_refusal(db.session, w.cpas, factories.lot(newcomer)) is not None


def test_expired_lot_can_be_neither_claimed_nor_offered(w):
    lot = factories.lot(w.donor, kg=20)
    lot.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(Forbidden):
        claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
    assert lots.expire_lots(db.session) == 1
    assert lots.expire_lots(db.session) == 0, "the job is idempotent"
    db.session.commit()
    assert lot.status == LotStatus.EXPIRED


def test_expiry_cancels_uncollected_claims(w):
    lot = factories.lot(w.donor, kg=20)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
    db.session.commit()
    lot.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    lots.expire_lots(db.session)
    db.session.commit()
    db.session.refresh(claim)
    assert claim.status == ClaimStatus.CANCELLED


def test_cancel_returns_the_kilograms_once(w):
    lot = factories.lot(w.donor, kg=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 60)
    db.session.commit()
    claims.cancel_claim(db.session, w.cpas_user, claim)
    db.session.commit()
    assert lot.remaining_g == 60_000 and lot.status == LotStatus.OPEN
    with pytest.raises(Conflict):
        claims.cancel_claim(db.session, w.cpas_user, claim)


def test_other_organisation_cannot_cancel(w):
    lot = factories.lot(w.donor, kg=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 20)
    with pytest.raises(NotFound):  # another organisation's claim is not even there for it
        claims.cancel_claim(db.session, w.asbl_user, claim)


def test_withdrawal_withdraws_live_claims_with_the_reason(w):
    lot = factories.lot(w.donor, kg=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 20)
    db.session.commit()
    affected = lots.withdraw_lot(db.session, w.donor_user, lot, "Rappel du fabricant")
    db.session.commit()
    assert affected == [claim] and claim.status == ClaimStatus.WITHDRAWN
    assert claim.status_reason == "Rappel du fabricant"
    with pytest.raises(NotFound):  # another donor's lot is not even there for it
        lots.withdraw_lot(db.session, w.other_donor_user, factories.lot(w.donor), "x")


def test_a_lot_claimed_to_the_last_kilogram_is_a_conflict_not_a_refusal(w):
    lot = factories.lot(w.donor, kg=20)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 20)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        claims.claim_lot(db.session, w.asbl_user, lot.id, 5)
    assert caught.value.extra["available_kg"] == 0
