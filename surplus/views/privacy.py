"""The GDPR pages: the privacy notice, "download my data", closing one's account
(deactivation, deletion) and an administrator switching a member back on. The security
log pages ("your recent activity", everyone's for site admins) are in views/activity.py,
on this blueprint."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user

from .. import access, mail
from ..database import read_only_transactions
from ..errors import DomainError, Forbidden, NotFound
from ..extensions import db
from ..forms_privacy import DeactivateForm, DeleteForm, ReactivateForm
from ..models import User
from ..services import personal_data
from ..services.personal_data import Closed
from .helpers import apply_errors, render_form, safe_next

bp = Blueprint("privacy", __name__)


# -- the privacy notice -------------------------------------------------------------------


@bp.get("/privacy")
def notice():
    """The privacy notice, in the reader's language (public)."""
    config = current_app.config
    return render_template(
        "privacy/notice.html",
        retention_days=int(config["RETENTION_DAYS"]),
        # The retention job's setting (services/retention.py), 365 days by default.
        security_log_days=int(config.get("SECURITY_LOG_DAYS", 365)),
    )


# -- download my data ---------------------------------------------------------------------


@bp.get("/account/data")
@login_required
def export_page():
    """What the download holds, and its button."""
    return render_template("privacy/data.html")


@bp.get("/account/data.json")
@login_required
def export():
    """Everything about the signed-in user (and, for an administrator, their
    organisation) as a JSON file to keep."""
    # A write on a GET (the security log's line): on SQLite, take the write lock at
    # BEGIN, not halfway through a read transaction.
    db.session.rollback()
    read_only_transactions(False)
    user = current_user._get_current_object()
    data = personal_data.export(db.session, user)
    db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2)
    day = data["generated_at"][:10]
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="maillon-data-{user.id}-{day}.json"',
            "Cache-Control": "no-store",
        },
    )


# -- closing the account ------------------------------------------------------------------


def _close_page(
    status: int = 200,
    deactivate_form: DeactivateForm | None = None,
    delete_form: DeleteForm | None = None,
    refusal: str | None = None,
):
    user = current_user._get_current_object()
    return render_form(
        "privacy/close.html",
        status,
        deactivate_form=deactivate_form or DeactivateForm(prefix="deactivate"),
        delete_form=delete_form or DeleteForm(prefix="delete"),
        refusal=refusal or personal_data.close_refusal(db.session, user),
    )


@bp.get("/account/close")
@login_required
def close():
    """Deactivate or delete one's account: what each does, and what stays."""
    return _close_page()


def _tell(closed: Closed, deleted: bool) -> None:
    """Mail the person (at the address they had) and their organisation's other
    administrators, each in their language."""
    mail.send(
        closed.email,
        closed.language,
        _l("Your Maillon account was deleted")
        if deleted
        else _l("Your Maillon account was deactivated"),
        "account_closed",
        name=closed.name,
        organisation=closed.organisation,
        deleted=deleted,
    )
    link = url_for("account.account_show", _external=True)
    for admin in closed.admins:
        mail.send(
            admin.email,
            admin.language,
            _l("%(name)s closed their Maillon account", name=closed.name),
            "member_account_closed",
            name=closed.name,
            organisation=closed.organisation,
            deleted=deleted,
            link=link,
        )


def _signed_out(message: str):
    logout_user()
    session.clear()
    flash(message, "info")
    return redirect(url_for("main.index"))


@bp.post("/account/close/deactivate")
@login_required
def deactivate():
    """Switch one's account off; an administrator can switch it back on."""
    form = DeactivateForm(prefix="deactivate")
    if not form.validate_on_submit():
        return _close_page(422, deactivate_form=form)
    try:
        closed = personal_data.deactivate(db.session, current_user._get_current_object())
    except Forbidden as error:
        db.session.rollback()
        return _close_page(403, refusal=error.message)
    db.session.commit()
    _tell(closed, deleted=False)
    return _signed_out(_("Your account is deactivated. An administrator can switch it back on."))


@bp.post("/account/close/delete")
@login_required
def delete():
    """Delete one's account (asks the password): the name and address are erased."""
    form = DeleteForm(prefix="delete")
    if not form.validate_on_submit():
        return _close_page(422, delete_form=form)
    try:
        closed = personal_data.delete(
            db.session, current_user._get_current_object(), form.password.data
        )
    except Forbidden as error:
        db.session.rollback()
        return _close_page(403, refusal=error.message)
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return _close_page(422, delete_form=form)
    db.session.commit()
    _tell(closed, deleted=True)
    return _signed_out(_("Your account is deleted. Thank you for your help."))


@bp.post("/account/members/<int:user_id>/reactivate")
@login_required
def reactivate(user_id: int):
    """An administrator of the member's organisation (or a site admin) switches a
    deactivated account back on; 404 for someone they may not see."""
    form = ReactivateForm()
    member = db.session.get(User, user_id)
    actor = current_user._get_current_object()
    if member is None or not access.can(actor, access.VIEW, member):
        raise NotFound(_("Not found."))
    if form.validate_on_submit():
        personal_data.reactivate(db.session, actor, member)
        db.session.commit()
        flash(_("The account of %(name)s is active again.", name=member.name), "success")
    back = safe_next(request.form.get("next")) or url_for("account.account_show")
    return redirect(back)


from . import activity  # noqa: E402, F401  (the security log pages, on this blueprint)
