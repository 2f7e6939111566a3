"""Least power: a coordinator verifies only the donors and beneficiaries within its
platform's service area (Maillon's administrators verify the rest and every platform);
only site admins run a scheduled job by hand, coordinators read the board."""

import html

import pytest
from sqlalchemy import select

from surplus import access
from surplus.errors import Forbidden
from surplus.extensions import db
from surplus.models import Event, Organisation, Role, Verification
from surplus.services import accounts
from tests import factories

HX = {"HX-Request": "true"}
OUTSIDE = (
    "This organisation is outside your platform's service area (%(why)s); "
    "Maillon's administrators verify it."
)
NOT_A_COMMUNE = "%(place)s is not one of its communes"
NOR_NEAR = "%(place)s is neither one of its communes nor within %(km)s km of its address"


@pytest.fixture
def w(app):
    """Hub Libramont (6800) serves 6800 and 6840; waiting: a farm in 6840, a shop in
    Bertrix (6880, 15 road km away) and one in Liège, a new platform in 6800."""
    w = factories.world()
    w.platform.service_postcodes = ["6800", "6840"]
    w.admin = factories.user(factories.org("platform", name="Maillon"), Role.SITE_ADMIN)
    w.inside = factories.org(
        "producer",
        name="Ferme de Neufchâteau",
        postcode="6840",
        locality="Neufchâteau",
        verified=False,
    )
    w.near = factories.org(
        "shop", name="Épicerie de Bertrix", postcode="6880", locality="Bertrix", verified=False
    )
    w.outside = factories.org(
        "shop", name="Magasin de Liège", postcode="4000", locality="Liège", verified=False
    )
    w.new_platform = factories.org("platform", name="Plateforme nouvelle", verified=False)
    db.session.commit()
    return w


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _verification(org_id: int) -> Verification:
    db.session.rollback()
    return db.session.get(Organisation, org_id).verification


def _decisions(org_id: int) -> list[str]:
    return db.session.scalars(
        select(Event.action).where(Event.subject_type == "organisation", Event.subject_id == org_id)
    ).all()


NAMES = ("Ferme de Neufchâteau", "Épicerie de Bertrix", "Magasin de Liège", "Plateforme nouvelle")


def _pending_names(page) -> set[str]:
    text = _text(page.get("/organisations/pending"))
    return {name for name in NAMES if name in text}


def test_coordinator_verifies_within_its_area(w, login_as):
    page = login_as(w.coordinator)
    assert _pending_names(page) == {"Ferme de Neufchâteau"}
    response = page.post(
        f"/organisations/{w.inside.id}/verification", headers=HX, data={"decision": "verify"}
    )
    assert response.status_code == 200
    assert _verification(w.inside.id) == Verification.VERIFIED
    assert _decisions(w.inside.id) == ["verified"]


def test_coordinator_is_refused_outside_its_area_and_told_why(w, login_as):
    page = login_as(w.coordinator)
    for headers in ({}, HX):
        response = page.post(
            f"/organisations/{w.outside.id}/verification",
            headers=headers,
            data={"decision": "verify", "reason": "Je connais"},
        )
        assert response.status_code == 403
        why = factories.translated("fr", NOT_A_COMMUNE, place="4000 Liège")
        assert factories.translated("fr", OUTSIDE, why=why) in _text(response)
    assert _verification(w.outside.id) == Verification.PENDING
    assert _decisions(w.outside.id) == [], "nothing recorded"
    refused = page.post(f"/organisations/{w.outside.id}/verification", data={"decision": "reject"})
    assert refused.status_code == 403 and _verification(w.outside.id) == Verification.PENDING


def test_the_radius_of_the_area_counts_as_for_the_offer_waves(w, login_as):
    w.platform.service_radius_km = 20
    db.session.commit()
    page = login_as(w.coordinator)
    assert _pending_names(page) == {"Ferme de Neufchâteau", "Épicerie de Bertrix"}
    response = page.post(f"/organisations/{w.near.id}/verification", data={"decision": "verify"})
    assert response.status_code == 200
    assert _verification(w.near.id) == Verification.VERIFIED
    refused = page.post(f"/organisations/{w.outside.id}/verification", data={"decision": "verify"})
    why = factories.translated("fr", NOR_NEAR, place="4000 Liège", km="20")
    assert refused.status_code == 403
    assert factories.translated("fr", OUTSIDE, why=why) in _text(refused)


