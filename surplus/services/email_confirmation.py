"""Confirming the address of a new account, and telling an account's owner that
someone signed up with their address.

Sign-up answers the same page whether the address is new or known; what differs is the
mail: a confirmation link to a new address, a warning to the owner of a known one. Both
go by :func:`surplus.mail.send_soon` (after the answer), so the answer takes as long.
An account signs in once its address is confirmed (the link, signed with the app's
secret, lives ``EMAIL_CONFIRM_HOURS``, 48 by default); accepting an invitation confirms
it too."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from .. import mail
from ..errors import Invalid
from ..models import SecurityEventKind, User, utcnow
from . import security_log

SALT = "maillon-email-confirmation"
DEFAULT_HOURS = 48


def link_hours() -> int:
    """How many hours a confirmation link lives."""
    return int(current_app.config.get("EMAIL_CONFIRM_HOURS", DEFAULT_HOURS))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(user: User) -> str:
    """A signed token naming the user and the address to confirm."""
    return _serializer().dumps({"u": user.id, "e": user.email})


def pending_user(session: Session, token: str) -> User | None:
    """The user whose address ``token`` confirms, or None: a bad or expired link, an
    address changed or already confirmed (a link works once), a closed account."""
    try:
        data = _serializer().loads(token, max_age=link_hours() * 3600)
    except BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = session.get(User, data["u"])
    if user is None or user.email != data.get("e") or not user.active:
        return None
    return user if user.email_confirmed_at is None else None


def confirm(session: Session, user: User) -> None:
    """The address is the user's: note when, and log EMAIL_CONFIRMED."""
    user.email_confirmed_at = utcnow()
    security_log.record(session, SecurityEventKind.EMAIL_CONFIRMED, user)
    session.flush()


def send_link(user: User) -> None:
    """Mail the confirmation link to ``user`` (in their language), after the answer."""
    mail.send_soon(
        user.email,
        user.language,
        _l("Confirm your e-mail address on Maillon"),
        "signup_confirm",
        name=user.name,
        organisation=user.organisation.name if user.organisation else "",
        link=url_for("auth.signup_confirm", token=token_for(user), _external=True),
        hours=link_hours(),
    )


def warn_owner(owner: User) -> None:
    """Mail the owner of an address that someone tried to sign up with: sign in, or
    reset the password if it was them; nothing changed otherwise."""
    reset = (
        url_for("password.forgot", _external=True)
        if "password.forgot" in current_app.view_functions
        else None
    )
    mail.send_soon(
        owner.email,
        owner.language,
        _l("Someone tried to create a Maillon account with your address"),
        "signup_known",
        name=owner.name,
        email=owner.email,
        sign_in=url_for("auth.login", _external=True),
        reset=reset,
    )


def require_confirmed(session: Session, user: User) -> None:
    """Refuse to sign in ``user`` until their address is confirmed (SIGN_IN_FAILED in
    the log), and send the link again. Called once the password was found right: only
    its holder learns this."""
    if user.email_confirmed_at is not None:
        return
    security_log.record(session, SecurityEventKind.SIGN_IN_FAILED, user, "address not confirmed")
    send_link(user)
    message = str(
        _l(
            "Confirm your e-mail address first: we sent the link again to %(email)s.",
            email=user.email,
        )
    )
    raise Invalid(message, {}, code="email_not_confirmed")
