"""Bad input to the convention, agreement, area and verification forms and API: a 4xx
with a message per field, and nothing changed; a PATCH changes only what it is given."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surplus.extensions import db
from surplus.models import (
    Convention,
    Organisation,
    Role,
    TransportAgreement,
    Verification,
)
from surplus.services.lot_dates import local_today
from tests import factories
from tests.factories import translated

HX = {"HX-Request": "true"}
FAR = ("9999-12-31", "0001-01-01")


@pytest.fixture
def w(w):
    """The world's platforms are logistics platforms: each serves its commune."""
    w.platform.service_postcodes = ["6800"]
    w.other_platform.service_postcodes = ["5000"]
    w.newcomer = factories.org("association", name="Épicerie Test", mode="social_grocery")
    w.newcomer_admin = factories.user(w.newcomer, Role.ORG_ADMIN)
    w.cpas_admin = factories.user(w.cpas, Role.ORG_ADMIN)
    db.session.commit()
    return w


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def _snapshot(conv_id: int) -> dict:
    db.session.rollback()
    conv = db.session.get(Convention, conv_id)
    return {
        name: getattr(conv, name)
        for name in (
            "status",
            "persons_per_week",
            "chilled_capacity_kg",
            "frozen_capacity_kg",
            "opening_hours",
            "accepted_categories",
            "contact_name",
            "fse_plus_approval_number",
            "fse_plus_approval_expires",
            "valid_from",
            "valid_until",
            "pending_changes",
        )
    }


def test_patch_changes_only_the_fields_given(w, client, api_token):
    conv = w.cpas_convention
    conv.opening_hours = {"mon": [["09:00", "12:00"]]}
    db.session.commit()
    before = _snapshot(conv.id)
    response = client.patch(
        f"/api/v1/conventions/{conv.id}",
        json={"persons_per_week": 139},
        headers=api_token(w.cpas_admin),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["persons_per_week"] == 139 and body["chilled_capacity_kg"] == 200
    assert body["opening_hours"] == {"mon": [["09:00", "12:00"]]}
    assert _snapshot(conv.id) == {**before, "persons_per_week": 139}
    response = client.patch(
        f"/api/v1/conventions/{conv.id}",
        headers=api_token(w.cpas_admin),
        json={"opening_hours": {"tue": "08:00-11:00"}},
    )
    assert response.get_json()["opening_hours"] == {"tue": [["08:00", "11:00"]]}
    assert _snapshot(conv.id)["persons_per_week"] == 139


def test_a_convention_platform_is_a_logistics_platform(w, client, api_token):
    team = factories.org(
        "platform", name="Maillon — équipe du site", postcode="5000", locality="Namur"
    )
    factories.user(team, Role.SITE_ADMIN)
    db.session.commit()
    headers = api_token(w.newcomer_admin)
    for platform_id in (team.id, w.donor.id, w.cpas.id):
        response = client.post(
            "/api/v1/conventions",
            headers=headers,
            json={"platform_id": platform_id, "persons_per_week": 40},
        )
        assert response.status_code == 400
        assert set(response.get_json()["fields"]) == {"platform_id"}
    assert _count(Convention) == 2


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {"platform_id": 2**31, "persons_per_week": 40},
        {"platform_id": "1", "persons_per_week": 1e306},
        {"persons_per_week": 40},
        {"platform_id": 1, "persons_per_week": "NaN"},
        {"platform_id": 1, "persons_per_week": 0},
        {"platform_id": 1, "persons_per_week": 40, "chilled_capacity_kg": -1},
        {"platform_id": 1, "persons_per_week": 40, "contact_name": "Anne\u0000"},
        {"platform_id": 1, "persons_per_week": 40, "contact_phone": "\ud83d"},
        {
            "platform_id": 1,
            "persons_per_week": 40,
            "fse_plus_approval_number": "F",
            "fse_plus_approval_expires": FAR[0],
        },
        {
            "platform_id": 1,
            "persons_per_week": 40,
            "fse_plus_approval_number": "F",
            "fse_plus_approval_expires": FAR[1],
        },
        {"platform_id": 1, "persons_per_week": 40, "opening_hours": {"mon": [[1, 2]]}},
        {"platform_id": 1, "persons_per_week": 40, "opening_hours": []},
        {"platform_id": 1, "persons_per_week": 40, "accepted_categories": "gold"},
        {"platform_id": True, "persons_per_week": 40},
    ],
)
def test_bad_convention_requests_are_400_with_a_field(w, client, api_token, body):
    response = client.post("/api/v1/conventions", json=body, headers=api_token(w.newcomer_admin))
    assert response.status_code == 400, response.get_json()
    answer = response.get_json()
    assert answer["error"] and (answer["fields"] or not isinstance(body, dict))
    assert _count(Convention) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"persons_per_week": None},
        {"chilled_capacity_kg": "1e400"},
        {"opening_hours": {"sun": "23:00-01:00"}},
        {"fse_plus_approval_expires": FAR[0]},
        {"contact_name": "x" * 201},
        {"accepted_categories": ["dairy", 3]},
    ],
)
def test_bad_patches_change_nothing(w, client, api_token, body):
    conv_id = w.cpas_convention.id
    before = _snapshot(conv_id)
    response = client.patch(
        f"/api/v1/conventions/{conv_id}", json=body, headers=api_token(w.cpas_admin)
    )
    assert response.status_code == 400 and set(response.get_json()["fields"]) == set(body)
    assert _snapshot(conv_id) == before


