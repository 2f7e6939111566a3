"""Recalls through the API: open one on a lot, follow it, acknowledge a holder's part."""

from __future__ import annotations

from flask import g

from .. import access
from ..extensions import db
from ..models import Lot, Recall
from ..schemas.answers import ErrorSchema
from ..schemas.recall import AcknowledgementInSchema, RecallInSchema, RecallSchema
from ..services import recalls
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_recalls", __name__, url_prefix="/api/v1", description="Recalls")


@blp.post("/lots/<int:lot_id>/recall")
@blp.arguments(RecallInSchema)
@blp.response(201, RecallSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def lot_recall(values: dict, lot_id: int):
    """Recall your lot with a reason: 201 with each holder's kilograms delivered, in
    transit and cancelled (planned claims end at once). 403 unless you are its donor
    (or a site admin), 404 when you may not see the lot, 409 if it was already recalled."""
    lot = access.get_for(g.api_user, Lot, lot_id)
    recall = recalls.open_recall(db.session, g.api_user, lot, values["reason"])
    db.session.commit()
    return recall


@blp.get("/recalls/<int:recall_id>")
@blp.response(200, RecallSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def recall_show(recall_id: int):
    """A recall with each holder's figures and acknowledgement, open or closed. The
    donor, the platforms involved, the holders and site admins see it; 404 otherwise."""
    return access.get_for(g.api_user, Recall, recall_id)


@blp.post("/recalls/<int:recall_id>/acknowledgements")
@blp.arguments(AcknowledgementInSchema)
@blp.response(201, RecallSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def recall_acknowledge(values: dict, recall_id: int):
    """Your organisation says what it did with the food it holds (quarantined,
    destroyed, returned) and how many kg (at most what it holds, else 400): 201 with the
    recall, closed once every holder answered. 403 if your organisation holds none of
    it, 404 if you may not see the recall, 409 once answered or when closed."""
    recall = access.get_for(g.api_user, Recall, recall_id)
    recalls.acknowledge(db.session, g.api_user, recall, values["action"], values["kg"])
    db.session.commit()
    return recall
