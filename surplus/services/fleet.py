"""A platform's vans and weekly rounds, kept by its coordinators."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from .. import geo
from ..errors import Forbidden, Invalid
from ..models import Depot, Organisation, RunTemplate, TemplateStop, User, Vehicle
from . import events, runs

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _coordinator(actor: User) -> int:
    if not actor.is_coordinator:
        raise Forbidden(str(_l("Only a platform coordinator manages vans and rounds.")))
    return actor.organisation_id


def _number(data: Mapping[str, Any], name: str, errors: dict[str, str],
            minimum: float = 0.0) -> float:
    try:
        value = float(str(data.get(name, "")).replace(",", "."))
    except ValueError:
        errors[name] = str(_l("Enter a number."))
        return 0.0
    if not minimum <= value <= 100_000:
        errors[name] = str(_l("Enter a number between %(a)s and 100,000.", a=f"{minimum:g}"))
    return value


def _flag(data: Mapping[str, Any], name: str) -> bool:
    return str(data.get(name, "")).lower() in {"1", "y", "on", "true", "yes"}


def add_vehicle(session: Session, actor: User, data: Mapping[str, Any]) -> Vehicle:
    platform_id = _coordinator(actor)
    errors: dict[str, str] = {}
    name = str(data.get("name", "")).strip()[:120]
    if not name:
        errors["name"] = str(_l("This field is required."))
    capacity = _number(data, "capacity_kg", errors, minimum=1)
    freezer = _flag(data, "freezer")
    if errors:
        raise Invalid(str(_l("Please correct the marked fields.")), errors)
    van = Vehicle(platform_id=platform_id, name=name, capacity_kg=capacity,
                  refrigerated=_flag(data, "refrigerated") or freezer, freezer=freezer)
    session.add(van)
    session.flush()
    events.record(session, actor, van, "created", after={"name": name, "capacity_kg": capacity,
                                                          "freezer": freezer})
    return van


def add_template(session: Session, actor: User, data: Mapping[str, Any]) -> RunTemplate:
    platform_id = _coordinator(actor)
    errors: dict[str, str] = {}
    van = session.get(Vehicle, int(data.get("vehicle_id") or 0))
    depot = session.get(Depot, int(data.get("depot_id") or 0))
    if van is None or van.platform_id != platform_id:
        errors["vehicle_id"] = str(_l("Choose one of your vehicles."))
    if depot is None or depot.platform_id != platform_id:
        errors["depot_id"] = str(_l("Choose one of your depots."))
    weekday = str(data.get("weekday", ""))
    if weekday not in {str(d) for d in range(7)}:
        errors["weekday"] = str(_l("Choose a day."))
    departure = str(data.get("departure", "")).strip()
    if not HHMM.match(departure):
        errors["departure"] = str(_l("Write the time as 07:30."))
    name = str(data.get("name", "")).strip()[:200]
    if not name:
        errors["name"] = str(_l("This field is required."))
    if errors:
        raise Invalid(str(_l("Please correct the marked fields.")), errors)
    template = RunTemplate(platform_id=platform_id, vehicle_id=van.id, depot_id=depot.id,
                           name=name, weekday=int(weekday), departure=departure,
                           max_duration_min=600)
    session.add(template)
    session.flush()
    events.record(session, actor, template, "created", after={"name": name})
    return template


def add_template_stop(session: Session, actor: User, template: RunTemplate,
                      data: Mapping[str, Any]) -> TemplateStop:
    """A regular stop at a beneficiary of the network (or any Belgian postcode)."""
    if template.platform_id != _coordinator(actor):
        raise Forbidden(str(_l("Only a platform coordinator manages vans and rounds.")))
    errors: dict[str, str] = {}
    org = session.get(Organisation, int(data.get("organisation_id") or 0)) \
        if str(data.get("organisation_id") or "").isdigit() else None
    place = None
    if org is None:
        place = geo.lookup(str(data.get("postcode", "")), str(data.get("locality", "")))
        if place is None:
            errors["postcode"] = str(_l("Choose an organisation or give a known postcode."))
    load = _number(data, "load_kg", errors)
    opens, closes = str(data.get("opens", "")).strip(), str(data.get("closes", "")).strip()
    for name, value in (("opens", opens), ("closes", closes)):
        if value and not HHMM.match(value):
            errors[name] = str(_l("Write the time as 07:30."))
    if opens and closes and closes <= opens and "closes" not in errors:
        errors["closes"] = str(_l("Each span must end after it starts."))
    if errors:
        raise Invalid(str(_l("Please correct the marked fields.")), errors)
    lat, lon = (org.lat, org.lon) if org else (place.lat, place.lon)  # type: ignore[union-attr]
    address = (f"{org.address}, {org.postcode} {org.locality}" if org
               else f"{place.postcode} {place.locality}")  # type: ignore[union-attr]
    stop = TemplateStop(template_id=template.id, position=len(template.stops),
                        organisation_id=org.id if org else None, address=address, lat=lat,
                        lon=lon, load_delta_kg=-load, opens=opens or None, closes=closes or None,
                        service_min=int(_number(data, "service_min", errors) or 10))
    template.stops.append(stop)
    session.flush()
    events.record(session, actor, template, "stop_added", after={"address": address})
    return stop


def toggle_template(session: Session, actor: User, template: RunTemplate) -> None:
    if template.platform_id != _coordinator(actor):
        raise Forbidden(str(_l("Only a platform coordinator manages vans and rounds.")))
    template.active = not template.active
    session.flush()
    if template.active:
        runs.materialise(session)
