"""A platform's vans and weekly rounds, kept by its coordinators.

The values come typed and bounded from ``schemas.fleet``; what needs the database (the
van and the depot are the platform's, the organisation is of its network, the postcode
is known) is checked here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import access, geo
from ..errors import Invalid
from ..models import (
    Convention,
    ConventionStatus,
    Depot,
    Organisation,
    RunTemplate,
    TemplateStop,
    User,
    Vehicle,
)
from . import events, runs

FLEET_MESSAGE = _l("Only a platform coordinator manages vans and rounds.")
FIX_FIELDS = _l("Please correct the marked fields.")


def _own_platform(actor: User) -> int:
    """The coordinator's platform, which the van or round will belong to."""
    access.require_coordinator(actor, actor.organisation_id, str(FLEET_MESSAGE))
    if not actor.organisation.is_platform:
        access.deny(str(FLEET_MESSAGE))
    return actor.organisation_id


def add_vehicle(
    session: Session,
    actor: User,
    *,
    name: str,
    capacity_kg: float,
    refrigerated: bool = False,
    freezer: bool = False,
) -> Vehicle:
    platform_id = _own_platform(actor)
    van = Vehicle(
        platform_id=platform_id,
        name=name,
        capacity_kg=capacity_kg,
        refrigerated=refrigerated or freezer,
        freezer=freezer,
    )
    session.add(van)
    session.flush()
    events.record(
        session,
        actor,
        van,
        "created",
        after={"name": name, "capacity_kg": capacity_kg, "freezer": freezer},
    )
    return van


def add_template(
    session: Session,
    actor: User,
    *,
    name: str,
    weekday: int,
    departure: str,
    vehicle_id: int,
    depot_id: int,
) -> RunTemplate:
    """A weekly round of the platform's van from one of its depots."""
    platform_id = _own_platform(actor)
    errors: dict[str, str] = {}
    van, depot = session.get(Vehicle, vehicle_id), session.get(Depot, depot_id)
    if van is None or van.platform_id != platform_id:
        errors["vehicle_id"] = str(_l("Choose one of your vehicles."))
    if depot is None or depot.platform_id != platform_id:
        errors["depot_id"] = str(_l("Choose one of your depots."))
    if errors:
        raise Invalid(str(FIX_FIELDS), errors)
    template = RunTemplate(
        platform_id=platform_id,
        vehicle_id=vehicle_id,
        depot_id=depot_id,
        name=name,
        weekday=weekday,
        departure=departure,
        max_duration_min=600,
    )
    session.add(template)
    session.flush()
    events.record(session, actor, template, "created", after={"name": name})
    return template


def _network_member(session: Session, platform_id: int, org_id: int) -> Organisation | None:
    """An organisation with a convention in force or suspended with the platform."""
    return session.scalar(
        select(Organisation)
        .join(Convention, Convention.beneficiary_id == Organisation.id)
        .where(
            Organisation.id == org_id,
            Convention.platform_id == platform_id,
            Convention.status.in_((ConventionStatus.ACTIVE, ConventionStatus.SUSPENDED)),
        )
        .limit(1)
    )


def add_template_stop(
    session: Session,
    actor: User,
    template: RunTemplate,
    *,
    organisation_id: int | None = None,
    postcode: str = "",
    locality: str = "",
    load_kg: float = 0.0,
    opens: str | None = None,
    closes: str | None = None,
    service_min: int = 10,
) -> TemplateStop:
    """A regular stop at a beneficiary of the network (or any Belgian postcode), at the
    end of the round."""
    access.require_coordinator(actor, template.platform_id, str(FLEET_MESSAGE))
    if organisation_id is not None:
        org = _network_member(session, template.platform_id, organisation_id)
        if org is None:
            raise Invalid(
                str(FIX_FIELDS),
                {"organisation_id": str(_l("Choose an organisation of your network."))},
            )
        lat, lon = org.lat, org.lon
        address = f"{org.address}, {org.postcode} {org.locality}"
    else:
        place = geo.lookup(postcode, locality)
        if place is None:
            raise Invalid(
                str(FIX_FIELDS),
                {"postcode": str(_l("Choose an organisation or give a known postcode."))},
            )
        lat, lon = place.lat, place.lon
        address = f"{place.postcode} {place.locality}"
    stop = TemplateStop(
        template_id=template.id,
        position=len(template.stops),
        organisation_id=organisation_id,
        address=address,
        lat=lat,
        lon=lon,
        load_delta_kg=-load_kg,
        opens=opens,
        closes=closes,
        service_min=service_min,
    )
    template.stops.append(stop)
    session.flush()
    events.record(session, actor, template, "stop_added", after={"address": address})
    return stop


def toggle_template(session: Session, actor: User, template: RunTemplate) -> None:
    """Pause or resume a round; resuming plans its next two weeks."""
    access.require_coordinator(actor, template.platform_id, str(FLEET_MESSAGE))
    template.active = not template.active
    session.flush()
    if template.active:
        runs.materialise(session)
