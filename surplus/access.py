"""Every "may this user see/change this object" decision, in one place.

Views and API handlers call :func:`get_for` (or :func:`require`), which answers
404 when the object does not exist *or* the user may not see it (so ids of other
organisations reveal nothing) and 403 when the user may see it but not change it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort
from sqlalchemy import or_, select

from .models import (
    Claim,
    Convention,
    Depot,
    Event,
    Invitation,
    Lot,
    LotStatus,
    Organisation,
    Run,
    Stop,
    TransportAgreement,
    User,
    Vehicle,
    db,
)

T = TypeVar("T")
VIEW, CHANGE = "view", "change"


def _same_org(user: User, org_id: int | None) -> bool:
    return org_id is not None and user.organisation_id == org_id


def _coordinates(user: User, platform_id: int | None) -> bool:
    return user.is_site_admin or (user.is_coordinator and _same_org(user, platform_id))


def _platform_serves(user: User, beneficiary_id: int) -> bool:
    """A coordinator sees the organisations of its network (any convention with it)."""
    if not user.is_coordinator:
        return False
    found = db.session.scalar(
        select(Convention.id).where(
            Convention.platform_id == user.organisation_id,
            Convention.beneficiary_id == beneficiary_id,
        ).limit(1)
    )
    return found is not None


def can(user: User, action: str, obj: Any) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.is_site_admin:
        return True
    check = _CHECKS.get(type(obj))
    return bool(check and check(user, action, obj))


def _organisation(user: User, action: str, org: Organisation) -> bool:
    if action == VIEW:
        return _same_org(user, org.id) or _platform_serves(user, org.id) or (
            user.is_coordinator and org.verification.value == "pending"
        )
    return _same_org(user, org.id) and user.is_org_admin


def _user(user: User, action: str, other: User) -> bool:
    if other.id == user.id:
        return True
    return _same_org(user, other.organisation_id) and (action == VIEW or user.is_org_admin)


def _invitation(user: User, action: str, inv: Invitation) -> bool:
    return _same_org(user, inv.organisation_id) and user.is_org_admin


def _lot(user: User, action: str, lot: Lot) -> bool:
    if _same_org(user, lot.donor_id):
        return True
    if action != VIEW:
        return False
    if lot.status == LotStatus.OPEN and user.organisation.is_beneficiary:
        from .services.eligibility import lot_refusal

        return lot_refusal(db.session, user.organisation, lot) is None
    if lot.status == LotStatus.OPEN and user.organisation.is_platform:
        # A platform sees the open lots offered to its network in their current wave.
        from .services.eligibility import offered_platforms

        offered = offered_platforms(db.session, lot)
        if offered is None or user.organisation_id in offered:
            return True
    return db.session.scalar(
        select(Claim.id).where(
            Claim.lot_id == lot.id,
            or_(Claim.beneficiary_id == user.organisation_id,
                Claim.platform_id == user.organisation_id),
        ).limit(1)
    ) is not None


def lot_visible_reason(user: User, lot: Lot) -> str | None:
    """Why an existing open lot is not offered to this user (None when it is)."""
    if can(user, VIEW, lot) or not user.organisation.is_beneficiary:
        return None
    if lot.status != LotStatus.OPEN:
        return None
    from .services.eligibility import lot_refusal

    return lot_refusal(db.session, user.organisation, lot)


def _claim(user: User, action: str, claim: Claim) -> bool:
    if action == VIEW:
        return (
            _same_org(user, claim.beneficiary_id)
            or _same_org(user, claim.lot.donor_id)
            or _same_org(user, claim.platform_id)
        )
    return _same_org(user, claim.beneficiary_id) or _coordinates(user, claim.platform_id)


def _convention(user: User, action: str, conv: Convention) -> bool:
    if action == VIEW:
        return _same_org(user, conv.beneficiary_id) or _same_org(user, conv.platform_id)
    return _coordinates(user, conv.platform_id) or (
        _same_org(user, conv.beneficiary_id) and user.is_org_admin
    )


def _platform_asset(user: User, action: str, obj: Depot | Vehicle | Run) -> bool:
    if action == VIEW:
        return _same_org(user, obj.platform_id)
    return _coordinates(user, obj.platform_id)


def _run(user: User, action: str, run: Run) -> bool:
    """A platform also sees (not changes) another platform's run that carries one of its
    claims under a transport agreement."""
    if _platform_asset(user, action, run):
        return True
    return action == VIEW and user.organisation.is_platform and db.session.scalar(
        select(Stop.id).join(Claim, Claim.id == Stop.claim_id)
        .where(Stop.run_id == run.id, Claim.platform_id == user.organisation_id)
        .limit(1)) is not None


def _stop(user: User, action: str, stop: Stop) -> bool:
    return _platform_asset(user, action, stop.run)


def _agreement(user: User, action: str, agreement: TransportAgreement) -> bool:
    """Only the two platforms' coordinators see an agreement; the service says who decides."""
    return user.is_coordinator and user.organisation_id in (agreement.carrier_id,
                                                            agreement.client_id)


def _event(user: User, action: str, ev: Event) -> bool:
    return action == VIEW and _same_org(user, ev.organisation_id)


_CHECKS = {
    Organisation: _organisation,
    User: _user,
    Invitation: _invitation,
    Lot: _lot,
    Claim: _claim,
    Convention: _convention,
    Depot: _platform_asset,
    Vehicle: _platform_asset,
    Run: _run,
    Stop: _stop,
    Event: _event,
    TransportAgreement: _agreement,
}


def require(user: User, action: str, obj: T | None) -> T:
    """Return ``obj`` if ``user`` may do ``action`` on it; abort 404/403 otherwise."""
    if obj is None or not can(user, VIEW, obj):
        abort(404)
    if action != VIEW and not can(user, action, obj):
        abort(403)
    return obj


def get_for(user: User, model: type[T], ident: int, action: str = VIEW) -> T:
    return require(user, action, db.session.get(model, ident))



def require_coordinator(user: User) -> None:
    if not (user.is_site_admin or user.is_coordinator):
        abort(403)
