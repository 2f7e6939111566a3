"""The GDPR rights: "download my data" (page and API), deactivation, deletion, the last
administrator's guard, and the privacy notice in three languages."""

from __future__ import annotations

import json

import pytest
from markupsafe import escape
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import (
    ApiToken,
    Claim,
    Event,
    Invitation,
    Organisation,
    Role,
    SecurityEvent,
    SecurityEventKind,
    User,
)
from surplus.services import accounts, booking, claims, collection, personal_data
from tests import factories
from tests.factories import PASSWORD, translated
from tests.mailbox import parts, subject


@pytest.fixture
def world(app):
    """The factories' world, a CPAS administrator besides its member, a claim of the
    member's on a lot of the donor, and a claim of the association (another beneficiary)
    on a lot of the other donor, none of the CPAS's business."""
    w = factories.world()
    w.cpas_admin = factories.user(w.cpas, Role.ORG_ADMIN)
    w.cpas_convention.contact_name = "Marie Contact"
    w.cpas_convention.contact_phone = "+32 81 00 11 22"
    w.lot = factories.lot(w.donor, kg=40, title="Fromage blanc de Recogne")
    w.asbl_lot = factories.lot(w.donor, kg=30, title="Salades réservées ASBL")
    db.session.commit()
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, w.lot.id, 12)
    claims.claim_lot(db.session, w.asbl_user, w.asbl_lot.id, 5)
    db.session.commit()
    return w


def _download(client) -> tuple[dict, str]:
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.mimetype == "application/json"
    body = response.get_data(as_text=True)
    return json.loads(body), body


SECRETS = ("password_hash", "mfa_secret", "token_hash", "code_hash", "scrypt:")


def test_export_holds_the_users_claims_events_and_security_log(world, app, login_as):
    w = world
    failing = app.test_client()
    assert (
        failing.post("/login", data={"email": w.cpas_user.email, "password": "nope"}).status_code
        == 422
    )
    client = login_as(w.cpas_user)
    page = client.get("/account/data")
    assert page.status_code == 200
    assert "/account/data.json" in page.get_data(as_text=True)

    data, body = _download(client)

    assert data["user"]["email"] == w.cpas_user.email
    assert data["user"]["organisation"]["name"] == "CPAS Test"
    [claim] = data["claims"]
    assert claim["id"] == w.claim.id
    assert claim["lot"]["title"] == "Fromage blanc de Recogne"
    assert claim["kg"] == 12 and claim["status"] == "active"
    assert claim["platform"] == "Hub Libramont"
    acted = [e for e in data["events"] if e["acted"]]
    assert acted and all(isinstance(e["action"], str) for e in acted)
    expected = set(db.session.scalars(select(Event.id).where(Event.actor_id == w.cpas_user.id)))
    assert {e["id"] for e in acted} == expected
    kinds = [e["kind"] for e in data["security_events"]]
    assert "sign_in_failed" in kinds
    # A member gets no organisation section; nothing of the association's claim.
    assert data["organisation"] is None
    assert "Salades réservées ASBL" not in body
    assert w.asbl_user.email not in body and w.cpas_admin.email not in body
    for secret in SECRETS:
        assert secret not in body
    db.session.rollback()
    assert db.session.scalar(
        select(SecurityEvent.id).where(
            SecurityEvent.user_id == w.cpas_user.id,
            SecurityEvent.kind == SecurityEventKind.DATA_EXPORTED,
        )
    )


def test_an_administrator_gets_the_organisation_and_only_names_of_others(world, login_as):
    w = world
    data, body = _download(login_as(w.cpas_admin))
    org = data["organisation"]
    assert org["profile"]["name"] == "CPAS Test"
    assert {m["email"] for m in org["members"]} == {w.cpas_user.email, w.cpas_admin.email}
    [conv] = org["conventions"]
    assert conv["counterpart"] == "Hub Libramont"
    assert conv["contact_name"] == "Marie Contact"  # the CPAS's own contact person
    assert [c["lot"]["title"] for c in org["claims"]] == ["Fromage blanc de Recogne"]
    assert data["claims"] == []  # the administrator made none themself
    assert "Salades réservées ASBL" not in body
    assert w.coordinator.email not in body and w.donor_user.email not in body
    for secret in SECRETS:
        assert secret not in body

    # The platform's coordinator administers the platform: the CPAS is its counterpart,
    # named, but the CPAS's contact person is not the platform's data.
    data, body = _download(login_as(w.coordinator))
    names = {c["counterpart"] for c in data["organisation"]["conventions"]}
    assert names == {"CPAS Test", "ASBL Test"}
    assert "Marie Contact" not in body and "+32 81 00 11 22" not in body
    assert w.cpas_user.email not in body


