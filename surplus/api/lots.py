"""Lots and claims through the JSON API; the same services as the pages."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy import select

from .. import access
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..models import Claim, Lot
from ..services import claims as claim_service
from ..services import lots as lot_service
from ..services.browse import Filters, browse
from .auth import token_required
from .schemas import (
    ClaimInSchema,
    ClaimSchema,
    ErrorSchema,
    LotInSchema,
    LotPageSchema,
    LotSchema,
)

blp = Blueprint("api_lots", __name__, url_prefix="/api/v1", description="Lots and claims")


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(_("Send a JSON object."))
    return body


def _lot_for(lot_id: int) -> Lot:
    lot = db.session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(_("Not found."))
    if not access.can(g.api_user, access.VIEW, lot):
        reason = access.lot_visible_reason(g.api_user, lot)
        if reason:
            raise Forbidden(reason)
        raise NotFound(_("Not found."))
    return lot


@blp.get("/lots")
@blp.response(200, LotPageSchema)
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def lot_list():
    """Beneficiaries: open lots they may receive (query: category, storage, max_km,
    fse_only, expiring_days, q, page). Donors: their own lots, newest first."""
    user = g.api_user
    page_no = max(1, request.args.get("page", 1, type=int) or 1)
    per_page = current_app.config["LOTS_PER_PAGE"]
    if user.organisation.is_beneficiary:
        page = browse(db.session, user.organisation, Filters.from_args(request.args),
                      page=page_no, per_page=per_page)
        items = []
        for card in page.cards:
            card.lot.distance_km = round(card.km, 1)
            items.append(card.lot)
        return {"items": items, "total": page.total, "page": page.page, "pages": page.pages}
    query = select(Lot).where(Lot.donor_id == user.organisation_id)
    rows = db.session.scalars(query.order_by(Lot.id.desc())
                              .offset((page_no - 1) * per_page).limit(per_page)).all()
    total = db.session.scalar(select(db.func.count()).select_from(query.subquery())) or 0
    return {"items": rows, "total": total, "page": page_no, "pages": max(1, -(-total // per_page))}


@blp.post("/lots")
@blp.doc(requestBody={"content": {"application/json": {"schema": LotInSchema}}})
@blp.response(201, LotSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@token_required
def lot_create():
    """Post a lot; 400 with a message per field when a rule refuses it."""
    lot, _warnings = lot_service.create_lot(db.session, g.api_user, _json_body())
    db.session.commit()
    return lot


@blp.get("/lots/<int:lot_id>")
@blp.response(200, LotSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def lot_show(lot_id: int):
    """A lot you posted, may receive or have claimed; 403 with the reason otherwise."""
    return _lot_for(lot_id)


@blp.post("/lots/<int:lot_id>/withdraw")
@blp.response(200, LotSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def lot_withdraw(lot_id: int):
    """Withdraw your lot (body: optional reason); its live claims are withdrawn."""
    lot = _lot_for(lot_id)
    body = request.get_json(silent=True) or {}
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    lot_service.withdraw_lot(db.session, g.api_user, lot, str(reason))
    db.session.commit()
    return lot


@blp.post("/lots/<int:lot_id>/claims")
@blp.doc(requestBody={"content": {"application/json": {"schema": ClaimInSchema}}})
@blp.response(201, ClaimSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def claim_create(lot_id: int):
    """Claim kilograms: 201; 409 with ``available_kg`` when someone was faster; 403 with
    the rule's reason; a repeated ``idempotency_key`` returns the first claim (200)."""
    body = _json_body()
    platform = body.get("platform_id")
    if platform is not None and (not isinstance(platform, int) or isinstance(platform, bool)):
        raise Invalid(_("platform_id must be a number."), {"platform_id": _("Enter a number.")})
    if db.session.get(Lot, lot_id) is None:
        raise NotFound(_("Not found."))
    claim, created = claim_service.claim_lot(
        db.session, g.api_user, lot_id, body.get("kg"), platform_id=platform,
        idempotency_key=body.get("idempotency_key") if isinstance(
            body.get("idempotency_key"), str) else None)
    db.session.commit()
    return claim, 201 if created else 200


@blp.get("/claims")
@blp.response(200, ClaimSchema(many=True))
@token_required
def claim_list():
    """The claims of your organisation, newest first."""
    return db.session.scalars(claim_service.claims_of(g.api_user.organisation_id)
                              .limit(500)).all()


@blp.delete("/claims/<int:claim_id>")
@blp.response(200, ClaimSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def claim_cancel(claim_id: int):
    """Cancel your claim before collection; its kilograms return to the lot."""
    claim = db.session.get(Claim, claim_id)
    if claim is None or not access.can(g.api_user, access.VIEW, claim):
        raise NotFound(_("Not found."))
    if not access.can(g.api_user, access.CHANGE, claim):
        raise Forbidden(_("You are not allowed to do this."))
    claim_service.cancel_claim(db.session, g.api_user, claim)
    db.session.commit()
    return claim
