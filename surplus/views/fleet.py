"""Vans and weekly rounds of a platform (coordinators)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import labels
from ..errors import DomainError
from ..extensions import db
from ..models import Depot, RunTemplate, Vehicle
from ..services import fleet, platform_board

bp = Blueprint("fleet", __name__, url_prefix="/runs/fleet")


def _coordinator() -> None:
    if not current_user.is_coordinator:
        abort(403)


@bp.get("/")
@login_required
def fleet_show():
    """Vans, depots and weekly rounds with their regular stops, and the forms to add them."""
    _coordinator()
    platform = current_user.organisation
    vans = db.session.scalars(select(Vehicle).where(Vehicle.platform_id == platform.id)
                              .order_by(Vehicle.name)).all()
    depots = db.session.scalars(select(Depot).where(Depot.platform_id == platform.id)).all()
    templates = db.session.scalars(
        select(RunTemplate).options(selectinload(RunTemplate.stops))
        .where(RunTemplate.platform_id == platform.id)
        .order_by(RunTemplate.weekday, RunTemplate.departure)).all()
    network = [c.beneficiary for c in platform_board.network(db.session, platform)]
    return render_template("runs/fleet.html", vans=vans, depots=depots, templates=templates,
                           network=network, weekdays=[str(d) for d in labels.WEEKDAYS])


def _act(action, *args) -> None:
    try:
        action(db.session, current_user, *args)
    except DomainError as error:
        db.session.rollback()
        flash(" ".join(str(v) for v in error.fields.values()) or error.message, "error")
    else:
        db.session.commit()
        flash(_("Saved."), "success")


@bp.post("/vehicles")
@login_required
def vehicle_create():
    """Add a van: name, capacity, refrigerated, freezer."""
    _coordinator()
    _act(fleet.add_vehicle, request.form)
    return redirect(url_for("fleet.fleet_show"))


@bp.post("/templates")
@login_required
def template_create():
    """Add a weekly round: day, departure, van, depot."""
    _coordinator()
    _act(fleet.add_template, request.form)
    return redirect(url_for("fleet.fleet_show"))


def _template(template_id: int) -> RunTemplate:
    template = db.session.get(RunTemplate, template_id)
    if template is None or template.platform_id != current_user.organisation_id:
        abort(404)
    return template


@bp.post("/templates/<int:template_id>/stops")
@login_required
def template_stop_create(template_id: int):
    """Add a regular stop at the end of a round."""
    _coordinator()
    _act(fleet.add_template_stop, _template(template_id), request.form)
    return redirect(url_for("fleet.fleet_show"))


@bp.post("/templates/<int:template_id>/toggle")
@login_required
def template_toggle(template_id: int):
    """Pause or resume a round (resuming plans its next two weeks)."""
    _coordinator()
    _act(fleet.toggle_template, _template(template_id))
    return redirect(url_for("fleet.fleet_show"))
