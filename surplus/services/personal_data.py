"""The GDPR rights of a user: a copy of their data (access, portability), deactivation
(reversible) and deletion (erasure by pseudonymisation).

The export holds the user's own records and, for an organisation's administrators,
their organisation's; of other organisations only the names of counterparts. Secrets
(password hash, MFA secret and recovery codes, token hashes) never leave.

Deletion keeps the account's row, so the food's history (events, claims, hand-overs)
still points at someone: the name becomes a pseudonym, the e-mail a unique address that
reaches nobody (``deleted-<id>@invalid``, so the real one is free again), the password a
random hash; sign-in factors, tokens and notifications go. The organisation is kept:
its records serve traceability (Reg. (EC) 178/2002) and the FSE+ accounts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import generate_password_hash

from .. import access
from ..errors import Forbidden, Invalid
from ..models import (
    ApiToken,
    Claim,
    Convention,
    Event,
    Invitation,
    Lot,
    Notification,
    NotificationPreference,
    Organisation,
    RecoveryCode,
    Role,
    Run,
    SecurityEvent,
    SecurityEventKind,
    Stop,
    User,
    utcnow,
)
from . import api_tokens, events, security_log
from .collection import HANDOVER_EVENTS, SELF_COLLECTED

FORMAT_VERSION = 1


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _plain(value: Any) -> Any:
    return events.to_plain(value)


def _name(org: Organisation | None) -> str | None:
    return org.name if org is not None else None


# -- export -------------------------------------------------------------------------------


def _user(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": _plain(user.role),
        "language": user.language,
        "active": user.active,
        "created_at": _iso(user.created_at),
        "email_confirmed_at": _iso(user.email_confirmed_at),
        "password_changed_at": _iso(user.password_changed_at),
        "two_step_verification": user.mfa_enabled_at is not None,
        "two_step_verification_since": _iso(user.mfa_enabled_at),
        "deactivated_at": _iso(user.deactivated_at),
        "organisation": {"id": user.organisation_id, "name": user.organisation.name},
    }


def _tokens(session: Session, user: User) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    )
    return [
        {
            "name": t.name,
            "created_at": _iso(t.created_at),
            "last_used_at": _iso(t.last_used_at),
            "expires_at": _iso(t.expires_at),
            "revoked_at": _iso(t.revoked_at),
        }
        for t in rows
    ]


def _security_events(session: Session, user: User) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(SecurityEvent)
        .where(SecurityEvent.user_id == user.id)
        .order_by(SecurityEvent.at, SecurityEvent.id)
    )
    return [
        {
            "at": _iso(e.at),
            "kind": _plain(e.kind),
            "network": e.ip,
            "browser": e.user_agent,
            "detail": e.detail,
        }
        for e in rows
    ]


def _events(session: Session, user: User) -> list[dict[str, Any]]:
    """The domain events the user acted in, and those about their account."""
    rows = session.scalars(
        select(Event)
        .where(
            or_(
                Event.actor_id == user.id,
                (Event.subject_type == "user") & (Event.subject_id == user.id),
            )
        )
        .order_by(Event.id)
    )
    return [
        {
            "id": e.id,
            "at": _iso(e.at),
            "acted": e.actor_id == user.id,
            "subject_type": e.subject_type,
            "subject_id": e.subject_id,
            "action": e.action,
            "before": e.before,
            "after": e.after,
            "reason": e.reason,
        }
        for e in rows
    ]


def _notifications(session: Session, user: User) -> tuple[list[dict], list[dict]]:
    notes = session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    )
    prefs = session.scalars(
        select(NotificationPreference)
        .where(NotificationPreference.user_id == user.id)
        .order_by(NotificationPreference.kind)
    )
    return (
        [
            {
                "kind": _plain(n.kind),
                "subject_type": n.subject_type,
                "subject_id": n.subject_id,
                "params": n.params,
                "created_at": _iso(n.created_at),
                "read_at": _iso(n.read_at),
                "mailed_at": _iso(n.mailed_at),
            }
            for n in notes
        ],
        [{"kind": _plain(p.kind), "mail": _plain(p.mode)} for p in prefs],
    )


def _claim(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.id,
        "lot": {
            "id": claim.lot_id,
            "title": claim.lot.title,
            "donor": _name(claim.lot.donor),
        },
        "kg": claim.grams / 1000,
        "status": _plain(claim.status),
        "status_reason": claim.status_reason,
        "self_collect": claim.self_collect,
        "collected_by": claim.collected_by,
        "collection_note": claim.collection_note,
        "beneficiary": _name(claim.beneficiary),
        "platform": _name(claim.platform),
        "created_at": _iso(claim.created_at),
    }


def _lot(lot: Lot, with_claims: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": lot.id,
        "title": lot.title,
        "description": lot.description,
        "lot_number": lot.lot_number,
        "category": _plain(lot.category),
        "kg": lot.weight_g / 1000,
        "remaining_kg": lot.remaining_g / 1000,
        "status": _plain(lot.status),
        "date_kind": _plain(lot.date_kind),
        "best_date": _iso(lot.best_date),
        "storage": _plain(lot.storage),
        "fse_plus": lot.fse_plus,
        "pickup_address": lot.pickup_address,
        "pickup_postcode": lot.pickup_postcode,
        "pickup_locality": lot.pickup_locality,
        "pickup_from": _iso(lot.pickup_from),
        "pickup_until": _iso(lot.pickup_until),
        "donor": _name(lot.donor),
        "created_at": _iso(lot.created_at),
    }
    if with_claims:
        data["claims"] = [
            {
                "beneficiary": _name(c.beneficiary),
                "kg": c.grams / 1000,
                "status": _plain(c.status),
                "created_at": _iso(c.created_at),
            }
            for c in lot.claims
        ]
    return data


def _runs(session: Session, user: User) -> list[dict[str, Any]]:
    """The runs the user drives, with the hand-overs they recorded (their reading and
    note; the receiver's name is the receiving organisation's record, not theirs)."""
    runs = session.scalars(select(Run).where(Run.driver_id == user.id).order_by(Run.start_at))
    out = []
    for run in runs:
        out.append(
            {
                "id": run.id,
                "name": run.name,
                "platform": _name(run.platform),
                "start_at": _iso(run.start_at),
                "status": _plain(run.status),
                "stops": len(run.stops),
            }
        )
    return out


def _handovers(session: Session, user: User) -> list[dict[str, Any]]:
    stops = session.scalars(
        select(Stop).where(Stop.confirmed_by_id == user.id).order_by(Stop.confirmed_at, Stop.id)
    )
    return [
        {
            "run_id": s.run_id,
            "organisation": _name(s.organisation),
            "kind": _plain(s.kind),
            "status": _plain(s.status),
            "temperature_c": s.temperature_c,
            "note": s.note,
            "confirmed_at": _iso(s.confirmed_at),
        }
        for s in stops
    ] + _collections(session, user)


def _collections(session: Session, user: User) -> list[dict[str, Any]]:
    """The self-collections ``user`` recorded at a donor's (services/collection.py):
    accepted or refused, with the claim's receiver and note."""
    rows = session.execute(
        select(Event, Claim)
        .join(Claim, and_(Event.subject_type == "claim", Event.subject_id == Claim.id))
        .where(
            Event.actor_id == user.id,
            Event.action.in_(HANDOVER_EVENTS),
            Claim.self_collect.is_(True),
        )
        .options(joinedload(Claim.lot).joinedload(Lot.donor))
        .order_by(Event.at, Event.id)
    ).all()
    return [
        {
            "claim_id": claim.id,
            "organisation": _name(claim.lot.donor),
            "kind": "collection",
            "status": "done" if ev.action == SELF_COLLECTED else "rejected",
            "temperature_c": (ev.after or {}).get("temperature_c"),
            "receiver": claim.collected_by,
            "note": claim.collection_note,
            "confirmed_at": _iso(ev.at),
        }
        for ev, claim in rows
    ]


