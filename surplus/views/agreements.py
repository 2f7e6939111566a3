"""Transport agreements between platforms (their coordinators): ask, decide, end, and
the kilograms carried for and by other platforms each month."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import DomainError
from ..extensions import db, htmx
from ..forms import AgreementDecisionForm, AgreementRequestForm
from ..models import Organisation, TransportAgreement
from ..schemas.agreement import AgreementDecisionSchema, AgreementRequestSchema
from ..schemas.base import form_values, load
from ..services import agreements as service
from ..services.conventions import logistics_platforms
from ..services.lot_dates import local_today
from .helpers import apply_errors

bp = Blueprint("agreements", __name__, url_prefix="/platform/agreements")


def _platform() -> Organisation:
    return access.coordinated_platform(current_user, str(service.ONLY_COORDINATORS))


def _request_form(submitted: bool = False) -> AgreementRequestForm:
    form = (
        AgreementRequestForm()
        if submitted
        else AgreementRequestForm(formdata=None, valid_from=local_today().isoformat())
    )
    form.other_id.choices = [("", "—")] + [
        (str(p.id), f"{p.name} ({p.locality})")
        for p in logistics_platforms(db.session)
        if p.id != current_user.organisation_id
    ]
    return form


def _page(
    form: AgreementRequestForm | None = None,
    status: int = 200,
    errors: dict[int, AgreementDecisionForm] | None = None,
    sent: str = "",
):
    """The whole page, or for htmx only its ``#agreements`` part."""
    platform = _platform()
    context = dict(
        platform=platform,
        rows=service.of_platform(db.session, platform),
        months=service.monthly(db.session, platform),
        form=form or _request_form(),
        decisions=errors or {},
        blank=AgreementDecisionForm(formdata=None),
        sent=sent,
    )
    template = "agreements/_page.html" if htmx else "agreements/index.html"
    return render_template(template, **context), status


@bp.get("")
@login_required
def index():
    """Agreements as carrier and as client, the request form, and the monthly figures
    (coordinators only, else 403)."""
    return _page()


@bp.post("")
@login_required
def agreement_request():
    """Ask another platform for an agreement; bad entries come back per field (422),
    a clash with a live agreement is a 409."""
    _platform()
    form = _request_form(submitted=True)
    try:
        data = load(AgreementRequestSchema(), form_values(AgreementRequestSchema(), request.form))
        agreement = service.request(db.session, current_user, **data)
    except DomainError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        apply_errors(form, error)
        return _page(form, 409 if error.status == 409 else 422)
    name = agreement.other(current_user.organisation_id).name
    db.session.commit()
    message = _("Request sent to %(platform)s.", platform=name)
    if htmx:
        return _page(sent=message)
    flash(message, "success")
    return redirect(url_for("agreements.index"))


@bp.post("/<int:agreement_id>/decision")
@login_required
def agreement_decide(agreement_id: int):
    """Approve, refuse (with a reason) or end an agreement of this platform (404 for
    other platforms' agreements). For htmx, answers the agreement's card."""
    _platform()
    agreement = access.get_for(current_user, TransportAgreement, agreement_id)
    form = AgreementDecisionForm()
    try:
        data = load(AgreementDecisionSchema(), form_values(AgreementDecisionSchema(), request.form))
        service.decide(db.session, current_user, agreement, data["action"], reason=data["reason"])
    except DomainError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        apply_errors(form, error)
        status = 409 if error.status == 409 else 422
        if htmx:
            return _card(agreement, form, status)
        return _page(status=status, errors={agreement.id: form})
    db.session.commit()
    if htmx:
        return _card(agreement, AgreementDecisionForm(formdata=None), 200, done=True)
    flash(_("Decision recorded."), "success")
    return redirect(url_for("agreements.index"))


def _card(
    agreement: TransportAgreement, form: AgreementDecisionForm, status: int, done: bool = False
):
    return render_template(
        "agreements/_agreement.html", a=agreement, platform=_platform(), decision=form, done=done
    ), status
