"""Alerts for depot stock near its date, on SQLite and PostgreSQL: the daily job tells
the platform's coordinators once per item and day, in words that say what, where and
how many days are left; never for stock far from its date or already gone."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from surplus import jobs
from surplus.extensions import db
from surplus.models import AdjustmentReason, MailState, Notification, NotificationKind, Role
from surplus.schemas.base import load
from surplus.schemas.depot import GoodsReceiptSchema
from surplus.services.depots import alerts, receipts, stock
from surplus.services.lot_dates import BRUSSELS, local_today
from surplus.services.notifications import text
from tests import factories


@pytest.fixture
def w(make_fleet):
    w = factories.world()
    w.depot, w.van, w.template = make_fleet(w)
    w.team = factories.user(w.platform, Role.MEMBER)
    w.second_coordinator = factories.user(w.platform, Role.COORDINATOR)
    db.session.commit()
    w.soon = _receive(w, "Yaourts", 30, 1, "chilled")  # use-by tomorrow
    w.far = _receive(w, "Pâtes", 80, 60, "ambient")
    db.session.commit()
    return w


def _receive(w, title, kg, days, storage):
    values = {
        "source": "outside",
        "supplier": "Grossiste",
        "title": title,
        "category": "dairy" if storage == "chilled" else "dry_goods",
        "weight_kg": kg,
        "date_kind": "use_by" if storage == "chilled" else "best_before",
        "date": (local_today() + timedelta(days=days)).isoformat(),
        "storage": storage,
        **({"temperature": 3} if storage == "chilled" else {}),
    }
    got = receipts.receive_goods(db.session, w.team, w.depot, load(GoodsReceiptSchema(), values))
    assert got.item is not None
    return got.item


def _noon():
    """Today's noon in Brussels: the job's hours of the day stay within the day."""
    return datetime.combine(local_today(), time(12), tzinfo=BRUSSELS).astimezone(UTC)


def _alerts():
    return db.session.scalars(
        select(Notification)
        .where(Notification.kind == NotificationKind.STOCK_EXPIRING)
        .order_by(Notification.id)
    ).all()


def test_coordinators_are_told_once_of_stock_near_its_date(w):
    now = _noon()
    assert alerts.notify_expiring(db.session, now) == 2
    db.session.commit()
    told = _alerts()
    assert sorted(n.user_id for n in told) == sorted([w.coordinator.id, w.second_coordinator.id])
    assert {(n.subject_type, n.subject_id) for n in told} == {("stockitem", w.soon.id)}
    assert all(n.mail_state != MailState.NONE for n in told)  # mailed as each one chose
    assert told[0].params["days_left"] == 1 and told[0].params["zone"] == "Chambre froide"


def test_a_second_run_the_same_day_tells_no_one_again(w):
    now = _noon()
    alerts.notify_expiring(db.session, now)
    db.session.commit()
    assert alerts.notify_expiring(db.session, now + timedelta(minutes=30)) == 0
    db.session.commit()
    assert len(_alerts()) == 2


def test_the_next_day_tells_again_while_the_stock_is_there(w):
    now = _noon()
    alerts.notify_expiring(db.session, now)
    db.session.commit()
    assert alerts.notify_expiring(db.session, now + timedelta(days=1)) == 2
    db.session.commit()
    assert [n.params["days_left"] for n in _alerts()] == [1, 1, 0, 0]


def test_stock_far_from_its_date_or_gone_is_not_signalled(w):
    stock.adjust(db.session, w.team, w.soon, 30, AdjustmentReason("damaged"))
    db.session.commit()
    assert alerts.notify_expiring(db.session, _noon()) == 0
    # Two months on, the pasta is near its date (best-before plus the dry goods' grace).
    assert alerts.notify_expiring(db.session, _noon() + timedelta(days=88)) == 2


def test_the_window_comes_from_the_setting(w, app):
    app.config["STOCK_ALERT_DAYS"] = 0
    assert alerts.notify_expiring(db.session, _noon()) == 0
    app.config["STOCK_ALERT_DAYS"] = 2
    assert alerts.notify_expiring(db.session, _noon()) == 2


def test_the_alert_says_what_where_and_how_long_and_links_to_the_item(w, app):
    alerts.notify_expiring(db.session, _noon())
    db.session.commit()
    note = _alerts()[0]
    with app.test_request_context():
        words = text.text(note)
        assert "Yaourts" in words and "Chambre froide" in words and "Dépôt" in words
        assert "1" in words
        assert "Yaourts" in text.subject(note)
        target = text.link(note)
        if "depots.item_show" in app.view_functions:
            assert str(w.soon.id) in target
        else:
            assert target.endswith("/")


def test_outsiders_are_not_told(w):
    alerts.notify_expiring(db.session, _noon())
    db.session.commit()
    told = {n.user_id for n in _alerts()}
    for person in (w.team, w.other_coordinator, w.cpas_user, w.donor_user):
        assert person.id not in told


def test_the_job_is_registered_daily(app):
    job = jobs.find(app.config, "stock_alerts")
    assert job is not None and job.func is alerts.notify_expiring
