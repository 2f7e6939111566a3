"""API tokens (list, revoke, refused once revoked), sign-out-everywhere and password
change on the web and the API, and the idle and absolute timeouts of web sessions."""

from __future__ import annotations

import time

import pytest
from flask_babel import force_locale, ngettext
from sqlalchemy import select

from surplus import mail
from surplus.extensions import db
from surplus.models import ApiToken, SecurityEvent, SecurityEventKind, User
from tests import factories
from tests.factories import PASSWORD, translated
from tests.mailbox import parts, subject

NEW_PASSWORD = "another-horse-77"


@pytest.fixture
def person(app) -> User:
    user = factories.user(factories.org("cpas"))
    db.session.commit()
    return user


def issue(client, user: User, name: str = "script", password: str = PASSWORD):
    """A new token of ``user``: its id and the header that carries it."""
    response = client.post(
        "/api/v1/token", json={"email": user.email, "password": password, "name": name}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


def answers(client, headers) -> int:
    return client.get("/api/v1/me", headers=headers).status_code


def signed_in(client) -> bool:
    response = client.get("/account/")
    return response.status_code == 200


def logged(user: User, kind: SecurityEventKind) -> int:
    db.session.rollback()
    return len(
        db.session.scalars(
            select(SecurityEvent).where(
                SecurityEvent.user_id == user.id, SecurityEvent.kind == kind
            )
        ).all()
    )


def fields(body: dict) -> dict:
    """The per-field messages of an API error."""
    return body.get("fields") or body.get("errors") or {}


# -- tokens -----------------------------------------------------------------------------


def test_token_list_shows_names_and_dates_never_secrets(app, client, person):
    _id1, first = issue(client, person, "tableur")
    id2, second = issue(client, person, "synchro")
    response = client.get("/api/v1/tokens", headers=first)
    assert response.status_code == 200
    items = response.get_json()
    assert [t["name"] for t in items] == ["synchro", "tableur"]
    assert all(set(t) == {"id", "name", "created_at", "last_used_at", "expires_at"} for t in items)
    text = response.get_data(as_text=True)
    for header in (first, second):
        secret = header["Authorization"].removeprefix("Bearer ")
        assert secret not in text
    assert "mln_" not in text
    # Only the hash is kept.
    db.session.rollback()
    stored = db.session.get(ApiToken, id2)
    assert second["Authorization"].removeprefix("Bearer ") not in stored.token_hash


def test_a_revoked_token_is_refused_and_another_still_works(app, client, person):
    keep_id, keep = issue(client, person, "keep")
    drop_id, drop = issue(client, person, "drop")
    assert answers(client, drop) == 200
    response = client.delete(f"/api/v1/tokens/{drop_id}", headers=keep)
    assert response.status_code == 204
    assert answers(client, drop) == 401
    assert answers(client, keep) == 200
    listed = client.get("/api/v1/tokens", headers=keep).get_json()
    assert [t["id"] for t in listed] == [keep_id]
    assert logged(person, SecurityEventKind.TOKEN_REVOKED) == 1
    # Revoking it again: it is no longer a live token.
    assert client.delete(f"/api/v1/tokens/{drop_id}", headers=keep).status_code == 404


def test_another_users_token_id_is_not_found(app, client, person):
    other = factories.user(factories.org("association"))
    db.session.commit()
    _mine, headers = issue(client, person)
    theirs_id, theirs = issue(client, other)
    response = client.delete(f"/api/v1/tokens/{theirs_id}", headers=headers)
    assert response.status_code == 404
    assert client.delete("/api/v1/tokens/999999", headers=headers).status_code == 404
    assert answers(client, theirs) == 200
    # The page's button neither.
    web = app.test_client()
    web.post("/login", data={"email": person.email, "password": PASSWORD})
    assert web.post(f"/account/security/tokens/{theirs_id}/revoke").status_code == 404
    assert answers(client, theirs) == 200


def test_the_page_creates_a_token_shows_its_secret_once_and_revokes_it(app, login_as, person):
    web = login_as(person)
    page = web.get("/account/security/")
    assert page.status_code == 200
    assert translated("fr", "You have no API token.") in page.get_data(as_text=True)

    blank = web.post("/account/security/tokens", data={"name": "  "})
    assert blank.status_code == 422
    assert translated("fr", "This field is required.") in blank.get_data(as_text=True)

    created = web.post("/account/security/tokens", data={"name": "Tableur du mardi"})
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    start = html.index('id="new-token">') + len('id="new-token">')
    secret = html[start : html.index("</code>", start)]
    assert secret.startswith("mln_")
    headers = {"Authorization": f"Bearer {secret}"}
    assert answers(web, headers) == 200

    again = web.get("/account/security/").get_data(as_text=True)
    assert "Tableur du mardi" in again and secret not in again
    db.session.rollback()
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == person.id))
    assert token.last_used_at is not None

    revoked = web.post(f"/account/security/tokens/{token.id}/revoke")
    assert revoked.status_code == 302
    assert answers(web, headers) == 401
    flashed = web.get("/account/security/").get_data(as_text=True)
    assert translated("fr", "The token “%(name)s” is revoked.", name="Tableur du mardi") in flashed
    assert "Tableur du mardi" not in web.get("/account/security/").get_data(as_text=True)