def _organisation(session: Session, org: Organisation) -> dict[str, Any]:
    """An administrator's organisation: its profile, members, conventions, lots and
    claims; of counterparts, their names only."""
    members = session.scalars(select(User).where(User.organisation_id == org.id).order_by(User.id))
    conventions = session.scalars(
        select(Convention)
        .where(or_(Convention.platform_id == org.id, Convention.beneficiary_id == org.id))
        .order_by(Convention.id)
    )
    lots = session.scalars(select(Lot).where(Lot.donor_id == org.id).order_by(Lot.id))
    claims = session.scalars(
        select(Claim)
        .where(or_(Claim.beneficiary_id == org.id, Claim.platform_id == org.id))
        .order_by(Claim.id)
    )
    return {
        "profile": {
            "id": org.id,
            "name": org.name,
            "kind": _plain(org.kind),
            "verification": _plain(org.verification),
            "address": org.address,
            "postcode": org.postcode,
            "locality": org.locality,
            "lat": org.lat,
            "lon": org.lon,
            "enterprise_number": org.enterprise_number,
            "afsca_number": org.afsca_number,
            "phone": org.phone,
            "email": org.email,
            "distribution_mode": _plain(org.distribution_mode),
            "service_postcodes": org.service_postcodes,
            "service_radius_km": org.service_radius_km,
            "publish_figures": org.publish_figures,
            "created_at": _iso(org.created_at),
        },
        "members": [
            {
                "name": m.name,
                "email": m.email,
                "role": _plain(m.role),
                "active": m.active,
                "created_at": _iso(m.created_at),
                "deactivated_at": _iso(m.deactivated_at),
                "deleted_at": _iso(m.deleted_at),
            }
            for m in members
        ],
        "conventions": [_convention(c, org) for c in conventions],
        "lots": [_lot(lot, with_claims=True) for lot in lots],
        "claims": [_claim(c) for c in claims],
    }


