"""A platform's service area: the communes (postcodes) it serves and an optional radius
around its depots. Wave 1 of a lot goes to the platforms whose area covers its donor
(see ``waves``); the convention request page lists them first."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from .. import geo
from ..errors import Forbidden, Invalid
from ..models import Organisation, User
from . import events

MAX_RADIUS_KM = 200.0
MAX_POSTCODES = 600  # Wallonia has about 260 postcodes; more is a paste gone wrong.
_SEPARATORS = re.compile(r"[\s,;]+")


def split_postcodes(raw: Any) -> list[str]:
    """The tokens of a comma-, semicolon-, space- or newline-separated list, in order,
    without repeats."""
    seen: dict[str, None] = {}
    for token in _SEPARATORS.split(str(raw or "")):
        if token:
            seen.setdefault(token, None)
    return list(seen)


def localities(postcodes: list[str]) -> list[tuple[str, list[str]]]:
    """Each postcode with the names of its localities (empty when unknown)."""
    return [(pc, sorted({p.locality for p in geo.localities(pc)})) for pc in postcodes]


def _radius(raw: Any, errors: dict[str, str]) -> float | None:
    text = str(raw or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors["radius_km"] = str(_l("Enter a number of kilometres, such as 25."))
        return None
    if not 0 < value <= MAX_RADIUS_KM:
        errors["radius_km"] = str(_l("The radius must be more than 0 and at most %(max)d km.",
                                     max=int(MAX_RADIUS_KM)))
        return None
    return value


def update_area(session: Session, actor: User, postcodes_raw: Any,
                radius_raw: Any) -> Organisation:
    """Replace the actor's platform's communes and radius (its coordinators only).
    Every postcode must be a known Belgian one; the radius is optional, 0 < r <= 200."""
    if not actor.is_coordinator:
        raise Forbidden(str(_l("Only a platform coordinator edits the service area.")))
    platform = actor.organisation
    errors: dict[str, str] = {}
    codes = split_postcodes(postcodes_raw)
    unknown = [c for c in codes if not (len(c) == 4 and c.isdigit() and geo.is_known_postcode(c))]
    if unknown:
        errors["postcodes"] = str(_l("Unknown Belgian postcodes: %(codes)s.",
                                     codes=", ".join(unknown[:20])))
    elif len(codes) > MAX_POSTCODES:
        errors["postcodes"] = str(_l("At most %(max)d postcodes.", max=MAX_POSTCODES))
    radius = _radius(radius_raw, errors)
    if errors:
        raise Invalid(str(_l("Please correct the marked fields.")), errors)
    before = events.snapshot(platform, "service_postcodes", "service_radius_km")
    platform.service_postcodes = sorted(codes)
    platform.service_radius_km = radius
    session.flush()
    events.record(session, actor, platform, "area_updated", before=before,
                  after=events.snapshot(platform, "service_postcodes", "service_radius_km"),
                  organisation_id=platform.id)
    return platform
