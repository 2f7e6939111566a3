"""A lot's recall page: each holder's figures and acknowledgement, and the form where a
holder says what it did with the food."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import DomainError
from ..extensions import db
from ..models import Recall
from ..schemas.base import form_values, load
from ..schemas.recall import AcknowledgementInSchema
from ..services import recalls

bp = Blueprint("recalls", __name__, url_prefix="/recalls")


def _page(recall: Recall, status: int = 200, error=None, values=None):
    return render_template(
        "recalls/show.html",
        recall=recall,
        may_acknowledge=access.may_acknowledge(current_user, recall),
        error=error.message if error else None,
        errors=error.fields if error else {},
        values=values or {},
    ), status


@bp.app_template_global("visible_recall")
def visible_recall(lot) -> Recall | None:
    """The lot's recall, when the current user may follow it (the lot page links it)."""
    recall = access.lot_recall(lot)
    return recall if recall is not None and access.can(current_user, access.VIEW, recall) else None


@bp.get("/<int:recall_id>")
@login_required
def recall_show(recall_id: int):
    """The recall (open or closed) with each holder's figures and answer; 404 for
    anyone but the donor, the platforms involved, the holders and site admins."""
    return _page(access.get_for(current_user, Recall, recall_id))


@bp.post("/<int:recall_id>/acknowledge")
@login_required
def recall_acknowledge(recall_id: int):
    """A holder's answer (action and kilograms): back to the page when recorded; the
    page again with the field marked (422) for bad input, with the reason for a refusal
    (403 not a holder, 409 already answered or closed)."""
    recall = access.get_for(current_user, Recall, recall_id)
    schema = AcknowledgementInSchema()
    try:
        values = load(schema, form_values(schema, request.form))
        recalls.acknowledge(db.session, current_user, recall, values["action"], values["kg"])
    except DomainError as error:
        db.session.rollback()
        status = 422 if error.status == 400 else error.status
        return _page(recall, status, error, request.form)
    db.session.commit()
    flash(_("Thank you: your answer to the recall is recorded."), "success")
    return redirect(url_for("recalls.recall_show", recall_id=recall.id))
