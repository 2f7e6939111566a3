"""Coordinators keep their vans and weekly rounds; the rounds become dated runs."""

import pytest
from sqlalchemy import select

from surplus.errors import Forbidden, Invalid
from surplus.extensions import db
from surplus.models import Depot, Run
from surplus.schemas.base import load
from surplus.schemas.fleet import TemplateInSchema, TemplateStopInSchema, VehicleInSchema
from surplus.services import fleet, runs
from surplus.services.lot_dates import local_today
from tests import factories


@pytest.fixture
def w(app):
    w = factories.world()
    w.depot = Depot(
        platform_id=w.platform.id,
        name="Dépôt",
        postcode="6800",
        locality="Libramont-Chevigny",
        lat=w.platform.lat,
        lon=w.platform.lon,
    )
    db.session.add(w.depot)
    db.session.commit()
    return w


def test_vans_and_rounds_become_runs(w):
    van = fleet.add_vehicle(
        db.session,
        w.coordinator,
        **load(VehicleInSchema(), {"name": "Frigo", "capacity_kg": "800", "freezer": "on"}),
    )
    assert van.freezer and van.refrigerated
    template = fleet.add_template(
        db.session,
        w.coordinator,
        **load(
            TemplateInSchema(),
            {
                "name": "Tournée du mardi",
                "weekday": "1",
                "departure": "7h45",
                "vehicle_id": van.id,
                "depot_id": w.depot.id,
            },
        ),
    )
    assert template.departure == "07:45"
    fleet.add_template_stop(
        db.session,
        w.coordinator,
        template,
        **load(
            TemplateStopInSchema(),
            {
                "organisation_id": str(w.cpas.id),
                "load_kg": "120",
                "opens": "09:00",
                "closes": "12:00",
            },
        ),
    )
    fleet.add_template_stop(
        db.session,
        w.coordinator,
        template,
        **load(TemplateStopInSchema(), {"postcode": "6600", "load_kg": "40"}),
    )
    assert runs.materialise(db.session, local_today()) == 2
    planned = db.session.scalars(select(Run).where(Run.template_id == template.id)).all()
    assert all([s.load_delta_kg for s in r.stops] == [-120, -40] for r in planned)


def test_bad_input_and_other_platforms(w):
    with pytest.raises(Invalid) as caught:
        load(VehicleInSchema(), {"name": "", "capacity_kg": "-1"})
    assert set(caught.value.fields) == {"name", "capacity_kg"}
    with pytest.raises(Invalid) as caught:
        load(
            TemplateInSchema(),
            {
                "name": "X",
                "weekday": "9",
                "departure": "25:00",
                "vehicle_id": "abc",
                "depot_id": "99999999999",
            },
        )
    assert set(caught.value.fields) == {"weekday", "departure", "vehicle_id", "depot_id"}
    with pytest.raises(Invalid) as caught:
        load(TemplateStopInSchema(), {"opens": "12:00", "closes": "09:00", "load_kg": "NaN"})
    assert {"load_kg"} <= set(caught.value.fields)
    with pytest.raises(Invalid) as caught:
        load(TemplateStopInSchema(), {"postcode": "6600", "opens": "12:00", "closes": "09:00"})
    assert set(caught.value.fields) == {"closes"}
    with pytest.raises(Forbidden):
        fleet.add_vehicle(db.session, w.cpas_user, name="Van", capacity_kg=100)
    van = fleet.add_vehicle(db.session, w.coordinator, name="V", capacity_kg=100)
    with pytest.raises(Invalid) as caught:  # another platform's coordinator cannot use our van
        fleet.add_template(
            db.session,
            w.other_coordinator,
            name="X",
            weekday=1,
            departure="07:00",
            vehicle_id=van.id,
            depot_id=w.depot.id,
        )
    assert set(caught.value.fields) == {"vehicle_id", "depot_id"}
    template = fleet.add_template(
        db.session,
        w.coordinator,
        name="X",
        weekday=1,
        departure="07:00",
        vehicle_id=van.id,
        depot_id=w.depot.id,
    )
    with pytest.raises(Invalid) as caught:  # an organisation outside the network
        fleet.add_template_stop(
            db.session, w.coordinator, template, organisation_id=w.other_donor.id
        )
    assert set(caught.value.fields) == {"organisation_id"}
    with pytest.raises(Forbidden):
        fleet.add_template_stop(db.session, w.other_coordinator, template, postcode="6600")


def test_fleet_page(w, login_as):
    client = login_as(w.coordinator)
    assert (
        client.post(
            "/runs/fleet/vehicles",
            data={"name": "Camion", "capacity_kg": "2000", "refrigerated": "1"},
        ).status_code
        == 302
    )
    assert "Camion" in client.get("/runs/fleet/").get_data(as_text=True)
    assert login_as(w.cpas_user).get("/runs/fleet/").status_code == 403