def _convention(conv: Convention, org: Organisation) -> dict[str, Any]:
    ours = conv.beneficiary_id == org.id
    data = {
        "id": conv.id,
        "as": "beneficiary" if ours else "platform",
        "counterpart": _name(conv.platform if ours else conv.beneficiary),
        "status": _plain(conv.status),
        "valid_from": _iso(conv.valid_from),
        "valid_until": _iso(conv.valid_until),
        "fse_plus_allowed": conv.fse_plus_allowed,
        "distribution_mode": _plain(conv.distribution_mode),
        "persons_per_week": conv.persons_per_week,
        "chilled_capacity_kg": conv.chilled_capacity_kg,
        "self_collect_km": conv.self_collect_km,
        "frozen_capacity_kg": conv.frozen_capacity_kg,
        "accepted_categories": conv.accepted_categories,
        "opening_hours": conv.opening_hours,
        "decision_reason": conv.decision_reason,
        "created_at": _iso(conv.created_at),
        "decided_at": _iso(conv.decided_at),
    }
    if ours:  # the beneficiary's own approval and contact person
        data["fse_plus_approval_number"] = conv.fse_plus_approval_number
        data["fse_plus_approval_expires"] = _iso(conv.fse_plus_approval_expires)
        data["contact_name"] = conv.contact_name
        data["contact_phone"] = conv.contact_phone
    return data


def export(session: Session, user: User) -> dict[str, Any]:
    """Everything Maillon holds about ``user`` (and, for an administrator, about their
    organisation), as JSON-ready values; logs the export."""
    notifications, preferences = _notifications(session, user)
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "generated_at": _iso(utcnow()),
        "user": _user(user),
        "api_tokens": _tokens(session, user),
        "security_events": _security_events(session, user),
        "events": _events(session, user),
        "notifications": notifications,
        "notification_preferences": preferences,
        "claims": [
            _claim(c)
            for c in session.scalars(
                select(Claim).where(Claim.created_by_id == user.id).order_by(Claim.id)
            )
        ],
        "lots": [
            _lot(lot)
            for lot in session.scalars(
                select(Lot).where(Lot.created_by_id == user.id).order_by(Lot.id)
            )
        ],
        "runs": _runs(session, user),
        "handovers": _handovers(session, user),
        "organisation": _organisation(session, user.organisation) if user.is_org_admin else None,
    }
    security_log.record(session, SecurityEventKind.DATA_EXPORTED, user)
    session.flush()
    return data


# -- deactivation and deletion ------------------------------------------------------------


