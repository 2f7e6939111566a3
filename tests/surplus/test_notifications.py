"""Notifications: who is told what, the mail state each preference gives, and mail
delivery over real SMTP (immediate, digest, never twice)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import (
    Claim,
    ConventionStatus,
    Depot,
    LotStatus,
    MailMode,
    MailState,
    Notification,
    NotificationKind,
    Role,
    Run,
    TransportAgreement,
    Vehicle,
)
from surplus.services import claims, conventions, lots, notifications
from surplus.services.lot_dates import local_today
from surplus.services.notifications.prefs import set_mode
from tests import factories
from tests.factories import translated
from tests.mailbox import header, parts, subject


def _rows(kind=None):
    db.session.expire_all()
    query = select(Notification).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return db.session.scalars(query).all()


def _recipients(rows):
    return {n.user_id for n in rows}


def test_mail_state_follows_each_users_preference_and_skips_inactive_users(w):
    off, digest, gone = (factories.user(w.donor, Role.MEMBER) for _ in range(3))
    gone.active = False
    set_mode(db.session, off.id, NotificationKind.LOT_CLAIMED, MailMode.OFF)
    set_mode(db.session, digest.id, NotificationKind.NEW_LOT, MailMode.IMMEDIATE)
    lot = factories.lot(w.donor)
    users = [w.donor_user, off, digest, gone]
    claimed = notifications.notify(db.session, users, NotificationKind.LOT_CLAIMED, lot, {})
    offered = notifications.notify(db.session, users, NotificationKind.NEW_LOT, lot, {})
    state = {(n.kind, n.user_id): n.mail_state for n in claimed + offered}
    assert state == {
        (NotificationKind.LOT_CLAIMED, w.donor_user.id): MailState.PENDING,  # default
        (NotificationKind.LOT_CLAIMED, off.id): MailState.NONE,
        (NotificationKind.LOT_CLAIMED, digest.id): MailState.PENDING,
        (NotificationKind.NEW_LOT, w.donor_user.id): MailState.DIGEST,  # default for lots
        (NotificationKind.NEW_LOT, off.id): MailState.DIGEST,
        (NotificationKind.NEW_LOT, digest.id): MailState.PENDING,
    }
    assert {(n.subject_type, n.subject_id) for n in claimed} == {("lot", lot.id)}


def test_notify_many_writes_the_rows_notify_would(w):
    digest, gone = (factories.user(w.cpas, Role.MEMBER) for _ in range(2))
    gone.active = False
    set_mode(db.session, digest.id, NotificationKind.NEW_LOT, MailMode.IMMEDIATE)
    lot = factories.lot(w.donor)
    users = [w.cpas_user, digest, gone]
    params = {"kg": 12.5, "date": lot.best_date}
    one_by_one = notifications.notify(db.session, users, NotificationKind.NEW_LOT, lot, params)
    assert notifications.notify_many(db.session, users, NotificationKind.NEW_LOT, lot, params) == 2
    db.session.expire_all()
    rows = _rows(NotificationKind.NEW_LOT)
    assert len(rows) == 4 and all(n.created_at is not None and n.read_at is None for n in rows)

    def shape(n):
        return (n.user_id, n.subject_type, n.subject_id, n.params, n.mail_state)

    kept = [shape(n) for n in rows[:2]]
    assert kept == [shape(n) for n in one_by_one] == [shape(n) for n in rows[2:]]
    assert {n.mail_state for n in rows if n.user_id == digest.id} == {MailState.PENDING}


def test_a_claim_notifies_the_donors_users_only(w):
    colleague = factories.user(w.donor, Role.MEMBER)
    lot = factories.lot(w.donor, kg=50)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 20)
    db.session.commit()
    rows = _rows()
    assert [n.kind for n in rows] == [NotificationKind.LOT_CLAIMED] * 2
    assert _recipients(rows) == {w.donor_user.id, colleague.id}
    assert rows[0].subject_type == "claim" and rows[0].subject_id == claim.id
    assert rows[0].params["kg"] == 20 and rows[0].params["beneficiary"] == "CPAS Test"


def test_a_coordinators_claim_on_behalf_notifies_the_donor(w):
    lot = factories.lot(w.donor, kg=50)
    claims.claim_lot(
        db.session, w.coordinator, lot.id, 10, platform_id=w.platform.id, beneficiary=w.asbl
    )
    db.session.commit()
    assert _recipients(_rows(NotificationKind.LOT_CLAIMED)) == {w.donor_user.id}


def test_a_convention_decision_notifies_the_beneficiary_with_the_reason(w):
    conventions.decide(
        db.session, w.coordinator, w.asbl_convention, "suspend", reason="Contrôle AFSCA en cours"
    )
    db.session.commit()
    [row] = _rows()
    assert row.user_id == w.asbl_user.id and row.kind == NotificationKind.CONVENTION_DECISION
    assert row.params["status"] == "suspended"
    assert row.params["reason"] == "Contrôle AFSCA en cours"


def test_withdrawing_a_lot_notifies_each_claimant_organisation_once(w):
    lot = factories.lot(w.donor, kg=90)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 15)
    db.session.commit()
    lots.withdraw_lot(db.session, w.donor_user, lot, "Chambre froide en panne")
    db.session.commit()
    [row] = _rows(NotificationKind.LOT_WITHDRAWN)
    assert row.user_id == w.cpas_user.id and row.subject_id == lot.id
    assert row.params["kg"] == 25 and row.params["reason"] == "Chambre froide en panne"


def test_a_booking_tells_donor_and_beneficiary_the_pickup_time(w):
    depot = Depot(
        platform_id=w.platform.id,
        name="Dépôt",
        postcode="6800",
        locality="Libramont-Chevigny",
        lat=w.platform.lat,
        lon=w.platform.lon,
    )
    van = Vehicle(platform_id=w.platform.id, name="Van", capacity_kg=500, refrigerated=True)
    db.session.add_all([depot, van])
    db.session.flush()
    run = Run(
        platform_id=w.platform.id,
        vehicle_id=van.id,
        depot_id=depot.id,
        name="Tournée du mardi",
        start_at=datetime.now(UTC),
    )
    db.session.add(run)
    lot = factories.lot(w.donor, kg=40)
    claim, _ = claims.claim_lot(db.session, w.asbl_user, lot.id, 40)
    eta = datetime(2030, 5, 7, 9, 30, tzinfo=UTC)
    rows = notifications.booked(db.session, claim, run, eta)
    assert _recipients(rows) == {w.donor_user.id, w.asbl_user.id}
    assert rows[0].params["pickup"] == eta.isoformat() and rows[0].params["run_id"] == run.id


def test_new_lot_goes_once_to_accepting_networks_of_the_given_platforms(w):
    elsewhere = factories.org("association", postcode="5000", locality="Namur")
    elsewhere_user = factories.user(elsewhere, Role.MEMBER)
    factories.convention(w.other_platform, elsewhere)
    # FSE+ stock: only the CPAS holds an approval; the ASBL's convention does not allow it.
    lot = factories.lot(
        w.platform,
        fse_plus=True,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=60,
    )
    assert notifications.new_lot_offered(db.session, lot, [w.platform.id]) == 1
    assert _recipients(_rows(NotificationKind.NEW_LOT)) == {w.cpas_user.id}
    # A later wave reaches Namur's network; nobody is told twice.
    both = [w.platform.id, w.other_platform.id]
    assert notifications.new_lot_offered(db.session, lot, both) == 0  # elsewhere: no FSE+
    plain = factories.lot(w.donor, storage="ambient", category="dry_goods")
    assert notifications.new_lot_offered(db.session, plain, [w.platform.id]) == 2
    assert notifications.new_lot_offered(db.session, plain, both) == 1
    assert notifications.new_lot_offered(db.session, plain, both) == 0
    got = {n.user_id for n in _rows(NotificationKind.NEW_LOT) if n.subject_id == plain.id}
    assert got == {w.cpas_user.id, w.asbl_user.id, elsewhere_user.id}


def test_transport_agreement_notifies_the_coordinators_who_must_act_or_were_answered(w):
    member = factories.user(w.other_platform, Role.MEMBER)
    agreement = TransportAgreement(
        carrier_id=w.other_platform.id,
        client_id=w.platform.id,
        valid_from=local_today(),
        requested_by_org_id=w.platform.id,
    )
    db.session.add(agreement)
    db.session.flush()
    asked = notifications.transport_agreement(db.session, agreement, "requested")
    assert _recipients(asked) == {w.other_coordinator.id}  # not the member
    assert member.id not in _recipients(asked) and asked[0].params["platform"] == "Hub Libramont"
    agreement.decision_reason = "Camion complet"
    answered = notifications.transport_agreement(db.session, agreement, "refused")
    assert _recipients(answered) == {w.coordinator.id}
    assert answered[0].params["platform"] == "Distri Namur"
    ended = notifications.transport_agreement(
        db.session, agreement, "ended", by_org_id=w.platform.id
    )
    assert _recipients(ended) == {w.other_coordinator.id}


def test_expiry_reminders_come_once_per_convention_kind_and_date(w):
    today = local_today()
    w.asbl_convention.valid_until = today + timedelta(days=10)
    w.cpas_convention.fse_plus_approval_expires = today + timedelta(days=20)
    far = factories.convention(w.other_platform, w.asbl)
    far.valid_until = today + timedelta(days=31)
    db.session.commit()
    assert notifications.remind_expiring(db.session, today) == 4
    rows = _rows(NotificationKind.EXPIRING_APPROVAL)
    by_what = {(n.params["what"], n.user_id) for n in rows}
    assert by_what == {
        ("convention", w.asbl_user.id),
        ("convention", w.coordinator.id),
        ("fse_plus", w.cpas_user.id),
        ("fse_plus", w.coordinator.id),
    }
    assert notifications.remind_expiring(db.session, today) == 0
    assert notifications.remind_expiring(db.session, today + timedelta(days=1)) == 1 * 2
    assert {n.subject_id for n in _rows(NotificationKind.EXPIRING_APPROVAL)} == {
        w.asbl_convention.id,
        w.cpas_convention.id,
        far.id,
    }
    # A renewed approval with a new date is reminded again when it nears.
    w.cpas_convention.fse_plus_approval_expires = today + timedelta(days=25)
    db.session.commit()
    assert notifications.remind_expiring(db.session, today) == 2


def test_suspended_conventions_get_no_reminder(w):
    w.asbl_convention.status = ConventionStatus.SUSPENDED
    w.asbl_convention.valid_until = local_today() + timedelta(days=5)
    db.session.commit()
    assert notifications.remind_expiring(db.session, local_today()) == 0


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_immediate_mail_arrives_in_the_recipients_language(w, inbox, language):
    w.donor_user.language = language
    lot = factories.lot(w.donor, kg=50, title="Carottes")
    claims.claim_lot(db.session, w.cpas_user, lot.id, 20)
    db.session.commit()
    assert notifications.deliver_pending(db.session) == 1
    db.session.commit()
    [message] = inbox.messages
    assert message["To"] == w.donor_user.email
    assert subject(message) == translated(
        language, "Your lot %(title)s was claimed", title="Carottes"
    )
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    assert translated(language, "Hello,") in body["text/plain"]
    assert "CPAS Test" in body["text/plain"] and "Carottes" in body["text/html"]
    claim_id = db.session.scalar(select(Claim.id))
    assert f"http://maillon.test/claims/{claim_id}" in body["text/plain"]
    unsubscribe = header(message, "List-Unsubscribe")
    assert unsubscribe.startswith("<http://maillon.test/notifications/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.strip("<>") in body["text/plain"]
    [row] = _rows()
    assert row.mail_state == MailState.SENT and row.mailed_at is not None


def test_delivering_twice_sends_once(w, inbox):
    lot = factories.lot(w.donor, kg=50)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 5)
    claims.claim_lot(db.session, w.asbl_user, lot.id, 5)
    db.session.commit()
    assert notifications.deliver_pending(db.session) == 2
    db.session.commit()
    assert notifications.deliver_pending(db.session) == 0
    db.session.commit()
    assert len(inbox.messages) == 2


def test_two_processes_delivering_at_once_send_each_mail_once(app, w, inbox):
    lot = factories.lot(w.donor, kg=50)
    for _ in range(6):
        claims.claim_lot(db.session, w.cpas_user, lot.id, 5)
    db.session.commit()
    start = threading.Barrier(2)
    counts, errors = [], []

    def worker():
        try:
            with app.app_context():
                start.wait(timeout=10)
                counts.append(notifications.deliver_pending(db.session))
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and sum(counts) == 6 and len(counts) == 2
    assert len(inbox.messages) == 6
    assert len({parts(m)["text/plain"] for m in inbox.messages}) == 6


def test_mail_waits_while_mail_is_disabled(w):
    lot = factories.lot(w.donor, kg=50)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 5)
    db.session.commit()
    assert notifications.deliver_pending(db.session) == 0
    assert _rows()[0].mail_state == MailState.PENDING


def test_digest_gathers_several_lots_in_one_mail_once(w, inbox):
    titles = ["Pommes", "Poireaux", "Yaourts"]
    offered = [factories.lot(w.donor, title=t) for t in titles]
    gone = factories.lot(w.donor, title="Déjà parti")
    for lot in offered + [gone]:
        notifications.new_lot_offered(db.session, lot, [w.platform.id])
    gone.status = LotStatus.WITHDRAWN
    db.session.commit()
    assert notifications.deliver_pending(db.session) == 0  # new lots wait for the digest
    assert notifications.send_digests(db.session) == 2  # the CPAS and the ASBL user
    db.session.commit()
    assert notifications.send_digests(db.session) == 0
    db.session.commit()
    assert sorted(m["To"] for m in inbox.messages) == sorted([w.cpas_user.email, w.asbl_user.email])
    text = parts(inbox.messages[0])["text/plain"]
    assert all(t in text for t in titles) and "Déjà parti" not in text
    assert translated("fr", "Here is what happened on Maillon since our last e-mail:") in text
    assert inbox.messages[0]["List-Unsubscribe"]
    states = {(n.subject_id, n.mail_state) for n in _rows() if n.user_id == w.cpas_user.id}
    assert states == {(lot.id, MailState.SENT) for lot in offered} | {(gone.id, MailState.NONE)}


def test_a_kind_turned_off_after_notifying_is_not_mailed(w, inbox):
    lot = factories.lot(w.donor, kg=50)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 5)
    set_mode(db.session, w.donor_user.id, NotificationKind.LOT_CLAIMED, MailMode.OFF)
    db.session.commit()
    assert notifications.deliver_pending(db.session) == 0
    assert inbox.messages == [] and _rows()[0].mail_state == MailState.NONE


def test_job_without_server_name_links_to_the_public_url(app, w, inbox):
    app.config.update(SERVER_NAME=None, PUBLIC_URL="https://maillon.example/app")
    lot = factories.lot(w.donor, kg=50)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 5)
    db.session.commit()
    assert notifications.deliver_pending(db.session) == 1
    text = parts(inbox.messages[0])["text/plain"]
    assert "https://maillon.example/app/claims/" in text
    assert header(inbox.messages[0], "List-Unsubscribe").startswith(
        "<https://maillon.example/app/notifications/unsubscribe/"
    )
