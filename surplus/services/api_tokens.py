"""API bearer tokens: random secrets of which only the SHA-256 is kept, named, with a
lifetime; a user lists and revokes them, and sign-out-everywhere or a password change
revokes them all."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from ..database import writing
from ..errors import NotFound
from ..models import ApiToken, SecurityEventKind, User, utcnow
from . import security_log

PREFIX = "mln_"
# last_used_at is written at most this often per token (not one write per request).
TOUCH_EVERY = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(session: Session, user: User, name: str, lifetime_seconds: int) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it and its secret (shown once, never kept)."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:100],
        token_hash=_hash(secret),
        expires_at=utcnow() + timedelta(seconds=lifetime_seconds),
    )
    session.add(token)
    session.flush()
    security_log.record(session, SecurityEventKind.TOKEN_CREATED, user, token.name)
    return token, secret


def user_for(session: Session, secret: str, now: datetime | None = None) -> User | None:
    """The active user whose live token this is, or None; notes when it was last used."""
    now = now or utcnow()
    if not secret.startswith(PREFIX):
        return None
    token = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user).joinedload(User.organisation))  # one query
        .where(ApiToken.token_hash == _hash(secret))
    )
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = token.user
    if not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now  # pending: the caller commits it (not flushed)
    return user


def save_last_use(session: Session) -> None:
    """Write the last use :func:`user_for` left pending, in a transaction of its own.

    The request's transaction only read so far (on SQLite a deferred one, for a GET): one
    that starts writing fails at once if another connection wrote meanwhile, where a new
    ``BEGIN IMMEDIATE`` waits its turn. So end it, then write.
    """
    due = [(t.id, t.last_used_at) for t in session.dirty if isinstance(t, ApiToken)]
    if not due:
        return
    session.rollback()
    with writing():
        for token_id, at in due:
            session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))
        session.commit()


def live(session: Session, user: User, now: datetime | None = None) -> list[ApiToken]:
    """The user's tokens that still answer, newest first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(ApiToken)
            .where(
                ApiToken.user_id == user.id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
            )
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one live token of ``user``; another user's, unknown, expired or already
    revoked ids are all "not found" (nothing tells whose a token is)."""
    now = utcnow()
    token = session.get(ApiToken, token_id)
    if (
        token is None
        or token.user_id != user.id
        or token.revoked_at is not None
        or token.expires_at <= now
    ):
        raise NotFound(str(_l("No such token.")))
    token.revoked_at = now
    session.flush()
    security_log.record(session, SecurityEventKind.TOKEN_REVOKED, user, token.name)
    return token


def revoke_all(session: Session, user: User) -> int:
    """Revoke every live token of ``user``; returns how many."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