def _admins(session: Session, org_id: int, besides: User) -> list[User]:
    """The organisation's other active administrators."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.organisation_id == org_id,
                User.id != besides.id,
                User.active.is_(True),
                User.deleted_at.is_(None),
            )
            .order_by(User.id)
        )
    )


def close_refusal(session: Session, user: User) -> str | None:
    """Why ``user`` may not deactivate or delete their account now (None when they may):
    the last active administrator of an organisation that has other members must name
    another administrator first, or nobody could run it; so must Maillon's last site
    administrator."""
    if user.is_site_admin:
        other_site_admin = session.scalar(
            select(User.id)
            .where(
                User.role == Role.SITE_ADMIN,
                User.id != user.id,
                User.active.is_(True),
                User.deleted_at.is_(None),
            )
            .limit(1)
        )
        if other_site_admin is None:
            return str(
                _l(
                    "You are Maillon's last site administrator: make someone else one "
                    "first, then close your account."
                )
            )
    if not user.is_org_admin:
        return None
    others = _admins(session, user.organisation_id, user)
    if any(o.is_org_admin for o in others):
        return None
    remaining = session.scalar(
        select(func.count(User.id)).where(
            User.organisation_id == user.organisation_id,
            User.id != user.id,
            User.deleted_at.is_(None),
        )
    )
    if not remaining:
        return None
    return str(
        _l(
            "You are the last administrator of %(org)s, which has other members: make "
            "one of them an administrator first (invite one, or ask Maillon's "
            "administrators), then close your account.",
            org=user.organisation.name,
        )
    )


@dataclass
class Closed:
    """Who to tell: the user at the address they had, and their organisation's admins."""

    email: str
    language: str | None
    name: str
    organisation: str
    admins: list[User] = field(default_factory=list)


def _end_access(session: Session, user: User) -> None:
    user.active = False
    user.session_version += 1
    api_tokens.revoke_all(session, user)


def deactivate(session: Session, user: User) -> Closed:
    """The user switches their account off: no sign-in, every session and token ends.
    An administrator of their organisation (or a site admin) may switch it back on."""
    refusal = close_refusal(session, user)
    if refusal:
        raise Forbidden(refusal)
    closed = Closed(
        user.email,
        user.language,
        user.name,
        user.organisation.name,
        [a for a in _admins(session, user.organisation_id, user) if a.is_org_admin],
    )
    _end_access(session, user)
    user.deactivated_at = utcnow()
    security_log.record(session, SecurityEventKind.DEACTIVATED, user)
    events.record(session, user, user, "deactivated", organisation_id=user.organisation_id)
    session.flush()
    return closed


def reactivate(session: Session, actor: User, member: User) -> None:
    """Switch a deactivated account back on (see :func:`access.may_reactivate`)."""
    if not access.may_reactivate(actor, member):
        raise Forbidden(str(_l("This account cannot be switched back on here.")))
    member.active = True
    member.deactivated_at = None
    events.record(session, actor, member, "reactivated", organisation_id=member.organisation_id)
    session.flush()


def pseudonym(user_id: int) -> str:
    """The name a deleted account keeps, in the instance's first language (it is stored,
    and shown to everyone who reads the food's history)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return gettext("Deleted member no. %(n)d", n=user_id)


def deleted_email(user_id: int) -> str:
    return f"deleted-{user_id}@invalid"


def delete(session: Session, user: User, password: str) -> Closed:
    """Erase the account: asks its password; keeps the row under a pseudonym so the
    history of the food stays whole."""
    if not password or not user.check_password(password):
        message = str(_l("Wrong password."))
        raise Invalid(message, {"password": message})
    refusal = close_refusal(session, user)
    if refusal:
        raise Forbidden(refusal)
    old_email = user.email
    closed = Closed(
        old_email,
        user.language,
        user.name,
        user.organisation.name,
        [a for a in _admins(session, user.organisation_id, user) if a.is_org_admin],
    )
    _end_access(session, user)
    now = utcnow()
    user.deleted_at = now
    if user.deactivated_at is None:
        user.deactivated_at = now
    user.name = pseudonym(user.id)
    user.email = deleted_email(user.id)
    user.password_hash = generate_password_hash(secrets.token_urlsafe(32))
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.email_confirmed_at = None
    org = user.organisation
    if org.email and org.email.lower() == old_email.lower():
        org.email = ""  # the organisation's contact was this person's own address
    # The invitation this person accepted named their address.
    session.execute(
        update(Invitation)
        .where(
            func.lower(Invitation.email) == old_email.lower(),
            Invitation.accepted_at.is_not(None),
        )
        .values(email=user.email)
        .execution_options(synchronize_session=False)
    )
    session.execute(sql_delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.execute(sql_delete(ApiToken).where(ApiToken.user_id == user.id))
    session.execute(sql_delete(Notification).where(Notification.user_id == user.id))
    session.execute(
        sql_delete(NotificationPreference).where(NotificationPreference.user_id == user.id)
    )
    security_log.record(session, SecurityEventKind.DELETED, user)
    events.record(session, user, user, "deleted", organisation_id=user.organisation_id)
    session.flush()
    return closed
