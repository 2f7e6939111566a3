"""Sign-in (with its second step for users who turned two-step verification on),
sign-out and invitation acceptance (sign-up: views/signup.py, on this blueprint).

After the right password, a user with MFA is not signed in yet: the session holds a
pending marker (user, session version, time; valid PENDING_SECONDS) and the browser goes
to ``/login/mfa`` for a code, unless it carries a live "remember this device" cookie."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from .. import sessions
from ..errors import DomainError
from ..extensions import db
from ..forms import AcceptInvitationForm, LoginForm
from ..forms_mfa import ChallengeForm
from ..models import SecurityEventKind, User
from ..services import accounts, mfa, security_log
from .helpers import apply_errors, render_form, safe_next

bp = Blueprint("auth", __name__)

PENDING = "mfa_pending"
PENDING_SECONDS = 300
# Wrong codes allowed for one password: then the password is asked again.
MAX_TRIES = 5
DEVICE_COOKIE = "mfa_device"


def _signed_in(user: User, target: str | None, how: str):
    """Start the session, log the sign-in and go to ``target`` or the dashboard."""
    sessions.start(user)
    security_log.record(db.session, SecurityEventKind.SIGNED_IN, user, how)
    db.session.commit()
    return redirect(target or url_for("main.index"))


def _pending() -> tuple[User, dict] | None:
    """The user whose password was right a moment ago in this session, and the marker."""
    data = session.get(PENDING)
    if not isinstance(data, dict) or time.time() - data.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(User, data.get("user") or 0)
    if user is None or user.session_version != data.get("version") or not user.active:
        return None
    return (user, data) if mfa.enabled(user) else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign-in page; the right password redirects to ``next`` or the dashboard, or for
    a user with two-step verification (and no remembered device) to its second step."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                db.session,
                form.email.data,
                form.password.data,
            )
        except DomainError as error:
            db.session.commit()  # the failure stays in the security log
            # Said once, above the form: which of the two was wrong is not told, and
            # a field's copy of the same sentence would say it a second time.
            form.form_errors.append(error.message)
            return render_form("auth/login.html", 422, form=form)
        db.session.commit()
        target = safe_next(request.args.get("next"))
        if not mfa.enabled(user):
            return _signed_in(user, target, "password")
        if mfa.device_remembered(user, request.cookies.get(DEVICE_COOKIE)):
            return _signed_in(user, target, "password, remembered device")
        session[PENDING] = {
            "user": user.id,
            "version": user.session_version,
            "at": time.time(),
            "tries": 0,
        }
        return redirect(url_for("auth.login_mfa", next=target))
    return render_form("auth/login.html", 422 if form.errors else 200, form=form)


@bp.route("/login/mfa", methods=["GET", "POST"])
def login_mfa():
    """Second step of the sign-in: a code of the app or a recovery code (422 with a
    message when wrong; after MAX_TRIES wrong codes, or PENDING_SECONDS, back to the
    password). Optionally remembers the device for MFA_REMEMBER_DAYS."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    target = safe_next(request.args.get("next"))
    pending = _pending()
    if pending is None:
        session.pop(PENDING, None)
        flash(_("Please sign in again: the second step was not completed in time."), "info")
        return redirect(url_for("auth.login", next=target))
    user, data = pending
    days = current_app.config["MFA_REMEMBER_DAYS"]
    form = ChallengeForm()
    form.remember.label.text = _("Remember this device for %(n)d days", n=days)
    if not form.validate_on_submit():
        return render_form("mfa/challenge.html", 422 if form.errors else 200, form=form)
    if mfa.verify(db.session, user, form.code.data):
        db.session.commit()
        response = _signed_in(user, target, "password, two-step code")
        if form.remember.data:
            response.set_cookie(
                DEVICE_COOKIE,
                mfa.device_token(user),
                max_age=days * 86400,
                path="/login",
                secure=current_app.config["SESSION_COOKIE_SECURE"],
                httponly=True,
                samesite="Lax",
            )
        return response
    db.session.commit()  # the failure is logged
    tries = int(data.get("tries", 0)) + 1
    if tries >= MAX_TRIES:
        session.pop(PENDING, None)
        flash(_("Too many wrong codes: please sign in again."), "error")
        return redirect(url_for("auth.login", next=target))
    session[PENDING] = {**data, "tries": tries}
    form.code.errors = [mfa.wrong_code_message()]
    return render_form("mfa/challenge.html", 422, form=form)


@bp.post("/logout")
@login_required
def logout():
    """Ends the session everywhere this cookie was copied (API tokens stay: "sign out
    everywhere" on the account page revokes them too); redirects to sign-in."""
    accounts.sign_out(db.session, current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation_accept(token: str):
    """Accept an invitation: choose a name and password; 404 when the link is not valid."""
    invitation = accounts.find_invitation(db.session, token)
    if invitation is None:
        return render_template(
            "error.html", code=404, message=_("This invitation is no longer valid.")
        ), 404
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = accounts.accept_invitation(
                db.session,
                token,
                form.name.data,
                form.password.data,
                str(session.get("language") or "fr"),
            )
        except DomainError as error:
            db.session.rollback()
            apply_errors(form, error)
            return render_form("auth/accept.html", 422, form=form, invitation=invitation)
        db.session.commit()
        return _signed_in(user, None, "invitation accepted")
    return render_form(
        "auth/accept.html", 422 if form.errors else 200, form=form, invitation=invitation
    )
