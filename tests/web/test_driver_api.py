"""Choosing a run's driver through the API (``PATCH /api/v1/runs/<id>``) and the run
pages: the answer is the run as ``GET`` gives it, bad input is a 400 with JSON naming
the field, another platform's run a 404, a member who does not coordinate a 403, an
account of another platform a 400, a deactivated one a 409; never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import Event, Role, Run, RunStatus
from surplus.services.lot_dates import local_today


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    w.run = db.session.scalars(
        select(Run).where(Run.platform_id == w.platform.id, Run.run_date == local_today())
    ).one()
    w.run_id, w.driver_id = w.run.id, w.driver.id
    db.session.commit()
    return w


def _patch(client, headers, run_id, body, **kw):
    return client.patch(f"/api/v1/runs/{run_id}", headers=headers, **({"json": body} | kw))


def test_a_coordinator_assigns_the_driver_and_gets_the_run(w, client, api_token):
    headers = api_token(w.coordinator)
    answer = _patch(client, headers, w.run_id, {"driver_id": w.driver_id})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["driver_id"] == w.driver_id and body["driver_name"] == w.driver.name
    shown = client.get(f"/api/v1/runs/{w.run_id}", headers=headers).get_json()
    assert shown == body
    assert (
        api_token(w.driver)
        and client.get(f"/api/v1/runs/{w.run_id}", headers=api_token(w.driver)).get_json()[
            "driver_id"
        ]
        == w.driver_id
    )
    listed = client.get("/api/v1/runs", headers=headers).get_json()
    assert next(r for r in listed if r["id"] == w.run_id)["driver_name"] == w.driver.name
    # To nobody.
    answer = _patch(client, headers, w.run_id, {"driver_id": None})
    assert answer.status_code == 200 and answer.get_json()["driver_id"] is None
    db.session.rollback()
    actions = db.session.scalars(
        select(Event.action).where(Event.subject_type == "run", Event.subject_id == w.run_id)
    ).all()
    assert actions == ["driver_assigned", "driver_unassigned"]


BAD_BODIES = [
    {},
    {"driver_id": "1"},
    {"driver_id": True},
    {"driver_id": 1.5},
    {"driver_id": -3},
    {"driver_id": 0},
    {"driver_id": 10**40},
    {"driver_id": [1]},
    {"driver_id": {"id": 1}},
    [],
    "x",
]


def test_bad_input_is_a_400_naming_the_problem(w, client, api_token):
    headers = api_token(w.coordinator)
    for body in BAD_BODIES:
        answer = _patch(client, headers, w.run_id, body)
        assert answer.status_code == 400, (body, answer.get_data(as_text=True))
        assert answer.is_json and answer.get_json()["error"], body
    db.session.rollback()
    assert db.session.get(Run, w.run_id).driver_id is None


def test_a_body_that_is_not_json_is_a_400(w, client, api_token):
    headers = {**api_token(w.coordinator), "Content-Type": "application/json"}
    answer = client.patch(f"/api/v1/runs/{w.run_id}", headers=headers, data="{driver_id:")
    assert answer.status_code == 400 and answer.is_json


def test_the_walls(w, client, api_token):
    # Another platform's run, or one that does not exist: 404 whoever asks.
    for user in (w.other_coordinator, w.cpas_user, w.donor_user):
        answer = _patch(client, api_token(user), w.run_id, {"driver_id": w.driver_id})
        assert answer.status_code == 404 and answer.is_json, user
    answer = _patch(client, api_token(w.coordinator), 2_000_000_000, {"driver_id": w.driver_id})
    assert answer.status_code == 404 and answer.is_json
    # A member of the platform sees the run but does not choose its driver.
    answer = _patch(client, api_token(w.driver), w.run_id, {"driver_id": w.driver_id})
    assert answer.status_code == 403 and answer.is_json
    # No token.
    assert _patch(client, {}, w.run_id, {"driver_id": w.driver_id}).status_code == 401
    db.session.rollback()
    assert db.session.get(Run, w.run_id).driver_id is None


def test_the_driver_must_be_an_active_account_of_the_runs_platform(w, client, api_token):
    headers = api_token(w.coordinator)
    for stranger in (w.other_coordinator.id, w.cpas_user.id, 2_000_000_000):
        answer = _patch(client, headers, w.run_id, {"driver_id": stranger})
        assert answer.status_code == 400, answer.get_json()
        assert "driver_id" in answer.get_json()["fields"]
    db.session.rollback()
    db.session.get(type(w.driver), w.driver_id).active = False
    db.session.commit()
    answer = _patch(client, headers, w.run_id, {"driver_id": w.driver_id})
    assert answer.status_code == 409 and "driver_id" in answer.get_json()["fields"]
    # A run that is over keeps its driver.
    run = db.session.get(Run, w.run_id)
    run.status = RunStatus.DONE
    db.session.commit()
    answer = _patch(client, headers, w.run_id, {"driver_id": w.coordinator.id})
    assert answer.status_code == 409 and answer.is_json
    db.session.rollback()
    assert db.session.get(Run, w.run_id).driver_id is None


def test_the_run_pages_assign_and_only_for_coordinators(w, login_as):
    colleague_id = _colleague(w)
    coordinator = login_as(w.coordinator)
    listed = coordinator.get("/runs/").get_data(as_text=True)
    assert f'action="/runs/{w.run_id}/driver"' in listed
    page = coordinator.get(f"/runs/{w.run_id}").get_data(as_text=True)
    assert f'action="/runs/{w.run_id}/driver"' in page and f'value="{colleague_id}"' in page
    answer = coordinator.post(
        f"/runs/{w.run_id}/driver", data={"driver_id": str(w.driver_id), "next": "/runs/"}
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/runs/")
    db.session.rollback()
    assert db.session.get(Run, w.run_id).driver_id == w.driver_id
    # An account of another platform: refused, said, nothing changed.
    answer = coordinator.post(
        f"/runs/{w.run_id}/driver", data={"driver_id": str(w.other_coordinator.id)}
    )
    assert answer.status_code == 302
    page = coordinator.get(f"/runs/{w.run_id}").get_data(as_text=True)
    assert "flash-error" in page
    for bad in ("abc", "-1", "1e9"):
        answer = coordinator.post(f"/runs/{w.run_id}/driver", data={"driver_id": bad})
        assert answer.status_code == 302
    # Blank: nobody.
    assert coordinator.post(f"/runs/{w.run_id}/driver", data={"driver_id": ""}).status_code == 302
    db.session.rollback()
    assert db.session.get(Run, w.run_id).driver_id is None
    # A member sees who drives but has no form, and posting is a 403.
    driver = login_as(w.driver)
    page = driver.get(f"/runs/{w.run_id}").get_data(as_text=True)
    assert f'action="/runs/{w.run_id}/driver"' not in page
    assert driver.post(f"/runs/{w.run_id}/driver", data={"driver_id": ""}).status_code == 403
    assert (
        login_as(w.other_coordinator)
        .post(f"/runs/{w.run_id}/driver", data={"driver_id": ""})
        .status_code
        == 404
    )


def _colleague(w) -> int:
    from tests import factories

    colleague = factories.user(w.platform, Role.MEMBER)
    db.session.commit()
    return colleague.id
