"""Runs, bookings, stop confirmations and self-collections through the JSON API; the
same schemas and services as the pages."""

from __future__ import annotations

from datetime import timedelta

from flask import g

from .. import access, clock
from ..errors import Conflict
from ..extensions import db
from ..models import Claim, Run, Stop
from ..schemas.answers import (
    BookingSchema,
    ClaimSchema,
    ErrorSchema,
    RefusalSchema,
    RunDetailSchema,
    RunSchema,
    StopSchema,
    ThrottledSchema,
)
from ..schemas.collection import CollectionInSchema
from ..schemas.run import (
    BookingInSchema,
    RunDriverInSchema,
    StopConfirmInSchema,
    StopMissedInSchema,
)
from ..services import booking, collection
from ..services import runs as run_service
from ..services import stops as stop_service
from ..services.booking import Proposal
from ..services.food_safety import TOO_WARM
from ..services.lot_dates import local_today
from .auth import token_required
from .blueprint import Blueprint

blp = Blueprint("api_runs", __name__, url_prefix="/api/v1", description="Runs and bookings")


@blp.get("/runs")
@blp.response(200, RunSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema)
@token_required
def run_list():
    """Your platform's runs from today (local midnight: a run that left this morning is
    still listed in the evening), two weeks ahead."""
    today = run_service.local_time(local_today(clock.now()), "00:00")
    return db.session.scalars(
        access.visible_runs(g.api_user)
        .where(Run.start_at >= today, Run.start_at < today + timedelta(days=15))
        .order_by(Run.start_at)
    ).all()


class _RunShown:
    """A run as one reader sees it: the stops it may see (a client platform, its own
    claims' only), with their planned times and the load after each."""

    def __init__(self, run: Run, user) -> None:
        table = run_service.timetable(run)
        self._run = run
        self.km = round(table.km, 2)
        self.stops = []
        for stop, eta, load in table.rows:
            stop.planned_at, stop.load_after_kg = eta, round(load, 3)
            if access.stop_shown(user, stop):
                self.stops.append(stop)

    def __getattr__(self, name: str):
        return getattr(self._run, name)


def _run(run_id: int) -> Run:
    return access.require(
        g.api_user,
        access.VIEW,
        db.session.get(Run, run_id, options=run_service.sheet_options()),
    )


def _refused(outcome: stop_service.Outcome, temperature_field: str) -> Conflict:
    """The 409 of a hand-over recorded as refused (at a stop, or a self-collection):
    ``refused``, ``limit_c`` and ``reason``, the reading's field named when too warm."""
    fields = {temperature_field: outcome.message} if outcome.reason == TOO_WARM else {}
    return Conflict(
        outcome.message, fields, refused=True, limit_c=outcome.limit_c, reason=outcome.reason
    )


