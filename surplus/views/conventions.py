"""Convention pages: beneficiaries request and update, coordinators decide."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import access
from ..errors import DomainError
from ..extensions import db, htmx
from ..forms import ConventionDecisionForm, ConventionForm
from ..models import Convention
from ..schemas.base import form_values, load
from ..schemas.convention import ConventionFormSchema, DecisionSchema, FiguresFormSchema
from ..services import conventions as service
from ..templating import km as fmt_km
from .helpers import apply_errors, render_form

bp = Blueprint("conventions", __name__, url_prefix="/conventions")
ONLY_BENEFICIARIES = _l("Only a CPAS or association requests a convention.")


def _platform_choices(form: ConventionForm) -> list:
    options = service.platforms_for(db.session, current_user.organisation)
    serves_here = _("serves your commune")
    form.platform_id.choices = [("", "—")] + [
        (str(p.id), f"{p.name} — {fmt_km(round(km))}" + (f" — {serves_here}" if serves else ""))
        for p, km, serves in options
    ]
    return options


def _status(error: DomainError) -> int:
    """Refusals keep their 403; any other refusal re-renders the form (422)."""
    return 403 if error.status == 403 else 422


@bp.get("/")
@login_required
def convention_list():
    """The organisation's conventions, as beneficiary or as platform, with their status."""
    rows = db.session.scalars(
        access.visible_conventions(current_user).order_by(Convention.created_at.desc())
    ).all()
    return render_template("conventions/list.html", conventions=rows)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def convention_new():
    """Request a convention with a platform (beneficiary admins, else 403); errors come
    back per field with the entries kept (422)."""
    if not current_user.organisation.is_beneficiary:
        access.deny(str(ONLY_BENEFICIARIES))
    form = ConventionForm()
    options = _platform_choices(form)
    if request.method == "GET":
        form.platform_id.data = request.args.get("platform_id", "")
        return render_template("conventions/new.html", form=form, options=options)
    schema = ConventionFormSchema()
    try:
        data = load(schema, form_values(schema, request.form))
        conv = service.request_convention(db.session, current_user, data.pop("platform_id"), data)
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return render_form("conventions/new.html", _status(error), form=form, options=options)
    db.session.commit()
    flash(_("Request sent to %(platform)s.", platform=conv.platform.name), "success")
    return redirect(url_for("conventions.convention_show", conv_id=conv.id))


def _show(
    conv: Convention,
    form: ConventionForm | None = None,
    decision: ConventionDecisionForm | None = None,
    status: int = 200,
):
    if form is None and conv.beneficiary_id == current_user.organisation_id:
        form = ConventionForm()
        form.fill_from(conv)
    decision = decision or ConventionDecisionForm(
        formdata=None,
        valid_from=conv.valid_from.isoformat() if conv.valid_from else "",
        valid_until=conv.valid_until.isoformat() if conv.valid_until else "",
        fse_plus=conv.fse_plus_allowed,
    )
    return render_template(
        "conventions/show.html",
        conv=conv,
        form=form,
        decision=decision,
        may_decide=access.coordinates(current_user, conv.platform_id),
        history=service.history(db.session, conv),
        live_claims=service.live_claims(db.session, conv),
    ), status


@bp.get("/<int:conv_id>")
@login_required
def convention_show(conv_id: int):
    """A convention: figures, history, and the forms the viewer may use (404 for others)."""
    return _show(access.get_for(current_user, Convention, conv_id))


@bp.post("/<int:conv_id>/figures")
@login_required
def convention_update(conv_id: int):
    """The beneficiary updates its figures (the whole form: every field is replaced);
    widening changes wait for the coordinator. 404 for others, 403 for those who may see
    but not change them."""
    conv = access.get_for(current_user, Convention, conv_id, access.CHANGE)
    form = ConventionForm()
    schema = FiguresFormSchema()
    try:
        held = service.update_figures(
            db.session, current_user, conv, load(schema, form_values(schema, request.form))
        )
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return _show(conv, form=form, status=_status(error))
    db.session.commit()
    flash(
        _("Figures saved; the platform must approve some of the changes.")
        if held
        else _("Figures saved."),
        "success",
    )
    return redirect(url_for("conventions.convention_show", conv_id=conv.id))


@bp.post("/<int:conv_id>/decision")
@login_required
def convention_decide(conv_id: int):
    """Approve, decline, suspend, reinstate or end (this platform's coordinators; 403
    for the beneficiary, 404 for those who may not see the convention). For htmx,
    answers the convention's card in the review queue."""
    conv = access.get_for(current_user, Convention, conv_id)
    form = ConventionDecisionForm()
    try:
        data = load(DecisionSchema(), form_values(DecisionSchema(), request.form))
        service.decide(db.session, current_user, conv, data.pop("action"), **data)
    except DomainError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        apply_errors(form, error)
        if htmx:
            return render_template("conventions/_review_card.html", conv=conv, decision=form), 422
        return _show(conv, decision=form, status=422)
    db.session.commit()
    if htmx:
        return render_template(
            "conventions/_review_card.html",
            conv=conv,
            decision=ConventionDecisionForm(formdata=None),
            done=True,
        )
    flash(_("Decision recorded."), "success")
    return redirect(url_for("conventions.convention_show", conv_id=conv.id))
