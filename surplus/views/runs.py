"""Runs: the platform's list, a run's page (map, timetable, load), the driver's sheet."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import access
from ..errors import DomainError
from ..extensions import db, htmx
from ..models import Depot, Run, RunTemplate, Stop, Vehicle
from ..services import runs as service
from ..services import stops as stop_service
from ..services.lot_dates import BRUSSELS

bp = Blueprint("runs", __name__, url_prefix="/runs")


def _platform_member() -> None:
    if not current_user.organisation.is_platform:
        abort(403)


@bp.get("/")
@login_required
def run_list():
    """The platform's runs from today, two weeks ahead, with templates and one-off form."""
    _platform_member()
    start = datetime.now(BRUSSELS).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = db.session.scalars(
        select(Run).options(selectinload(Run.vehicle), selectinload(Run.stops))
        .where(Run.platform_id == current_user.organisation_id, Run.start_at >= start,
               Run.start_at < start + timedelta(days=15)).order_by(Run.start_at)).all()
    templates = db.session.scalars(select(RunTemplate).where(
        RunTemplate.platform_id == current_user.organisation_id)
        .order_by(RunTemplate.weekday, RunTemplate.name)).all()
    vehicles = db.session.scalars(select(Vehicle).where(
        Vehicle.platform_id == current_user.organisation_id)).all()
    depots = db.session.scalars(select(Depot).where(
        Depot.platform_id == current_user.organisation_id)).all()
    return render_template("runs/list.html", runs=rows, templates=templates,
                           vehicles=vehicles, depots=depots)


@bp.post("/")
@login_required
def run_create():
    """A one-off run (coordinators): vehicle, depot, departure."""
    _platform_member()
    try:
        start = datetime.fromisoformat(request.form.get("start_at", "")).replace(
            tzinfo=BRUSSELS)
        run = service.create_one_off(
            db.session, current_user, request.form.get("vehicle_id", type=int) or 0,
            request.form.get("depot_id", type=int) or 0, start, request.form.get("name", ""))
    except ValueError:
        flash(_("Enter the departure date and time."), "error")
        return redirect(url_for("runs.run_list"))
    except DomainError as error:
        db.session.rollback()
        flash(" ".join(str(v) for v in error.fields.values()) or error.message, "error")
        return redirect(url_for("runs.run_list"))
    db.session.commit()
    return redirect(url_for("runs.run_show", run_id=run.id))


def _points(run: Run) -> list[dict]:
    points = [{"lat": run.depot.lat, "lon": run.depot.lon, "kind": "platform",
               "label": run.depot.name}]
    points += [{"lat": s.lat, "lon": s.lon, "kind": {"pickup": "lot", "dropoff": "cpas"}.get(
        s.kind.value, "association"), "label": f"{i + 1}. {s.address}"}
        for i, s in enumerate(run.stops)]
    return points


@bp.get("/<int:run_id>")
@login_required
def run_show(run_id: int):
    """Route on a map, stops in order with planned times, load after each stop."""
    run = access.get_for(current_user, Run, run_id)
    from flask import current_app

    return render_template("runs/show.html", run=run, table=service.timetable(run),
                           points=_points(run), tiles=current_app.config["MAP_TILE_URL"],
                           attribution=current_app.config["MAP_TILE_ATTRIBUTION"])


@bp.get("/<int:run_id>/sheet")
@login_required
def run_sheet(run_id: int):
    """The driver's sheet: phone-first, one card per stop, confirm on the spot.
    ``?print=1`` gives the A4 version."""
    run = access.get_for(current_user, Run, run_id)
    template = "runs/print.html" if request.args.get("print") else "runs/sheet.html"
    return render_template(template, run=run, table=service.timetable(run))


@bp.post("/stops/<int:stop_id>/confirm")
@login_required
def stop_confirm(stop_id: int):
    """Picked up / delivered, with temperature and receiver; too warm is refused (422)."""
    stop = access.get_for(current_user, Stop, stop_id)
    error, status = None, 200
    try:
        outcome = stop_service.confirm(
            db.session, current_user, stop, request.form.get("temperature"),
            request.form.get("receiver", ""), request.form.get("note", ""))
    except DomainError as exc:
        db.session.rollback()
        error, status = exc.message, 422
    else:
        db.session.commit()  # a refusal is recorded too
        if not outcome.ok:
            error, status = outcome.message, 422
    if htmx:
        table = service.timetable(stop.run)
        row = next(r for r in table.rows if r[0].id == stop.id)
        return render_template("runs/_stop_card.html", run=stop.run, row=row,
                               error=error), status
    if error:
        flash(error, "error")
    return redirect(url_for("runs.run_sheet", run_id=stop.run_id))


@bp.post("/stops/<int:stop_id>/remove")
@login_required
def stop_remove(stop_id: int):
    """Remove a stop from a run (coordinators); times and load follow."""
    stop = access.get_for(current_user, Stop, stop_id, access.CHANGE)
    run_id = stop.run_id
    try:
        if stop.claim_id:
            from ..models import Claim
            from ..services import booking

            booking.unbook(db.session, current_user, db.session.get(Claim, stop.claim_id))
        else:
            service.remove_stop(db.session, current_user, stop)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
    return redirect(url_for("runs.run_show", run_id=run_id))