# -- sign out everywhere ------------------------------------------------------------------


def test_api_sign_out_everywhere_ends_every_token_and_session(app, client, login_as, person):
    _a, first = issue(client, person)
    _b, second = issue(client, person)
    browser = login_as(person)
    assert signed_in(browser)
    response = client.post("/api/v1/me/sign-out-everywhere", headers=first)
    assert response.status_code == 204
    assert answers(client, first) == 401
    assert answers(client, second) == 401
    assert not signed_in(browser)
    assert logged(person, SecurityEventKind.SIGNED_OUT_EVERYWHERE) == 1


def test_web_sign_out_everywhere_ends_every_token_and_session(app, client, login_as, person):
    _a, headers = issue(client, person)
    browser, laptop = login_as(person), login_as(person)
    response = browser.post("/account/security/sign-out-everywhere")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    page = browser.get("/login").get_data(as_text=True)
    assert (
        translated("fr", "You are signed out on every device and your API tokens are revoked.")
        in page
    )
    assert answers(client, headers) == 401
    assert not signed_in(browser) and not signed_in(laptop)


# -- password change ----------------------------------------------------------------------


def test_api_password_change_with_a_wrong_current_password_changes_nothing(
    app, client, login_as, person
):
    _a, headers = issue(client, person)
    browser = login_as(person)
    response = client.post(
        "/api/v1/me/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert response.status_code == 400
    assert fields(response.get_json())["current_password"] == translated(
        "fr", "This is not your current password."
    )
    weak = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "1234567890123"},
        headers=headers,
    )
    assert weak.status_code == 400 and "new_password" in fields(weak.get_json())
    db.session.rollback()
    assert db.session.get(User, person.id).check_password(PASSWORD)
    assert answers(client, headers) == 200 and signed_in(browser)
    assert logged(person, SecurityEventKind.PASSWORD_CHANGED) == 0


def test_api_password_change_ends_every_token_and_session_and_tells_the_user(
    app, client, login_as, person, inbox
):
    _a, headers = issue(client, person)
    _b, other = issue(client, person)
    browser = login_as(person)
    response = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert response.status_code == 204
    assert answers(client, headers) == 401 and answers(client, other) == 401
    assert not signed_in(browser)
    db.session.rollback()
    changed = db.session.get(User, person.id)
    assert changed.check_password(NEW_PASSWORD) and changed.password_changed_at is not None
    assert logged(person, SecurityEventKind.PASSWORD_CHANGED) == 1
    _c, fresh = issue(client, person, password=NEW_PASSWORD)
    assert answers(client, fresh) == 200
    mail.drain()
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == person.email
    assert subject(message) == translated("fr", "Your Maillon password was changed")
    assert "/password/forgot" in parts(message)["text/plain"]


