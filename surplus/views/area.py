"""A platform's service area (its coordinators): the communes it serves and a radius."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import DomainError
from ..extensions import db
from ..forms import AreaForm
from ..schemas.area import MAX_POSTCODES, AreaSchema, split_postcodes
from ..schemas.base import form_values, load
from ..services import platform_area
from ..templating import number
from .helpers import apply_errors, render_form

bp = Blueprint("area", __name__, url_prefix="/platform/area")


def _render(form: AreaForm, status: int = 200):
    platform = access.coordinated_platform(current_user)
    config = current_app.config
    shown = (
        split_postcodes(form.postcodes.data)[:MAX_POSTCODES]
        if status != 200
        else list(platform.service_postcodes or [])
    )
    return render_form(
        "platform/area.html",
        status,
        form=form,
        platform=platform,
        places=platform_area.localities(shown),
        radius=number(config["WAVE_RADIUS_KM"]),
        delay=number(config["WAVE_DELAY_HOURS"]),
    )


@bp.get("")
@login_required
def area_show():
    """The platform's communes with their localities and its radius, in a form
    (coordinators only, else 403)."""
    platform = access.coordinated_platform(current_user)
    form = AreaForm(
        formdata=None,
        postcodes="\n".join(platform.service_postcodes or []),
        radius_km=f"{platform.service_radius_km:g}"
        if platform.service_radius_km is not None
        else "",
    )
    return _render(form)


@bp.post("")
@login_required
def area_update():
    """Save the communes and radius; unknown postcodes or a bad radius come back per
    field with the entries kept (422); 403 for anyone but the platform's coordinators."""
    access.coordinated_platform(current_user)
    form = AreaForm()
    try:
        data = load(AreaSchema(), form_values(AreaSchema(), request.form))
        platform_area.update_area(db.session, current_user, data["postcodes"], data["radius_km"])
    except DomainError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        apply_errors(form, error)
        return _render(form, 422)
    db.session.commit()
    flash(_("Service area saved."), "success")
    return redirect(url_for("area.area_show"))
