"""The organisation's claims: their cancellation, their transport, and the hand-over
when the beneficiary collects one itself."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from .. import access, clock
from ..errors import DomainError
from ..extensions import db
from ..models import Claim, Lot
from ..schemas.base import form_values, load
from ..schemas.collection import CollectionInSchema
from ..schemas.lot import ReasonSchema
from ..schemas.run import BookingInSchema
from ..services import booking, claim_facts, collection
from ..services import claims as claim_service
from ..templating import kg
from .helpers import refusal_page

bp = Blueprint("claims", __name__, url_prefix="/claims")


@bp.get("/")
@login_required
def claim_list():
    """Claims of the organisation, newest first, with pickup details and the platform
    that allocated those its matcher made."""
    access.require_beneficiary(current_user)
    rows = db.session.scalars(
        access.visible_claims(current_user)
        .options(joinedload(Claim.lot).joinedload(Lot.donor), joinedload(Claim.platform))
        .limit(300)
    ).all()
    allocators = claim_facts.allocated_by(db.session, [c.id for c in rows])
    return render_template("claims/list.html", claims=rows, allocators=allocators)


@bp.post("/<int:claim_id>/cancel")
@login_required
def claim_cancel(claim_id: int):
    """Cancel a claim before collection (claimant only); kilograms return to the lot."""
    claim = access.get_for(current_user, Claim, claim_id, access.CHANGE)
    try:
        reason = load(ReasonSchema(), form_values(ReasonSchema(), request.form))["reason"]
        claim_service.cancel_claim(db.session, current_user, claim, reason)
    except DomainError as error:
        db.session.rollback()
        if error.fields:
            return refusal_page(error, url_for("claims.claim_list"))
        flash(error.message, "error")
        return redirect(url_for("claims.claim_list"))
    db.session.commit()
    flash(_("Claim cancelled; %(kg)s are offered again.", kg=kg(claim.kg)), "success")
    return redirect(url_for("claims.claim_list"))


@bp.get("/<int:claim_id>")
@login_required
def claim_show(claim_id: int):
    """A claim: the lot, who claimed it (or which platform allocated it), its booking on
    a run with the planned times (proposal for coordinators)."""
    return _claim_page(access.get_for(current_user, Claim, claim_id))


def _claim_page(
    claim: Claim, errors: dict | None = None, status: int = 200, values: dict | None = None
):
    stops = booking.booked_stops(db.session, claim)
    proposal, candidates = None, []
    may_book = access.coordinates(current_user, claim.platform_id)
    if may_book and not stops and claim.status.value == "active":
        proposal = booking.propose(db.session, claim)
        candidates = booking.candidate_runs(db.session, claim, clock.now(), None)
    return render_template(
        "claims/show.html",
        claim=claim,
        stops=stops,
        proposal=proposal,
        candidates=candidates,
        may_book=may_book,
        may_collect=claim.self_collect
        and claim.status.value == "active"
        and access.can(current_user, access.COLLECT, claim),
        errors=errors,
        values=values or {},
        planned=claim_facts.planned_at(stops),
        allocator=claim_facts.allocated_by(db.session, [claim.id]).get(claim.id),
    ), status


@bp.post("/<int:claim_id>/booking")
@login_required
def claim_book(claim_id: int):
    """Book the claim on the proposed run, or on ``run_id``; or self-collection."""
    claim = access.get_for(current_user, Claim, claim_id)
    try:
        if request.form.get("cancel"):
            access.require_coordinator(current_user, claim.platform_id)
            booking.unbook(db.session, current_user, claim)
        else:
            values = load(BookingInSchema(), form_values(BookingInSchema(), request.form))
            if values["self_collect"]:
                booking.self_collect(db.session, current_user, claim)
            else:
                booking.book(db.session, current_user, claim, run_id=values["run_id"])
    except DomainError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        if error.fields:  # the booking form again, the field marked
            flash(error.message, "error")
            return _claim_page(claim, error.fields, 422)
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Saved."), "success")
    return redirect(url_for("claims.claim_show", claim_id=claim.id))


@bp.post("/<int:claim_id>/collection")
@login_required
def claim_collect(claim_id: int):
    """The beneficiary's people collected the claim at the donor's: the hand-over check
    (services.collection), then back to the claim's page. Bad input records nothing:
    the page again (422) with the user's entries and a message per field; a refused
    hand-over is recorded and said on the page; 403 for someone who may see the claim
    but not record this, 404 for anyone else."""
    claim = access.get_for(current_user, Claim, claim_id, access.COLLECT, str(collection.NOT_YOURS))
    schema = CollectionInSchema()
    try:
        values = load(schema, form_values(schema, request.form))
        outcome = collection.confirm_collection(
            db.session,
            current_user,
            claim,
            temperature=values["temperature_c"],
            receiver=values["receiver"],
            note=values["note"],
        )
    except DomainError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        if error.fields:
            flash(error.message, "error")
            return _claim_page(claim, error.fields, 422, request.form.to_dict())
        flash(error.message, "error")
        return redirect(url_for("claims.claim_show", claim_id=claim.id))
    db.session.commit()  # a refusal is recorded too
    flash(outcome.message, "success" if outcome.ok else "error")
    return redirect(url_for("claims.claim_show", claim_id=claim.id))