def test_patch_and_decision_answer_404_for_unseen_and_401_first(w, client, api_token):
    conv_id = w.cpas_convention.id
    stranger = api_token(w.other_coordinator)
    for url in (f"/api/v1/conventions/{conv_id}", "/api/v1/conventions/999999"):
        assert client.patch(url, json={"persons_per_week": 1}, headers=stranger).status_code == 404
        assert client.get(url, headers=stranger).status_code == 404
    assert client.get("/api/v1/conventions/3000000000", headers=stranger).status_code == 404
    assert (
        client.patch(f"/api/v1/conventions/{conv_id}", json={"persons_per_week": "x"}).status_code
        == 401
    )
    coordinator = api_token(w.coordinator)
    response = client.patch(
        f"/api/v1/conventions/{conv_id}", json={"persons_per_week": 1}, headers=coordinator
    )
    assert response.status_code == 403  # the coordinator decides; the beneficiary declares
    assert _snapshot(conv_id)["persons_per_week"] == 100


@pytest.mark.parametrize(
    "body",
    [
        {"action": "approve", "valid_from": FAR[0]},
        {"action": "approve", "valid_until": FAR[1]},
        {"action": "approve", "valid_until": "2020-02-30"},
        {"action": "delete"},
        {},
        {"action": "suspend", "reason": "Audit\x00"},
        {"action": "approve", "fse_plus": "maybe"},
        {"action": "approve", "valid_until": (local_today() - timedelta(days=400)).isoformat()},
        {"action": "suspend"},
    ],
)
def test_bad_decisions_change_nothing(w, client, api_token, body):
    conv_id = w.cpas_convention.id
    before = _snapshot(conv_id)
    response = client.post(
        f"/api/v1/conventions/{conv_id}/decision", json=body, headers=api_token(w.coordinator)
    )
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["fields"]
    assert _snapshot(conv_id) == before


def test_the_request_form_keeps_entries_and_names_each_fault(w, login_as):
    page = login_as(w.newcomer_admin)
    response = page.post(
        "/conventions/new",
        data={
            "platform_id": str(w.platform.id),
            "persons_per_week": "1e306",
            "chilled_capacity_kg": "12,5",
            "hours_mon": "9-12",
            "contact_name": "Anne\x00",
            "fse_plus_approval_number": "FSE+/1",
            "fse_plus_approval_expires": FAR[0],
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.count('class="error"') >= 4 and 'value="12,5"' in html
    assert 'value="9-12"' in html and f'value="{FAR[0]}"' in html
    assert translated("fr", "Write hours as 09:00-12:00, 13:30-16:30.") in html
    assert _count(Convention) == 2
    # The site team's organisation is not offered, nor accepted.
    team = factories.org("platform", name="Équipe du site")
    db.session.commit()
    assert "Équipe du site" not in page.get("/conventions/new").get_data(as_text=True)
    response = page.post(
        "/conventions/new", data={"platform_id": str(team.id), "persons_per_week": "20"}
    )
    assert response.status_code == 422
    assert translated("fr", "Choose a platform from the list.") in response.get_data(as_text=True)
    response = page.post(
        "/conventions/new",
        data={
            "platform_id": str(w.platform.id),
            "persons_per_week": "20",
            "chilled_capacity_kg": "12,5",
        },
    )
    assert response.status_code == 302
    db.session.rollback()
    conv = db.session.scalar(select(Convention).where(Convention.beneficiary_id == w.newcomer.id))
    assert conv.chilled_capacity_kg == 12.5 and conv.opening_hours == {}


def test_the_figures_form_is_a_full_update(w, login_as):
    conv = w.cpas_convention
    page = login_as(w.cpas_admin)
    bad = page.post(
        f"/conventions/{conv.id}/figures",
        data={"persons_per_week": "80", "contact_phone": "061\x07"},
    )
    assert bad.status_code == 422 and _snapshot(conv.id)["persons_per_week"] == 100
    done = page.post(
        f"/conventions/{conv.id}/figures",
        data={
            "persons_per_week": "80",
            "chilled_capacity_kg": "200",
            "frozen_capacity_kg": "50",
            "fse_plus_approval_number": "FSE+/BE/1234",
            "fse_plus_approval_expires": conv.fse_plus_approval_expires.isoformat(),
            "hours_fri": "08:00-10:00",
        },
    )
    assert done.status_code == 302
    after = _snapshot(conv.id)
    assert (
        after["persons_per_week"] == 80
        and after["opening_hours"] == {"fri": [["08:00", "10:00"]]}
        and after["contact_name"] == ""
    )


def test_the_decision_form_refuses_far_dates(w, login_as):
    conv_id = w.cpas_convention.id
    before = _snapshot(conv_id)
    page = login_as(w.coordinator)
    for headers in ({}, HX):
        response = page.post(
            f"/conventions/{conv_id}/decision",
            headers=headers,
            data={"action": "approve", "valid_from": FAR[1], "valid_until": FAR[0]},
        )
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and f'value="{FAR[0]}"' in html
    assert _snapshot(conv_id) == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"valid_from": FAR[0]},
        {"valid_until": FAR[1]},
        {"other_id": "3000000000"},
        {"other_id": "abc"},
        {"note": "Lundi\x00"},
        {"direction": "both"},
        {"note": "n" * 1001},
    ],
)
def test_the_agreement_form_refuses_bad_entries(w, login_as, overrides):
    data = {
        "other_id": str(w.other_platform.id),
        "direction": "we_carry",
        "valid_from": local_today().isoformat(),
        "valid_until": "",
        "note": "Mardis",
    }
    response = login_as(w.coordinator).post("/platform/agreements", data={**data, **overrides})
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert _count(TransportAgreement) == 0


