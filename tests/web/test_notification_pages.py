"""Notification pages: the bell, the list, marking read, preferences, and the one-click
unsubscribe links that arrive by mail."""

import re

import pytest
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import (
    MailMode,
    MailState,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from surplus.services import claims, notifications
from surplus.services.notifications.prefs import preferences, unsubscribe_token
from tests import factories
from tests.factories import translated
from tests.mailbox import header, parts

HX = {"HX-Request": "true"}


def _claimed(w, title="Carottes", kg=10):
    lot = factories.lot(w.donor, kg=50, title=title)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, kg)
    db.session.commit()
    return claim


def _own(user):
    db.session.rollback()
    return db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()


def _mode(user, kind):
    db.session.rollback()
    return preferences(db.session, user)[kind]


def test_bell_counts_only_the_signed_in_users_unread_notifications(w, login_as, client):
    _claimed(w, "Carottes")
    _claimed(w, "Poireaux")
    donor = login_as(w.donor_user)
    assert 'class="badge"' in donor.get("/notifications/count", headers=HX).get_data(as_text=True)
    assert ">2<" in donor.get("/notifications/count").get_data(as_text=True)
    other = login_as(w.other_donor_user).get("/notifications/count").get_data(as_text=True)
    assert "badge" not in other
    page = donor.get("/lots/mine").get_data(as_text=True)
    assert 'hx-get="/notifications/count"' in page and 'hx-trigger="load, every 30s' in page
    assert client.get("/notifications/count").status_code == 204  # signed out: swap nothing


def test_list_shows_own_notifications_newest_first_in_the_viewers_language(w, login_as):
    first, second = _claimed(w, "Carottes"), _claimed(w, "Poireaux", kg=12)
    w.donor_user.language = "nl"
    db.session.commit()
    html = login_as(w.donor_user).get("/notifications").get_data(as_text=True)
    assert html.index("Poireaux") < html.index("Carottes")
    assert (
        translated(
            "nl",
            "%(org)s claimed %(kg)s of your lot %(title)s (through %(platform)s).",
            org="CPAS Test",
            kg="12 kg",
            title="Poireaux",
            platform="Hub Libramont",
        )
        in html
    )
    assert f'href="/claims/{second.id}"' in html and f'href="/claims/{first.id}"' in html
    assert html.count('class="notification unread"') == 2
    assert "Carottes" not in login_as(w.cpas_user).get("/notifications").get_data(as_text=True)


def test_list_is_paginated(w, login_as):
    lot = factories.lot(w.donor)
    for i in range(23):
        notifications.notify(
            db.session,
            [w.donor_user],
            NotificationKind.LOT_WITHDRAWN,
            lot,
            {"title": f"Lot {i:02d}", "kg": 1, "reason": "", "donor": "X"},
        )
    db.session.commit()
    client = login_as(w.donor_user)
    first = client.get("/notifications").get_data(as_text=True)
    assert "Lot 22" in first and "Lot 02" not in first and "?page=2" in first
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert "Lot 02" in second and "Lot 22" not in second


def test_marking_read_works_on_own_notifications_only(w, login_as):
    _claimed(w)
    [mine] = _own(w.donor_user)
    intruder = login_as(w.other_donor_user)
    assert intruder.post(f"/notifications/{mine.id}/read", headers=HX).status_code == 404
    assert _own(w.donor_user)[0].read_at is None
    donor = login_as(w.donor_user)
    response = donor.post(f"/notifications/{mine.id}/read", headers=HX)
    assert response.status_code == 200 and response.headers["HX-Trigger"]
    fragment = response.get_data(as_text=True)
    assert f'id="notification-{mine.id}"' in fragment and "unread" not in fragment
    assert _own(w.donor_user)[0].read_at is not None
    assert "badge" not in donor.get("/notifications/count").get_data(as_text=True)


def test_mark_all_read(w, login_as):
    _claimed(w, "Carottes")
    _claimed(w, "Poireaux")
    _claimed(w, "Choux")
    client = login_as(w.donor_user)
    assert client.post("/notifications/read").status_code == 302
    assert all(n.read_at is not None for n in _own(w.donor_user))
    assert "unread" not in client.get("/notifications").get_data(as_text=True)


