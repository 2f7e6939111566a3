"""Bad input to runs, bookings, stop confirmations, the fleet and allocation: a 400 (API)
or a 422 form with a message per field, never a 500, and nothing changes; a too-warm
handover is still a 409 (API) or 422 (sheet) recorded as refused."""

import pytest
from sqlalchemy import func, select

from surplus.extensions import db
from surplus.models import (
    AllocationBatch,
    ClaimStatus,
    Event,
    Run,
    RunTemplate,
    Stop,
    StopStatus,
    TemplateStop,
    Vehicle,
)
from surplus.services import booking, claims
from tests import factories

HX = {"HX-Request": "true"}
BAD_TEMPERATURES = [
    "NaN",
    "nan",
    "Infinity",
    "abc",
    1e308,
    "1e308",
    500,
    "500",
    -273,
    True,
    [4],
    {"c": 4},
    "4\x00",
]


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60)  # chilled
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()
    return w


@pytest.fixture
def booked(w):
    booking.book(db.session, w.coordinator, w.claim)
    db.session.commit()
    w.pickup, w.drop = booking.booked_stops(db.session, w.claim)
    return w


def _untouched(w) -> None:
    """Nothing was recorded at the pickup: still planned, no event, claim not collected."""
    db.session.rollback()
    stop = db.session.get(Stop, w.pickup.id)
    assert stop.status == StopStatus.PLANNED and stop.temperature_c is None
    assert stop.confirmed_at is None
    assert db.session.get(type(w.claim), w.claim.id).status == ClaimStatus.ACTIVE
    assert (
        db.session.scalar(
            select(func.count(Event.id)).where(
                Event.subject_type == "stop", Event.subject_id == stop.id
            )
        )
        == 0
    )


@pytest.mark.parametrize("temperature", BAD_TEMPERATURES)
def test_api_refuses_an_implausible_temperature_and_records_nothing(
    booked, client, api_token, temperature
):
    w = booked
    answer = client.post(
        f"/api/v1/stops/{w.pickup.id}/confirm",
        json={"temperature": temperature},
        headers=api_token(w.driver),
    )
    assert answer.status_code == 400, answer.get_json()
    assert "temperature" in answer.get_json()["fields"]
    _untouched(w)


def test_api_nan_as_a_json_literal_is_refused(booked, client, api_token):
    w = booked
    answer = client.post(
        f"/api/v1/stops/{w.pickup.id}/confirm",
        data='{"temperature": NaN}',
        content_type="application/json",
        headers=api_token(w.driver),
    )
    assert answer.status_code == 400
    _untouched(w)


def test_api_other_bad_bodies(booked, client, api_token):
    w = booked
    headers = api_token(w.driver)
    url = f"/api/v1/stops/{w.pickup.id}/confirm"
    for body in (
        [],
        "x",
        {"temperature": 4, "receiver": "A\x00"},
        {"temperature": 4, "note": "n" * 1001},
        {"temperature": 4, "receiver": 7},
    ):
        answer = client.post(url, json=body, headers=headers)
        assert answer.status_code == 400, (body, answer.get_json())
    lone_surrogate = '{"temperature": 4, "receiver": "\\ud800"}'  # JSON allows the escape
    answer = client.post(url, data=lone_surrogate, content_type="application/json", headers=headers)
    assert answer.status_code == 400 and "receiver" in answer.get_json()["fields"]
    _untouched(w)
    assert (
        client.post(
            "/api/v1/stops/3000000000/confirm", json={"temperature": 4}, headers=headers
        ).status_code
        == 404
    )


def test_a_too_warm_handover_is_a_409_recorded_as_refused(booked, client, api_token):
    w = booked
    answer = client.post(
        f"/api/v1/stops/{w.pickup.id}/confirm",
        json={"temperature": 9.5},
        headers=api_token(w.driver),
    )
    assert answer.status_code == 409 and answer.get_json()["refused"] is True
    db.session.rollback()
    stop = db.session.get(Stop, w.pickup.id)
    assert stop.status == StopStatus.REJECTED and stop.temperature_c == 9.5


@pytest.mark.parametrize("temperature", ["NaN", "abc", "1e308", "500"])
def test_the_sheet_refuses_an_implausible_temperature(booked, login_as, temperature):
    w = booked
    card = login_as(w.driver).post(
        f"/runs/stops/{w.pickup.id}/confirm", data={"temperature": temperature}, headers=HX
    )
    html = card.get_data(as_text=True)
    assert card.status_code == 422 and 'aria-invalid="true"' in html
    assert f'value="{temperature}"' in html  # the driver's entry stays to be corrected
    _untouched(w)


def test_the_sheet_reads_a_decimal_comma(booked, login_as):
    w = booked
    card = login_as(w.driver).post(
        f"/runs/stops/{w.pickup.id}/confirm", data={"temperature": "3,5"}, headers=HX
    )
    assert card.status_code == 200
    db.session.rollback()
    assert db.session.get(Stop, w.pickup.id).temperature_c == 3.5


def test_booking_bad_bodies_are_400_and_book_nothing(w, client, api_token):
    headers = api_token(w.coordinator)
    url = f"/api/v1/claims/{w.claim.id}/booking"
    for body in (
        {"run_id": "abc"},
        {"run_id": 99999999999},
        {"run_id": 0},
        {"run_id": 1.5},
        {"run_id": True},
        {"self_collect": "maybe"},
        {"run_id": 1, "self_collect": True},
        [],
    ):
        answer = client.post(url, json=body, headers=headers)
        assert answer.status_code == 400, (body, answer.get_json())
        assert answer.get_json()["fields"], body
    db.session.rollback()
    assert booking.booked_stops(db.session, w.claim) == []
    assert not db.session.get(type(w.claim), w.claim.id).self_collect


