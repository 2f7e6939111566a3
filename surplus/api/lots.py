"""Lots and claims through the JSON API; the same schemas and services as the pages."""

from __future__ import annotations

import functools

from flask import current_app, g, jsonify
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import access
from ..errors import NotFound
from ..extensions import db
from ..models import Claim, Lot, LotPhoto
from ..schemas.answers import (
    ClaimConflictSchema,
    ClaimCreatedSchema,
    ClaimSchema,
    ErrorSchema,
    LotPageSchema,
    LotSchema,
    ThrottledSchema,
)
from ..schemas.lot import ClaimInSchema, LotFilterSchema, LotInSchema, ReasonSchema
from ..schemas.lot_edit import LotEditSchema, PhotoInSchema, PhotoSchema
from ..schemas.lot_list import lot_items
from ..services import carriage, list_cache
from ..services import claims as claim_service
from ..services import lot_edit as lot_edit_service
from ..services import lots as lot_service
from ..services import photo_storage as photo_store
from ..services import photos as photo_service
from ..services.browse import Filters, browse, load_lots
from ..views.lots import ONLY_DONOR, photo_response, raise_upload_limit, read_upload
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
            db.session,
            user.organisation,
            Filters.of(query),
            page=query["page"],
            per_page=per_page,
            need=False,  # the answer has no need this week
            load=False,  # the items come from the cache, or from their lots
        )
        kept = list_cache.cache().many(
            "items",
            page.version,
            [(card.lot_id,) for card in page.cards],
            _items_of,
        )
        # LotPageSchema's answer, dumped by the function compiled from it (schemas/lot_list.py).
        items = [
            {**item, "distance_km": round(card.km, 1)}
            for item, card in zip(kept, page.cards, strict=True)
        ]
        return jsonify(
            {"items": items, "total": page.total, "page": page.page, "pages": page.pages}
        )
    else:
        mine = access.visible_lots(user)
        total = db.session.scalar(select(func.count()).select_from(mine.subquery())) or 0
        pages = max(1, -(-total // per_page))
        page_no = min(query["page"], pages)
        items = db.session.scalars(
            mine.options(selectinload(Lot.photos))
            .order_by(Lot.id.desc())
            .offset((page_no - 1) * per_page)
            .limit(per_page)
        ).all()
    # LotPageSchema's answer, dumped by the function compiled from it (schemas/lot_list.py).
    return jsonify({"items": lot_items(items), "total": total, "page": page_no, "pages": pages})


def _items_of(keys: list[tuple[int]]) -> dict[tuple[int], dict]:
    """API items of the lots ``keys`` (``(lot id,)``), without their distance."""
    lots = load_lots(db.session, [key[0] for key in keys])
    return {
        key: item for key, item in zip(keys, lot_items([lots[k[0]] for k in keys]), strict=True)
    }


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
@blp.response(201, ClaimCreatedSchema)
@blp.alt_response(
    200,
    schema=ClaimCreatedSchema,
    description="The claim made earlier with the same idempotency key.",
)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ClaimConflictSchema)
@blp.alt_response(429, schema=ThrottledSchema)
@token_required
def claim_create(values: dict, lot_id: int):
    """Claim kilograms: 201; 403 with the rule's reason; 409 with ``available_kg`` and a
    ``code`` when the kilograms are not there (``too_much``: more than was left;
    ``claimed_meanwhile``: others claimed since ``remaining_g`` was seen, or while this
    request was served); a repeated ``idempotency_key`` returns the first claim (200)."""
    claim, created = claim_service.claim_lot(
        db.session,
        g.api_user,
        lot_id,
        values["kg"],
        platform_id=values.get("platform_id"),
        idempotency_key=values.get("idempotency_key"),
        depot_id=values.get("depot_id"),
        seen_g=values.get("remaining_g"),
    )
    db.session.commit()
    # what the answer says about its transport, read after the commit (services/carriage.py)
    claim.carriage = carriage.for_claim(db.session, claim)
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
@blp.alt_response(429, schema=ThrottledSchema)
@token_required
def claim_cancel(claim_id: int):
    """Cancel your claim before collection; its kilograms return to the lot."""
    claim = access.get_for(g.api_user, Claim, claim_id, access.CHANGE)
    claim_service.cancel_claim(db.session, g.api_user, claim)
    db.session.commit()
    return claim


@blp.patch("/lots/<int:lot_id>")
@blp.arguments(LotEditSchema)
@blp.response(200, LotSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def lot_edit(values: dict, lot_id: int):
    """Correct or extend your lot: ``description``, ``pickup_from``/``pickup_until`` (within
    the food-safety rules of posting), ``weight_kg`` (never below what is claimed),
    ``units``; send only what changes. 409 for fewer kilograms than claimed or a lot no
    longer open. Category, storage and dates are not changed: withdraw and post again.
    The organisations holding a claim are told."""
    lot = access.get_for(g.api_user, Lot, lot_id, access.LOT_EDIT, str(ONLY_DONOR))
    lot_edit_service.edit_lot(db.session, g.api_user, lot, values)
    db.session.commit()
    return lot


def _upload_limit(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        raise_upload_limit()  # before the body is read
        return view(*args, **kwargs)

    return wrapper


@blp.post("/lots/<int:lot_id>/photos")
@_upload_limit
@blp.arguments(PhotoInSchema, location="files")
@blp.response(201, PhotoSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@blp.alt_response(413, schema=ErrorSchema)
@token_required
def lot_photo_add(files: dict, lot_id: int):
    """Add a photo to your lot (field ``photo``, multipart): JPEG, PNG or WebP by its
    content, at most ``PHOTO_MAX_BYTES`` (8 MB); kept upright, without metadata, at most
    1600 px, as WebP, with a 480 px thumbnail. 409 when the lot has 4 photos or is over."""
    lot = access.get_for(g.api_user, Lot, lot_id, access.LOT_EDIT, str(ONLY_DONOR))
    photo = photo_service.add_photo(
        db.session,
        g.api_user,
        lot,
        read_upload(files["photo"]),
        photo_store.storage(),
        current_app.config["PHOTO_MAX_BYTES"],
    )
    db.session.commit()
    return photo


@blp.delete("/lots/<int:lot_id>/photos/<int:photo_id>")
@blp.response(204)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def lot_photo_delete(lot_id: int, photo_id: int):
    """Delete a photo of your lot."""
    lot = access.get_for(g.api_user, Lot, lot_id, access.LOT_EDIT, str(ONLY_DONOR))
    photo = db.session.get(LotPhoto, photo_id)
    if photo is None or photo.lot_id != lot.id:
        raise NotFound(str(_l("Not found.")))
    photo_service.delete_photo(db.session, g.api_user, photo)
    db.session.commit()
    return ""


@blp.get("/lots/<int:lot_id>/photos/<name>")
@blp.response(200, content_type="image/webp", description="The photo (WebP).")
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def lot_photo_file(lot_id: int, name: str):
    """A photo (or its thumbnail) of a lot you may see, at the address the lot gives."""
    return photo_response(access.get_lot(g.api_user, lot_id), name)
