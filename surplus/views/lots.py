"""Donor pages: post a lot (one or a CSV), my lots, withdraw; and a lot's own page."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import access
from ..errors import DomainError
from ..extensions import db, htmx
from ..forms import ClaimForm, CsvUploadForm, LotForm
from ..models import Claim, Lot, Organisation
from ..schemas.base import form_values, load
from ..schemas.lot import LotInSchema, ReasonSchema
from ..schemas.recall import RecallInSchema
from ..services import allocation, matching_adapter, recalls, waves
from ..services import lots as lot_service
from ..services.eligibility import conventions_for
from ..services.lot_dates import BRUSSELS
from .helpers import apply_errors, refusal_page, render_form

bp = Blueprint("lots", __name__, url_prefix="/lots")


def _default_window() -> dict[str, str]:
    start = datetime.now(BRUSSELS).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    end = (start + timedelta(days=1)).replace(hour=17)
    return {
        "pickup_from": start.strftime("%Y-%m-%dT%H:%M"),
        "pickup_until": end.strftime("%Y-%m-%dT%H:%M"),
    }


@bp.route("/new", methods=["GET", "POST"])
@login_required
def lot_new():
    """Post a lot; invalid input comes back (422) with every value and a message per field."""
    access.require_donor(current_user)
    form = LotForm(data=None if request.method == "POST" else _default_window())
    template = "lots/_form.html" if htmx else "lots/new.html"
    if request.method == "GET":
        return render_template("lots/new.html", form=form)
    if not form.validate_on_submit():
        return render_form(template, 422, form=form)
    try:
        values = load(LotInSchema(), form_values(LotInSchema(), request.form))
        lot, warnings = lot_service.create_lot(db.session, current_user, values)
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return render_form(template, 422, form=form)
    db.session.commit()
    flash(_("Lot “%(title)s” posted.", title=lot.title), "success")
    for warning in warnings:
        flash(warning, "warning")
    target = url_for("lots.lot_show", lot_id=lot.id)
    if htmx:
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target)


@bp.get("/template.csv")
@login_required
def lot_template():
    """The CSV template for bulk posting (same columns as the API)."""
    return Response(
        lot_service.csv_template(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=maillon-lots.csv"},
    )


@bp.route("/bulk", methods=["GET", "POST"])
@login_required
def lot_bulk():
    """Upload a CSV: all rows posted in one transaction, or none and the bad rows listed."""
    access.require_donor(current_user)
    form = CsvUploadForm()
    if request.method == "GET":
        return render_template("lots/bulk.html", form=form, rows=None)
    if not form.validate_on_submit():
        return render_form("lots/bulk.html", 422, form=form, rows=None)
    raw = form.file.data.read(2_000_000)
    content = lot_service.decode_csv(raw)
    try:
        posted = lot_service.create_lots_from_csv(db.session, current_user, content)
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return render_form("lots/bulk.html", 422, form=form, rows=error.extra.get("rows"))
    db.session.commit()
    flash(_("%(n)d lots posted.", n=len(posted)), "success")
    return redirect(url_for("lots.lot_mine"))


@bp.get("/mine")
@login_required
def lot_mine():
    """The organisation's lots with what was claimed, by whom, and what remains."""
    access.require_donor(current_user)
    rows = db.session.scalars(
        access.visible_lots(current_user)
        .options(selectinload(Lot.claims).selectinload(Claim.beneficiary))
        .order_by(Lot.created_at.desc(), Lot.id.desc())
        .limit(300)
    ).all()
    return render_template("lots/mine.html", lots=rows)


@bp.get("/<int:lot_id>")
@login_required
def lot_show(lot_id: int):
    """A lot's page: the donor sees its claims; an eligible beneficiary may claim it.
    A beneficiary that may not receive it gets 403 with the reason; others 404."""
    lot = access.get_lot(current_user, lot_id)
    claim_form = None
    visible_through: list[waves.Visibility] = []
    if current_user.organisation.is_beneficiary and lot.status.value == "open":
        options = conventions_for(db.session, current_user.organisation, lot)
        visible_through = waves.why_visible(db.session, lot, options)
        if options:
            claim_form = ClaimForm(kg=f"{lot.remaining_kg:g}")
            claim_form.platform_id.choices = [(c.platform_id, c.platform.name) for c in options]
    placed, names = [], {}
    org = current_user.organisation
    coordinator = access.coordinates(current_user, org.id) and org.is_platform
    if lot.status.value == "open" and (lot.donor_id == org.id or coordinator):
        placed = allocation.best_placed(db.session, lot, platform=org if coordinator else None)
        names = {o.id: o.name for o, _a in placed}
        runner_ids = [
            a.explanation.runner_up_id for _o, a in placed if a.explanation.runner_up_id is not None
        ]
        if runner_ids:
            names |= dict(
                db.session.execute(
                    select(Organisation.id, Organisation.name).where(
                        Organisation.id.in_(runner_ids)
                    )
                ).all()
            )
    offered = (
        waves.offers(db.session, lot)
        if (lot.donor_id == org.id or org.is_platform or current_user.is_site_admin)
        else []
    )
    return render_template(
        "lots/show.html",
        lot=lot,
        claim_form=claim_form,
        placed=placed,
        names=names,
        explanation_dict=matching_adapter.explanation_dict,
        visible_through=visible_through,
        offered=offered,
        wave_radius_km=current_app.config["WAVE_RADIUS_KM"],
    )


def _donor_ends(lot_id: int, action, done_message, back: str):
    """Withdraw a lot (its donor only, else 404/403) with the posted reason."""
    lot = access.get_for(current_user, Lot, lot_id, access.CHANGE)
    try:
        reason = load(ReasonSchema(), form_values(ReasonSchema(), request.form))["reason"]
        claims = action(db.session, current_user, lot, reason)
    except DomainError as error:
        db.session.rollback()
        if error.fields:
            return refusal_page(error, url_for("lots.lot_show", lot_id=lot_id))
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(done_message(claims), "success")
    return redirect(back)


@bp.post("/<int:lot_id>/recall")
@login_required
def lot_recall(lot_id: int):
    """Recall a lot for food safety (its donor only, else 404/403): every holder is told
    its own figures; then the recall page, where the holders answer."""
    lot = access.get_for(current_user, Lot, lot_id, access.CHANGE)
    back = url_for("lots.lot_show", lot_id=lot_id)
    try:
        reason = load(RecallInSchema(), form_values(RecallInSchema(), request.form))["reason"]
        recall = recalls.open_recall(db.session, current_user, lot, reason)
    except DomainError as error:
        db.session.rollback()
        if error.fields:
            return refusal_page(error, back)
        flash(error.message, "error")
        return redirect(back)
    db.session.commit()
    flash(_("Recall sent to %(n)d organisations.", n=len(recall.holders)), "success")
    return redirect(url_for("recalls.recall_show", recall_id=recall.id))


@bp.post("/<int:lot_id>/withdraw")
@login_required
def lot_withdraw(lot_id: int):
    """Withdraw a lot; its claims still to collect are withdrawn too."""
    return _donor_ends(
        lot_id,
        lot_service.withdraw_lot,
        lambda affected: _("Lot withdrawn; %(n)d claims were withdrawn with it.", n=len(affected)),
        url_for("lots.lot_mine"),
    )