def test_booking_on_a_run_that_does_not_fit_names_the_field(w, client, api_token):
    answer = client.post(
        f"/api/v1/claims/{w.claim.id}/booking",
        json={"run_id": 2**31 - 1},
        headers=api_token(w.coordinator),
    )
    assert answer.status_code == 400 and "run_id" in answer.get_json()["fields"]


def _counts():
    db.session.rollback()
    return tuple(
        db.session.scalar(select(func.count()).select_from(m))
        for m in (Vehicle, RunTemplate, TemplateStop, Run, AllocationBatch)
    )


@pytest.mark.parametrize(
    ("url", "data", "field"),
    [
        (
            "/runs/fleet/templates",
            {
                "name": "R",
                "weekday": "1",
                "departure": "07:30",
                "vehicle_id": "abc",
                "depot_id": "1",
            },
            "vehicle_id",
        ),
        (
            "/runs/fleet/templates",
            {
                "name": "R",
                "weekday": "1",
                "departure": "07:30",
                "vehicle_id": "99999999999",
                "depot_id": "1",
            },
            "vehicle_id",
        ),
        ("/runs/fleet/templates", {"name": "R", "weekday": "7", "departure": "07:30"}, "weekday"),
        ("/runs/fleet/templates", {"name": "R\x00", "weekday": "1"}, "name"),
        ("/runs/fleet/vehicles", {"name": "Camion", "capacity_kg": "1e308"}, "capacity_kg"),
        ("/runs/fleet/vehicles", {"name": "Camion", "capacity_kg": "NaN"}, "capacity_kg"),
        (
            "/runs/fleet/vehicles",
            {"name": "Camion", "capacity_kg": "100", "freezer": "maybe"},
            "freezer",
        ),
        (
            "/runs/",
            {"vehicle_id": "1", "depot_id": "1", "start_at": "9999-12-31T07:00"},
            "start_at",
        ),
        (
            "/runs/",
            {"vehicle_id": "1", "depot_id": "1", "start_at": "0001-01-01T07:00"},
            "start_at",
        ),
        (
            "/runs/",
            {"vehicle_id": "abc", "depot_id": "1", "start_at": "2026-13-01T07:00"},
            "vehicle_id",
        ),
        ("/platform/allocation/", {"within_hours": "abc"}, "within_hours"),
        ("/platform/allocation/", {"within_hours": "1e308"}, "within_hours"),
    ],
)
def test_forms_refuse_bad_input_with_a_message_and_change_nothing(w, login_as, url, data, field):
    before = _counts()
    answer = login_as(w.coordinator).post(url, data=data)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422, html[:500]
    assert 'class="error"' in html and 'aria-invalid="true"' in html, field
    assert _counts() == before


def test_template_stop_form_keeps_values_and_names_the_field(w, login_as):
    template = db.session.scalar(select(RunTemplate).where(RunTemplate.name == "T1"))
    before = _counts()
    answer = login_as(w.coordinator).post(
        f"/runs/fleet/templates/{template.id}/stops",
        data={"organisation_id": str(w.other_donor.id), "load_kg": "12,5"},
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and f'id="template-{template.id}" open' in html
    assert 'value="12,5"' in html and f"stop-{template.id}-organisation_id-msg" in html
    assert _counts() == before
    ok = login_as(w.coordinator).post(
        f"/runs/fleet/templates/{template.id}/stops",
        data={"postcode": "6600", "load_kg": "12,5", "opens": "09:00", "closes": "11:00"},
    )
    assert ok.status_code == 302
    db.session.rollback()
    assert [s.load_delta_kg for s in db.session.get(RunTemplate, template.id).stops] == [-12.5]


def test_other_platforms_rounds_are_out_of_reach(w, login_as):
    template = db.session.scalar(select(RunTemplate).where(RunTemplate.name == "T1"))
    other = login_as(w.other_coordinator)
    assert other.post(f"/runs/fleet/templates/{template.id}/toggle").status_code == 404
    assert (
        other.post(
            f"/runs/fleet/templates/{template.id}/stops", data={"postcode": "6600"}
        ).status_code
        == 404
    )
    assert login_as(w.driver).post(f"/runs/fleet/templates/{template.id}/toggle").status_code == 403
    assert login_as(w.cpas_user).get("/runs/").status_code == 403


def test_allocation_line_refuses_bad_kilograms(w, login_as):
    client = login_as(w.coordinator)
    client.post("/platform/allocation/")
    db.session.rollback()
    batch = db.session.scalar(select(AllocationBatch))
    line = batch.lines[0]
    grams = line.grams
    for typed in ("NaN", "abc", "1e308", "0,0004", "-1"):
        row = client.post(
            f"/platform/allocation/{batch.id}/lines/{line.id}", data={"kg": typed}, headers=HX
        )
        html = row.get_data(as_text=True)
        assert row.status_code == 422 and 'class="error"' in html, typed
        assert f'value="{typed}"' in html
    db.session.rollback()
    assert db.session.get(type(line), line.id).grams == grams
    assert (
        client.post(
            f"/platform/allocation/{batch.id}/lines/3000000000", data={"kg": "1"}
        ).status_code
        == 404
    )