def test_coordinators_never_verify_a_platform(w, login_as):
    response = login_as(w.coordinator).post(
        f"/organisations/{w.new_platform.id}/verification", data={"decision": "verify"}
    )
    assert response.status_code == 403
    assert factories.translated(
        "fr", "Only Maillon's administrators verify logistics platforms."
    ) in _text(response)
    assert _verification(w.new_platform.id) == Verification.PENDING


def test_another_platform_sees_none_of_them(w, login_as):
    page = login_as(w.other_coordinator)  # Namur: none of the newcomers is in its area
    assert _pending_names(page) == set()
    assert factories.translated("fr", "Nobody is waiting.") in _text(
        page.get("/organisations/pending")
    )
    response = page.post(f"/organisations/{w.inside.id}/verification", data={"decision": "verify"})
    assert response.status_code == 403
    assert _verification(w.inside.id) == Verification.PENDING


def test_coordinators_read_only_the_cards_of_those_they_verify(w, login_as):
    page = login_as(w.coordinator)
    assert page.get(f"/organisations/{w.inside.id}").status_code == 200
    for org in (w.outside, w.new_platform):
        assert page.get(f"/organisations/{org.id}").status_code == 404
    assert (
        page.post("/organisations/999999/verification", data={"decision": "verify"}).status_code
        == 404
    )
    admin = login_as(w.admin)
    assert admin.get(f"/organisations/{w.outside.id}").status_code == 200


def test_site_admins_see_and_verify_everyone(w, login_as):
    page = login_as(w.admin)
    assert _pending_names(page) == set(NAMES), "outside every area too"
    for org in (w.outside, w.new_platform):
        response = page.post(f"/organisations/{org.id}/verification", data={"decision": "verify"})
        assert response.status_code == 200
        assert _verification(org.id) == Verification.VERIFIED


def test_the_service_applies_the_same_rule(w):
    assert access.may_verify(w.coordinator, w.inside)
    assert not access.may_verify(w.coordinator, w.outside)
    assert [o.id for o in access.verification_queue(w.coordinator)] == [w.inside.id]
    with pytest.raises(Forbidden):
        accounts.verify(db.session, w.coordinator, w.outside, accept=True)
    db.session.rollback()
    assert db.session.get(Organisation, w.outside.id).verification == Verification.PENDING


# -- the job board -------------------------------------------------------------------------


def test_coordinators_read_the_job_board_without_buttons(w, login_as):
    page = login_as(w.coordinator).get("/jobs/")
    assert page.status_code == 200
    text = _text(page)
    assert factories.translated("fr", "Erase personal data past its retention period") in text
    assert factories.translated("fr", "Run now") not in text
    assert 'action="/jobs/' not in text and "hx-post" not in text


def test_api_coordinator_verifies_only_within_its_area(w, client, api_token):
    headers = api_token(w.coordinator)
    pending = client.get("/api/v1/organisations/pending", headers=headers)
    assert pending.status_code == 200
    assert {org["name"] for org in pending.get_json()} == {"Ferme de Neufchâteau"}

    refused = client.post(
        f"/api/v1/organisations/{w.outside.id}/verification",
        headers=headers,
        json={"decision": "verify"},
    )
    assert refused.status_code == 403
    assert "4000 Liège" in refused.get_json()["error"]
    assert _verification(w.outside.id) == Verification.PENDING
    assert _decisions(w.outside.id) == []

    accepted = client.post(
        f"/api/v1/organisations/{w.inside.id}/verification",
        headers=headers,
        json={"decision": "verify"},
    )
    assert accepted.status_code == 200
    assert accepted.get_json()["verification"] == "verified"
    assert _verification(w.inside.id) == Verification.VERIFIED


def test_api_site_admin_verifies_anywhere_and_members_may_not(w, client, api_token):
    member = api_token(w.cpas_user)
    assert client.get("/api/v1/organisations/pending", headers=member).status_code == 403
    admin = api_token(w.admin)
    pending = client.get("/api/v1/organisations/pending", headers=admin).get_json()
    assert set(NAMES) <= {org["name"] for org in pending}
    answer = client.post(
        f"/api/v1/organisations/{w.outside.id}/verification",
        headers=admin,
        json={"decision": "reject", "reason": "Inconnue"},
    )
    assert answer.status_code == 200 and answer.get_json()["verification"] == "rejected"
    assert _verification(w.outside.id) == Verification.REJECTED
    assert _decisions(w.outside.id) == ["rejected"]
