"""The site admins' overview: every organisation and every user, searched and filtered."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import Invalid
from ..extensions import db, htmx
from ..schemas.admin import OrganisationFilterSchema, UserFilterSchema
from ..schemas.base import load
from ..services import admin_overview
from ..services.admin_overview import Page

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _list(schema, search, page: str, fragment: str):
    """The whole page, or the results fragment for htmx; wrong filters come back marked
    (400, or 422 for htmx, which swaps it)."""
    access.require_oversee(current_user)
    template = fragment if htmx and not htmx.boosted else page
    try:
        values = load(schema, request.args, message=_("Check the search filters."))
    except Invalid as error:
        return render_template(
            template, page=Page(), args=request.args, errors=error.fields, error=error.message
        ), 422 if htmx else 400
    return render_template(template, page=search(db.session, **values), args=request.args)


@bp.get("/organisations")
@login_required
def organisation_list():
    """Every organisation by name, e-mail, postcode or locality, with its kind,
    verification state, users and conventions; 403 unless a site admin."""
    return _list(
        OrganisationFilterSchema(),
        admin_overview.organisations,
        "admin/organisations.html",
        "admin/_organisations.html",
    )


@bp.get("/users")
@login_required
def user_list():
    """Every user by name, e-mail or organisation, with role and state; 403 unless a
    site admin."""
    return _list(UserFilterSchema(), admin_overview.users, "admin/users.html", "admin/_users.html")
