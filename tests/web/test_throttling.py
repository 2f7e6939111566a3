"""Throttling (surplus/throttle.py) against the local Redis (127.0.0.1:6379) and in
memory: failed sign-ins from one network across accounts, known or not, end in a 429
with Retry-After (HTML for pages, JSON for the API); the per-account count answers
alike for an unknown and an existing address; a success does not count; claims are
counted per user."""

from __future__ import annotations

import re
import uuid

import pytest
import redis
from sqlalchemy import select

from surplus import throttle
from surplus.database import read_only_transactions
from surplus.extensions import db
from surplus.models import Role, SecurityEvent, SecurityEventKind
from tests import factories
from tests.conftest import IsolatedClient
from tests.factories import PASSWORD
from tests.pages import normalised

REDIS = "redis://127.0.0.1:6379/0"
# Smaller than the defaults (30 and 10 per 15 minutes) so that the tests stay fast: each
# refused password costs a hash.
FAILED_PER_NETWORK = 6
SMALL = {
    "RATELIMIT_SIGN_IN_PER_NETWORK": f"{FAILED_PER_NETWORK} per 15 minutes",
    "RATELIMIT_SIGN_IN_PER_ACCOUNT": "4 per 15 minutes",
}


@pytest.fixture(params=["redis", "memory"])
def limited(request, make_app, database_uri):
    """``limited(**settings)``: an application throttling in Redis (keys under a prefix of
    its own, removed afterwards) or in memory, in an app context as ``app`` is."""
    prefix = f"maillon-test-{uuid.uuid4().hex[:12]}"
    storage = REDIS if request.param == "redis" else "memory://"
    contexts = []

    def build(small: bool = True, **settings):
        base = {"RATELIMIT_STORAGE_URI": storage, "RATELIMIT_KEY_PREFIX": prefix}
        settings = base | (SMALL if small else {}) | settings
        manager = make_app(database_uri, **settings)
        app = manager.__enter__()
        app.test_client_class = IsolatedClient
        context = app.app_context()
        context.push()
        contexts.append((manager, context))
        read_only_transactions(True)
        return app

    if request.param == "redis":
        assert redis.Redis.from_url(REDIS).ping(), "Redis must answer at 127.0.0.1:6379"
    yield build
    read_only_transactions(False)
    for manager, context in reversed(contexts):
        limiter = throttle.limiter_for(context.app)
        if limiter is not None:
            # Counted where asked: never fell back to memory for a Redis that failed.
            assert not limiter._storage_dead
            assert type(limiter.storage).__name__ == (
                "RedisStorage" if request.param == "redis" else "MemoryStorage"
            )
        db.session.remove()
        context.pop()
        manager.__exit__(None, None, None)
    if request.param == "redis":
        store = redis.Redis.from_url(REDIS)
        keys = list(store.scan_iter(match=f"*{prefix}*"))
        if keys:
            store.delete(*keys)
        assert not list(store.scan_iter(match=f"*{prefix}*"))


def _sign_in(client, email, password="wrong-password", ip="203.0.113.9"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        headers={"Accept-Language": "fr"},
        environ_base={"REMOTE_ADDR": ip},
    )


def _retry_after(response, window: int = 15 * 60) -> int:
    value = int(response.headers["Retry-After"])
    assert 0 < value <= window
    return value


def test_failed_sign_ins_across_accounts_end_in_a_429_page(limited):
    app = limited()
    known = [factories.user(factories.org("cpas")) for _ in range(3)]
    db.session.commit()
    emails = [u.email for u in known] + [f"nobody{i}@example.be" for i in range(3)]
    client = app.test_client()
    for attempt in range(FAILED_PER_NETWORK):
        answer = _sign_in(client, emails[attempt % len(emails)])
        assert answer.status_code == 422, attempt
    refused = _sign_in(client, "nobody9@example.be")
    assert refused.status_code == 429
    _retry_after(refused)
    html = refused.get_data(as_text=True)
    # The sign-in form again, the address kept, with when to come back.
    assert 'value="nobody9@example.be"' in html and 'name="password"' in html
    assert re.search(r"Trop de tentatives\. Veuillez réessayer dans 1[0-5] minutes\.", html)
    # From that network even the right password waits; another network is not affected.
    assert _sign_in(client, known[0].email, PASSWORD).status_code == 429
    assert _sign_in(client, known[0].email, PASSWORD, ip="198.51.100.7").status_code == 302
    db.session.rollback()
    logged = db.session.scalars(
        select(SecurityEvent).where(SecurityEvent.kind == SecurityEventKind.THROTTLED)
    ).all()
    assert len(logged) == 1, "logged once per count, not once per refused request"


def test_the_token_endpoint_answers_429_in_json(limited):
    app = limited()
    person = factories.user(factories.org("cpas"))
    db.session.commit()
    client = app.test_client()
    emails = [person.email, "ghost@example.be", "other@example.be"]
    for attempt in range(FAILED_PER_NETWORK):
        answer = client.post(
            "/api/v1/token", json={"email": emails[attempt % 3], "password": "wrong-password"}
        )
        assert answer.status_code == 401, attempt
    refused = client.post("/api/v1/token", json={"email": person.email, "password": PASSWORD})
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["code"] == "too_many_requests"
    assert body["message"]
    assert abs(body["retry_after"] - _retry_after(refused)) <= 1


