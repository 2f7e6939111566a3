"""A depot's zones (a dry store, a cold room, a freezer) and what each holds at most:
set by the platform's coordinators (``ZoneInSchema``'s values)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import access
from ...errors import Invalid
from ...models import Depot, DepotZone, StockItem, User
from .. import events

ONLY_COORDINATORS = _l("Only a coordinator sets the depot's zones.")


def _name_taken(session: Session, depot_id: int, name: str, but: int | None = None) -> bool:
    query = select(DepotZone.id).where(
        DepotZone.depot_id == depot_id, func.lower(DepotZone.name) == name.lower()
    )
    if but is not None:
        query = query.where(DepotZone.id != but)
    return session.scalar(query.limit(1)) is not None


def _taken() -> Invalid:
    message = str(_l("This depot already has a zone of that name."))
    return Invalid(message, {"name": message})


def add_zone(session: Session, actor: User, depot: Depot, values: Mapping[str, Any]) -> DepotZone:
    """A new zone in the depot (coordinators of its platform; 404 for others)."""
    access.require(actor, access.CHANGE, depot, str(ONLY_COORDINATORS))
    if _name_taken(session, depot.id, values["name"]):
        raise _taken()
    zone = DepotZone(
        depot_id=depot.id,
        name=values["name"],
        storage=values["storage"],
        capacity_kg=values["capacity_kg"],
    )
    session.add(zone)
    session.flush()
    events.record(
        session,
        actor,
        zone,
        "created",
        after=events.snapshot(zone, "name", "storage", "capacity_kg"),
        organisation_id=depot.platform_id,
    )
    return zone


def update_zone(
    session: Session, actor: User, zone: DepotZone, values: Mapping[str, Any]
) -> DepotZone:
    """Rename a zone or change its capacity; its storage changes only while it is empty
    (the food in it was checked for that storage)."""
    access.require(actor, access.CHANGE, zone.depot, str(ONLY_COORDINATORS))
    if _name_taken(session, zone.depot_id, values["name"], but=zone.id):
        raise _taken()
    if values["storage"] != zone.storage:
        held = session.scalar(
            select(func.count())
            .select_from(StockItem)
            .where(StockItem.zone_id == zone.id, StockItem.grams > 0)
        )
        if held:
            message = str(_l("Empty the zone before changing its storage."))
            raise Invalid(message, {"storage": message})
    before = events.snapshot(zone, "name", "storage", "capacity_kg")
    zone.name = values["name"]
    zone.storage = values["storage"]
    zone.capacity_kg = values["capacity_kg"]
    session.flush()
    events.record(
        session,
        actor,
        zone,
        "updated",
        before=before,
        after=events.snapshot(zone, "name", "storage", "capacity_kg"),
        organisation_id=zone.depot.platform_id,
    )
    return zone