@blp.get("/runs/<int:run_id>")
@blp.response(200, RunDetailSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@token_required
def run_show(run_id: int):
    """A run with its stops in order, planned times and load after each stop (a platform
    following another's run under a transport agreement: its own claims' stops), and
    its driver."""
    return _RunShown(_run(run_id), g.api_user)


@blp.patch("/runs/<int:run_id>")
@blp.arguments(RunDriverInSchema)
@blp.response(200, RunDetailSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def run_update(values: dict, run_id: int):
    """Choose who drives the run (``driver_id``: an active account of the run's
    platform, or ``null`` for nobody); only the platform's coordinators (403). 400 for
    an account that is not the platform's, 409 for a deactivated one or a run that is
    over; the answer is the run as ``GET`` gives it."""
    run = _run(run_id)
    run_service.assign_driver(db.session, g.api_user, run, values["driver_id"])
    db.session.commit()
    return _RunShown(run, g.api_user)


@blp.post("/claims/<int:claim_id>/booking")
@blp.arguments(BookingInSchema, required=False)
@blp.response(201, BookingSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=RefusalSchema)
@blp.alt_response(429, schema=ThrottledSchema)
@token_required
def claim_book(values: dict, claim_id: int):
    """Book the claim on the best run (empty body), on ``run_id``, or ``self_collect``;
    400 with the reasons when no run fits in time."""
    claim = access.get_for(g.api_user, Claim, claim_id)
    if values["self_collect"]:
        booking.self_collect(db.session, g.api_user, claim)
        db.session.commit()
        return {"claim_id": claim.id, "self_collect": True, "run_id": None}
    proposal = booking.book(db.session, g.api_user, claim, run_id=values["run_id"])
    db.session.commit()
    return _booked(claim, proposal)


def _booked(claim: Claim, proposal: Proposal) -> dict:
    if proposal.relay is not None:
        relay = proposal.relay
        return {
            "claim_id": claim.id,
            "self_collect": False,
            "run_id": relay.first_run.id,
            "pickup_eta": relay.first.pickup_eta.isoformat(),
            "drop_eta": relay.second.drop_eta.isoformat(),
            "added_km": round(relay.added_km, 2),
            "relay": {
                "hub_depot_id": relay.hub.id,
                "second_run_id": relay.second_run.id,
                "hub_eta": relay.first.drop_eta.isoformat(),
                "hub_departure_eta": relay.second.pickup_eta.isoformat(),
            },
        }
    ins = proposal.insertion
    assert ins is not None
    return {
        "claim_id": claim.id,
        "self_collect": False,
        "run_id": ins.run_id,
        "pickup_eta": ins.pickup_eta.isoformat(),
        "drop_eta": ins.drop_eta.isoformat(),
        "added_km": round(ins.added_km, 2),
    }


@blp.post("/stops/<int:stop_id>/confirm")
@blp.arguments(StopConfirmInSchema, required=False)
@blp.response(200, StopSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=RefusalSchema)
@token_required
def stop_confirm(values: dict, stop_id: int):
    """Picked up / delivered with ``temperature`` (°C, chilled and frozen lots) and
    ``receiver``. A missing temperature for chilled or frozen food, or one that is not
    a plausible measurement (NaN, 1e999, 80 °C), is a 400 and records nothing. A
    hand-over that fails the check (too warm for the product, or past the use-by) is
    recorded as refused, the claim ends refused, and the answer is a 409 with
    ``refused``, ``limit_c`` and ``reason`` (``too_warm``, ``use_by_passed`` or ``recalled``)."""
    stop = access.get_for(g.api_user, Stop, stop_id, access.CONFIRM)
    outcome = stop_service.confirm(db.session, g.api_user, stop, **values)
    db.session.commit()
    if not outcome.ok:  # recorded as refused (committed above), and reported
        raise _refused(outcome, "temperature")
    return stop


@blp.post("/stops/<int:stop_id>/nobody-there")
@blp.arguments(StopMissedInSchema, required=False)
@blp.response(200, StopSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema)
@token_required
def stop_nobody_there(values: dict, stop_id: int):
    """Nobody was there to receive the food at this drop-off, with an optional ``note``.
    The stop ends ``missed`` and its claim ``returned``: the food goes back with the van
    to the run's platform, which receives it at one of its depots (``POST
    /depots/{id}/receipts`` with the ``claim_id``) and may offer it again. The
    beneficiary and the coordinators concerned are told. Only the run's platform (403;
    a stop it cannot see is a 404); a stop already confirmed, a pickup, a drop at a hub
    or a depot, or a drop-off whose pickup is not confirmed is a 409."""
    stop = access.get_for(g.api_user, Stop, stop_id, access.CONFIRM)
    stop_service.nobody_there(db.session, g.api_user, stop, **(values or {}))
    db.session.commit()
    return stop


@blp.post("/claims/<int:claim_id>/collection")
@blp.arguments(CollectionInSchema)
@blp.response(200, ClaimSchema)
@blp.alt_response(400, schema=ErrorSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(403, schema=ErrorSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=RefusalSchema)
@token_required
def claim_collection(values: dict, claim_id: int):
    """The beneficiary's people collected the self-collected claim at the donor's:
    ``receiver`` (who took it), ``temperature_c`` (°C, chilled and frozen lots), ``note``.
    Its beneficiary's members and its platform's coordinators only (403; another
    organisation's claim is a 404). The answer is the claim, ``delivered``. A missing
    receiver, or a missing or implausible reading for chilled or frozen food, is a 400
    naming the field, and records nothing; a claim not active or not self-collected is a
    409. A hand-over that fails the check (too warm, past the use-by, recalled) is
    recorded as refused, the claim ends refused, and the answer is a 409 with
    ``refused``, ``limit_c`` and ``reason``, as at a stop."""
    claim = access.get_for(g.api_user, Claim, claim_id, access.COLLECT, str(collection.NOT_YOURS))
    outcome = collection.confirm_collection(
        db.session,
        g.api_user,
        claim,
        temperature=values["temperature_c"],
        receiver=values["receiver"],
        note=values["note"],
    )
    db.session.commit()
    if not outcome.ok:  # recorded as refused (committed above), and reported
        raise _refused(outcome, "temperature_c")
    return claim