def test_agreement_decisions_refuse_unknown_actions(w, login_as):
    login_as(w.coordinator).post(
        "/platform/agreements",
        data={
            "other_id": str(w.other_platform.id),
            "direction": "we_carry",
            "valid_from": local_today().isoformat(),
        },
    )
    db.session.rollback()
    agreement_id = db.session.scalar(select(TransportAgreement.id))
    theirs = login_as(w.other_coordinator)
    for data in ({"action": "approve!"}, {"action": "refuse", "reason": "x\x00"}, {}):
        response = theirs.post(
            f"/platform/agreements/{agreement_id}/decision", headers=HX, data=data
        )
        assert response.status_code == 422
    assert (
        theirs.post(
            "/platform/agreements/3000000000/decision", data={"action": "approve"}
        ).status_code
        == 404
    )
    db.session.rollback()
    assert db.session.get(TransportAgreement, agreement_id).status.value == "requested"


@pytest.mark.parametrize(
    "data",
    [
        {"postcodes": "6800\x00"},
        {"radius_km": "1e308"},
        {"radius_km": "NaN"},
        {"radius_km": "0,04"},
        {"postcodes": "6800 " * 800},
    ],
)
def test_the_area_form_refuses_bad_entries(w, login_as, data):
    response = login_as(w.coordinator).post("/platform/area", data=data)
    assert response.status_code == 422
    db.session.rollback()
    platform = db.session.get(Organisation, w.platform.id)
    assert platform.service_postcodes == ["6800"] and platform.service_radius_km is None


def test_verification_refuses_a_bad_entry_with_a_message(w, login_as):
    newcomer = factories.org("producer", name="Ferme nouvelle", verified=False)
    db.session.commit()
    page = login_as(w.coordinator)
    url = f"/organisations/{newcomer.id}/verification"
    for data in ({"decision": "maybe"}, {"decision": "verify", "reason": "ok\x00"}):
        response = page.post(url, headers=HX, data=data)
        assert response.status_code == 422
        assert f'id="org-{newcomer.id}"' in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Organisation, newcomer.id).verification == Verification.PENDING
    assert page.post(url, data={"decision": "verify"}).status_code == 200
    db.session.rollback()
    assert db.session.get(Organisation, newcomer.id).verification == Verification.VERIFIED


def test_network_csv_neutralises_formulas(w, login_as):
    w.asbl.name = '=HYPERLINK("http://evil.example","Cliquez")'
    w.asbl_convention.contact_name = "@SUM(A1:A9)"
    w.asbl_convention.contact_phone = "+32 61 00 00 00"
    db.session.commit()
    text = login_as(w.coordinator).get("/platform/network.csv").get_data(as_text=True)
    row = next(line for line in text.splitlines() if "HYPERLINK" in line)
    cells = row.split(";")
    assert cells[0].startswith("\"'=HYPERLINK") and "'@SUM(A1:A9)" in cells
    assert "'+32 61 00 00 00" in cells
    assert all(not cell.lstrip('"').startswith(("=", "+", "-", "@")) for cell in cells)


def test_openapi_describes_the_convention_inputs(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]

    def body(path, method):
        ref = spec["paths"][path][method]["requestBody"]["content"]["application/json"]
        return schemas[ref["schema"]["$ref"].rsplit("/", 1)[1]]

    created = body("/api/v1/conventions", "post")
    assert set(created["required"]) == {"platform_id", "persons_per_week"}
    assert created["properties"]["persons_per_week"]["maximum"] == 100_000
    assert "required" not in body("/api/v1/conventions/{conv_id}", "patch")
    decision = body("/api/v1/conventions/{conv_id}/decision", "post")
    assert decision["properties"]["action"]["enum"] == [
        "approve",
        "decline",
        "suspend",
        "reinstate",
        "end",
    ]
    for method, codes in (("patch", {"400", "401", "403", "404"}), ("get", {"401", "404"})):
        assert codes <= set(spec["paths"]["/api/v1/conventions/{conv_id}"][method]["responses"])
