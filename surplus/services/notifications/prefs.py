"""Each user's mail choice per notification kind, and the signed one-click
unsubscribe links that change it without signing in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from ...errors import Invalid
from ...models import MailMode, MailState, NotificationKind, NotificationPreference, User

# New lots can come by the dozen: a daily digest unless the user asks for more.
# New lots and depot stock near its date are frequent enough for the daily digest to
# help; the others matter one by one.
_DIGESTED = (NotificationKind.NEW_LOT, NotificationKind.STOCK_EXPIRING)
DEFAULT_MODE = {kind: MailMode.IMMEDIATE for kind in NotificationKind} | {
    kind: MailMode.DIGEST for kind in _DIGESTED
}
ALLOWED_MODES = {kind: (MailMode.OFF, MailMode.IMMEDIATE) for kind in NotificationKind} | {
    kind: (MailMode.OFF, MailMode.IMMEDIATE, MailMode.DIGEST) for kind in _DIGESTED
}
STATE_FOR_MODE = {
    MailMode.OFF: MailState.NONE,
    MailMode.IMMEDIATE: MailState.PENDING,
    MailMode.DIGEST: MailState.DIGEST,
}
_SALT = "notification-unsubscribe"


# Built once: read at every notice (services/eligibility.py says why).
_MODES = select(NotificationPreference.user_id, NotificationPreference.mode).where(
    NotificationPreference.user_id.in_(bindparam("users", expanding=True)),
    NotificationPreference.kind == bindparam("kind"),
)


def modes_for(
    session: Session, user_ids: Iterable[int], kind: NotificationKind
) -> dict[int, MailMode]:
    """Each user's mode for ``kind`` (the default where they chose nothing), one query."""
    ids = list(set(user_ids))
    chosen = dict(session.execute(_MODES, {"users": ids, "kind": kind}).all()) if ids else {}
    return {uid: chosen.get(uid, DEFAULT_MODE[kind]) for uid in ids}


def preferences(session: Session, user: User) -> dict[NotificationKind, MailMode]:
    """The user's mode for every kind."""
    chosen = dict(
        session.execute(
            select(NotificationPreference.kind, NotificationPreference.mode).where(
                NotificationPreference.user_id == user.id
            )
        ).all()
    )
    return {kind: chosen.get(kind, DEFAULT_MODE[kind]) for kind in NotificationKind}


def set_mode(session: Session, user_id: int, kind: NotificationKind, mode: MailMode) -> None:
    """Store one choice; choosing the default removes the row, so a later change of the
    default reaches everyone who never chose."""
    if mode not in ALLOWED_MODES[kind]:
        raise Invalid(
            str(_l("This choice is not offered for this kind of notification.")),
            {kind.value: str(_l("Not a valid choice."))},
        )
    session.execute(
        delete(NotificationPreference).where(
            NotificationPreference.user_id == user_id, NotificationPreference.kind == kind
        )
    )
    if mode != DEFAULT_MODE[kind]:
        session.add(NotificationPreference(user_id=user_id, kind=kind, mode=mode))
    session.flush()


def set_preferences(session: Session, user: User, choices: Mapping[str, str]) -> None:
    """Store every kind's mode from a form (``{"new_lot": "digest", ...}``); checks all
    before changing any, and raises Invalid with a message per bad field."""
    parsed: dict[NotificationKind, MailMode] = {}
    errors: dict[str, str] = {}
    for kind in NotificationKind:
        try:
            mode = MailMode(choices.get(kind.value, ""))
        except ValueError:
            mode = None
        if mode is None or mode not in ALLOWED_MODES[kind]:
            errors[kind.value] = str(_l("Not a valid choice."))
        else:
            parsed[kind] = mode
    if errors:
        raise Invalid(str(_l("Please correct the marked fields.")), errors)
    for kind, mode in parsed.items():
        set_mode(session, user.id, kind, mode)


def _serializer() -> URLSafeSerializer:
    # Not timed: a link in a mail read months later must still unsubscribe.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def unsubscribe_token(user_id: int, kind: NotificationKind) -> str:
    return _serializer().dumps({"u": user_id, "k": kind.value})


def read_unsubscribe_token(session: Session, token: str) -> tuple[User, NotificationKind]:
    """The user and kind a token names; Invalid for a forged, damaged or stale token."""
    try:
        data = _serializer().loads(token)
        user = session.get(User, int(data["u"]))
        kind = NotificationKind(data["k"])
    except (BadSignature, KeyError, TypeError, ValueError):
        user = None
    if user is None:
        raise Invalid(
            str(
                _l(
                    "This unsubscribe link is not valid. Sign in to choose which "
                    "e-mails you receive."
                )
            )
        )
    return user, kind
