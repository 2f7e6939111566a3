"""The account's security page: API tokens (list, create, revoke), sign out everywhere,
and the password change."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from .. import sessions
from ..errors import DomainError
from ..extensions import db
from ..forms_security import PasswordChangeForm, TokenForm
from ..schemas.account import PasswordChangeFormSchema, TokenNameSchema
from ..schemas.base import form_values, load
from ..services import accounts, api_tokens, passwords
from .helpers import apply_errors, render_form

bp = Blueprint("security", __name__, url_prefix="/account/security")


def _page(form: TokenForm, status: int = 200, secret: str | None = None, created=None):
    return render_form(
        "security/index.html",
        status,
        tokens=api_tokens.live(db.session, current_user),
        form=form,
        secret=secret,
        created=created,
        lifetime_days=current_app.config["API_TOKEN_MAX_AGE"] // 86400,
    )


@bp.get("/")
@login_required
def overview():
    """The user's live API tokens, the form to make one, sign-out-everywhere and the
    link to the password change."""
    return _page(TokenForm())


@bp.post("/tokens")
@login_required
def token_create():
    """Make a named token and show its secret once (200); 422 with the name's message."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        values = load(TokenNameSchema(), form_values(TokenNameSchema(), request.form))
    except DomainError as error:
        apply_errors(form, error)
        return _page(form, 422)
    token, secret = api_tokens.issue(
        db.session, current_user, values["name"], current_app.config["API_TOKEN_MAX_AGE"]
    )
    db.session.commit()
    return _page(TokenForm(formdata=None), secret=secret, created=token)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    """Revoke one of the user's tokens (404 for any other id); back to the page."""
    token = api_tokens.revoke(db.session, current_user, token_id)
    db.session.commit()
    flash(_("The token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(url_for("security.overview"))


@bp.post("/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """End every session of the user (this one too) and revoke every API token; to
    sign-in with a message."""
    accounts.sign_out_everywhere(db.session, current_user._get_current_object())
    db.session.commit()
    language = session.get("language")
    logout_user()
    session.clear()
    if language:
        session["language"] = language
    flash(_("You are signed out on every device and your API tokens are revoked."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change the password (the current one asked): 422 with a message per field; on
    success every other session and every token ends, this browser gets a fresh
    session, and the user is told by mail."""
    form = PasswordChangeForm()
    if request.method == "GET":
        return render_form("security/password.html", form=form)
    if not form.validate_on_submit():
        return render_form("security/password.html", 422, form=form)
    user = current_user._get_current_object()
    try:
        values = load(
            PasswordChangeFormSchema(), form_values(PasswordChangeFormSchema(), request.form)
        )
        passwords.change_password(
            db.session, user, values["current_password"], values["new_password"]
        )
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return render_form("security/password.html", 422, form=form)
    db.session.commit()
    sessions.start(user)
    passwords.mail_changed(user)
    flash(
        _("Your password is changed. Your other sessions and your API tokens have ended."),
        "success",
    )
    return redirect(url_for("security.overview"))
