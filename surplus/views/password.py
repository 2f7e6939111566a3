"""A forgotten password: ask for a link by mail, then choose a new password with it.

The answer to a request is the same whether an account uses the address or not, and so
is its timing (the mail goes after the answer). A reset does not sign in: the user signs
in with the new password (and passes two-step verification if they use it)."""

from __future__ import annotations

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
from flask_login import current_user, logout_user

from ..errors import DomainError
from ..extensions import db
from ..forms_security import PasswordForgotForm, PasswordResetForm
from ..schemas.account import PasswordForgotSchema, PasswordResetSchema
from ..schemas.base import form_values, load
from ..services import passwords
from .helpers import apply_errors, render_form

bp = Blueprint("password", __name__, url_prefix="/password")


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    """Ask for a reset link: the same page follows for any well-formed address (the link
    is mailed only if an account uses it); 422 when the address is not one."""
    form = PasswordForgotForm()
    if request.method == "GET":
        return render_form("password/forgot.html", form=form)
    if not form.validate_on_submit():
        return render_form("password/forgot.html", 422, form=form)
    try:
        values = load(PasswordForgotSchema(), form_values(PasswordForgotSchema(), request.form))
    except DomainError as error:
        apply_errors(form, error)
        return render_form("password/forgot.html", 422, form=form)
    found = passwords.request_reset(db.session, values["email"])
    db.session.commit()
    if found is not None:
        passwords.mail_reset(*found)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    return render_template("password/sent.html", message=passwords.sent_message(minutes))


def _no_referrer(response):
    # The link's token is in the address: it must not leave in a Referer header.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Choose a new password from a mailed link: 404 with a way to ask for a new link
    when it is forged, expired or used; 422 with a message per field; on success every
    session and token of the user ends and the sign-in page says so."""
    user = passwords.user_for_reset(db.session, token)
    if user is None:
        error = passwords.link_invalid()
        page = render_template("password/invalid.html", message=error.message)
        return _no_referrer(current_app.make_response((page, error.status)))
    form = PasswordResetForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            values = load(PasswordResetSchema(), form_values(PasswordResetSchema(), request.form))
            user = passwords.reset_password(db.session, token, values["new_password"])
        except DomainError as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            db.session.commit()
            passwords.mail_changed(user)
            if current_user.is_authenticated:
                logout_user()
            language = session.get("language")
            session.clear()
            if language:
                session["language"] = language
            flash(_("Your password is changed. Sign in with your new password."), "success")
            return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    page = render_template("password/reset.html", form=form, user=user)
    return _no_referrer(current_app.make_response((page, status)))
