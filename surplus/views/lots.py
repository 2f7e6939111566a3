"""Donor pages: post a lot (one or a CSV), my lots, withdraw; and a lot's own page."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.numbers import format_decimal
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import access, clock
from ..errors import DomainError
from ..extensions import db, htmx
from ..forms import ClaimForm, CsvUploadForm, LotForm
from ..forms_lot import LotEditForm
from ..models import Claim, Lot, LotPhoto, Organisation
from ..schemas.base import form_values, load
from ..schemas.lot import LotInSchema, ReasonSchema
from ..schemas.lot_edit import LotEditSchema
from ..schemas.recall import RecallInSchema
from ..services import allocation, claim_facts, matching_adapter, recalls, waves
from ..services import lot_edit as lot_edit_service
from ..services import lots as lot_service
from ..services import photo_storage as photo_store
from ..services import photos as photo_service
from ..services.eligibility import conventions_for
from ..services.lot_dates import BRUSSELS
from ..templating import number
from .helpers import apply_errors, refusal_page, render_form

bp = Blueprint("lots", __name__, url_prefix="/lots")


def _default_window() -> dict[str, str]:
    start = clock.now().astimezone(BRUSSELS).replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=1
    )
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
    allocators = claim_facts.allocated_by(db.session, [c.id for lot in rows for c in lot.claims])
    return render_template("lots/mine.html", lots=rows, allocators=allocators)


@bp.get("/<int:lot_id>")
@login_required
def lot_show(lot_id: int):
    """A lot's page: the donor sees its claims; an eligible beneficiary may claim it.
    A beneficiary that may not receive it gets 403 with the reason; others 404."""
    return lot_page(lot_id)


def lot_page(lot_id: int, claim_error: str | None = None, claim_fields=None, claim_kg=None):
    """The lot's page; a refused claim (sent without htmx) comes back in its claim box
    with the entry and the message."""
    lot = access.get_lot(current_user, lot_id)
    claim_form = None
    visible_through: list[waves.Visibility] = []
    if current_user.organisation.is_beneficiary and lot.status.value == "open":
        options = conventions_for(db.session, current_user.organisation, lot)
        visible_through = waves.why_visible(db.session, lot, options)
        if options:
            claim_form = ClaimForm()  # the quantity starts empty: nothing is claimed by default
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
        held_kg=claim_facts.held_kg(db.session, org.id, [lot.id]).get(lot.id)
        if org.is_beneficiary
        else None,
        allocators=claim_facts.allocated_by(db.session, [c.id for c in lot.claims])
        if lot.donor_id == org.id
        else {},
        claim_error=claim_error,
        claim_fields=claim_fields,
        claim_kg=claim_kg,
        claim_platform=request.form.get("platform_id") if claim_error else None,
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


# -- after posting: corrections and photos ------------------------------------------------

ONLY_DONOR = _l("Only the donor can change this lot.")


def _local(moment: datetime) -> str:
    """A moment as a ``datetime-local`` field shows it (Brussels time, to the minute)."""
    return moment.astimezone(BRUSSELS).strftime("%Y-%m-%dT%H:%M")


def _edit_values(lot: Lot) -> dict[str, str]:
    return {
        "description": lot.description,
        "weight_kg": format_decimal(lot.weight_kg, format="0.###", locale=get_locale()),
        "units": "" if lot.units is None else str(lot.units),
        "pickup_from": _local(lot.pickup_from),
        "pickup_until": _local(lot.pickup_until),
    }


@bp.route("/<int:lot_id>/edit", methods=["GET", "POST"])
@login_required
def lot_edit(lot_id: int):
    """Correct or extend a posted lot: description, pickup window, kilograms, units (its
    donor's members; 404 for lots one may not see, 403 for others'). Invalid input comes
    back (422) with the entries and a message per field; a lot no longer open sends back
    to its page, which says so."""
    lot = access.get_for(current_user, Lot, lot_id, access.LOT_EDIT, str(ONLY_DONOR))
    back = url_for("lots.lot_show", lot_id=lot.id)
    if not lot_edit_service.editable(lot):
        flash(str(lot_edit_service.not_open().message), "error")
        return redirect(back)
    shown = _edit_values(lot)
    form = LotEditForm(data=None if request.method == "POST" else shown)
    if request.method == "GET":
        return render_template("lots/edit.html", form=form, lot=lot)
    if not form.validate_on_submit():
        return render_form("lots/edit.html", 422, form=form, lot=lot)
    try:
        raw = form_values(LotEditSchema(), request.form)
        for key in ("pickup_from", "pickup_until"):  # shown to the minute: unchanged
            if raw.get(key) == shown[key]:
                raw.pop(key)
        values = load(LotEditSchema(), raw)
        if "units" in raw and "units" not in values:  # emptied: no count of units
            values["units"] = None
        changed = lot_edit_service.edit_lot(db.session, current_user, lot, values)
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return render_form("lots/edit.html", 422, form=form, lot=lot)
    db.session.commit()
    flash(_("Lot updated.") if changed else _("Nothing changed."), "success")
    return redirect(back)


def raise_upload_limit() -> None:
    """A photo upload may be larger than other forms (``MAX_CONTENT_LENGTH``): its own
    limit, the photo's plus room for the form around it. Set before the body is read."""
    request.max_content_length = current_app.config["PHOTO_MAX_BYTES"] + 256 * 1024


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, values: dict | None) -> None:
    # Runs before the CSRF check, which reads the form.
    if endpoint == "lots.lot_photo_add":
        raise_upload_limit()


