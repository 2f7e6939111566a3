"""The security log read: "your recent activity" (one's own lines, newest first, paged,
the network truncated) and everyone's for site admins only."""

from __future__ import annotations

import re

from sqlalchemy import select

from surplus.extensions import db
from surplus.models import Role, SecurityEvent, SecurityEventKind
from surplus.services import security_log
from tests import factories
from tests.factories import translated

ADDRESS = {"REMOTE_ADDR": "203.0.113.77"}
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


def _row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="security-event-(\d+)"', html)]


def _record(app, kind, user, detail="", **environ):
    """A line as the request that did it would log it (the sign-in's own logging is the
    MFA step's, views/auth.py)."""
    db.session.rollback()  # a fresh snapshot: requests wrote since the last one
    with app.test_request_context(environ_base=environ, headers={"User-Agent": FIREFOX}):
        event = security_log.record(db.session, kind, user, detail)
        db.session.commit()
    return event


def test_activity_lists_sign_ins_and_failures_with_a_truncated_network(app, login_as):
    person = factories.user(factories.org("cpas"))
    stranger = factories.user(factories.org("cpas"))
    db.session.commit()
    failed = app.test_client().post(
        "/login",
        data={"email": person.email, "password": "wrong"},
        environ_base=ADDRESS,
        headers={"User-Agent": FIREFOX},
    )
    assert failed.status_code == 422
    signed_in = _record(
        app, SecurityEventKind.SIGNED_IN, person, "password, two-step code", **ADDRESS
    )
    other = _record(app, SecurityEventKind.SIGNED_IN, stranger, REMOTE_ADDR="198.51.100.9")

    client = login_as(person)
    response = client.get("/account/activity", environ_base=ADDRESS)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    db.session.rollback()
    failure = db.session.scalar(
        select(SecurityEvent).where(
            SecurityEvent.user_id == person.id,
            SecurityEvent.kind == SecurityEventKind.SIGN_IN_FAILED,
        )
    )
    assert failure.ip == "203.0.113.0"
    ids = _row_ids(html)
    assert signed_in.id in ids and failure.id in ids and other.id not in ids
    assert ids.index(signed_in.id) < ids.index(failure.id)  # newest first
    assert ids == sorted(ids, reverse=True)
    assert "203.0.113.0" in html and "203.0.113.77" not in html and "198.51.100" not in html
    assert translated("fr", "Signed in") in html
    assert translated("fr", "Failed sign-in") in html
    assert translated("fr", "with the password and a two-step code") in html
    assert "password, two-step code" not in html
    assert translated("fr", "%(browser)s on %(system)s", browser="Firefox", system="Linux") in html


def test_activity_is_paged(app, login_as):
    person = factories.user(factories.org("cpas"))
    db.session.add_all(
        SecurityEvent(user_id=person.id, kind=SecurityEventKind.TOKEN_CREATED, ip="192.0.2.0")
        for _ in range(35)
    )
    db.session.commit()
    client = login_as(person)
    first = _row_ids(client.get("/account/activity").get_data(as_text=True))
    second = _row_ids(client.get("/account/activity?page=2").get_data(as_text=True))
    db.session.rollback()
    total = len(
        db.session.scalars(select(SecurityEvent.id).where(SecurityEvent.user_id == person.id)).all()
    )
    assert total >= 35  # and the sign-in's own line, once views/auth.py logs it
    assert len(first) == 30 and len(second) == total - 30
    assert not set(first) & set(second)
    assert min(first) > max(second)


def test_everyones_log_is_for_site_admins(app, login_as):
    w = factories.world()
    admin = factories.user(factories.org("platform"), Role.SITE_ADMIN)
    db.session.commit()
    app.test_client().post(
        "/login", data={"email": w.cpas_user.email, "password": "wrong"}, environ_base=ADDRESS
    )
    _record(app, SecurityEventKind.SIGNED_IN, w.donor_user, **ADDRESS)

    assert login_as(w.coordinator).get("/admin/security").status_code == 403
    assert login_as(w.cpas_user).get("/admin/security").status_code == 403

    client = login_as(admin)
    html = client.get("/admin/security").get_data(as_text=True)
    assert w.cpas_user.email in html and w.donor_user.email in html

    only = client.get(f"/admin/security?email={w.cpas_user.email.upper()}&kind=sign_in_failed")
    assert only.status_code == 200
    page = only.get_data(as_text=True)
    assert w.cpas_user.email in page and w.donor_user.email not in page

    assert client.get("/admin/security?kind=nonsense").status_code == 400
