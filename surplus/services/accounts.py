"""Organisations and their people: sign-up, sign-in with lockout, invitations, verification."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .. import access, geo
from ..errors import Invalid
from ..models import (
    DistributionMode,
    Invitation,
    Organisation,
    OrgKind,
    Role,
    SecurityEventKind,
    User,
    Verification,
    utcnow,
)
from . import api_tokens, email_confirmation, events, security_log

MIN_PASSWORD = 10
INVITATION_DAYS = 7
# Compared against when the e-mail is unknown, so timing does not reveal accounts.
_DUMMY_HASH = "scrypt:32768:8:1$abcdefghijklmnop$" + "0" * 128


def normalise_enterprise_number(raw: str) -> str | None:
    """The 10 digits of a Belgian enterprise number (BCE/KBO), or None if invalid.

    Accepts "0123.456.749", "BE 0123 456 749" and the like; the last two digits
    are 97 minus the first eight modulo 97.
    """
    digits = re.sub(r"[\s.\-]", "", raw.strip().upper()).removeprefix("BE")
    if len(digits) == 9:
        digits = "0" + digits
    if not re.fullmatch(r"[01]\d{9}", digits):
        return None
    if 97 - int(digits[:8]) % 97 != int(digits[8:]):
        return None
    return digits


def check_password_strength(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return str(_l("Use at least %(n)d characters.", n=MIN_PASSWORD))
    if password.lower() == password.upper() and password.isdigit():
        return str(_l("Mix letters with the digits."))
    return None


@dataclass
class SignUp:
    org_name: str
    kind: OrgKind
    address: str
    postcode: str
    locality: str
    enterprise_number: str
    afsca_number: str
    phone: str
    name: str
    email: str
    password: str
    language: str = "fr"
    distribution_mode: str = ""  # CPAS and associations: a DistributionMode value


def email_taken(session: Session, email: str) -> bool:
    return (
        session.scalar(select(User.id).where(func.lower(User.email) == email.strip().lower()))
        is not None
    )


def sign_up(session: Session, data: SignUp) -> tuple[User, bool]:
    """Create an organisation (pending verification) and its first user, an org admin,
    whose address is not confirmed yet; returns ``(user, True)``.

    An address that already has an account creates nothing: returns ``(owner, False)``
    and logs SIGN_UP_ATTEMPT_KNOWN (the view mails the owner). The other fields are
    checked the same way in both cases and the password is hashed in both, so neither
    the answer nor its time tells whether the address is known."""
    errors: dict[str, str] = {}
    place = geo.geocode(data.address, data.postcode, data.locality)
    if place is None:
        errors["postcode"] = str(_l("Unknown Belgian postcode."))
    number = None
    if data.enterprise_number.strip():
        number = normalise_enterprise_number(data.enterprise_number)
        if number is None:
            errors["enterprise_number"] = str(
                _l("Not a valid enterprise number (10 digits, e.g. 0123.456.749).")
            )
        elif (
            session.scalar(select(Organisation.id).where(Organisation.enterprise_number == number))
            is not None
        ):
            errors["enterprise_number"] = str(
                _l("An organisation with this enterprise number already exists.")
            )
    mode = None
    if data.kind.is_beneficiary:
        try:
            mode = DistributionMode(data.distribution_mode)
        except ValueError:
            errors["distribution_mode"] = str(
                _l("Say how you hand out the food: FSE+ stock goes only to free distribution.")
            )
    weak = check_password_strength(data.password)
    if weak:
        errors["password"] = weak
    if errors:
        raise Invalid(str(_l("Please correct the marked fields.")), errors)
    assert place is not None
    owner = session.scalar(select(User).where(func.lower(User.email) == data.email.strip().lower()))
    if owner is not None:
        generate_password_hash(data.password)  # the work a new account costs
        security_log.record(session, SecurityEventKind.SIGN_UP_ATTEMPT_KNOWN, owner)
        session.flush()
        return owner, False
    org = Organisation(
        name=data.org_name.strip(),
        kind=data.kind,
        address=data.address.strip(),
        postcode=place.postcode,
        locality=place.locality,
        lat=place.lat,
        lon=place.lon,
        enterprise_number=number,
        afsca_number=data.afsca_number.strip() or None,
        phone=data.phone.strip(),
        distribution_mode=mode,
        email=data.email.strip().lower(),
        verification=Verification.PENDING,
    )
    session.add(org)
    session.flush()
    user = User(
        email=data.email.strip().lower(),
        name=data.name.strip(),
        organisation=org,
        role=Role.ORG_ADMIN,
        language=data.language,
    )
    user.set_password(data.password)
    session.add(user)
    session.flush()
    events.record(session, user, org, "signed_up", after={"kind": org.kind, "name": org.name})
    return user, True


def authenticate(session: Session, email: str, password: str) -> User:
    """The active user with these credentials. Unknown address, wrong password and
    deactivated account get the same refusal after the same work (a password hash is
    checked in every case); throttling (surplus/throttle.py) limits the attempts per
    network and per address, known or not."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    refused = Invalid(
        str(_l("Wrong e-mail address or password.")),
        {"password": str(_l("Wrong e-mail address or password."))},
    )
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        security_log.record(session, SecurityEventKind.SIGN_IN_FAILED)
        raise refused
    if not user.check_password(password) or not user.active:
        security_log.record(session, SecurityEventKind.SIGN_IN_FAILED, user)
        raise refused
    email_confirmation.require_confirmed(session, user)
    return user


