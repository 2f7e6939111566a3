"""Beneficiary pages: browse the lots offered to the organisation, and claim one."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import DomainError, Invalid
from ..extensions import db, htmx
from ..models import Lot
from ..schemas.base import form_values, load
from ..schemas.lot import ClaimInSchema, LotFilterSchema
from ..services import claims as claim_service
from ..services.browse import Filters, Page, browse

bp = Blueprint("market", __name__)


@bp.get("/lots")
@login_required
def lot_list():
    """Open lots the organisation may receive; the results fragment alone for htmx."""
    access.require_beneficiary(current_user)
    template = "lots/_results.html" if htmx and not htmx.boosted else "lots/list.html"
    try:
        values = load(LotFilterSchema(), request.args, message=_("Check the search filters."))
    except Invalid as error:  # the filters come back as typed, each wrong one marked
        return render_template(
            template,
            page=Page(),
            filters=Filters(),
            args=request.args,
            errors=error.fields,
            error=error.message,
        ), 422 if htmx else 400
    filters = Filters.of(values)
    page = browse(
        db.session,
        current_user.organisation,
        filters,
        page=values["page"],
        per_page=current_app.config["LOTS_PER_PAGE"],
    )
    return render_template(template, page=page, filters=filters, args=request.args)


@bp.post("/lots/<int:lot_id>/claim")
@login_required
def lot_claim(lot_id: int):
    """Claim kilograms of a lot: 201 with the claim card, 409 if someone was faster,
    403 with the reason if the organisation may not receive it, 400 for a bad quantity
    (for htmx, 403 and 400 answer 422 so that the message is swapped in)."""
    access.require_beneficiary(current_user)
    try:
        values = load(ClaimInSchema(), form_values(ClaimInSchema(), request.form))
        claim, _created = claim_service.claim_lot(
            db.session,
            current_user,
            lot_id,
            values["kg"],
            platform_id=values.get("platform_id"),
            idempotency_key=values.get("idempotency_key"),
        )
    except DomainError as error:
        db.session.rollback()
        if htmx:
            # htmx swaps only 2xx, 409 and 422 (base.html): refusals come back as 422.
            lot = db.session.get(Lot, lot_id)  # offered again only to who may see it
            lot = lot if lot is not None and access.can(current_user, access.VIEW, lot) else None
            return render_template(
                "lots/_claim_result.html",
                error=error.message,
                fields=error.fields,
                # a typing error keeps what was typed; a conflict
                # offers what remains
                kg_value=None if error.status == 409 else request.form.get("kg"),
                lot=lot,
            ), 409 if error.status == 409 else 422
        flash(error.message, "error")
        return redirect(url_for("lots.lot_show", lot_id=lot_id)), 303
    db.session.commit()
    if htmx:
        return render_template("lots/_claim_result.html", claim=claim, lot=claim.lot), 201
    flash(
        _("You claimed %(kg)s kg of “%(title)s”.", kg=f"{claim.kg:g}", title=claim.lot.title),
        "success",
    )
    return redirect(url_for("claims.claim_list"))
