"""A platform's service area (its coordinators): the communes it serves and a radius."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import DomainError
from ..extensions import db
from ..forms import AreaForm
from ..services import platform_area
from .helpers import apply_errors, render_form

bp = Blueprint("area", __name__, url_prefix="/platform/area")


def _platform():
    if not current_user.is_coordinator:
        abort(403)
    return current_user.organisation


def _render(form: AreaForm, status: int = 200):
    platform = _platform()
    config = current_app.config
    shown = platform_area.split_postcodes(form.postcodes.data) if status != 200 \
        else list(platform.service_postcodes or [])
    return render_form("platform/area.html", status, form=form, platform=platform,
                       places=platform_area.localities(shown),
                       radius=f"{config['WAVE_RADIUS_KM']:g}",
                       delay=f"{config['WAVE_DELAY_HOURS']:g}")


@bp.get("")
@login_required
def area_show():
    """The platform's communes with their localities and its radius, in a form
    (coordinators only, else 403)."""
    platform = _platform()
    form = AreaForm(formdata=None, postcodes="\n".join(platform.service_postcodes or []),
                    radius_km=f"{platform.service_radius_km:g}"
                    if platform.service_radius_km is not None else "")
    return _render(form)


@bp.post("")
@login_required
def area_update():
    """Save the communes and radius; unknown postcodes or a bad radius come back per
    field with the entries kept (422)."""
    _platform()
    form = AreaForm()
    if not form.validate_on_submit():
        return _render(form, 422)
    try:
        platform_area.update_area(db.session, current_user, form.postcodes.data,
                                  form.radius_km.data)
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return _render(form, 422)
    db.session.commit()
    flash(_("Service area saved."), "success")
    return redirect(url_for("area.area_show"))
