"""Two-step verification (TOTP): enrolment, the second step of the sign-in, recovery
codes, remembered devices, the roles that require it on the web and on the API, and
turning it off."""

from __future__ import annotations

import html
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from surplus import mail
from surplus.extensions import db
from surplus.models import RecoveryCode, Role, SecurityEvent, SecurityEventKind, User
from surplus.services import mfa
from tests import factories
from tests.factories import PASSWORD, translated
from tests.mailbox import parts, subject

REQUIRED = ["coordinator", "site_admin"]
CODE = re.compile(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>")


class Clock:
    """The service's clock, moved by hand: a TOTP code is accepted once, so a test that
    signs in twice steps to the next 30-second window."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def step(self) -> None:
        self.now += 30

    def code(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(self.now)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(mfa, "_clock", clock)
    return clock


@pytest.fixture
def member(app) -> User:
    person = factories.user(factories.org("cpas"), Role.MEMBER)
    db.session.commit()
    return person


@pytest.fixture
def coordinator(app) -> User:
    person = factories.user(factories.org("platform"), Role.COORDINATOR)
    db.session.commit()
    return person


def _reload(user: User) -> User:
    db.session.rollback()
    return db.session.get(User, user.id)


def _events(user: User, kind: SecurityEventKind) -> list[SecurityEvent]:
    db.session.rollback()
    return db.session.scalars(
        select(SecurityEvent).where(SecurityEvent.user_id == user.id, SecurityEvent.kind == kind)
    ).all()


def enrol(client, user: User, clock: Clock) -> tuple[str, list[str]]:
    """Turn MFA on through the pages; returns the secret and the recovery codes."""
    assert client.post("/account/mfa/enrol").status_code == 302
    secret = _reload(user).mfa_secret
    page = client.post("/account/mfa/confirm", data={"code": clock.code(secret)})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    codes = CODE.findall(page.get_data(as_text=True))
    assert len(codes) == 10
    clock.step()  # the next sign-in types the next code
    return secret, codes


def password_step(client, user: User, next_url: str | None = None):
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": user.email, "password": PASSWORD})


def test_enrolment_then_sign_in_asks_for_the_code(app, login_as, member, clock):
    client = login_as(member)
    page = client.get("/account/mfa/")
    assert page.status_code == 200 and "/account/mfa/enrol" in page.get_data(as_text=True)
    assert client.post("/account/mfa/enrol").status_code == 302
    secret = _reload(member).mfa_secret
    text = client.get("/account/mfa/").get_data(as_text=True)
    svg = re.search(r'<svg [^>]*class="qr"[^>]*>', text).group(0)
    assert "viewBox" in svg and "style" not in svg and 'role="img"' in svg
    assert " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in text
    # Not on until a right code.
    wrong = client.post("/account/mfa/confirm", data={"code": "000000"})
    assert wrong.status_code == 422 and _reload(member).mfa_enabled_at is None
    secret, codes = enrol(client, member, clock)
    assert _reload(member).mfa_enabled_at is not None
    assert len(set(codes)) == 10
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # hashed
    assert _events(member, SecurityEventKind.MFA_ENABLED)
    state = client.get("/account/mfa/").get_data(as_text=True)
    assert "10" in state and "/account/mfa/disable" in state

    browser = app.test_client()
    first = password_step(browser, member, next_url="/claims/")
    assert first.status_code == 302 and first.headers["Location"].startswith("/login/mfa")
    assert browser.get("/").status_code == 302  # not signed in yet
    wrong = browser.post(
        first.headers["Location"], data={"code": "123456"}, headers={"Accept-Language": "fr"}
    )
    assert wrong.status_code == 422
    assert translated(
        "fr", "This code is not right. Check the time on your phone, or use a recovery code."
    ) in html.unescape(wrong.get_data(as_text=True))
    assert _events(member, SecurityEventKind.MFA_FAILED)
    right = browser.post(first.headers["Location"], data={"code": clock.code(secret)})
    assert right.status_code == 302 and right.headers["Location"] == "/claims/"
    assert browser.get("/").status_code == 200
    assert [e.detail for e in _events(member, SecurityEventKind.SIGNED_IN)][-1] == (
        "password, two-step code"
    )
    assert _events(member, SecurityEventKind.MFA_PASSED)


def test_a_code_is_accepted_once(app, login_as, member, clock):
    secret, _ = enrol(login_as(member), member, clock)
    code = clock.code(secret)
    one, two = app.test_client(), app.test_client()
    for browser in (one, two):
        assert password_step(browser, member).status_code == 302
    assert one.post("/login/mfa", data={"code": code}).status_code == 302
    assert two.post("/login/mfa", data={"code": code}).status_code == 422  # replayed
    clock.step()
    assert two.post("/login/mfa", data={"code": clock.code(secret)}).status_code == 302


def test_the_second_step_expires_and_stops_after_five_wrong_codes(app, login_as, member, clock):
    enrol(login_as(member), member, clock)
    browser = app.test_client()
    password_step(browser, member)
    for _ in range(4):
        assert browser.post("/login/mfa", data={"code": "000000"}).status_code == 422
    fifth = browser.post("/login/mfa", data={"code": "000000"})
    assert fifth.status_code == 302 and fifth.headers["Location"].startswith("/login")
    assert browser.get("/login/mfa").status_code == 302  # the password again
    password_step(browser, member)
    with browser.session_transaction() as sess:
        pending = sess["mfa_pending"]
        pending["at"] -= 301
        sess["mfa_pending"] = pending
    assert browser.get("/login/mfa").status_code == 302


def test_a_recovery_code_works_once_and_the_user_is_told(app, login_as, member, clock, inbox):
    _, codes = enrol(login_as(member), member, clock)
    mail.drain()
    inbox.messages.clear()
    browser = app.test_client()
    password_step(browser, member)
    used = codes[3].upper().replace("-", " ")  # as typed from paper
    assert browser.post("/login/mfa", data={"code": used}).status_code == 302
    mail.drain()
    told = [m for m in inbox.messages if subject(m) == translated("fr", "A recovery code was used")]
    assert len(told) == 1 and "9" in parts(told[0])["text/plain"]
    assert _events(member, SecurityEventKind.RECOVERY_CODE_USED)[0].detail == "9 left"
    again = app.test_client()
    password_step(again, member)
    assert again.post("/login/mfa", data={"code": codes[3]}).status_code == 422
    assert again.post("/login/mfa", data={"code": codes[4]}).status_code == 302


def test_enabling_and_disabling_are_mailed(app, login_as, member, clock, inbox):
    client = login_as(member)
    enrol(client, member, clock)
    assert client.post("/account/mfa/disable", data={"proof": PASSWORD}).status_code == 302
    mail.drain()
    subjects = [subject(m) for m in inbox.messages if member.email in m["To"]]
    assert translated("fr", "Two-step verification is on") in subjects
    assert translated("fr", "Two-step verification is off") in subjects


def test_a_remembered_device_skips_the_code_until_mfa_is_turned_off(app, login_as, member, clock):
    secret, _ = enrol(login_as(member), member, clock)
    browser = app.test_client()
    password_step(browser, member)
    done = browser.post("/login/mfa", data={"code": clock.code(secret), "remember": "y"})
    assert done.status_code == 302
    cookie = next(c for c in done.headers.getlist("Set-Cookie") if c.startswith("mfa_device="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=2592000" in cookie
    browser.post("/logout")
    again = password_step(browser, member)
    assert again.status_code == 302 and not again.headers["Location"].startswith("/login/mfa")
    assert browser.get("/").status_code == 200
    # A stranger's browser (no cookie) is asked.
    assert password_step(app.test_client(), member).headers["Location"].startswith("/login/mfa")
    # Turned off, then on again (a new secret): the old cookie no longer skips the code.
    assert browser.post("/account/mfa/disable", data={"proof": PASSWORD}).status_code == 302
    assert _reload(member).mfa_secret is None
    enrol(browser, member, clock)
    browser.post("/logout")
    assert password_step(browser, member).headers["Location"].startswith("/login/mfa")


def test_a_member_may_turn_mfa_off_but_a_coordinator_may_not(
    app, login_as, member, coordinator, clock
):
    app.config["MFA_REQUIRED_ROLES"] = REQUIRED
    client = login_as(member)
    enrol(client, member, clock)
    wrong = client.post("/account/mfa/disable", data={"proof": "not it"})
    assert wrong.status_code == 422 and _reload(member).mfa_enabled_at is not None
    assert client.post("/account/mfa/disable", data={"proof": PASSWORD}).status_code == 302
    assert _reload(member).mfa_enabled_at is None
    assert not db.session.scalars(select(RecoveryCode)).all()
    assert _events(member, SecurityEventKind.MFA_DISABLED)

    boss = login_as(coordinator)
    secret, _ = enrol(boss, coordinator, clock)
    page = html.unescape(
        boss.get("/account/mfa/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    )
    assert "/account/mfa/disable" not in page
    assert translated("fr", "Your role requires two-step verification: it stays on.") in page
    refused = boss.post("/account/mfa/disable", data={"proof": PASSWORD})
    assert refused.status_code == 403 and _reload(coordinator).mfa_enabled_at is not None


def test_recovery_codes_are_renewed_for_a_code(app, login_as, member, clock):
    client = login_as(member)
    secret, old = enrol(client, member, clock)
    assert client.post("/account/mfa/recovery-codes", data={"code": "000000"}).status_code == 422
    page = client.post("/account/mfa/recovery-codes", data={"code": clock.code(secret)})
    new = CODE.findall(page.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert _events(member, SecurityEventKind.RECOVERY_CODES_RENEWED)
    browser = app.test_client()
    password_step(browser, member)
    assert browser.post("/login/mfa", data={"code": old[0]}).status_code == 422
    assert browser.post("/login/mfa", data={"code": new[0]}).status_code == 302


def test_a_coordinator_without_mfa_is_sent_to_the_set_up(app, login_as, coordinator, member):
    app.config["MFA_REQUIRED_ROLES"] = REQUIRED
    boss = login_as(coordinator)  # the password alone signs in
    assert _events(coordinator, SecurityEventKind.SIGNED_IN)[0].detail == "password"
    for path in ("/", "/account/", "/claims/", "/notifications"):
        response = boss.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/account/mfa/", path
    fragment = boss.get("/", headers={"HX-Request": "true"})
    assert fragment.status_code == 204 and fragment.headers["HX-Redirect"] == "/account/mfa/"
    # The set-up page's own polling is left alone (no reload loop).
    poll = boss.get(
        "/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://maillon.test/account/mfa/"},
    )
    assert poll.status_code == 204 and "HX-Redirect" not in poll.headers
    page = boss.get("/account/mfa/", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert translated(
        "fr",
        "Your role requires two-step verification. Set it up to continue: it protects the "
        "organisations and the food you coordinate.",
    ) in html.unescape(page.get_data(as_text=True))
    assert boss.get("/static/app.css").status_code == 200
    assert boss.get("/favicon.ico").status_code == 200
    assert boss.post("/language", data={"language": "nl", "next": "/"}).status_code == 302
    # A member is not asked.
    assert login_as(member).get("/").status_code == 200
    # Once set up, the coordinator goes everywhere.
    enrol(boss, coordinator, Clock())
    assert boss.get("/").status_code == 200
    assert boss.post("/logout").status_code == 302


def test_api_token_refused_to_a_coordinator_without_mfa(app, client, coordinator):
    app.config["MFA_REQUIRED_ROLES"] = REQUIRED
    response = client.post("/api/v1/token", json={"email": coordinator.email, "password": PASSWORD})
    assert response.status_code == 403
    assert response.get_json()["code"] == "mfa_required"


def test_api_token_asks_the_code_when_mfa_is_on(app, client, login_as, member, clock):
    secret, codes = enrol(login_as(member), member, clock)
    body = {"email": member.email, "password": PASSWORD}
    missing = client.post("/api/v1/token", json=body)
    assert missing.status_code == 401 and missing.get_json()["code"] == "mfa_code_required"
    wrong = client.post("/api/v1/token", json=body | {"otp": "000000"})
    assert wrong.status_code == 401 and wrong.get_json()["code"] == "mfa_code_required"
    right = client.post("/api/v1/token", json=body | {"otp": clock.code(secret)})
    assert right.status_code == 200 and right.get_json()["token"]
    spare = client.post("/api/v1/token", json=body | {"otp": codes[0]})
    assert spare.status_code == 200
    headers = {"Authorization": f"Bearer {right.get_json()['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_plain_sign_in_is_logged(app, client, member):
    assert password_step(client, member).status_code == 302
    assert [e.detail for e in _events(member, SecurityEventKind.SIGNED_IN)] == ["password"]


def test_demo_banner_says_coordinators_set_up_mfa(app):
    team = factories.org("platform", name="Hub")
    factories.user(team, Role.COORDINATOR, email="hub@demo.maillon.be")
    db.session.commit()
    app.config["MFA_REQUIRED_ROLES"] = REQUIRED
    result = app.test_cli_runner().invoke(args=["demo", "hello", "--url", "http://h:1"])
    assert result.exit_code == 0, result.output
    assert "two-step" in result.output and "coordinator or site_admin" in result.output
