"""The account page: profile, language, members and invitations."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import access, event_labels, labels, mail
from ..errors import DomainError
from ..extensions import db
from ..forms import InviteForm, LanguageForm
from ..models import Invitation, Role, User
from ..services import accounts
from .helpers import apply_errors, render_form

bp = Blueprint("account", __name__, url_prefix="/account")
# Pages that show events (trace, convention history) tell them through event_labels.
bp.add_app_template_global(event_labels.told, "told")
bp.add_app_template_global(event_labels.details, "event_details")


def _invite_form() -> InviteForm:
    form = InviteForm()
    roles = accounts.invitable_roles(current_user.organisation)
    form.role.choices = [(r.value, str(labels.ROLES[r])) for r in roles]
    return form


def _language_form() -> LanguageForm:
    form = LanguageForm(language=current_user.language or "fr")
    from ..i18n import LANGUAGE_NAMES

    form.language.choices = [
        (code, LANGUAGE_NAMES[code]) for code in current_app.config["LANGUAGES"]
    ]
    return form


def _page(invite_form: InviteForm, status: int = 200, invite_link: str | None = None):
    org = current_user.organisation
    members = db.session.scalars(
        select(User).where(User.organisation_id == org.id).order_by(User.name)
    ).all()
    pending = (
        db.session.scalars(
            select(Invitation)
            .where(Invitation.organisation_id == org.id, Invitation.accepted_at.is_(None))
            .order_by(Invitation.created_at.desc())
        ).all()
        if current_user.is_org_admin
        else []
    )
    return render_form(
        "account/index.html",
        status,
        org=org,
        members=members,
        invitations=pending,
        invite_form=invite_form,
        language_form=_language_form(),
        invite_link=invite_link,
    )


@bp.get("/")
@login_required
def account_show():
    """Profile, language choice, and for org admins the members and invitations."""
    return _page(_invite_form())


@bp.post("/invitations")
@login_required
def invitation_create():
    """Invite a member (org admins only, else 403); the link is mailed and shown once."""
    access.require(current_user, access.CHANGE, current_user.organisation)
    form = _invite_form()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        invitation, token = accounts.invite(
            db.session, current_user, form.email.data, Role(form.role.data)
        )
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return _page(form, 422)
    db.session.commit()
    link = url_for("auth.invitation_accept", token=token, _external=True)
    sent = mail.send(
        invitation.email,
        current_user.language,
        _("Invitation to join %(org)s on Maillon", org=current_user.organisation.name),
        "invitation",
        link=link,
        organisation=current_user.organisation,
        inviter=current_user,
    )
    if sent:
        flash(_("Invitation sent to %(email)s.", email=invitation.email), "success")
    return _page(_invite_form(), invite_link=link)


@bp.get("/events")
@login_required
def events_list():
    """The organisation's own audit trail (most recent first)."""
    from ..models import Event

    rows = db.session.scalars(
        select(Event)
        .where(Event.organisation_id == current_user.organisation_id)
        .order_by(Event.id.desc())
        .limit(200)
    ).all()
    return render_template(
        "account/events.html", events=event_labels.tell(db.session, rows, current_user)
    )


@bp.post("/language")
@login_required
def language_update():
    """Save the language chosen on the account page."""
    form = _language_form()
    if form.validate_on_submit():
        accounts.set_language(
            db.session, current_user, form.language.data, current_app.config["LANGUAGES"]
        )
        db.session.commit()
    return redirect(url_for("account.account_show"))
