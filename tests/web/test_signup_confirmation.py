"""Sign-up without account disclosure: the same answer for a new and a known address, a
confirmation link mailed to the new one, a warning to the owner of the known one; the
link confirms once and signs in; an unconfirmed account cannot sign in."""

import re

from sqlalchemy import func, select

from surplus import mail
from surplus.extensions import db
from surplus.models import Organisation, Role, SecurityEvent, SecurityEventKind, User
from surplus.services import accounts
from tests import factories
from tests.factories import translated
from tests.mailbox import parts, subject
from tests.pages import normalised

PASSWORD = "long-enough-pass"


def _form(email: str, **overrides) -> dict:
    data = {
        "org_name": "Épicerie Nouvelle",
        "kind": "shop",
        "address": "Rue Haute 3",
        "postcode": "6800",
        "locality": "Libramont-Chevigny",
        "enterprise_number": "",
        "afsca_number": "",
        "phone": "",
        "distribution_mode": "",
        "name": "Marie",
        "email": email,
        "password": PASSWORD,
    }
    data.update(overrides)
    return data


def _mails(inbox) -> dict[str, list]:
    mail.drain()
    by_address: dict[str, list] = {}
    for message in inbox.messages:
        by_address.setdefault(message["To"], []).append(message)
    return by_address


def _link(message) -> str:
    text = parts(message)["text/plain"]
    return re.search(r"https?://maillon\.test(/signup/confirm/\S+)", text).group(1)


def _events(kind: SecurityEventKind) -> list[SecurityEvent]:
    db.session.rollback()
    return db.session.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind)).all()


def test_new_and_known_addresses_get_the_same_answer_and_different_mails(app, inbox):
    owner = factories.user(factories.org("cpas", name="CPAS connu"), email="known@example.be")
    db.session.commit()
    answers = {}
    for email in ("new@example.be", "known@example.be"):
        response = app.test_client().post(
            "/signup", data=_form(email), headers={"Accept-Language": "fr"}
        )
        answers[email] = (response.status_code, normalised(response.get_data(as_text=True), email))
    assert answers["new@example.be"] == answers["known@example.be"]
    status, html = answers["new@example.be"]
    assert status == 200
    assert translated("fr", "We sent a link to %(email)s to confirm it; open it to finish.",
                      email="EMAIL") in html  # fmt: skip
    assert translated("fr", "An account already uses this e-mail address.") not in html

    db.session.rollback()
    created = db.session.scalar(select(User).where(User.email == "new@example.be"))
    assert created.email_confirmed_at is None and created.role == Role.ORG_ADMIN
    assert created.organisation.name == "Épicerie Nouvelle"
    # Nothing was created for the known address: one user, one organisation named so.
    assert db.session.scalar(
        select(func.count(User.id)).where(User.email == "known@example.be")
    ) == 1  # fmt: skip
    assert db.session.scalar(
        select(func.count(Organisation.id)).where(Organisation.name == "Épicerie Nouvelle")
    ) == 1  # fmt: skip

    mails = _mails(inbox)
    assert set(mails) == {"new@example.be", "known@example.be"}
    assert len(mails["new@example.be"]) == len(mails["known@example.be"]) == 1
    confirmation, warning = mails["new@example.be"][0], mails["known@example.be"][0]
    assert subject(confirmation) == translated("fr", "Confirm your e-mail address on Maillon")
    assert "/signup/confirm/" in parts(confirmation)["text/plain"]
    assert subject(warning) == translated(
        "fr", "Someone tried to create a Maillon account with your address"
    )
    text = parts(warning)["text/plain"]
    assert "/signup/confirm/" not in text and "http://maillon.test/login" in text
    if "password.forgot" in app.view_functions:
        assert "http://maillon.test/password/forgot" in text
    attempts = _events(SecurityEventKind.SIGN_UP_ATTEMPT_KNOWN)
    assert [event.user_id for event in attempts] == [owner.id]


def test_known_address_still_gets_the_other_fields_checked(app, client):
    factories.user(factories.org("cpas"), email="known@example.be")
    db.session.commit()
    response = client.post(
        "/signup",
        data=_form("known@example.be", postcode="9999"),
        headers={"Accept-Language": "fr"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert translated("fr", "Unknown Belgian postcode.") in html
    assert translated("fr", "An account already uses this e-mail address.") not in html
    assert 'value="known@example.be"' in html and 'value="Épicerie Nouvelle"' in html


def test_the_link_confirms_once_and_signs_in(app, inbox):
    browser = app.test_client()
    browser.post("/signup", data=_form("new@example.be"))
    link = _link(_mails(inbox)["new@example.be"][0])

    page = browser.get(link, headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert translated("fr", "Confirm and sign in") in page.get_data(as_text=True)
    db.session.rollback()
    user = db.session.scalar(select(User).where(User.email == "new@example.be"))
    assert user.email_confirmed_at is None, "opening the link alone confirms nothing"

    response = browser.post(link)
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    dashboard = browser.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert translated("fr", "Welcome! Your organisation will be verified shortly.") in dashboard
    db.session.rollback()
    assert db.session.get(User, user.id).email_confirmed_at is not None
    assert [e.user_id for e in _events(SecurityEventKind.EMAIL_CONFIRMED)] == [user.id]

    again = app.test_client()
    assert again.get(link).status_code == 404
    assert again.post(link).status_code == 404
    assert again.get("/").status_code == 302, "the used link signed nobody in"


def test_a_forged_link_is_refused(app, client):
    assert client.get("/signup/confirm/not-a-token").status_code == 404


def test_unconfirmed_sign_in_is_refused_and_the_link_sent_again(app, inbox):
    browser = app.test_client()
    browser.post("/signup", data=_form("new@example.be"))
    assert len(_mails(inbox)["new@example.be"]) == 1

    wrong = browser.post(
        "/login",
        data={"email": "new@example.be", "password": "not-the-password"},
        headers={"Accept-Language": "fr"},
    )
    assert wrong.status_code == 422
    assert translated("fr", "Wrong e-mail address or password.") in wrong.get_data(as_text=True)
    assert len(_mails(inbox)["new@example.be"]) == 1, "a wrong password sends nothing"

    right = browser.post(
        "/login",
        data={"email": "new@example.be", "password": PASSWORD},
        headers={"Accept-Language": "fr"},
    )
    assert right.status_code == 422
    message = translated(
        "fr",
        "Confirm your e-mail address first: we sent the link again to %(email)s.",
        email="new@example.be",
    )
    assert message in right.get_data(as_text=True)
    assert browser.get("/").status_code == 302, "not signed in"
    sent = _mails(inbox)["new@example.be"]
    assert len(sent) == 2
    # The link sent again works.
    assert browser.post(_link(sent[1])).status_code == 302
    assert browser.get("/").status_code == 200


def test_accepting_an_invitation_confirms_the_address(app):
    admin = factories.user(factories.org("cpas"), Role.ORG_ADMIN)
    _invitation, token = accounts.invite(db.session, admin, "invited@example.be", Role.MEMBER)
    user = accounts.accept_invitation(db.session, token, "Invitée", "another-long-pass", "fr")
    assert user.email_confirmed_at is not None
