"""Web sessions: Flask-Login's user loader, the start of a signed-in session, and its end
after SESSION_IDLE_MINUTES without a request or SESSION_MAX_HOURS after sign-in.

A session cookie carries the user's id and session version: bumping the version
(sign-out, sign-out-everywhere, password change) ends every copy of it. It also carries
when it was signed in and last seen (seconds since the epoch); last-seen is rewritten at
most once a minute, so the cookie is not sent anew with every answer."""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from .database import read_only_transactions
from .extensions import db, htmx, login_manager
from .models import SecurityEventKind, User
from .services import security_log

SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
TOUCH_EVERY = 60  # seconds between two rewrites of last-seen
# Requests a page makes by itself (the bell's count, every 30 s): not activity, or an
# open tab would never be idle. They still end a session past its time.
PASSIVE_ENDPOINTS = frozenset({"notifications.unread_count"})


def now() -> int:
    return int(time.time())


def start(user: User) -> None:
    """A fresh session on sign-in: nothing from the anonymous session survives."""
    language = session.get("language")
    session.clear()
    login_user(user)
    session[SIGNED_IN_AT] = session[SEEN_AT] = now()
    if language:
        session["language"] = language


def _load_user(user_id: str) -> User | None:
    uid, _, version = user_id.partition(":")
    if not uid.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(uid), options=[joinedload(User.organisation)])
    if user is None or user.session_version != int(version) or not user.active:
        return None
    return user


def _ended_because() -> str | None:
    """Why this signed-in session is over, or None if it goes on."""
    signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(signed_in, int) or not isinstance(seen, int):
        # A cookie from before the timeouts existed (or forged): it cannot prove its age.
        return str(_l("Your session has ended. Please sign in again."))
    moment = now()
    hours = int(current_app.config["SESSION_MAX_HOURS"])
    if moment - signed_in > hours * 3600:
        return ngettext(
            "Your session has ended %(num)d hour after you signed in. Please sign in again.",
            "Your session has ended %(num)d hours after you signed in. Please sign in again.",
            hours,
        )
    minutes = int(current_app.config["SESSION_IDLE_MINUTES"])
    if moment - seen > minutes * 60:
        return ngettext(
            "Your session has ended after %(num)d minute without activity. Please sign in again.",
            "Your session has ended after %(num)d minutes without activity. Please sign in again.",
            minutes,
        )
    if moment - seen >= TOUCH_EVERY and request.endpoint not in PASSIVE_ENDPOINTS:
        session[SEEN_AT] = moment
    return None


def check_timeouts() -> Response | None:
    """Before every page: end a session idle or old beyond the limits (logged), and send
    to sign-in with the reason; htmx requests are told where by ``HX-Redirect``."""
    if request.endpoint == "static" or request.path.startswith("/api/"):
        return None  # the API authenticates by bearer token, never by cookie
    if not current_user.is_authenticated:
        return None
    reason = _ended_because()
    if reason is None:
        return None
    user_id = current_user.id
    language = session.get("language")
    logout_user()
    session.clear()
    if language:
        session["language"] = language
    _log_expiry(user_id)
    flash(reason, "info")
    target = url_for("auth.login")
    if request.method == "GET" and not htmx:
        target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if htmx:
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _log_expiry(user_id: int) -> None:
    db.session.rollback()  # the loader's read; the log is written in its own transaction
    read_only_transactions(False)
    security_log.record(
        db.session, SecurityEventKind.SESSION_EXPIRED, db.session.get(User, user_id)
    )
    db.session.commit()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    app.before_request(check_timeouts)
