"""Mailing notifications: one mail per ``pending`` notification, one digest per user
gathering their ``digest`` notifications.

Rows are claimed before anything is sent, by a conditional UPDATE (pending or digest →
sending): a second process running the same job at the same time claims nothing, since
PostgreSQL makes its UPDATE wait for the first transaction and re-check the condition,
and SQLite runs write transactions one after the other. A crash before the caller
commits rolls the claims back, so the next run sends those mails: at least once, and
never twice at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import LazyString, ngettext
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ... import mail
from ...models import (
    Lot,
    LotStatus,
    MailMode,
    MailState,
    Notification,
    NotificationKind,
    User,
    utcnow,
)
from . import text as notification_text
from .prefs import modes_for, unsubscribe_token

BATCH = 200


def _url_context() -> Any:
    """Links in mails are absolute; a job has no request to take the host from, so it
    builds them against PUBLIC_URL (unless SERVER_NAME already says it)."""
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return nullcontext()
    return current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"])


def _claim(session: Session, ids: Iterable[int], state: MailState) -> list[int]:
    """Move rows from ``state`` to sending; returns those this transaction now owns."""
    ids = list(ids)
    if not ids:
        return []
    return list(
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.mail_state == state)
            .values(mail_state=MailState.SENDING)
            .returning(Notification.id),
            execution_options={"synchronize_session": "fetch"},
        ).scalars()
    )


def _finish(session: Session, ids: list[int], state: MailState, now: datetime) -> None:
    if ids:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(mail_state=state, mailed_at=now if state != MailState.NONE else None),
            execution_options={"synchronize_session": "fetch"},
        )


def _still_wanted(session: Session, row: Notification, user: User) -> bool:
    """Not for a user gone inactive or who turned the kind off since, nor about a lot
    that is no longer offered (a mail about it would only disappoint)."""
    if not user.active or modes_for(session, [user.id], row.kind)[user.id] == MailMode.OFF:
        return False
    if row.kind == NotificationKind.NEW_LOT:
        lot = session.get(Lot, row.subject_id)
        return lot is not None and lot.status == LotStatus.OPEN and lot.remaining_g > 0
    return True


def _unsubscribe_url(user: User, kind: NotificationKind) -> str:
    return url_for(
        "notifications.unsubscribe", token=unsubscribe_token(user.id, kind), _external=True
    )


def _headers(unsubscribe: str) -> dict[str, str]:
    # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs here.
    return {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _context() -> dict[str, Any]:
    return {
        "text": notification_text.text,
        "link": notification_text.link,
        "preferences": url_for("notifications.preferences", _external=True),
    }


def deliver_pending(session: Session, now: datetime | None = None) -> int:
    """Send the mail of each pending notification; returns how many were sent. Does
    nothing while mail is disabled, so the mails wait rather than being lost."""
    if not current_app.config.get("MAIL_ENABLED"):
        return 0
    now = now or utcnow()
    ids = session.scalars(
        select(Notification.id)
        .where(Notification.mail_state == MailState.PENDING)
        .order_by(Notification.id)
        .limit(BATCH)
    ).all()
    sent = 0
    with _url_context():
        for nid in ids:
            if not _claim(session, [nid], MailState.PENDING):
                continue  # another process has it
            row = session.get(Notification, nid)
            assert row is not None
            user = row.user
            if not _still_wanted(session, row, user):
                _finish(session, [nid], MailState.NONE, now)
                continue
            unsubscribe = _unsubscribe_url(user, row.kind)
            ok = mail.send(
                user.email,
                user.language,
                LazyString(notification_text.subject, row),
                "notification",
                headers=_headers(unsubscribe),
                notification=row,
                unsubscribe=unsubscribe,
                kind_label=notification_text.KIND_LABELS[row.kind],
                **_context(),
            )
            _finish(session, [nid], MailState.SENT if ok else MailState.FAILED, now)
            sent += ok
    session.flush()
    return sent


def _digest_subject(count: int) -> str:
    return ngettext(
        "%(num)d new notification on Maillon", "%(num)d new notifications on Maillon", count
    )


def send_digests(session: Session, now: datetime | None = None) -> int:
    """Send each user one mail gathering their digest notifications; returns how many
    mails were sent. Running it again sends nothing new."""
    if not current_app.config.get("MAIL_ENABLED"):
        return 0
    now = now or utcnow()
    user_ids = session.scalars(
        select(Notification.user_id)
        .where(Notification.mail_state == MailState.DIGEST)
        .distinct()
        .order_by(Notification.user_id)
    ).all()
    sent = 0
    with _url_context():
        for uid in user_ids:
            waiting = session.scalars(
                select(Notification.id).where(
                    Notification.user_id == uid, Notification.mail_state == MailState.DIGEST
                )
            )
            claimed = _claim(session, waiting, MailState.DIGEST)
            if not claimed:
                continue
            user = session.get(User, uid)
            assert user is not None
            rows = session.scalars(
                select(Notification).where(Notification.id.in_(claimed)).order_by(Notification.id)
            ).all()
            items = [r for r in rows if _still_wanted(session, r, user)]
            _finish(session, [r.id for r in rows if r not in items], MailState.NONE, now)
            if not items:
                continue
            kinds = list(dict.fromkeys(r.kind for r in items))
            unsubscribe = [
                (notification_text.KIND_LABELS[k], _unsubscribe_url(user, k)) for k in kinds
            ]
            ok = mail.send(
                user.email,
                user.language,
                LazyString(_digest_subject, len(items)),
                "digest",
                headers=_headers(unsubscribe[0][1]),
                items=items,
                unsubscribe=unsubscribe,
                **_context(),
            )
            _finish(session, [r.id for r in items], MailState.SENT if ok else MailState.FAILED, now)
            sent += ok
    session.flush()
    return sent
