"""Vans and weekly rounds of a platform (coordinators).

The page holds several plain HTML forms (with a CSRF token); each is loaded by its schema
in ``schemas.fleet``. When one is refused, the page comes back (422) with that form's
values and a message per field."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from .. import access, labels
from ..errors import Invalid
from ..extensions import db
from ..models import Depot, RunTemplate, Vehicle
from ..schemas.base import form_values, load
from ..schemas.fleet import TemplateInSchema, TemplateStopInSchema, VehicleInSchema
from ..services import fleet, platform_board
from .helpers import render_form

bp = Blueprint("fleet", __name__, url_prefix="/runs/fleet")


def _require_coordinator() -> None:
    access.require_platform_member(current_user)
    access.require_coordinator(current_user, current_user.organisation_id, str(fleet.FLEET_MESSAGE))


def _page(status: int = 200, failed: str | None = None, error: Invalid | None = None):
    """The fleet page; ``failed`` names the refused form ("vehicle", "template",
    "stop-<id>") which comes back with the submitted values and the messages."""
    user = current_user
    templates = db.session.scalars(
        access.visible_templates(user)
        .options(selectinload(RunTemplate.stops))
        .order_by(RunTemplate.weekday, RunTemplate.departure)
    ).all()
    network = [c.beneficiary for c in platform_board.network(db.session, user.organisation)]
    return render_form(
        "runs/fleet.html",
        status,
        vans=db.session.scalars(access.visible_vehicles(user).order_by(Vehicle.name)).all(),
        depots=db.session.scalars(access.visible_depots(user).order_by(Depot.name)).all(),
        templates=templates,
        network=network,
        weekdays=[str(d) for d in labels.WEEKDAYS],
        failed=failed,
        values=request.form if failed else {},
        errors=error.fields if error else {},
        form_error=error.message if error and not error.fields else None,
    )


@bp.get("/")
@login_required
def fleet_show():
    """Vans, depots and weekly rounds with their regular stops, and the forms to add them."""
    _require_coordinator()
    return _page()


def _save(which: str, schema, action, *args):
    """Load the form with ``schema``, call the service; the page again (422) on errors."""
    try:
        action(db.session, current_user, *args, **load(schema, form_values(schema, request.form)))
    except Invalid as error:
        db.session.rollback()
        return _page(422, which, error)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("fleet.fleet_show"))


@bp.post("/vehicles")
@login_required
def vehicle_create():
    """Add a van: name, capacity, refrigerated, freezer."""
    _require_coordinator()
    return _save("vehicle", VehicleInSchema(), fleet.add_vehicle)


@bp.post("/templates")
@login_required
def template_create():
    """Add a weekly round: day, departure, van, depot."""
    _require_coordinator()
    return _save("template", TemplateInSchema(), fleet.add_template)


@bp.post("/templates/<int:template_id>/stops")
@login_required
def template_stop_create(template_id: int):
    """Add a regular stop at the end of a round."""
    template = access.get_for(current_user, RunTemplate, template_id, access.CHANGE)
    return _save(f"stop-{template.id}", TemplateStopInSchema(), fleet.add_template_stop, template)


@bp.post("/templates/<int:template_id>/toggle")
@login_required
def template_toggle(template_id: int):
    """Pause or resume a round (resuming plans its next two weeks)."""
    template = access.get_for(current_user, RunTemplate, template_id, access.CHANGE)
    fleet.toggle_template(db.session, current_user, template)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("fleet.fleet_show"))