def test_the_api_twin_needs_a_token_and_answers_the_same(world, client, api_token, login_as):
    w = world
    assert client.get("/api/v1/me/export").status_code == 401
    response = client.get("/api/v1/me/export", headers=api_token(w.cpas_user))
    assert response.status_code == 200
    api = response.get_json()
    web, _ = _download(login_as(w.cpas_user))
    for key in ("user", "claims", "lots", "runs", "events", "notifications", "organisation"):
        assert api[key] == web[key], key
    assert [t["name"] for t in api["api_tokens"]] == ["API"]
    assert "token_hash" not in response.get_data(as_text=True)


def test_deactivation_stops_sign_in_sessions_and_tokens_until_an_admin_reactivates(
    world, app, client, api_token, login_as, inbox
):
    w = world
    member, address = w.cpas_user, w.cpas_user.email
    token = api_token(member)
    browser = login_as(member)
    assert browser.get("/account/close").status_code == 200
    response = browser.post("/account/close/deactivate")
    assert response.status_code == 302
    assert browser.get("/account/").status_code == 302  # the session ended

    again = app.test_client()
    assert again.post("/login", data={"email": address, "password": PASSWORD}).status_code == 422
    assert client.get("/api/v1/me", headers=token).status_code == 401
    db.session.rollback()
    person = db.session.get(User, member.id)
    assert not person.active and person.deactivated_at is not None
    assert person.email == address  # kept: reversible

    by_address = {m["To"]: m for m in inbox.messages}
    assert subject(by_address[address]) == translated("fr", "Your Maillon account was deactivated")
    told = parts(by_address[w.cpas_admin.email])["text/plain"]
    assert "Test Person" in told and "CPAS Test" in told

    admin = login_as(w.cpas_admin)
    assert admin.post(f"/account/members/{member.id}/reactivate").status_code == 302
    assert again.post("/login", data={"email": address, "password": PASSWORD}).status_code == 302
    # Not someone else's member: as if it did not exist.
    other = login_as(w.asbl_user)
    assert other.post(f"/account/members/{member.id}/reactivate").status_code == 404


def test_deletion_asks_the_password_leaves_a_pseudonym_and_frees_the_address(
    world, app, login_as, inbox
):
    w = world
    member, address = w.cpas_user, w.cpas_user.email
    accepted = Invitation(  # how this member joined
        organisation_id=w.cpas.id,
        email=address,
        role=Role.MEMBER,
        token_hash="0" * 64,
        invited_by_id=w.cpas_admin.id,
        expires_at=w.claim.created_at,
        accepted_at=w.claim.created_at,
    )
    db.session.add(accepted)
    db.session.commit()
    token = (
        app.test_client()
        .post("/api/v1/token", json={"email": address, "password": PASSWORD})
        .get_json()["token"]
    )
    browser = login_as(member)
    wrong = browser.post("/account/close/delete", data={"delete-password": "not-it"})
    assert wrong.status_code == 422
    assert translated("fr", "Wrong password.") in wrong.get_data(as_text=True)

    response = browser.post("/account/close/delete", data={"delete-password": PASSWORD})
    assert response.status_code == 302

    db.session.rollback()
    person = db.session.get(User, member.id)
    pseudonym = translated("fr", "Deleted member no. %(n)d", n=member.id)
    assert person.name == pseudonym
    assert person.email == f"deleted-{member.id}@invalid"
    assert person.deleted_at is not None and not person.active
    assert person.mfa_secret is None
    assert db.session.get(Invitation, accepted.id).email == person.email
    assert db.session.scalars(select(ApiToken).where(ApiToken.user_id == member.id)).all() == []
    # The history still points at the row.
    assert db.session.get(Claim, w.claim.id).created_by_id == member.id
    assert (
        app.test_client()
        .get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 401
    )
    assert (
        app.test_client().post("/login", data={"email": address, "password": PASSWORD}).status_code
        == 422
    )

    # Their organisation's history shows the pseudonym.
    history = login_as(w.cpas_admin).get("/account/events").get_data(as_text=True)
    assert pseudonym in history
    # The address is free again: an invitation (or a sign-up) may use it.
    db.session.rollback()  # a fresh snapshot: the requests above wrote
    assert not accounts.email_taken(db.session, address)
    accounts.invite(db.session, db.session.get(User, w.cpas_admin.id), address, Role.MEMBER)
    db.session.rollback()

    [mine] = [m for m in inbox.messages if m["To"] == address]
    assert subject(mine) == translated("fr", "Your Maillon account was deleted")


