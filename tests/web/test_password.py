"""Password reset by mail: the same answer for any address, a mail only to an account,
a link that works once and expires; a reset ends every session and token."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from surplus import mail
from surplus.extensions import db
from surplus.models import SecurityEvent, SecurityEventKind, User
from surplus.services import passwords
from tests import factories
from tests.factories import PASSWORD, translated
from tests.mailbox import parts, subject
from tests.pages import normalised

NEW_PASSWORD = "brand-new-horse-9"
LINK = re.compile(r"https?://[^/\s]+(/password/reset/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def person(app) -> User:
    user = factories.user(factories.org("cpas"), email="marie@cpas-test.be")
    db.session.commit()
    return user


def reset_path(inbox) -> str:
    mail.drain()
    assert len(inbox.messages) == 1
    match = LINK.search(parts(inbox.messages[0])["text/plain"])
    assert match, parts(inbox.messages[0])["text/plain"]
    return match.group(1)


def kinds(user: User | None = None) -> list[SecurityEventKind]:
    db.session.rollback()
    query = select(SecurityEvent.kind).order_by(SecurityEvent.id)
    if user is not None:
        query = query.where(SecurityEvent.user_id == user.id)
    return list(db.session.scalars(query))


def test_same_answer_for_a_known_and_an_unknown_address_and_a_mail_only_to_the_known(
    app, client, person, inbox
):
    known = client.post("/password/forgot", data={"email": "Marie@CPAS-test.be"})
    unknown = client.post("/password/forgot", data={"email": "nobody@cpas-test.be"})
    assert known.status_code == unknown.status_code == 200
    # The same page, but for the CSRF tokens: they carry the second they were signed in.
    assert normalised(known.get_data(as_text=True)) == normalised(unknown.get_data(as_text=True))
    with app.test_request_context():
        assert passwords.sent_message(60) in known.get_data(as_text=True)
    mail.drain()
    assert [m["To"] for m in inbox.messages] == [person.email]
    assert subject(inbox.messages[0]) == translated("fr", "Choose a new Maillon password")
    assert kinds().count(SecurityEventKind.PASSWORD_RESET_REQUESTED) == 2
    assert kinds(person) == [SecurityEventKind.PASSWORD_RESET_REQUESTED]


def test_the_api_twin_answers_alike_and_mails_only_an_account(app, client, person, inbox):
    known = client.post("/api/v1/password/forgot", json={"email": person.email})
    unknown = client.post("/api/v1/password/forgot", json={"email": "nobody@cpas-test.be"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    assert known.get_json()["message"]
    bad = client.post("/api/v1/password/forgot", json={"email": "not an address"})
    assert bad.status_code == 400
    mail.drain()
    assert [m["To"] for m in inbox.messages] == [person.email]


def test_a_deactivated_account_gets_no_mail(app, client, person, inbox):
    person.active = False
    db.session.commit()
    response = client.post("/password/forgot", data={"email": person.email})
    assert response.status_code == 200
    mail.drain()
    assert inbox.messages == []


def test_a_malformed_address_is_said_so(app, client, person):
    response = client.post("/password/forgot", data={"email": "marie-at-cpas"})
    assert response.status_code == 422
    assert translated("fr", "Not a valid e-mail address.") in response.get_data(as_text=True)


def test_the_link_works_once_and_ends_every_session_and_token(
    app, client, login_as, api_token, person, inbox
):
    headers = api_token(person)
    browser = login_as(person)
    client.post("/password/forgot", data={"email": person.email})
    path = reset_path(inbox)
    inbox.messages.clear()

    page = client.get(path)
    assert page.status_code == 200 and person.email in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    weak = client.post(path, data={"new_password": "short", "confirmation": "short"})
    assert weak.status_code == 422
    differ = client.post(path, data={"new_password": NEW_PASSWORD, "confirmation": "other-one-12"})
    assert differ.status_code == 422
    assert translated("fr", "The two new passwords differ.") in differ.get_data(as_text=True)

    done = client.post(path, data={"new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert translated(
        "fr", "Your password is changed. Sign in with your new password."
    ) in client.get("/login").get_data(as_text=True)
    assert client.get("/account/").status_code == 302  # not signed in by the reset

    db.session.rollback()
    user = db.session.get(User, person.id)
    assert user.check_password(NEW_PASSWORD) and user.password_changed_at is not None
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert browser.get("/account/").status_code == 302
    assert SecurityEventKind.PASSWORD_RESET in kinds(person)
    mail.drain()
    assert subject(inbox.messages[0]) == translated("fr", "Your Maillon password was changed")

    again = client.get(path)
    assert again.status_code == 404
    text = again.get_data(as_text=True)
    assert translated("fr", "This link is no longer valid: it was used or it expired.") in text
    assert "/password/forgot" in text
    used = client.post(
        path, data={"new_password": "third-horse-333", "confirmation": "third-horse-333"}
    )
    assert used.status_code == 404
    db.session.rollback()
    assert db.session.get(User, person.id).check_password(NEW_PASSWORD)
    signed = client.post("/login", data={"email": person.email, "password": NEW_PASSWORD})
    assert signed.status_code == 302


def _token_issued(monkeypatch, user: User, seconds_ago: int) -> str:
    issued = int(time.time()) - seconds_ago
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: issued)
        return passwords.reset_token(user)


def test_an_expired_link_is_refused(app, client, person, monkeypatch):
    fresh = _token_issued(monkeypatch, person, 50 * 60)
    old = _token_issued(monkeypatch, person, 61 * 60)
    assert client.get(f"/password/reset/{fresh}").status_code == 200
    response = client.post(
        f"/password/reset/{old}", data={"new_password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}
    )
    assert response.status_code == 404
    app.config["PASSWORD_RESET_MINUTES"] = 30
    assert client.get(f"/password/reset/{fresh}").status_code == 404
    db.session.rollback()
    assert db.session.get(User, person.id).check_password(PASSWORD)


def test_a_forged_link_or_a_password_change_kills_the_link(app, client, login_as, person):
    token = passwords.reset_token(person)
    assert client.get(f"/password/reset/{token}").status_code == 200
    assert client.get(f"/password/reset/{token[:-2]}xx").status_code == 404
    assert client.get("/password/reset/not-a-token").status_code == 404
    browser = login_as(person)
    changed = browser.post(
        "/account/security/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirmation": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302
    assert client.get(f"/password/reset/{token}").status_code == 404
