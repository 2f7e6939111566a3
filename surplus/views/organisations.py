"""Organisation pages and the verification queue of new donors and beneficiaries."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from .. import access, geo
from ..errors import DomainError
from ..extensions import db
from ..models import Organisation
from ..schemas.base import form_values, load
from ..schemas.verification import Verdict, VerificationSchema
from ..services import accounts, admin_overview
from .helpers import page_or_fragment

bp = Blueprint("organisations", __name__, url_prefix="/organisations")


def _queue() -> list[tuple[Organisation, float | None]]:
    """Pending organisations this user may verify (a coordinator: those within its
    platform's service area), a coordinator's nearest first."""
    rows = access.verification_queue(current_user)
    here = current_user.organisation
    if not current_user.is_coordinator:
        return [(org, None) for org in rows]
    ranked = [(org, geo.road_km(here.lat, here.lon, org.lat, org.lon)) for org in rows]
    return sorted(ranked, key=lambda item: item[1])


@bp.get("/pending")
@login_required
def pending_list():
    """Organisations awaiting verification that this user verifies: all for site admins,
    those within its platform's service area for a coordinator; 403 for anyone else."""
    access.require_coordinator(current_user)
    return render_template("organisations/pending.html", orgs=_queue())


@bp.post("/<int:org_id>/verification")
@login_required
def verification_decide(org_id: int):
    """Verify or refuse an organisation; answers the refreshed queue fragment, with the
    message on the organisation's card when the entry is refused (422); 403 saying why
    for those who may not verify it (a coordinator: a platform, or an organisation
    outside its platform's service area, which Maillon's administrators verify)."""
    access.require_coordinator(current_user)
    org = access.organisation_to_verify(current_user, org_id)
    try:
        data = load(VerificationSchema(), form_values(VerificationSchema(), request.form))
        accounts.verify(
            db.session, current_user, org, data["decision"] == Verdict.VERIFY, data["reason"]
        )
    except DomainError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        problem = (org.id, " ".join(error.fields.values()) or error.message)
        return page_or_fragment(
            "organisations/pending.html",
            "organisations/_queue.html",
            orgs=_queue(),
            problem=problem,
        ), 422
    db.session.commit()
    return page_or_fragment(
        "organisations/pending.html", "organisations/_queue.html", orgs=_queue()
    )


@bp.get("/<int:org_id>")
@login_required
def organisation_show(org_id: int):
    """An organisation's card, with its users for its own members and site admins (and
    its conventions count for site admins); 404 unless it is yours, in your network, or
    pending and yours to verify (within your platform's service area)."""
    org = access.get_for(current_user, Organisation, org_id)
    people = [
        person
        for person in admin_overview.organisation_users(db.session, org)
        if access.can(current_user, access.VIEW, person)
    ]
    overview = None
    if access.may_oversee(current_user):
        overview = admin_overview.organisations(db.session, organisation_id=org.id).rows[0]
    return render_template("organisations/show.html", org=org, people=people, overview=overview)
