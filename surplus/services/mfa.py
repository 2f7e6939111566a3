"""Two-step verification (TOTP, RFC 6238): enrolment, recovery codes, the check of a
code at sign-in and for an API token, and the "remember this device" token.

A secret in ``user.mfa_secret`` without ``mfa_enabled_at`` is an enrolment under way;
the first right code enables it. A TOTP code is accepted once: the time step of the last
accepted code is kept in the security log (detail ``step N``) and a code of that step
or an earlier one is refused. Recovery codes are kept as SHA-256 and spent when used.
The user is mailed when MFA is turned on or off and when a recovery code is used."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup, escape
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .. import mail
from ..errors import Conflict, DomainError, Forbidden, Invalid
from ..models import RecoveryCode, SecurityEvent, SecurityEventKind, User, utcnow
from . import security_log

RECOVERY_CODES = 10
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i to misread
_CODE_HALF = 5
_STEP_PREFIX = "step "
_DEVICE_SALT = "mfa-remember-device"


class CodeRequired(DomainError):
    """The API's token request lacks a right second-factor code."""

    status = 401


def _clock() -> float:
    """Now, in seconds (tests move it to sign in twice within one time step)."""
    return time.time()


def enabled(user: User) -> bool:
    return user.mfa_enabled_at is not None and bool(user.mfa_secret)


def required(user: User) -> bool:
    """Whether the user's role must use two-step verification (MFA_REQUIRED_ROLES)."""
    return str(user.role.value) in current_app.config.get("MFA_REQUIRED_ROLES", [])


def pending_secret(user: User) -> str | None:
    """The secret of an enrolment under way, or None."""
    return user.mfa_secret if user.mfa_secret and user.mfa_enabled_at is None else None


# -- enrolment ----------------------------------------------------------------------------


def begin(session: Session, user: User) -> str:
    """Start (or start over) an enrolment: a new secret, not yet enabled."""
    if enabled(user):
        raise Conflict(str(_l("Two-step verification is already on.")))
    user.mfa_secret = pyotp.random_base32()
    session.flush()
    return user.mfa_secret


def provisioning_uri(user: User) -> str:
    secret = pending_secret(user) or user.mfa_secret or ""
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["MFA_ISSUER"]
    )


def qr_svg(user: User, label: str) -> Markup:
    """The provisioning URI as inline SVG: black on white (a dark page would hide it),
    a viewBox so that it shrinks with its box, no style attribute (CSP)."""
    code = segno.make(provisioning_uri(user), error="m")
    size = code.symbol_size(scale=5)[0]
    svg = code.svg_inline(
        scale=5, omitsize=True, svgclass="qr", lineclass=None, dark="#000", light="#fff"
    )
    attributes = f'width="{size}" height="{size}" role="img" aria-label="{escape(label)}" '
    return Markup(svg.replace("<svg ", "<svg " + attributes, 1))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm(session: Session, user: User, code: str) -> list[str]:
    """Enable MFA with the first right code of the pending secret; returns the new
    recovery codes (shown once). Wrong code: ``Invalid`` on ``code``."""
    secret = pending_secret(user)
    if secret is None:
        raise Conflict(str(_l("Start the set-up again: no enrolment is under way.")))
    if _totp_step(secret, code) is None:
        raise Invalid(str(_l("This code is not right.")), {"code": wrong_code_message()})
    user.mfa_enabled_at = utcnow()
    codes = _new_recovery_codes(session, user)
    security_log.record(session, SecurityEventKind.MFA_ENABLED, user)
    session.flush()
    _tell(user, "mfa_enabled", _l("Two-step verification is on"))
    return codes


def disable(session: Session, user: User, proof: str) -> None:
    """Turn MFA off, given a current code (or a recovery code) or the password; not for
    a role that requires it."""
    if required(user):
        raise Forbidden(str(_l("Your role requires two-step verification: it stays on.")))
    if not enabled(user) and not pending_secret(user):
        raise Conflict(str(_l("Two-step verification is off.")))
    if enabled(user) and not (user.check_password(proof) or verify(session, user, proof)):
        raise Invalid(
            str(_l("Neither a right code nor your password.")),
            {"proof": str(_l("Type a code from your app, a recovery code or your password."))},
        )
    was_on = enabled(user)
    user.mfa_secret = None
    user.mfa_enabled_at = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    if was_on:
        security_log.record(session, SecurityEventKind.MFA_DISABLED, user)
        _tell(user, "mfa_disabled", _l("Two-step verification is off"))
    session.flush()


def renew_recovery_codes(session: Session, user: User, code: str) -> list[str]:
    """New recovery codes (the old ones no longer work), given a current code."""
    if not enabled(user):
        raise Conflict(str(_l("Two-step verification is off.")))
    if not verify(session, user, code):
        raise Invalid(str(_l("This code is not right.")), {"code": wrong_code_message()})
    codes = _new_recovery_codes(session, user)
    security_log.record(session, SecurityEventKind.RECOVERY_CODES_RENEWED, user)
    session.flush()
    return codes


