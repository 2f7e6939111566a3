"""The lots a beneficiary may claim, on a map: the list's lots and filters, drawn by
static/lotmap.js from a GeoJSON answer."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import access
from ..errors import DomainError, Invalid, json_error
from ..extensions import db, htmx
from ..labels import label
from ..schemas.base import load
from ..schemas.lot import LotFilterSchema
from ..services.browse import Card, Filters, Page, browse
from ..templating import kg, km, when
from .helpers import lot_filter_query

bp = Blueprint("lot_map", __name__)

# The map draws at most this many lots, the best placed first (nearest or most urgent,
# the list's order); a phone draws 500 plain markers without trouble.
MAP_LIMIT = 500


def _limit() -> int:
    return current_app.config.get("LOT_MAP_LIMIT", MAP_LIMIT)


def _filters() -> Filters:
    values = load(LotFilterSchema(), request.args, message=_("Check the search filters."))
    return Filters.of(values)


def _query() -> dict[str, str]:
    """The filters of the query string, for links between the list and the map (the
    list's page is left out)."""
    return lot_filter_query(request.args, page=False)


def _feature(card: Card) -> dict:
    lot = card.lot
    date = f"{label('date_kind', lot.date_kind)} {when(lot.best_date)}" if lot.date_kind else ""
    return {
        "type": "Feature",
        "id": lot.id,
        "geometry": {"type": "Point", "coordinates": [lot.pickup_lon, lot.pickup_lat]},
        "properties": {
            "id": lot.id,
            "title": lot.title,
            "kg_left": kg(lot.remaining_kg),
            "best_date": date or _("No date"),
            "storage": str(label("storage", lot.storage)),
            "fse_plus": lot.fse_plus,
            "urgent": card.urgent,
            "distance": km(card.km),
            "url": url_for("lots.lot_show", lot_id=lot.id),
        },
    }


@bp.get("/lots/map")
@login_required
def map_page():
    """The map of the lots the list shows for the same filters, with the best placed of
    them listed as its text alternative; 403 for donors and platforms (as the list),
    400 with the filter form marked when a filter is wrong."""
    access.require_beneficiary(current_user)
    if htmx and not htmx.boosted:
        # The list's "see on the map" link sends the filters as typed so far (hx-include);
        # the map is a page of its own, so the browser goes there.
        target = url_for("lot_map.map_page", **_query())
        return Response(status=204, headers={"HX-Redirect": target})
    org = current_user.organisation
    context = {"args": request.args, "query": _query(), "org": org, "limit": _limit()}
    try:
        filters = _filters()
    except Invalid as error:
        return render_template(
            "lots/map.html",
            page=Page(),
            errors=error.fields,
            error=error.message,
            **context,
        ), 400
    page = browse(
        db.session, org, filters, per_page=current_app.config["LOTS_PER_PAGE"]
    )  # the first page of the list: the text alternative; the map fetches the rest
    return render_template(
        "lots/map.html",
        page=page,
        tiles=current_app.config["MAP_TILE_URL"],
        attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
        **context,
    )


@bp.get("/lots/map.json")
@login_required
def map_json():
    """A GeoJSON FeatureCollection of the lots the list shows for the same filters, the
    best placed first, at most ``LOT_MAP_LIMIT``; ``total`` counts them all. 400 JSON for
    a wrong filter, 403 JSON for donors and platforms."""
    try:
        access.require_beneficiary(current_user)
        filters = _filters()
    except DomainError as error:
        return json_error(error.status, error.message, error.fields)
    page = browse(db.session, current_user.organisation, filters, per_page=_limit())
    return jsonify(
        {
            "type": "FeatureCollection",
            "features": [_feature(card) for card in page.cards],
            "total": page.total,
            "limit": _limit(),
        }
    )
