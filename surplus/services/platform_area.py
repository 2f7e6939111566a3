"""A platform's service area: the communes (postcodes) it serves and an optional radius
around its depots. Wave 1 of a lot goes to the platforms whose area covers its donor
(see ``waves``); the convention request page lists them first."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from .. import access, geo
from ..models import Organisation, User
from . import events


def localities(postcodes: list[str]) -> list[tuple[str, list[str]]]:
    """Each postcode with the names of its localities (empty when unknown)."""
    return [(pc, sorted({p.locality for p in geo.localities(pc)})) for pc in postcodes]


def update_area(
    session: Session, actor: User, postcodes: list[str], radius_km: float | None
) -> Organisation:
    """Replace the actor's platform's communes and radius (its coordinators only); the
    values come checked by ``schemas.area`` (known postcodes, 0 < radius <= 200 km)."""
    platform = access.coordinated_platform(
        actor, str(_l("Only a platform coordinator edits the service area."))
    )
    before = events.snapshot(platform, "service_postcodes", "service_radius_km")
    platform.service_postcodes = sorted(set(postcodes))
    platform.service_radius_km = radius_km
    session.flush()
    events.record(
        session,
        actor,
        platform,
        "area_updated",
        before=before,
        after=events.snapshot(platform, "service_postcodes", "service_radius_km"),
        organisation_id=platform.id,
    )
    return platform
