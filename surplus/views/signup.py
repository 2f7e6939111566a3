"""Organisation sign-up, on the ``auth`` blueprint (its endpoint stays ``auth.signup``)."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _

from .. import sessions
from ..errors import DomainError
from ..extensions import db
from ..forms import SignUpForm
from ..models import OrgKind
from ..services import accounts
from ..services.accounts import SignUp
from .auth import bp
from .helpers import apply_errors, render_form


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Organisation sign-up: the organisation and its first user (org admin)."""
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
            user = accounts.sign_up(db.session, data)
        except DomainError as error:
            db.session.rollback()
            apply_errors(form, error)
            return render_form("auth/signup.html", 422, form=form)
        db.session.commit()
        sessions.start(user)
        flash(_("Welcome! Your organisation will be verified shortly."), "success")
        return redirect(url_for("main.index"))
    return render_form("auth/signup.html", 422 if form.errors else 200, form=form)
