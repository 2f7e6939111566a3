"""Beneficiary pages: browse the lots offered to the organisation, and claim one."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import DomainError, Invalid
from ..extensions import db, htmx
from ..match_labels import CARRIAGE, CARRIAGE_DEFAULT
from ..models import Lot
from ..schemas.base import form_values, load
from ..schemas.lot import CarriageQuerySchema, ClaimInSchema, LotFilterSchema
from ..services import carriage, claim_facts
from ..services import claims as claim_service
from ..services.browse import Filters, Page, browse
from ..services.eligibility import conventions_for
from ..templating import kg, when
from . import lot_cards
from .helpers import lot_filter_query
from .lots import lot_page

bp = Blueprint("market", __name__)
bp.add_app_template_global(lot_filter_query, "filter_query")
# One instance for every request (marshmallow's load keeps no state on it): a new one
# per request cost the list a third of a millisecond.
FILTERS = LotFilterSchema()


@bp.get("/lots")
@login_required
def lot_list():
    """Open lots the organisation may receive; the results fragment alone for htmx."""
    access.require_beneficiary(current_user)
    template = "lots/_results.html" if htmx and not htmx.boosted else "lots/list.html"
    try:
        values = load(FILTERS, request.args, message=_("Check the search filters."))
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
        load=False,  # the cards come from lot_cards (kept, or rendered from their lots)
    )
    held = claim_facts.held_kg(
        db.session, current_user.organisation_id, [card.lot_id for card in page.cards]
    )
    return render_template(
        template,
        page=page,
        filters=filters,
        args=request.args,
        cards=lot_cards.cards(db.session, page, held),
    )


@bp.get("/lots/carriage")
@login_required
def lot_carriage():
    """How each lot of a list page can reach the organisation (services/carriage.py):
    one line per card, swapped in out of band once the page has loaded (the cards
    themselves are the same for every organisation and kept: views/lot_cards.py). Lots
    the list would not show it are left out; a bad query answers 400 with the message."""
    access.require_beneficiary(current_user)
    try:
        ids = load(CarriageQuerySchema(), form_values(CarriageQuerySchema(), request.args))["lot"]
    except Invalid as error:
        return render_template("lots/_carriage.html", lines={}, error=error.message), 400
    # those among them the list may show it (its scope), in one query
    lots = db.session.scalars(access.visible_lots(current_user).where(Lot.id.in_(set(ids)))).all()
    lines = carriage.for_lots(db.session, current_user.organisation, lots)
    return render_template("lots/_carriage.html", lines=lines, error=None)


@bp.post("/lots/<int:lot_id>/claim")
@login_required
def lot_claim(lot_id: int):
    """Claim kilograms of a lot: 201 with the claim box (what the organisation now holds,
    the lot's remaining kilograms out of band); 409 when the kilograms are not there
    (more than was left: the entry comes back marked; others claimed meanwhile: what is
    left now); 403 with the reason if the organisation may not receive it; 400 for a bad
    quantity (for htmx, 403 and 400 answer 422 so that the message is swapped in).
    Without htmx: to the claims on success, else back to the lot with the message."""
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
            seen_g=values.get("remaining_g"),
        )
    except DomainError as error:
        db.session.rollback()
        if htmx:
            # htmx swaps only 2xx, 409 and 422 (base.html): refusals come back as 422.
            lot = db.session.get(Lot, lot_id)  # offered again only to who may see it
            lot = lot if lot is not None and access.can(current_user, access.VIEW, lot) else None
            raced = error.extra.get("code") == "claimed_meanwhile"
            return _claim_box(
                lot,
                error=error.message,
                fields=error.fields,
                # the entry comes back, unless others took the kilograms it was about
                kg_value=None if raced else request.form.get("kg"),
            ), 409 if error.status == 409 else 422
        # Without htmx: the lot's page again, the entry in its claim box with the message.
        raced = error.extra.get("code") == "claimed_meanwhile"
        page = lot_page(
            lot_id,
            claim_error=error.message,
            claim_fields=error.fields,
            claim_kg=None if raced else request.form.get("kg"),
        )
        return page, error.status if error.status in (400, 403, 404, 409) else 422
    db.session.commit()
    # after the commit: the claim holds its kilograms while the runs are read
    how = carriage.for_claim(db.session, claim)
    if htmx:
        return _claim_box(claim.lot, claim=claim, carriage=how), 201
    flash(
        _("You claimed %(kg)s of “%(title)s”.", kg=kg(claim.kg), title=claim.lot.title),
        "success",
    )
    if how is not None:
        flash(carriage_message(how), "success" if how.reachable else "warning")
    return redirect(url_for("claims.claim_list"))


def carriage_message(how: carriage.Carriage) -> str:
    """What the answer to a claim says about its transport (services/carriage.py)."""
    if how.by_run:
        return _(
            "A planned run can bring it to you before its date: you will be told when it is booked."
        )
    if how.collect_from is not None:
        return _(
            "No planned run can bring it to you before its date; your team can collect it "
            "at the donor's from %(time)s.",
            time=when(how.collect_from),
        )
    return " ".join(
        [
            carriage_reason(how),
            _(
                "The donor is beyond your collection radius. If you cannot fetch it, cancel "
                "the claim so that others can have it."
            ),
        ]
    )


def carriage_reason(how: carriage.Carriage) -> str:
    """Why no planned run can bring it (``Carriage.why``), as a card and a claim's answer
    say it; the general sentence when the reason is that no run had room or time."""
    return str(CARRIAGE.get(how.why or "", CARRIAGE_DEFAULT))


def _claim_box(lot: Lot | None, **context):
    """The claim box of a lot for htmx, with its remaining kilograms out of band; the
    platform choice again when the form had one (the lot's page)."""
    held, platforms = None, []
    if lot is not None:
        org = current_user.organisation
        held = claim_facts.held_kg(db.session, org.id, [lot.id]).get(lot.id)
        if "platform_id" in request.form:
            platforms = [
                (c.platform_id, c.platform.name) for c in conventions_for(db.session, org, lot)
            ]
    return render_template(
        "lots/_claim_result.html",
        lot=lot,
        held_kg=held,
        platforms=platforms,
        platform_value=request.form.get("platform_id"),
        oob=True,
        **context,
    )


bp.add_app_template_global(carriage_message, "carriage_message")
bp.add_app_template_global(carriage_reason, "carriage_reason")