def sign_out(session: Session, user: User) -> None:
    """End every web session of ``user`` (a copied cookie dies with the one signed
    out); API tokens stay."""
    user.session_version += 1
    security_log.record(session, SecurityEventKind.SIGNED_OUT, user)
    session.flush()


def sign_out_everywhere(session: Session, user: User) -> None:
    """End every web session and revoke every API token of ``user``."""
    user.session_version += 1
    api_tokens.revoke_all(session, user)
    security_log.record(session, SecurityEventKind.SIGNED_OUT_EVERYWHERE, user)
    session.flush()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitable_roles(org: Organisation) -> list[Role]:
    """The roles an organisation's administrators give by invitation. Coordinators
    verify donors and beneficiaries: only a verified platform has them."""
    roles = [Role.MEMBER, Role.ORG_ADMIN]
    if org.is_platform and org.is_verified:
        roles.append(Role.COORDINATOR)
    return roles


def invite(session: Session, actor: User, email: str, role: Role) -> tuple[Invitation, str]:
    """An org admin invites someone into its organisation; returns the secret token."""
    access.require(
        actor,
        access.CHANGE,
        actor.organisation,
        str(_l("Only an organisation administrator can invite members.")),
    )
    if role not in invitable_roles(actor.organisation):
        raise Invalid(
            str(_l("This role cannot be given here.")), {"role": str(_l("Choose another role."))}
        )
    if email_taken(session, email):
        raise Invalid(
            str(_l("An account already uses this e-mail address.")),
            {"email": str(_l("An account already uses this e-mail address."))},
        )
    token = secrets.token_urlsafe(32)
    inv = Invitation(
        organisation_id=actor.organisation_id,
        email=email.strip().lower(),
        role=role,
        token_hash=_hash(token),
        invited_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=INVITATION_DAYS),
    )
    session.add(inv)
    session.flush()
    events.record(session, actor, inv, "invited", after={"email": inv.email, "role": role})
    return inv, token


def find_invitation(session: Session, token: str) -> Invitation | None:
    inv = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    if inv is None or inv.accepted_at is not None or inv.expires_at < utcnow():
        return None
    return inv


def accept_invitation(
    session: Session, token: str, name: str, password: str, language: str
) -> User:
    inv = find_invitation(session, token)
    if inv is None:
        raise Invalid(str(_l("This invitation is no longer valid.")))
    weak = check_password_strength(password)
    if weak:
        raise Invalid(str(_l("Please correct the marked fields.")), {"password": weak})
    if email_taken(session, inv.email):
        raise Invalid(str(_l("An account already uses this e-mail address.")))
    user = User(
        email=inv.email,
        name=name.strip(),
        organisation_id=inv.organisation_id,
        role=inv.role,
        language=language,
    )
    user.set_password(password)
    user.email_confirmed_at = utcnow()  # the invitation reached this address
    session.add(user)
    inv.accepted_at = utcnow()
    session.flush()
    events.record(session, user, inv, "accepted", organisation_id=inv.organisation_id)
    return user


def verify(
    session: Session, actor: User, org: Organisation, accept: bool, reason: str = ""
) -> None:
    """Verify or refuse an organisation. A platform's administrators (its founder among
    them) become its coordinators when it is verified: until then nobody coordinates it,
    since coordinators verify others and run the platform pages."""
    access.require_verify(actor, org)
    before = events.snapshot(org, "verification")
    org.verification = Verification.VERIFIED if accept else Verification.REJECTED
    session.flush()
    events.record(
        session,
        actor,
        org,
        "verified" if accept else "rejected",
        before=before,
        after=events.snapshot(org, "verification"),
        reason=reason,
        organisation_id=org.id,
    )
    if accept and org.is_platform:
        promote_founders(session, actor, org)


def promote_founders(session: Session, actor: User, platform: Organisation) -> list[User]:
    """Make the active administrators of a verified platform its coordinators (an event
    each); returns them."""
    admins = session.scalars(
        select(User)
        .where(
            User.organisation_id == platform.id,
            User.role == Role.ORG_ADMIN,
            User.active.is_(True),
        )
        .order_by(User.id)
    ).all()
    for user in admins:
        user.role = Role.COORDINATOR
        session.flush()
        events.record(
            session,
            actor,
            user,
            "became_coordinator",
            before={"role": Role.ORG_ADMIN},
            after={"role": Role.COORDINATOR},
            organisation_id=platform.id,
        )
    return list(admins)


def set_language(session: Session, user: User, language: str, languages: list[str]) -> None:
    if language not in languages:
        raise Invalid(str(_l("Unknown language.")), {"language": str(_l("Unknown language."))})
    user.language = language
    session.flush()
