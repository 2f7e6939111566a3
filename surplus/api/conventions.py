"""Conventions through the JSON API; the same service as the pages."""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy import or_, select

from .. import access
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..models import Convention
from ..services import conventions as service
from .auth import token_required
from .schemas import ConventionInSchema, ConventionSchema, DecisionSchema, ErrorSchema

blp = Blueprint("api_conventions", __name__, url_prefix="/api/v1", description="Conventions")


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(_("Send a JSON object."))
    return body


def _visible(conv_id: int) -> Convention:
    conv = db.session.get(Convention, conv_id)
    if conv is None or not access.can(g.api_user, access.VIEW, conv):
        if conv is not None and g.api_user.is_coordinator:
            raise Forbidden(_("Only a coordinator of this platform can decide."))
        raise NotFound(_("Not found."))
    return conv


@blp.get("/conventions")
@blp.response(200, ConventionSchema(many=True))
@token_required
def convention_list():
    """The conventions of your organisation (as beneficiary or as platform)."""
    org_id = g.api_user.organisation_id
    return db.session.scalars(select(Convention).where(or_(
        Convention.beneficiary_id == org_id, Convention.platform_id == org_id))
        .order_by(Convention.id)).all()


@blp.post("/conventions")
@blp.doc(requestBody={"content": {"application/json": {"schema": ConventionInSchema}}})
@blp.response(201, ConventionSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def convention_create():
    """Request a convention with ``platform_id``; 409 if one is already open."""
    body = _body()
    conv = service.request_convention(db.session, g.api_user, body.get("platform_id"), body)
    db.session.commit()
    return conv


@blp.get("/conventions/<int:conv_id>")
@blp.response(200, ConventionSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def convention_show(conv_id: int):
    """One of your conventions."""
    return _visible(conv_id)


@blp.patch("/conventions/<int:conv_id>")
@blp.doc(requestBody={"content": {"application/json": {"schema": ConventionInSchema}}})
@blp.response(200, ConventionSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@token_required
def convention_update(conv_id: int):
    """Update your figures; widening changes wait in ``pending_changes``."""
    conv = _visible(conv_id)
    service.update_figures(db.session, g.api_user, conv, _body())
    db.session.commit()
    return conv


@blp.post("/conventions/<int:conv_id>/decision")
@blp.doc(requestBody={"content": {"application/json": {"schema": DecisionSchema}}})
@blp.response(200, ConventionSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def convention_decide(conv_id: int):
    """Coordinators of the platform decide: approve, decline, suspend, reinstate, end."""
    conv = db.session.get(Convention, conv_id)
    if conv is None:
        raise NotFound(_("Not found."))
    if not service.may_decide(g.api_user, conv):
        if g.api_user.is_coordinator or access.can(g.api_user, access.VIEW, conv):
            raise Forbidden(_("Only a coordinator of this platform can decide."))
        raise NotFound(_("Not found."))
    body = _body()
    service.decide(db.session, g.api_user, conv, str(body.get("action", "")),
                   reason=str(body.get("reason") or ""), valid_from=body.get("valid_from"),
                   valid_until=body.get("valid_until"), fse_plus=body.get("fse_plus") is True)
    db.session.commit()
    return conv
