"""Conventions through the JSON API; the same schemas and service as the pages."""

from __future__ import annotations

from flask import g

from .. import access
from ..extensions import db
from ..models import Convention
from ..schemas.answers import ConventionConflictSchema, ConventionSchema, ErrorSchema
from ..schemas.convention import ConventionInSchema, DecisionSchema, FiguresSchema
from ..services import conventions as service
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_conventions", __name__, url_prefix="/api/v1", description="Conventions")


@blp.get("/conventions")
@blp.response(200, ConventionSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def convention_list():
    """The conventions of your organisation (as beneficiary or as platform)."""
    return db.session.scalars(access.visible_conventions(g.api_user).order_by(Convention.id)).all()


@blp.post("/conventions")
@blp.response(201, ConventionSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(409, schema=ConventionConflictSchema)
@token_required
@blp.arguments(ConventionInSchema)
def convention_create(data: dict):
    """Request a convention with the logistics platform ``platform_id`` (beneficiary
    administrators); 409 if one is already open with it."""
    conv = service.request_convention(db.session, g.api_user, data.pop("platform_id"), data)
    db.session.commit()
    return conv


@blp.get("/conventions/<int:conv_id>")
@blp.response(200, ConventionSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def convention_show(conv_id: int):
    """One of your conventions."""
    return access.get_for(g.api_user, Convention, conv_id)


@blp.patch("/conventions/<int:conv_id>")
@blp.response(200, ConventionSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
@blp.arguments(FiguresSchema(partial=True))
def convention_update(data: dict, conv_id: int):
    """Change the figures given (the others keep their value); widening changes wait in
    ``pending_changes`` for the platform's coordinator."""
    conv = access.get_for(g.api_user, Convention, conv_id, access.CHANGE)
    service.update_figures(db.session, g.api_user, conv, data)
    db.session.commit()
    return conv


@blp.post("/conventions/<int:conv_id>/decision")
@blp.response(200, ConventionSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
@blp.arguments(DecisionSchema)
def convention_decide(data: dict, conv_id: int):
    """Coordinators of the platform decide: approve, decline, suspend, reinstate, end."""
    conv = access.get_for(g.api_user, Convention, conv_id)
    service.decide(db.session, g.api_user, conv, data.pop("action"), **data)
    db.session.commit()
    return conv
