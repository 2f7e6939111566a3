"""Runs: the platform's list, a run's page (map, timetable, load), the driver's sheet.

The forms here are plain HTML with a CSRF token (the stop card is one per stop, swapped
by htmx); their input is loaded by the schemas in ``schemas.run`` and comes back with
the user's values and a message per field on error (422, which htmx swaps)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from .. import access, clock
from ..errors import Conflict, DomainError, Invalid
from ..extensions import db, htmx
from ..models import Depot, Run, RunTemplate, Stop, Vehicle
from ..schemas.base import form_values, load
from ..schemas.run import RunDriverInSchema, RunInSchema, StopConfirmInSchema, StopMissedInSchema
from ..services import booking
from ..services import runs as service
from ..services import stops as stop_service
from ..services.lot_dates import BRUSSELS, local_today
from .helpers import render_form, safe_next

bp = Blueprint("runs", __name__, url_prefix="/runs")


def _list_page(status: int = 200, values=None, error: DomainError | None = None):
    start = clock.now().astimezone(BRUSSELS).replace(hour=0, minute=0, second=0, microsecond=0)
    user = current_user
    rows = db.session.scalars(
        access.visible_runs(user)
        .options(selectinload(Run.vehicle), selectinload(Run.stops), selectinload(Run.driver))
        .where(Run.start_at >= start, Run.start_at < start + timedelta(days=15))
        .order_by(Run.start_at)
    ).all()
    templates = db.session.scalars(
        access.visible_templates(user).order_by(RunTemplate.weekday, RunTemplate.name)
    ).all()
    vehicles = db.session.scalars(access.visible_vehicles(user).order_by(Vehicle.name)).all()
    depots = db.session.scalars(access.visible_depots(user).order_by(Depot.name)).all()
    return render_form(
        "runs/list.html",
        status,
        runs=rows,
        templates=templates,
        vehicles=vehicles,
        depots=depots,
        drivers=_drivers(user),
        values=values or {},
        errors=error.fields if error else {},
        form_error=error.message if error and not error.fields else None,
    )


@bp.get("/")
@login_required
def run_list():
    """The platform's runs from today, two weeks ahead, with templates and one-off form."""
    access.require_platform_member(current_user)
    return _list_page()


@bp.post("/")
@login_required
def run_create():
    """A one-off run (coordinators): vehicle, depot, departure; the form comes back (422)
    with a message per field when something is wrong."""
    access.require_platform_member(current_user)
    schema = RunInSchema()
    try:
        run = service.create_one_off(
            db.session, current_user, **load(schema, form_values(schema, request.form))
        )
    except Invalid as error:
        db.session.rollback()
        return _list_page(422, request.form, error)
    db.session.commit()
    return redirect(url_for("runs.run_show", run_id=run.id))


def _points(run: Run, rows) -> list[dict]:
    points = [
        {"lat": run.depot.lat, "lon": run.depot.lon, "kind": "platform", "label": run.depot.name}
    ]
    points += [
        {
            "lat": s.lat,
            "lon": s.lon,
            "kind": {"pickup": "lot", "dropoff": "cpas"}.get(s.kind.value, "association"),
            "label": f"{i + 1}. {s.address}",
        }
        for i, (s, _eta, _load) in enumerate(rows)
    ]
    return points


def _drivers(user) -> list:
    """The accounts a coordinator may choose as a run's driver (none for the others)."""
    if not access.coordinates(user, user.organisation_id):
        return []
    return service.drivers(db.session, user.organisation_id)


def _run_and_table(run_id: int) -> tuple[Run, service.Timetable]:
    """The run (404 unless the user may see it) and its timetable, with the stops it
    may see: all of them for the run's platform, its own claims' for a client platform."""
    run = access.require(
        current_user, access.VIEW, db.session.get(Run, run_id, options=service.sheet_options())
    )
    table = service.timetable(run)
    if not access.sees_whole_run(current_user, run):
        table = replace(
            table, rows=[r for r in table.rows if access.stop_shown(current_user, r[0])]
        )
    return run, table


@bp.get("/<int:run_id>")
@login_required
def run_show(run_id: int):
    """Route on a map, stops in order with planned times, load after each stop; its
    coordinators choose the driver here."""
    run, table = _run_and_table(run_id)
    return render_template(
        "runs/show.html",
        run=run,
        table=table,
        points=_points(run, table.rows),
        drivers=_drivers(current_user) if access.can(current_user, access.ASSIGN, run) else [],
        tiles=current_app.config["MAP_TILE_URL"],
        attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
    )


@bp.post("/<int:run_id>/driver")
@login_required
def run_driver(run_id: int):
    """Give the run to one of the platform's accounts, or to nobody (its coordinators);
    back to the page the form was on, saying what happened."""
    run = access.get_for(current_user, Run, run_id)
    schema = RunDriverInSchema()
    values = form_values(schema, request.form)
    if values.get("driver_id") == "":
        values["driver_id"] = None
    try:
        service.assign_driver(db.session, current_user, run, **load(schema, values))
    except (Invalid, Conflict) as error:  # a refusal (403) answers as such
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        if run.driver is not None:
            flash(_("%(name)s drives %(run)s.", name=run.driver.name, run=run.name), "success")
        else:
            flash(_("Nobody drives %(run)s now.", run=run.name), "success")
    back = safe_next(request.form.get("next"))
    return redirect(back or url_for("runs.run_show", run_id=run.id))