def test_the_account_count_answers_alike_for_unknown_and_existing_addresses(limited):
    app = limited()
    existing = factories.user(factories.org("cpas"), email="exists@example.be")
    db.session.commit()
    answers = {}
    for email in (existing.email, "missing@example.be"):
        client = app.test_client()
        # Each attempt from another network: only the count of the address applies.
        for attempt in range(4):
            ip = f"198.51.100.{attempt + (10 if email == existing.email else 20)}"
            assert _sign_in(client, email, ip=ip).status_code == 422
        refused = _sign_in(client, email, ip="192.0.2.77")
        answers[email] = (
            refused.status_code,
            "Retry-After" in refused.headers,
            normalised(refused.get_data(as_text=True), email),
        )
    assert answers[existing.email] == answers["missing@example.be"]
    assert answers[existing.email][:2] == (429, True)
    # The address is lower-cased: another spelling is the same count.
    assert _sign_in(app.test_client(), "EXISTS@Example.be", ip="192.0.2.78").status_code == 429


def test_a_successful_sign_in_does_not_count(limited):
    app = limited(RATELIMIT_SIGN_IN_PER_ACCOUNT="3 per 15 minutes")
    person = factories.user(factories.org("cpas"))
    db.session.commit()
    for _ in range(6):
        assert _sign_in(app.test_client(), person.email, PASSWORD).status_code == 302
    client = app.test_client()
    for _ in range(3):
        assert _sign_in(client, person.email).status_code == 422
    assert _sign_in(client, person.email).status_code == 429


def test_claims_are_counted_per_user(limited):
    app = limited(RATELIMIT_CLAIMS_PER_USER="3 per minute")
    cpas = factories.org("cpas", mode="free_parcels")
    first, second = factories.user(cpas, Role.MEMBER), factories.user(cpas, Role.MEMBER)
    db.session.commit()

    def sign_in(person):
        client = app.test_client()
        assert _sign_in(client, person.email, PASSWORD).status_code == 302
        return client

    hurried, calm = sign_in(first), sign_in(second)
    for _ in range(3):
        assert hurried.post("/lots/999999/claim", data={"kg": "5"}).status_code != 429
    page = hurried.post("/lots/999999/claim", data={"kg": "5"}, headers={"Accept-Language": "fr"})
    assert page.status_code == 429
    _retry_after(page, 60)
    assert "Trop de tentatives" in page.get_data(as_text=True)
    fragment = hurried.post("/lots/999999/claim", data={"kg": "5"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 429 and fragment.get_json()["code"] == "too_many_requests"
    # The same user through the API: the same count.
    token = hurried.post("/api/v1/token", json={"email": first.email, "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {token.get_json()['token']}"}
    api = app.test_client().post("/api/v1/lots/999999/claims", json={"kg": 5}, headers=bearer)
    assert api.status_code == 429 and api.get_json()["retry_after"] >= 1
    # Another user of the same network and organisation is not held back.
    assert calm.post("/lots/999999/claim", data={"kg": "5"}).status_code != 429


def test_sign_ups_are_counted_per_address_when_they_send_a_mail(limited):
    app = limited(RATELIMIT_SIGN_UP_PER_ACCOUNT="2 per hour")
    factories.user(factories.org("cpas"), email="known@example.be")
    db.session.commit()
    form = {
        "org_name": "Épicerie Nouvelle",
        "kind": "shop",
        "postcode": "6800",
        "locality": "Libramont-Chevigny",
        "name": "Marie",
        "password": "long-enough-pass",
    }
    for email in ("known@example.be", "new@example.be"):
        client = app.test_client()
        for _ in range(3):  # refused for a field: nothing sent, nothing counted
            assert (
                client.post("/signup", data=form | {"email": email, "postcode": "9999"}).status_code
                == 422
            )
        for _ in range(2):
            assert client.post("/signup", data=form | {"email": email}).status_code == 200
        refused = client.post(
            "/signup", data=form | {"email": email.upper()}, headers={"Accept-Language": "fr"}
        )
        assert refused.status_code == 429
        _retry_after(refused, 3600)
        html = refused.get_data(as_text=True)
        assert 'value="Épicerie Nouvelle"' in html and "Trop de tentatives" in html


def test_the_defaults(limited):
    app = limited(small=False)
    assert app.config["RATELIMIT_SIGN_IN_PER_NETWORK"] == "30 per 15 minutes"
    assert app.config["RATELIMIT_SIGN_IN_PER_ACCOUNT"] == "10 per 15 minutes"


def test_throttling_can_be_turned_off(limited):
    app = limited(RATELIMIT_ENABLED=False)
    client = app.test_client()
    for _ in range(FAILED_PER_NETWORK + 2):
        assert _sign_in(client, "nobody@example.be").status_code == 422


def test_every_throttled_endpoint_is_wired(app):
    """A renamed endpoint would silently lose its limits."""
    assert set(throttle.wired(app)) == {
        "auth.login",
        "api_tokens.token_create",
        "auth.login_mfa",
        "password.forgot",
        "api_password.password_forgot",
        "auth.signup",
        "market.lot_claim",
        "claims.claim_cancel",
        "claims.claim_book",
        "api_lots.claim_create",
        "api_lots.claim_cancel",
        "api_runs.claim_book",
    }