def test_the_last_admin_names_another_first(world, login_as):
    w = world
    w.cpas_admin.role = Role.MEMBER  # the CPAS keeps one administrator and one member
    last = factories.user(w.cpas, Role.ORG_ADMIN)
    db.session.commit()
    browser = login_as(last)
    page = browser.get("/account/close").get_data(as_text=True)
    refusal = personal_data.close_refusal(db.session, last)
    assert refusal and str(escape(refusal)) in page
    assert browser.post("/account/close/deactivate").status_code == 403
    refused = browser.post("/account/close/delete", data={"delete-password": PASSWORD})
    assert refused.status_code == 403
    db.session.rollback()
    assert db.session.get(User, last.id).active

    # Alone in its organisation, an administrator may leave; the organisation stays.
    alone = w.donor_user
    response = login_as(alone).post("/account/close/delete", data={"delete-password": PASSWORD})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(Organisation, w.donor.id) is not None
    assert db.session.get(User, alone.id).deleted_at is not None

    # With a second administrator, the first may go.
    factories.user(w.cpas, Role.ORG_ADMIN)
    db.session.commit()
    assert browser.post("/account/close/deactivate").status_code == 302


@pytest.mark.parametrize("language", ["fr", "nl", "en"])
def test_privacy_notice_in_each_language(app, client, language):
    response = client.get("/privacy", headers={"Accept-Language": language})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    title = "Privacy notice" if language == "en" else translated(language, "Privacy notice")
    assert f"<h1>{title}</h1>" in html
    assert "www.dataprotectionauthority.be" in html
    # RETENTION_DAYS (730) in years.
    years = {"fr": "2 ans", "nl": "2 jaar", "en": "2 years"}[language]
    assert years in html


def test_the_last_site_admin_stays(app, login_as):
    first = factories.user(factories.org("platform"), Role.SITE_ADMIN)
    db.session.commit()
    browser = login_as(first)
    assert browser.post("/account/close/deactivate").status_code == 403
    db.session.rollback()  # a fresh snapshot: the requests above wrote
    factories.user(factories.org("platform"), Role.SITE_ADMIN)
    db.session.commit()
    assert browser.post("/account/close/deactivate").status_code == 302


def test_a_self_collection_is_in_the_data_of_who_recorded_it(world, login_as):
    w = world
    booking.self_collect(db.session, w.cpas_user, w.claim)
    collection.confirm_collection(db.session, w.cpas_user, w.claim, 3.0, "Marie Lambert", "OK")
    db.session.commit()
    data, _body = _download(login_as(w.cpas_user))
    (claim,) = data["claims"]
    assert (claim["collected_by"], claim["collection_note"]) == ("Marie Lambert", "OK")
    (handover,) = [h for h in data["handovers"] if h["kind"] == "collection"]
    assert handover["claim_id"] == w.claim.id and handover["status"] == "done"
    assert (handover["receiver"], handover["note"]) == ("Marie Lambert", "OK")
    other, _ = _download(login_as(w.asbl_user))
    assert "Marie Lambert" not in json.dumps(other)
