"""Web sessions: Flask-Login's user loader and the start of a signed-in session.

A session cookie carries the user's id and session version: bumping the version
(sign-out, sign-out-everywhere, password change) ends every copy of it."""

from __future__ import annotations

from flask import Flask, session
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from sqlalchemy.orm import joinedload

from .extensions import db, login_manager
from .models import User


def start(user: User) -> None:
    """A fresh session on sign-in: nothing from the anonymous session survives."""
    language = session.get("language")
    session.clear()
    login_user(user)
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


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
