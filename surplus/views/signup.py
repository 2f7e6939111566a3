"""Organisation sign-up and the confirmation of its address, on the ``auth`` blueprint
(endpoints ``auth.signup`` and ``auth.signup_confirm``)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import sessions
from ..errors import DomainError
from ..extensions import db
from ..forms import Form, SignUpForm
from ..models import OrgKind
from ..services import accounts, email_confirmation
from ..services.accounts import SignUp
from .auth import bp
from .helpers import apply_errors, render_form


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Organisation sign-up: the organisation and its first user (org admin), who
    confirms the address by the link mailed to it. A valid form answers "we sent a link
    to <address>" (200) whether the address is new or already has an account (its owner
    is warned by mail instead); invalid fields come back marked (422)."""
    form = SignUpForm()
    if form.validate_on_submit():
        data = SignUp(
            org_name=form.org_name.data,
            kind=OrgKind(form.kind.data),
            address=form.address.data or "",
            postcode=form.postcode.data.strip(),
            locality=form.locality.data,
            enterprise_number=form.enterprise_number.data or "",
            afsca_number=form.afsca_number.data or "",
            phone=form.phone.data or "",
            distribution_mode=form.distribution_mode.data or "",
            name=form.name.data,
            email=form.email.data,
            password=form.password.data,
            language=str(
                session.get("language")
                or request.accept_languages.best_match(current_app.config["LANGUAGES"])
                or "fr"
            ),
        )
        try:
            user, created = accounts.sign_up(db.session, data)
        except DomainError as error:
            db.session.rollback()
            apply_errors(form, error)
            return render_form("auth/signup.html", 422, form=form)
        db.session.commit()
        if created:
            email_confirmation.send_link(user)
        else:
            email_confirmation.warn_owner(user)
        return render_template(
            "auth/signup_sent.html",
            email=data.email.strip(),
            hours=email_confirmation.link_hours(),
        )
    return render_form("auth/signup.html", 422 if form.errors else 200, form=form)


@bp.route("/signup/confirm/<token>", methods=["GET", "POST"])
def signup_confirm(token: str):
    """The link of the confirmation mail: a page with one button (a mail scanner that
    opens links confirms nothing); the button confirms the address, signs the user in
    and shows the dashboard. 404 when the link is not valid (expired, already used)."""
    user = email_confirmation.pending_user(db.session, token)
    if user is None:
        return render_template(
            "error.html",
            code=404,
            message=_("This confirmation link is no longer valid. Sign in to receive a new one."),
            back=url_for("auth.login"),
        ), 404
    form = Form()  # the button's CSRF token
    if form.validate_on_submit():
        email_confirmation.confirm(db.session, user)
        db.session.commit()
        sessions.start(user)
        flash(_("Welcome! Your organisation will be verified shortly."), "success")
        return redirect(url_for("main.index"))
    return render_template("auth/signup_confirm.html", form=form, email=user.email)