def recovery_codes_left(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


# -- checking a code ----------------------------------------------------------------------


def verify(session: Session, user: User, code: str) -> bool:
    """Whether ``code`` (six digits, or a recovery code) is right for ``user``, logged
    as MFA_PASSED, RECOVERY_CODE_USED or MFA_FAILED. A TOTP code of a time step already
    used is refused; a recovery code is spent (and the user mailed)."""
    if not enabled(user):
        return False
    typed = "".join((code or "").split())
    if len(typed) == 6 and typed.isdigit():
        step = _totp_step(user.mfa_secret or "", typed)
        if step is not None and step > _last_step(session, user):
            security_log.record(
                session, SecurityEventKind.MFA_PASSED, user, f"{_STEP_PREFIX}{step}"
            )
            return True
    elif _spend_recovery_code(session, user, typed):
        left = recovery_codes_left(session, user)
        security_log.record(session, SecurityEventKind.RECOVERY_CODE_USED, user, f"{left} left")
        _tell(user, "mfa_recovery_code_used", _l("A recovery code was used"), left=left)
        return True
    security_log.record(session, SecurityEventKind.MFA_FAILED, user)
    return False


def check_for_token(session: Session, user: User, otp: str | None) -> None:
    """The second factor of ``POST /api/v1/token``: 403 ``mfa_required`` for a role
    that requires MFA without it, 401 ``mfa_code_required`` for a missing or wrong
    code of a user who has it."""
    if enabled(user):
        if not otp or not verify(session, user, otp):
            raise CodeRequired(
                str(_l("Two-step verification is on: send a current code as otp.")),
                {"otp": str(_l("A code from your app, or a recovery code."))},
                code="mfa_code_required",
            )
    elif required(user):
        raise Forbidden(
            str(_l("Your role requires two-step verification: set it up on the website first.")),
            code="mfa_required",
        )


def _totp_step(secret: str, code: str) -> int | None:
    """The time step whose code ``code`` is (now, or one step either side), or None."""
    typed = "".join((code or "").split())
    if not secret or len(typed) != 6 or not typed.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(_clock() // totp.interval)
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), typed):
            return step
    return None


def _last_step(session: Session, user: User) -> int:
    detail = session.scalar(
        select(SecurityEvent.detail)
        .where(
            SecurityEvent.user_id == user.id,
            SecurityEvent.kind == SecurityEventKind.MFA_PASSED,
            SecurityEvent.detail.like(f"{_STEP_PREFIX}%"),
        )
        .order_by(SecurityEvent.id.desc())
        .limit(1)
    )
    digits = (detail or "").removeprefix(_STEP_PREFIX)
    return int(digits) if digits.isdigit() else -1


def wrong_code_message() -> str:
    return str(_l("This code is not right. Check the time on your phone, or use a recovery code."))


# -- recovery codes -----------------------------------------------------------------------


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    """Drop the old codes and make RECOVERY_CODES new ones ("abcde-fghij")."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(2 * _CODE_HALF))
        codes.append(f"{raw[:_CODE_HALF]}-{raw[_CODE_HALF:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    session.flush()
    return codes


def _spend_recovery_code(session: Session, user: User, typed: str) -> bool:
    """Spend the unused recovery code ``typed`` (a conditional UPDATE: two requests with
    the same code cannot both succeed)."""
    raw = _normalise(typed)
    if len(raw) != 2 * _CODE_HALF:
        return False
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(raw),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


# -- remembered devices -------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_DEVICE_SALT)


def _fingerprint(user: User) -> str:
    """Changes when MFA is turned off or set up again, and when the password changes:
    a remembered device is then asked again."""
    material = f"{user.mfa_secret}:{user.password_hash}"
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def device_token(user: User) -> str:
    """The signed value of the "remember this device" cookie for ``user``."""
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def device_remembered(user: User, token: str | None) -> bool:
    """Whether ``token`` is a live "remember this device" token of ``user``."""
    if not token or not enabled(user):
        return False
    max_age = current_app.config["MFA_REMEMBER_DAYS"] * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
    except BadSignature:
        return False
    return (
        isinstance(data, dict)
        and data.get("u") == user.id
        and hmac.compare_digest(str(data.get("f", "")), _fingerprint(user))
    )


# -- telling the user ---------------------------------------------------------------------


def _tell(user: User, template: str, subject, **context: object) -> None:
    """Mail ``user`` (after the answer), with a link to the two-step settings."""
    link = url_for("mfa.setup", _external=True)
    mail.send_soon(
        user.email, user.language, subject, template, name=user.name, link=link, **context
    )
