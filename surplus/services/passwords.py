"""Passwords: a change (the current one asked), and a reset through a mailed link.

Whatever the way, a new password ends every web session and revokes every API token of
the user, notes when it changed, logs it, and the user is told by mail (if it was not
them, the mail says how to take the account back).

A reset link is an itsdangerous signed, timed token over the user's id and a fingerprint
of their password hash and session version: it is valid PASSWORD_RESET_MINUTES, and any
new password (this reset included) or sign-out-everywhere kills it, so it works once.
Nothing about it is stored.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import mail
from ..errors import Invalid, NotFound
from ..models import SecurityEventKind, User, utcnow
from . import accounts, api_tokens, security_log

SALT = "maillon-password-reset"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def fingerprint(user: User) -> str:
    """Changes with every new password and every sign-out-everywhere."""
    material = f"{user.password_hash}:{user.session_version}".encode()
    return hashlib.sha256(material).hexdigest()[:24]


def reset_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "f": fingerprint(user)})


def user_for_reset(session: Session, token: str) -> User | None:
    """The active user this link resets, or None if it is forged, expired or used."""
    max_age = current_app.config["PASSWORD_RESET_MINUTES"] * 60
    try:
        data = _serializer().loads(token, max_age=max_age)
    except BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = session.get(User, data["u"])
    if user is None or not user.active or data.get("f") != fingerprint(user):
        return None
    return user


class LinkInvalid(NotFound):
    """A reset link that is forged, expired or already used."""


def link_invalid() -> LinkInvalid:
    return LinkInvalid(str(_l("This link is no longer valid: it was used or it expired.")))


def request_reset(session: Session, email: str) -> tuple[User, str] | None:
    """The active user using ``email`` and a reset token for them, or None. The caller
    answers the same either way and mails only the user (with :func:`mail_reset`)."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active:
        security_log.record(session, SecurityEventKind.PASSWORD_RESET_REQUESTED)
        return None
    security_log.record(session, SecurityEventKind.PASSWORD_RESET_REQUESTED, user)
    session.flush()
    return user, reset_token(user)


def sent_message(minutes: int) -> str:
    """The answer to any reset request, whether an account uses the address or not."""
    if minutes and minutes % 60 == 0:
        return ngettext(
            "If an account uses this address, we sent it a link valid for %(num)d hour.",
            "If an account uses this address, we sent it a link valid for %(num)d hours.",
            minutes // 60,
        )
    return ngettext(
        "If an account uses this address, we sent it a link valid for %(num)d minute.",
        "If an account uses this address, we sent it a link valid for %(num)d minutes.",
        minutes,
    )


def _check_new(user: User, new: str) -> None:
    weak = accounts.check_password_strength(new)
    if weak is None and user.check_password(new):
        weak = str(_l("Choose a password other than the current one."))
    if weak:
        raise Invalid(str(_l("Please correct the marked fields.")), {"new_password": weak})


def _replace(session: Session, user: User, new: str, kind: SecurityEventKind) -> None:
    user.set_password(new)
    user.password_changed_at = utcnow()
    user.session_version += 1  # every web session ends
    api_tokens.revoke_all(session, user)
    security_log.record(session, kind, user)
    session.flush()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Replace ``user``'s password if ``current`` is theirs and ``new`` strong enough;
    :class:`Invalid` with the field at fault otherwise (nothing changed)."""
    if not user.check_password(current):
        message = str(_l("This is not your current password."))
        raise Invalid(message, {"current_password": message})
    _check_new(user, new)
    _replace(session, user, new, SecurityEventKind.PASSWORD_CHANGED)


def reset_password(session: Session, token: str, new: str) -> User:
    """Set a new password from a reset link; :class:`LinkInvalid` when the link is not
    valid, :class:`Invalid` when the password is too weak."""
    user = user_for_reset(session, token)
    if user is None:
        raise link_invalid()
    _check_new(user, new)
    _replace(session, user, new, SecurityEventKind.PASSWORD_RESET)
    return user


def mail_reset(user: User, token: str) -> None:
    """Send the reset link after the answer (the answer takes as long for any address)."""
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    mail.send_soon(
        user.email,
        user.language,
        _l("Choose a new Maillon password"),
        "password_reset",
        name=user.name,
        link=url_for("password.reset", token=token, _external=True),
        minutes=minutes,
    )


def mail_changed(user: User, when: datetime | None = None) -> None:
    """Tell the user their password changed, with the way back if it was not them."""
    mail.send_soon(
        user.email,
        user.language,
        _l("Your Maillon password was changed"),
        "password_changed",
        name=user.name,
        when=when or user.password_changed_at or utcnow(),
        link=url_for("password.forgot", _external=True),
    )
