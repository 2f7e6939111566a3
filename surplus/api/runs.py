"""Runs, bookings and stop confirmations through the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy import select

from .. import access
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db
from ..models import Claim, Run, Stop
from ..services import booking
from ..services import runs as run_service
from ..services import stops as stop_service
from .auth import token_required
from .schemas import (
    BookingInSchema,
    BookingSchema,
    ErrorSchema,
    RunDetailSchema,
    RunSchema,
    StopConfirmInSchema,
    StopSchema,
)

blp = Blueprint("api_runs", __name__, url_prefix="/api/v1", description="Runs and bookings")


def _get(model, ident: int, action: str = access.VIEW):
    obj = db.session.get(model, ident)
    if obj is None or not access.can(g.api_user, access.VIEW, obj):
        raise NotFound(_("Not found."))
    if action != access.VIEW and not access.can(g.api_user, action, obj):
        raise Forbidden(_("You are not allowed to do this."))
    return obj


@blp.get("/runs")
@blp.response(200, RunSchema(many=True))
@token_required
def run_list():
    """Your platform's runs from today, two weeks ahead."""
    now = datetime.now(UTC) - timedelta(hours=12)
    return db.session.scalars(select(Run).where(
        Run.platform_id == g.api_user.organisation_id, Run.start_at >= now,
        Run.start_at < now + timedelta(days=15)).order_by(Run.start_at)).all()


@blp.get("/runs/<int:run_id>")
@blp.response(200, RunDetailSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def run_show(run_id: int):
    """A run with its stops in order, planned times and load after each stop."""
    run = _get(Run, run_id)
    table = run_service.timetable(run)
    for stop, eta, load in table.rows:
        stop.planned_at, stop.load_after_kg = eta, round(load, 3)
    run.km = round(table.km, 2)
    return run


@blp.post("/claims/<int:claim_id>/booking")
@blp.doc(requestBody={"content": {"application/json": {"schema": BookingInSchema}}})
@blp.response(201, BookingSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def claim_book(claim_id: int):
    """Book the claim on the best run (or ``run_id``), or ``self_collect``; 400 with the
    reasons when no run fits in time."""
    claim = _get(Claim, claim_id)
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        raise Invalid(_("Send a JSON object."))
    if body.get("self_collect") is True:
        booking.self_collect(db.session, g.api_user, claim)
        db.session.commit()
        return {"claim_id": claim.id, "self_collect": True, "run_id": None}
    run_id = body.get("run_id")
    if run_id is not None and (not isinstance(run_id, int) or isinstance(run_id, bool)):
        raise Invalid(_("run_id must be a number."), {"run_id": _("Enter a number.")})
    proposal = booking.book(db.session, g.api_user, claim, run_id=run_id)
    db.session.commit()
    if proposal.relay is not None:
        relay = proposal.relay
        return {"claim_id": claim.id, "self_collect": False, "run_id": relay.first_run.id,
                "pickup_eta": relay.first.pickup_eta.isoformat(),
                "drop_eta": relay.second.drop_eta.isoformat(),
                "added_km": round(relay.added_km, 2),
                "relay": {"hub_depot_id": relay.hub.id, "second_run_id": relay.second_run.id,
                          "hub_eta": relay.first.drop_eta.isoformat(),
                          "hub_departure_eta": relay.second.pickup_eta.isoformat()}}
    ins = proposal.insertion
    assert ins is not None
    return {"claim_id": claim.id, "self_collect": False, "run_id": ins.run_id,
            "pickup_eta": ins.pickup_eta.isoformat(), "drop_eta": ins.drop_eta.isoformat(),
            "added_km": round(ins.added_km, 2)}


@blp.post("/stops/<int:stop_id>/confirm")
@blp.doc(requestBody={"content": {"application/json": {"schema": StopConfirmInSchema}}})
@blp.response(200, StopSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def stop_confirm(stop_id: int):
    """Picked up / delivered with ``temperature`` (°C, chilled and frozen lots) and
    ``receiver``; a too-warm handover answers 409 and is recorded as refused."""
    stop = _get(Stop, stop_id)
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        raise Invalid(_("Send a JSON object."))
    outcome = stop_service.confirm(db.session, g.api_user, stop, body.get("temperature"),
                                   str(body.get("receiver") or ""), str(body.get("note") or ""))
    db.session.commit()
    if not outcome.ok:  # recorded as refused (committed above), and reported
        raise Conflict(outcome.message, {"temperature": outcome.message}, refused=True)
    return stop
