"""Convention pages: beneficiaries request and update, coordinators decide."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access
from ..errors import DomainError
from ..extensions import db, htmx
from ..forms import ConventionDecisionForm, ConventionForm
from ..models import Convention
from ..services import conventions as service
from .helpers import apply_errors, render_form

bp = Blueprint("conventions", __name__, url_prefix="/conventions")


def _platform_choices(form: ConventionForm) -> list:
    options = service.platforms_for(db.session, current_user.organisation)
    serves_here = _("serves your commune")
    form.platform_id.choices = [("", "—")] + [
        (str(p.id), f"{p.name} — {km:.0f} km" + (f" — {serves_here}" if serves else ""))
        for p, km, serves in options]
    return options


@bp.get("/")
@login_required
def convention_list():
    """The organisation's conventions (beneficiary side) with their status."""
    org = current_user.organisation
    column = Convention.beneficiary_id if org.is_beneficiary else Convention.platform_id
    rows = db.session.scalars(select(Convention).where(column == org.id)
                              .order_by(Convention.created_at.desc())).all()
    return render_template("conventions/list.html", conventions=rows)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def convention_new():
    """Request a convention with a platform (beneficiary admins); errors keep the entries."""
    if not current_user.organisation.is_beneficiary:
        abort(403)
    form = ConventionForm()
    options = _platform_choices(form)
    if request.method == "GET":
        form.platform_id.data = request.args.get("platform_id", "")
        return render_template("conventions/new.html", form=form, options=options)
    if not form.validate_on_submit():
        return render_form("conventions/new.html", 422, form=form, options=options)
    try:
        conv = service.request_convention(db.session, current_user, form.platform_id.data,
                                          form.service_data())
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return render_form("conventions/new.html", 422 if error.status != 403 else 403,
                           form=form, options=options)
    db.session.commit()
    flash(_("Request sent to %(platform)s.", platform=conv.platform.name), "success")
    return redirect(url_for("conventions.convention_show", conv_id=conv.id))


def _show(conv: Convention, form: ConventionForm | None = None,
          decision: ConventionDecisionForm | None = None, status: int = 200):
    if form is None and conv.beneficiary_id == current_user.organisation_id:
        form = ConventionForm()
        form.fill_from(conv)
    decision = decision or ConventionDecisionForm(
        valid_from=conv.valid_from.isoformat() if conv.valid_from else "",
        valid_until=conv.valid_until.isoformat() if conv.valid_until else "",
        fse_plus=conv.fse_plus_allowed)
    return render_template(
        "conventions/show.html", conv=conv, form=form, decision=decision,
        may_decide=service.may_decide(current_user, conv),
        history=service.history(db.session, conv),
        live_claims=service.live_claims(db.session, conv)), status


@bp.get("/<int:conv_id>")
@login_required
def convention_show(conv_id: int):
    """A convention: figures, history, and the forms the viewer may use (404 for others)."""
    return _show(access.get_for(current_user, Convention, conv_id))


@bp.post("/<int:conv_id>/figures")
@login_required
def convention_update(conv_id: int):
    """The beneficiary updates its figures; widening changes wait for the coordinator."""
    conv = access.get_for(current_user, Convention, conv_id, access.CHANGE)
    form = ConventionForm()
    if not form.validate_on_submit():
        return _show(conv, form=form, status=422)
    try:
        held = service.update_figures(db.session, current_user, conv, form.service_data())
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return _show(conv, form=form, status=422 if error.status != 403 else 403)
    db.session.commit()
    flash(_("Figures saved; the platform must approve some of the changes.") if held
          else _("Figures saved."), "success")
    return redirect(url_for("conventions.convention_show", conv_id=conv.id))


@bp.post("/<int:conv_id>/decision")
@login_required
def convention_decide(conv_id: int):
    """Approve, decline, suspend, reinstate or end (this platform's coordinators, else 403).
    For htmx, answers the convention's card in the review queue."""
    conv = db.session.get(Convention, conv_id)
    if conv is None:
        abort(404)
    if not service.may_decide(current_user, conv):
        # Another platform's coordinator learns it may not decide; others learn nothing.
        abort(403 if current_user.is_coordinator or access.can(
            current_user, access.VIEW, conv) else 404)
    form = ConventionDecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.decide(db.session, current_user, conv, form.action.data,
                       reason=form.reason.data or "", valid_from=form.valid_from.data,
                       valid_until=form.valid_until.data, fse_plus=bool(form.fse_plus.data))
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        if htmx:
            return render_template("conventions/_review_card.html", conv=conv,
                                   decision=form), 422
        return _show(conv, decision=form, status=422)
    db.session.commit()
    if htmx:
        return render_template("conventions/_review_card.html", conv=conv,
                               decision=ConventionDecisionForm(), done=True)
    flash(_("Decision recorded."), "success")
    return redirect(url_for("conventions.convention_show", conv_id=conv.id))