def read_upload(upload) -> bytes:
    """The uploaded file's bytes, at most one more than the photo limit (so a larger
    file is refused by its size, never read whole)."""
    if upload is None or not getattr(upload, "filename", None):
        return b""
    return upload.read(current_app.config["PHOTO_MAX_BYTES"] + 1)


@bp.post("/<int:lot_id>/photos")
@login_required
def lot_photo_add(lot_id: int):
    """Add a photo to the donor's lot (404/403 for others); back to the lot's photos,
    with what was wrong with the file if it was refused."""
    lot = access.get_for(current_user, Lot, lot_id, access.LOT_EDIT, str(ONLY_DONOR))
    data = read_upload(request.files.get("photo"))
    try:
        photo_service.add_photo(
            db.session,
            current_user,
            lot,
            data,
            photo_store.storage(),
            current_app.config["PHOTO_MAX_BYTES"],
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Photo added."), "success")
    return redirect(url_for("lots.lot_show", lot_id=lot_id, _anchor="photos"))


@bp.post("/<int:lot_id>/photos/<int:photo_id>/delete")
@login_required
def lot_photo_delete(lot_id: int, photo_id: int):
    """Delete a photo of the donor's lot (404/403 for others)."""
    lot = access.get_for(current_user, Lot, lot_id, access.LOT_EDIT, str(ONLY_DONOR))
    photo = db.session.get(LotPhoto, photo_id)
    if photo is None or photo.lot_id != lot.id:
        abort(404)
    photo_service.delete_photo(db.session, current_user, photo)
    db.session.commit()
    flash(_("Photo deleted."), "success")
    return redirect(url_for("lots.lot_show", lot_id=lot_id, _anchor="photos"))


def photo_response(lot: Lot, name: str) -> Response:
    """A photo's file (full size or thumbnail) of a lot the caller may see; 404 if the
    lot has no such photo. Its address is random, so it may be cached for good, but
    only by the viewer's browser."""
    found = photo_service.find(db.session, lot, name)
    if found is None:
        abort(404)
    photo, key = found
    try:
        data = photo_store.storage().read(key)
    except FileNotFoundError:
        abort(404)
    response = Response(data, mimetype=photo.content_type)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<int:lot_id>/photos/<name>")
@login_required
def lot_photo(lot_id: int, name: str):
    """A photo of a lot, for whoever may see the lot's page (else 404, or 403 with why)."""
    return photo_response(access.get_lot(current_user, lot_id), name)


@bp.app_template_global()
def photo_url(photo: LotPhoto, thumb: bool = False) -> str:
    """The page address of a lot's photo (or of its thumbnail)."""
    name = photo_service.file_name(photo, thumb=thumb)
    return url_for("lots.lot_photo", lot_id=photo.lot_id, name=name)


@bp.app_template_global()
def photo_box(photo: LotPhoto, side: int) -> tuple[int, int]:
    """The photo's width and height shown within ``side`` px (its ratio kept)."""
    scale = min(1.0, side / max(photo.width, photo.height))
    return max(1, round(photo.width * scale)), max(1, round(photo.height * scale))


@bp.app_template_global()
def photo_limits() -> tuple[int, str]:
    """How many photos a lot takes, and the size of each, for the upload form."""
    mb = current_app.config["PHOTO_MAX_BYTES"] / 1024 / 1024
    return photo_service.MAX_PHOTOS, number(mb, 0)
