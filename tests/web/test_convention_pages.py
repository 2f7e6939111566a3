"""Convention pages and API: requests, the coordinator's queue and decisions, FSE+ gates."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import Convention, ConventionStatus, Role
from surplus.services.lot_dates import local_today
from tests import factories
from tests.factories import translated

HX = {"HX-Request": "true"}


@pytest.fixture
def w(w):
    """The world's platforms are logistics platforms: each serves its commune."""
    w.platform.service_postcodes = ["6800"]
    w.other_platform.service_postcodes = ["5000"]
    db.session.commit()
    return w


def _request_form(platform_id, **overrides):
    data = {
        "platform_id": str(platform_id),
        "persons_per_week": "90",
        "chilled_capacity_kg": "50",
        "frozen_capacity_kg": "0",
        "hours_mon": "09:00-12:00",
        "fse_plus_approval_number": "FSE+/BE/42",
        "fse_plus_approval_expires": (local_today() + timedelta(days=100)).isoformat(),
        "contact_name": "Anne",
        "distribution_mode": "free_parcels",
    }
    data.update(overrides)
    return data


def test_request_page_lists_platforms_by_distance_and_keeps_entries(w, login_as):
    org = factories.org("association", postcode="6800", locality="Libramont-Chevigny")
    org.distribution_mode = None
    w.platform.service_postcodes = ["6800"]
    w.other_platform.service_postcodes = ["5000"]
    admin = factories.user(org, Role.ORG_ADMIN)
    db.session.commit()
    client = login_as(admin)
    page = client.get("/conventions/new").get_data(as_text=True)
    assert page.index("Hub Libramont") < page.index("Distri Namur")
    assert translated("fr", "serves your commune") in page
    bad = client.post("/conventions/new", data=_request_form(w.platform.id, persons_per_week="x"))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'value="FSE+/BE/42"' in html and 'value="Anne"' in html
    # Nothing declared at sign-up and nothing chosen: the form asks how it distributes.
    unsaid = client.post(
        "/conventions/new", data=_request_form(w.platform.id, distribution_mode="")
    )
    assert unsaid.status_code == 422
    assert translated("fr", "Say how you hand out the food.") in unsaid.get_data(as_text=True)
    sent = _request_form(w.platform.id, distribution_mode="social_restaurant")
    assert client.post("/conventions/new", data=sent).status_code == 302


def test_coordinator_decides_from_the_queue_with_htmx(w, login_as):
    org = factories.org("association")
    admin = factories.user(org, Role.ORG_ADMIN)
    db.session.commit()
    login_as(admin).post("/conventions/new", data=_request_form(w.platform.id))
    db.session.rollback()
    conv = db.session.scalar(select(Convention).where(Convention.beneficiary_id == org.id))
    coordinator = login_as(w.coordinator)
    assert f'id="review-{conv.id}"' in coordinator.get("/platform/conventions").get_data(
        as_text=True
    )
    response = coordinator.post(
        f"/conventions/{conv.id}/decision", headers=HX, data={"action": "approve", "fse_plus": "y"}
    )
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Convention, conv.id).status == ConventionStatus.ACTIVE
    refused = coordinator.post(
        f"/conventions/{conv.id}/decision", headers=HX, data={"action": "suspend", "reason": ""}
    )
    assert refused.status_code == 422


def test_other_platforms_see_nothing_and_beneficiaries_may_not_decide(
    w, login_as, client, api_token
):
    conv = w.asbl_convention
    other = login_as(w.other_coordinator)
    assert (
        other.post(
            f"/conventions/{conv.id}/decision", data={"action": "suspend", "reason": "x"}
        ).status_code
        == 404
    )
    assert other.get(f"/conventions/{conv.id}").status_code == 404
    response = client.post(
        f"/api/v1/conventions/{conv.id}/decision",
        json={"action": "suspend", "reason": "x"},
        headers=api_token(w.other_coordinator),
    )
    assert response.status_code == 404 and response.get_json()["error"]
    admin = factories.user(w.asbl, Role.ORG_ADMIN)
    db.session.commit()
    refused = login_as(admin).post(
        f"/conventions/{conv.id}/decision", data={"action": "suspend", "reason": "x"}
    )
    assert refused.status_code == 403
    assert translated("fr", "Only a coordinator of this platform can decide.") in refused.get_data(
        as_text=True
    )
    response = client.post(
        f"/api/v1/conventions/{conv.id}/decision",
        json={"action": "suspend", "reason": "x"},
        headers=api_token(admin),
    )
    assert response.status_code == 403
    db.session.rollback()
    assert db.session.get(Convention, conv.id).status == ConventionStatus.ACTIVE


