"""Sign-in, lockout, sign-out, sign-up, invitations, language and security headers."""

import re

from sqlalchemy import select

from surplus.extensions import db
from surplus.models import Organisation, Role, User, Verification
from tests import factories
from tests.factories import PASSWORD, translated


def test_sign_in_and_dashboard(app, client):
    person = factories.user(factories.org("cpas", name="CPAS de Test"))
    db.session.commit()
    response = client.post("/login", data={"email": person.email, "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert "CPAS de Test" in page.get_data(as_text=True)


def test_bad_sign_in_keeps_email_and_says_why_in_french(app, client):
    person = factories.user(factories.org("cpas"))
    db.session.commit()
    response = client.post(
        "/login",
        data={"email": person.email, "password": "wrong"},
        headers={"Accept-Language": "fr"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'value="{person.email}"' in html
    assert translated("fr", "Wrong e-mail address or password.") in html


def test_sign_out_invalidates_the_old_cookie(app, client):
    person = factories.user(factories.org("cpas"))
    db.session.commit()
    client.post("/login", data={"email": person.email, "password": PASSWORD})
    stolen = client.get_cookie("session", domain="maillon.test").value
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen, domain="maillon.test")
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_session_is_fresh_after_sign_in(app, client):
    person = factories.user(factories.org("cpas"))
    db.session.commit()
    with client.session_transaction() as sess:
        sess["planted"] = "attacker"
    client.post("/login", data={"email": person.email, "password": PASSWORD})
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_security_headers_and_cookie_flags(app, client):
    person = factories.user(factories.org("cpas"))
    db.session.commit()
    response = client.post("/login", data={"email": person.email, "password": PASSWORD})
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_csrf_is_required_on_forms(app):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/login", data={"email": "a@b.be", "password": "x"})
    assert response.status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": "a@b.be", "password": "x", "csrf_token": token})
    assert response.status_code == 422  # reached the credentials check


def _signup_data(**overrides):
    data = {
        "org_name": "Épicerie Nouvelle",
        "kind": "shop",
        "address": "Rue Haute 3",
        "postcode": "6800",
        "locality": "Libramont-Chevigny",
        "enterprise_number": "0403.170.701",
        "afsca_number": "",
        "phone": "",
        "name": "Marie",
        "email": "marie@example.be",
        "password": "long-enough-pass",
    }
    data.update(overrides)
    return data


def test_sign_up_creates_pending_organisation_and_admin(app, client):
    response = client.post("/signup", data=_signup_data())
    assert response.status_code == 200  # "check your mailbox": test_signup_confirmation.py
    org = db.session.scalar(select(Organisation).where(Organisation.name == "Épicerie Nouvelle"))
    assert org.verification == Verification.PENDING
    assert org.enterprise_number == "0403170701"
    assert org.users[0].role == Role.ORG_ADMIN
    assert org.users[0].email_confirmed_at is None


def test_sign_up_with_unknown_postcode_keeps_entries(app, client):
    response = client.post(
        "/signup", data=_signup_data(postcode="9999"), headers={"Accept-Language": "fr"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert translated("fr", "Unknown Belgian postcode.") in html
    assert 'value="Épicerie Nouvelle"' in html and 'value="marie@example.be"' in html


def test_sign_up_with_invalid_enterprise_number(app, client):
    response = client.post(
        "/signup",
        data=_signup_data(enterprise_number="0403.170.702"),
        headers={"Accept-Language": "en"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not a valid enterprise number" in html
    assert 'value="0403.170.702"' in html


def test_invitation_flow(app, client, login_as):
    admin = factories.user(factories.org("cpas"), Role.ORG_ADMIN)
    db.session.commit()
    login_as(admin, client)
    page = client.post("/account/invitations", data={"email": "new@example.be", "role": "member"})
    link = re.search(r'<code class="invite-link">([^<]+)</code>', page.get_data(as_text=True))
    assert link, "the invitation link is shown to the admin"
    path = link.group(1).split("maillon.test", 1)[1]
    newcomer = app.test_client()
    response = newcomer.post(path, data={"name": "Nouveau", "password": "another-long-pass"})
    assert response.status_code == 302
    db.session.rollback()
    created = db.session.scalar(select(User).where(User.email == "new@example.be"))
    assert created.organisation_id == admin.organisation_id and created.role == Role.MEMBER
    assert (
        newcomer.post(path, data={"name": "X", "password": "another-long-pass"}).status_code == 404
    ), "an invitation is used once"


def test_member_cannot_invite(app, client, login_as):
    member = factories.user(factories.org("cpas"), Role.MEMBER)
    db.session.commit()
    login_as(member, client)
    assert (
        client.post(
            "/account/invitations", data={"email": "x@example.be", "role": "member"}
        ).status_code
        == 403
    )


def test_language_choice_is_stored_per_user(app, client, login_as):
    person = factories.user(factories.org("cpas"))
    db.session.commit()
    login_as(person, client)
    client.post("/language", data={"language": "nl", "next": "/"})
    db.session.rollback()
    assert db.session.get(User, person.id).language == "nl"
    assert 'lang="nl"' in client.get("/").get_data(as_text=True)


def test_coordinator_verifies_a_pending_donor(app, client, login_as):
    w = factories.world()
    newcomer = factories.org("producer", verified=False)
    db.session.commit()
    login_as(w.coordinator, client)
    assert newcomer.name in client.get("/organisations/pending").get_data(as_text=True)
    client.post(f"/organisations/{newcomer.id}/verification", data={"decision": "verify"})
    db.session.rollback()
    assert db.session.get(Organisation, newcomer.id).verification == Verification.VERIFIED
    other = login_as(w.cpas_user)
    assert other.get("/organisations/pending").status_code == 403
