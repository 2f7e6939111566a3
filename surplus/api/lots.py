"""Lots and claims through the JSON API; the same schemas and services as the pages."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy import func, select

from .. import access
from ..extensions import db
from ..models import Claim, Lot
from ..schemas.answers import (
    ClaimConflictSchema,
    ClaimSchema,
    ErrorSchema,
    LotPageSchema,
    LotSchema,
)
from ..schemas.lot import ClaimInSchema, LotFilterSchema, LotInSchema, ReasonSchema
from ..services import claims as claim_service
from ..services import lots as lot_service
from ..services.browse import Filters, browse
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_lots", __name__, url_prefix="/api/v1", description="Lots and claims")


@blp.get("/lots")
@blp.arguments(LotFilterSchema, location="query")
@blp.response(200, LotPageSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def lot_list(query: dict):
    """Beneficiaries: the open lots they may receive, best placed first (filters:
    category, storage, max_km, fse_only, expiring_days, q). Others: their own lots,
    newest first (the filters do not apply)."""
    user = g.api_user
    per_page = current_app.config["LOTS_PER_PAGE"]
    if user.organisation.is_beneficiary:
        page = browse(
            db.session, user.organisation, Filters.of(query), page=query["page"], per_page=per_page
        )
        items = []
        for card in page.cards:
            card.lot.distance_km = round(card.km, 1)
            items.append(card.lot)
        return {"items": items, "total": page.total, "page": page.page, "pages": page.pages}
    mine = access.visible_lots(user)
    total = db.session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page_no = min(query["page"], pages)
    rows = db.session.scalars(
        mine.order_by(Lot.id.desc()).offset((page_no - 1) * per_page).limit(per_page)
    ).all()
    return {"items": rows, "total": total, "page": page_no, "pages": pages}


@blp.post("/lots")
@blp.arguments(LotInSchema)
@blp.response(201, LotSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@token_required
def lot_create(values: dict):
    """Post a lot; 400 with a message per field when a rule refuses it."""
    lot, _warnings = lot_service.create_lot(db.session, g.api_user, values)
    db.session.commit()
    return lot


@blp.get("/lots/<int:lot_id>")
@blp.response(200, LotSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def lot_show(lot_id: int):
    """A lot you posted, may receive or have claimed; 403 with the reason when it exists
    but is not offered to you; 404 otherwise."""
    return access.get_lot(g.api_user, lot_id)


@blp.post("/lots/<int:lot_id>/withdraw")
@blp.arguments(ReasonSchema, required=False)
@blp.response(200, LotSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def lot_withdraw(values: dict, lot_id: int):
    """Withdraw your lot (optional reason); its live claims are withdrawn."""
    lot = access.get_for(g.api_user, Lot, lot_id, access.CHANGE)
    lot_service.withdraw_lot(db.session, g.api_user, lot, values["reason"])
    db.session.commit()
    return lot


@blp.post("/lots/<int:lot_id>/claims")
@blp.arguments(ClaimInSchema)
@blp.response(201, ClaimSchema)
@blp.alt_response(
    200, schema=ClaimSchema, description="The claim made earlier with the same idempotency key."
)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ClaimConflictSchema)
@token_required
def claim_create(values: dict, lot_id: int):
    """Claim kilograms: 201; 403 with the rule's reason; 409 with ``available_kg`` when
    the kilograms are no longer there; a repeated ``idempotency_key`` returns the first
    claim (200)."""
    claim, created = claim_service.claim_lot(
        db.session,
        g.api_user,
        lot_id,
        values["kg"],
        platform_id=values.get("platform_id"),
        idempotency_key=values.get("idempotency_key"),
        depot_id=values.get("depot_id"),
    )
    db.session.commit()
    return claim, 201 if created else 200


@blp.get("/claims")
@blp.response(200, ClaimSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def claim_list():
    """The claims of your organisation, newest first (at most 500)."""
    return db.session.scalars(access.visible_claims(g.api_user).limit(500)).all()


@blp.delete("/claims/<int:claim_id>")
@blp.response(200, ClaimSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def claim_cancel(claim_id: int):
    """Cancel your claim before collection; its kilograms return to the lot."""
    claim = access.get_for(g.api_user, Claim, claim_id, access.CHANGE)
    claim_service.cancel_claim(db.session, g.api_user, claim)
    db.session.commit()
    return claim