def _fse_lot(w):
    lot = factories.lot(
        w.platform,
        kg=100,
        fse_plus=True,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=60,
    )
    db.session.commit()
    return lot


def test_fse_plus_gate_through_the_api(w, client, api_token):
    """Expired approval, convention without FSE+, suspended convention, happy path."""
    lot_id = _fse_lot(w).id
    cpas, coordinator = api_token(w.cpas_user), api_token(w.coordinator)
    conv_id = w.cpas_convention.id

    # The lot's id is read once: reading an expired object between two requests would open
    # a read snapshot in the test's session that a request's write (a token's first use)
    # makes stale, and the test's next write would be refused on SQLite.
    def claim():
        return client.post(f"/api/v1/lots/{lot_id}/claims", json={"kg": 5}, headers=cpas)

    w.cpas_convention.fse_plus_approval_expires = local_today() - timedelta(days=1)
    db.session.commit()
    assert claim().status_code == 403, "expired approval"
    w.cpas_convention.fse_plus_approval_expires = local_today() + timedelta(days=30)
    w.cpas_convention.fse_plus_allowed = False
    db.session.commit()
    assert claim().status_code == 403, "convention without FSE+"
    client.post(
        f"/api/v1/conventions/{conv_id}/decision",
        headers=coordinator,
        json={"action": "approve", "fse_plus": True},
    )
    client.post(
        f"/api/v1/conventions/{conv_id}/decision",
        headers=coordinator,
        json={"action": "suspend", "reason": "Audit"},
    )
    assert claim().status_code == 403, "suspended convention"
    reinstated = client.post(
        f"/api/v1/conventions/{conv_id}/decision", headers=coordinator, json={"action": "reinstate"}
    )
    assert reinstated.get_json()["fse_plus_allowed"] is True
    assert claim().status_code == 201, "approval in force through a convention allowing FSE+"


def test_fse_plus_gate_through_the_pages(w, login_as):
    lot = _fse_lot(w)
    asbl = login_as(w.asbl_user)
    response = asbl.post(f"/lots/{lot.id}/claim", data={"kg": "5"}, headers=HX)
    assert response.status_code == 422
    assert translated(
        "fr", "FSE+ stock: your organisation has no FSE+ approval in force."
    ) in response.get_data(as_text=True)
    cpas = login_as(w.cpas_user)
    assert cpas.post(f"/lots/{lot.id}/claim", data={"kg": "5"}, headers=HX).status_code == 201


def test_api_request_and_pending_changes(w, client, api_token):
    org = factories.org("association")
    admin = factories.user(org, Role.ORG_ADMIN)
    db.session.commit()
    headers = api_token(admin)
    figures = {
        "platform_id": w.platform.id,
        "persons_per_week": 60,
        "chilled_capacity_kg": 0,
        "opening_hours": {"tue": [["08:30", "11:00"]]},
    }
    # The association declared no distribution mode at sign-up: the request must say it.
    unsaid = client.post("/api/v1/conventions", headers=headers, json=figures)
    assert unsaid.status_code == 400 and "distribution_mode" in unsaid.get_json()["fields"]
    created = client.post(
        "/api/v1/conventions",
        headers=headers,
        json={**figures, "distribution_mode": "social_restaurant"},
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["status"] == "requested" and body["opening_hours"]["tue"] == [["08:30", "11:00"]]
    assert body["distribution_mode"] == "social_restaurant"
    again = client.post(
        "/api/v1/conventions",
        headers=headers,
        json={"platform_id": w.platform.id, "persons_per_week": 60},
    )
    assert again.status_code == 409
    bad = client.post("/api/v1/conventions", headers=headers, json={"platform_id": "x"})
    assert bad.status_code == 400 and "platform_id" in bad.get_json()["fields"]
    listed = client.get("/api/v1/conventions", headers=api_token(w.coordinator)).get_json()
    assert body["id"] in [c["id"] for c in listed]


def test_network_page_and_csv(w, login_as):
    coordinator = login_as(w.coordinator)
    assert "ASBL Test" in coordinator.get("/platform/network").get_data(as_text=True)
    csv_text = coordinator.get("/platform/network.csv").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("beneficiary;kind;postcode")
    assert any(line.startswith("CPAS Test;") for line in lines)
    assert login_as(w.cpas_user).get("/platform/network.csv").status_code == 403


def test_platform_dashboard_shows_lots_at_risk_and_fse_stock(w, login_as):
    factories.lot(w.donor, title="Salades urgentes", days=1)
    _fse_lot(w)
    html = login_as(w.coordinator).get("/platform/").get_data(as_text=True)
    assert "Salades urgentes" in html and "data-map" in html and "100 kg" in html