def test_preferences_keep_entries_and_explain_errors(w, login_as):
    client = login_as(w.donor_user)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert translated("fr", "One e-mail a day") in page
    assert re.search(r'<option selected value="digest">|<option value="digest" selected', page)
    form = {k.value: "immediate" for k in NotificationKind} | {
        "lot_claimed": "digest",
        "new_lot": "off",
    }
    bad = client.post("/account/notifications", data=form)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="lot_claimed-msg"' in html
    assert re.search(r'<option selected value="off">|<option value="off" selected', html)
    assert _mode(w.donor_user, NotificationKind.NEW_LOT) == MailMode.DIGEST  # nothing saved
    form["lot_claimed"] = "off"
    assert client.post("/account/notifications", data=form).status_code == 302
    assert _mode(w.donor_user, NotificationKind.LOT_CLAIMED) == MailMode.OFF
    assert _mode(w.donor_user, NotificationKind.NEW_LOT) == MailMode.OFF
    assert _mode(w.donor_user, NotificationKind.BOOKING) == MailMode.IMMEDIATE
    # Choosing a kind's default stores no row.
    assert (
        db.session.scalar(
            select(NotificationPreference).where(
                NotificationPreference.user_id == w.donor_user.id,
                NotificationPreference.kind == NotificationKind.BOOKING,
            )
        )
        is None
    )


def test_the_mailed_unsubscribe_link_turns_the_kind_off_and_can_be_undone(w, client, inbox):
    w.donor_user.language = "nl"
    _claimed(w)
    assert notifications.deliver_pending(db.session) == 1
    db.session.commit()
    text = parts(inbox.messages[0])["text/plain"]
    link = re.search(r"http://maillon\.test(/notifications/unsubscribe/\S+)", text).group(1)
    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert translated("nl", "You are unsubscribed") in html  # the recipient's language
    assert _mode(w.donor_user, NotificationKind.LOT_CLAIMED) == MailMode.OFF
    assert _mode(w.donor_user, NotificationKind.NEW_LOT) == MailMode.DIGEST  # others kept
    resubscribe = re.search(r'action="(/notifications/resubscribe/[^"]+)"', html).group(1)
    assert client.post(resubscribe).status_code == 200
    assert _mode(w.donor_user, NotificationKind.LOT_CLAIMED) == MailMode.IMMEDIATE
    _claimed(w, "Poireaux")
    assert _own(w.donor_user)[-1].mail_state == MailState.PENDING


def test_one_click_post_from_a_mail_client_needs_no_csrf_token(app, w, client):
    app.config["WTF_CSRF_ENABLED"] = True
    token = unsubscribe_token(w.cpas_user.id, NotificationKind.NEW_LOT)
    response = client.post(
        f"/notifications/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert _mode(w.cpas_user, NotificationKind.NEW_LOT) == MailMode.OFF
    # Resubscribing is a form on our page: it keeps its CSRF protection.
    assert client.post(f"/notifications/resubscribe/{token}").status_code == 400
    assert _mode(w.cpas_user, NotificationKind.NEW_LOT) == MailMode.OFF


def test_the_mail_header_carries_the_one_click_address(w, inbox):
    _claimed(w)
    notifications.deliver_pending(db.session)
    db.session.commit()
    message = inbox.messages[0]
    token = unsubscribe_token(w.donor_user.id, NotificationKind.LOT_CLAIMED)
    assert header(message, "List-Unsubscribe") == (
        f"<http://maillon.test/notifications/unsubscribe/{token}>"
    )


@pytest.mark.parametrize("token", ["garbage", "eyJ1IjoxLCJrIjoibmV3X2xvdCJ9.forged-signature"])
def test_a_forged_or_damaged_token_is_a_clear_400(w, client, token):
    for response in (
        client.get(f"/notifications/unsubscribe/{token}"),
        client.post(f"/notifications/unsubscribe/{token}"),
    ):
        assert response.status_code == 400
        assert translated(
            "fr", "This unsubscribe link is not valid. Sign in to choose which e-mails you receive."
        ) in response.get_data(as_text=True)


def test_a_token_for_another_kind_of_signed_data_is_refused(app, w, client):
    from itsdangerous import URLSafeSerializer

    other_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="something-else")
    token = other_salt.dumps({"u": w.cpas_user.id, "k": "new_lot"})
    assert client.get(f"/notifications/unsubscribe/{token}").status_code == 400
    assert _mode(w.cpas_user, NotificationKind.NEW_LOT) == MailMode.DIGEST