def test_web_password_change(app, client, login_as, person, inbox):
    _a, headers = issue(client, person)
    browser, laptop = login_as(person), login_as(person)

    wrong = browser.post(
        "/account/security/password",
        data={
            "current_password": "not-my-password",
            "new_password": NEW_PASSWORD,
            "confirmation": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 422
    assert translated("fr", "This is not your current password.") in wrong.get_data(as_text=True)
    differ = browser.post(
        "/account/security/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirmation": NEW_PASSWORD + "x",
        },
    )
    assert differ.status_code == 422
    assert translated("fr", "The two new passwords differ.") in differ.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(User, person.id).check_password(PASSWORD)
    assert answers(client, headers) == 200 and signed_in(laptop)

    done = browser.post(
        "/account/security/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirmation": NEW_PASSWORD,
        },
    )
    assert done.status_code == 302
    assert signed_in(browser)  # a fresh session in this browser
    assert not signed_in(laptop)
    assert answers(client, headers) == 401
    assert logged(person, SecurityEventKind.PASSWORD_CHANGED) == 1
    mail.drain()
    assert [m["To"] for m in inbox.messages] == [person.email]


# -- timeouts -----------------------------------------------------------------------------


def _age(client, **seconds_ago: int) -> None:
    with client.session_transaction() as sess:
        for key, ago in seconds_ago.items():
            sess[key] = int(time.time()) - ago


def test_an_idle_session_ends_with_the_reason(app, login_as, person):
    browser = login_as(person)
    idle = app.config["SESSION_IDLE_MINUTES"]
    _age(browser, seen_at=(idle - 1) * 60)
    assert signed_in(browser)  # within the limit
    _age(browser, seen_at=idle * 60 + 5)
    response = browser.get("/account/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    with force_locale("fr"):
        reason = ngettext(
            "Your session has ended after %(num)d minute without activity. Please sign in again.",
            "Your session has ended after %(num)d minutes without activity. Please sign in again.",
            idle,
        )
    assert reason.startswith("Votre session") and f" {idle} " in reason
    assert reason in page
    assert not signed_in(browser)
    assert logged(person, SecurityEventKind.SESSION_EXPIRED) == 1


def test_an_idle_limit_from_the_configuration(app, login_as, person):
    app.config["SESSION_IDLE_MINUTES"] = 0
    browser = login_as(person)
    _age(browser, seen_at=1)
    response = browser.get("/account/", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith("/login")
    assert not signed_in(browser)


def test_a_session_ends_after_the_longest_time_even_when_active(app, login_as, person):
    app.config["SESSION_MAX_HOURS"] = 2
    browser = login_as(person)
    _age(browser, signed_in_at=2 * 3600 - 30, seen_at=0)
    assert signed_in(browser)
    _age(browser, signed_in_at=2 * 3600 + 1, seen_at=0)
    response = browser.get("/account/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert logged(person, SecurityEventKind.SESSION_EXPIRED) == 1


def test_last_seen_is_rewritten_at_most_once_a_minute(app, login_as, person):
    browser = login_as(person)
    browser.get("/account/")  # the first page adds its CSRF token to the session
    assert "Set-Cookie" not in browser.get("/account/").headers
    _age(browser, seen_at=61)
    response = browser.get("/account/")
    assert "Set-Cookie" in response.headers
    with browser.session_transaction() as sess:
        assert int(time.time()) - sess["seen_at"] < 5


def test_a_session_cookie_without_its_times_is_not_accepted(app, login_as, person):
    browser = login_as(person)
    with browser.session_transaction() as sess:
        del sess["signed_in_at"]
    assert not signed_in(browser)


def test_the_bells_polling_is_not_activity(app, login_as, person):
    browser = login_as(person)
    idle = app.config["SESSION_IDLE_MINUTES"]
    _age(browser, seen_at=(idle - 1) * 60)
    poll = browser.get("/notifications/count", headers={"HX-Request": "true"})
    assert poll.status_code == 200
    with browser.session_transaction() as sess:
        assert int(time.time()) - sess["seen_at"] >= (idle - 1) * 60
    _age(browser, seen_at=idle * 60 + 5)
    expired = browser.get("/notifications/count", headers={"HX-Request": "true"})
    assert expired.headers["HX-Redirect"].startswith("/login")
