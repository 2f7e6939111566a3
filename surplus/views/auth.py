"""Sign-in, sign-out and invitation acceptance (sign-up: views/signup.py, on this
blueprint)."""

from __future__ import annotations

from flask import (
    Blueprint,
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
from ..services import accounts
from .helpers import apply_errors, render_form, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign-in page; on success redirects to ``next`` or the dashboard."""
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
            db.session.commit()  # keep the failure count
            # Said once, above the form: which of the two was wrong is not told, and
            # a field's copy of the same sentence would say it a second time.
            form.form_errors.append(error.message)
            return render_form("auth/login.html", 422, form=form)
        db.session.commit()
        sessions.start(user)
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_form("auth/login.html", 422 if form.errors else 200, form=form)


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
        sessions.start(user)
        return redirect(url_for("main.index"))
    return render_form(
        "auth/accept.html", 422 if form.errors else 200, form=form, invitation=invitation
    )