@bp.get("/<int:run_id>/sheet")
@login_required
def run_sheet(run_id: int):
    """The driver's sheet: phone-first, one card per stop, confirm on the spot.
    ``?print=1`` gives the A4 version."""
    run, table = _run_and_table(run_id)
    template = "runs/print.html" if request.args.get("print") else "runs/sheet.html"
    return render_template(template, run=run, table=table)


@bp.get("/mine")
@login_required
def run_mine():
    """The runs the signed-in member drives, today and the coming seven days."""
    access.require_platform_member(current_user)
    today = local_today()
    days: dict = {}
    for card in service.driver_runs(db.session, current_user, today, 8):
        days.setdefault(card.run.start_at.astimezone(BRUSSELS).date(), []).append(card)
    return render_template("runs/mine.html", days=list(days.items()), today=today)


@bp.post("/stops/<int:stop_id>/confirm")
@login_required
def stop_confirm(stop_id: int):
    """Picked up / delivered, with temperature and receiver. A hand-over that fails the
    check (too warm, past the use-by) is refused and recorded (422), and the claim's
    stops still on this run leave the sheet (out-of-band deletes); bad input records
    nothing (422, the card keeps the driver's entries and says what is wrong)."""
    stop = access.get_for(current_user, Stop, stop_id, access.CONFIRM)
    siblings = [
        s.id
        for s in stop.run.stops
        if stop.claim_id is not None and s.claim_id == stop.claim_id and s.id != stop.id
    ]
    error, errors, status = None, {}, 200
    schema = StopConfirmInSchema()
    try:
        outcome = stop_service.confirm(
            db.session, current_user, stop, **load(schema, form_values(schema, request.form))
        )
    except DomainError as exc:
        db.session.rollback()
        error, errors, status = exc.message, exc.fields, 422
    else:
        db.session.commit()  # a refusal is recorded too
        if not outcome.ok:
            error, status = outcome.message, 422
    return _stop_answer(
        stop,
        status,
        error,
        errors,
        errors=errors,
        values=request.form if errors else {},
        gone=[i for i in siblings if db.session.get(Stop, i) is None],
    )


def _stop_answer(stop: Stop, status: int, error: str | None, fields: dict, **card: Any):
    """After a driver's action on a stop: its card again (htmx; ``card`` adds to the
    template's context), or the sheet with the error flashed."""
    if htmx:
        table = service.timetable(stop.run)
        row = next(r for r in table.rows if r[0].id == stop.id)
        return render_template(
            "runs/_stop_card.html", run=stop.run, row=row, error=error, **card
        ), status
    if error:
        flash(" ".join([error, *(str(m) for m in fields.values())]), "error")
    return redirect(url_for("runs.run_sheet", run_id=stop.run_id))


@bp.post("/stops/<int:stop_id>/nobody-there")
@login_required
def stop_nobody_there(stop_id: int):
    """Nobody was there to receive the food at a drop-off: the stop ends missed, the
    claim returned to the platform (services.stops.nobody_there). The card comes back
    (htmx) or the sheet (422 with the reason when it cannot be recorded)."""
    stop = access.get_for(current_user, Stop, stop_id, access.CONFIRM)
    error, errors, status = None, {}, 200
    schema = StopMissedInSchema()
    try:
        stop_service.nobody_there(
            db.session, current_user, stop, **load(schema, form_values(schema, request.form))
        )
    except DomainError as exc:
        db.session.rollback()
        error, errors, status = exc.message, exc.fields, 422
    else:
        db.session.commit()
    return _stop_answer(
        stop,
        status,
        error,
        errors,
        missed_errors=errors,
        missed_values=request.form if error else {},
    )


@bp.post("/stops/<int:stop_id>/remove")
@login_required
def stop_remove(stop_id: int):
    """Remove a stop from a run (coordinators); times and load follow. A booked stop
    takes its claim's other stops with it (the claim is unbooked)."""
    stop = access.get_for(current_user, Stop, stop_id, access.CHANGE)
    run_id = stop.run_id
    try:
        if stop.claim is not None:
            booking.unbook(db.session, current_user, stop.claim)
        else:
            service.remove_stop(db.session, current_user, stop)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
    return redirect(url_for("runs.run_show", run_id=run_id))


@bp.get("/<int:run_id>/picklist")
@login_required
def run_picklist(run_id: int):
    """The depot team's pick list: what to take from which zone, first expired first out,
    and the stop each line goes to. 404 for anyone but the run's platform's members."""
    from ..services.depots.picklist import picklist

    run = access.get_for(current_user, Run, run_id)
    zones = picklist(db.session, current_user, run)
    return render_template("depots/picklist.html", run=run, zones=zones)
