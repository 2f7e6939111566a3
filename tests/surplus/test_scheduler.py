"""The scheduler: every job is idempotent; the lease lets one process run a job at a time
and records each run; two real schedulers on one database do each job's work once."""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, time, timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select, update

from surplus import jobs
from surplus.extensions import db
from surplus.models import (
    Claim,
    Depot,
    Event,
    JobLock,
    JobOutcome,
    JobRun,
    Lot,
    LotStatus,
    MailState,
    Notification,
    NotificationKind,
    Role,
    Run,
    RunTemplate,
    TemplateStop,
    Vehicle,
)
from surplus.services import job_runs, notifications
from surplus.services.booking import WEEKDAYS
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories

WAIT = 120  # seconds; generous for a loaded CI machine, never slept through
# Jobs that _region() gives work; the mail jobs' work depends on what the others notify.
BUSY = {"expire_lots", "escalate_waves", "materialise_runs", "place_lots", "remind_expiring"}


@pytest.fixture(autouse=True)
def _any_detour(app):
    """The region's rounds have no stops, so every lot is a detour from the depot: accept
    any, so that placement has its work done by the first run (the budget itself is
    tested in test_placement.py)."""
    app.config["PLACEMENT_DETOUR_MIN_KM"] = 10_000.0


def _region():
    """Work for every job: lots past their date, a lot nearing it, a lot waiting for its
    next wave, weekly rounds to materialise, a run planned tomorrow (so that placement
    has runs whichever job fires first), an FSE+ approval expiring soon."""
    w = factories.world()
    now = datetime.now(UTC)
    tomorrow = datetime.combine(local_today() + timedelta(days=1), time(7, 30), tzinfo=BRUSSELS)
    for conv in (w.cpas_convention, w.asbl_convention):  # open whichever day tomorrow is
        conv.opening_hours = {day: [["08:00", "17:00"]] for day in WEEKDAYS}
    w.expired = [factories.lot(w.donor, kg=10, title=f"Périmé {i}") for i in range(3)]
    for lot in w.expired:
        lot.expires_at = now - timedelta(minutes=5)
    # Near its date, yet after tomorrow's special run: placement has a run that can carry it.
    w.urgent = factories.lot(w.donor, kg=40, title="Yaourts", hours_open=48)
    w.urgent.expires_at = tomorrow + timedelta(hours=12)
    w.waiting = factories.lot(w.donor, kg=15, days=6, title="Pommes", hours_open=48)
    w.waiting.wave, w.waiting.next_wave_at = 1, now - timedelta(minutes=1)
    w.cpas_convention.fse_plus_approval_expires = local_today() + timedelta(days=10)
    depot = Depot(
        platform_id=w.platform.id,
        name="Dépôt",
        postcode="6800",
        locality="Libramont-Chevigny",
        lat=w.platform.lat,
        lon=w.platform.lon,
    )
    van = Vehicle(
        platform_id=w.platform.id, name="Van", capacity_kg=500, refrigerated=True, freezer=False
    )
    db.session.add_all([depot, van])
    db.session.flush()
    for weekday in (0, 3):
        template = RunTemplate(
            platform_id=w.platform.id,
            vehicle_id=van.id,
            depot_id=depot.id,
            name=f"Tournée {weekday}",
            weekday=weekday,
            departure="07:30",
            max_duration_min=600,
        )
        template.stops.append(
            TemplateStop(
                position=0,
                organisation_id=w.asbl.id,
                lat=w.asbl.lat,
                lon=w.asbl.lon,
                load_delta_kg=-50,
                opens="08:00",
                closes="17:00",
                service_min=15,
            )
        )
        db.session.add(template)
    db.session.add(
        Run(
            platform_id=w.platform.id,
            vehicle_id=van.id,
            depot_id=depot.id,
            name="Tournée spéciale",
            start_at=tomorrow.astimezone(UTC),
            max_duration_min=600,
        )
    )
    db.session.commit()
    return w


def _events(action: str, lot_ids: list[int]) -> Counter:
    return Counter(
        db.session.scalars(
            select(Event.subject_id).where(
                Event.subject_type == "lot", Event.action == action, Event.subject_id.in_(lot_ids)
            )
        ).all()
    )


def _mail_states(*where) -> Counter:
    return Counter(db.session.scalars(select(Notification.mail_state).where(*where)).all())


def _effects(w) -> dict:
    """What the jobs change, to compare after one run and after two."""
    return {
        "expired": _events("expired", [lot.id for lot in w.expired]),
        "escalated": _events("escalated", [w.waiting.id]),
        "runs": db.session.scalar(
            select(func.count()).select_from(Run).where(Run.template_id.is_not(None))
        ),
        "claims": db.session.scalar(select(func.count()).select_from(Claim)),
        "claimed_g": db.session.scalar(select(func.coalesce(func.sum(Claim.grams), 0))),
        "reminders": db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.kind == NotificationKind.EXPIRING_APPROVAL)
        ),
        "mail_states": _mail_states(),
    }


# (a) Each job is idempotent ---------------------------------------------------------


def test_every_job_run_twice_does_its_work_once(app, inbox):
    w = _region()
    now = datetime.now(UTC)
    sent = Counter()
    for job in jobs.registry(app.config):
        first = job_runs.as_counts(job.func(db.session, now))
        db.session.commit()
        sent[job.name] = first.get("count", 0)
        assert any(first.values()) or job.name not in BUSY, f"{job.name} had nothing to do"
        done, mails = _effects(w), len(inbox.messages)
        second = job_runs.as_counts(job.func(db.session, now))
        db.session.commit()
        assert all(not v for v in second.values() if isinstance(v, int)), (job.name, second)
        assert (_effects(w), len(inbox.messages)) == (done, mails), f"{job.name} did more"
    effects = _effects(w)
    assert effects["expired"] == {lot.id: 1 for lot in w.expired}, "one event per lot"
    assert all(db.session.get(Lot, lot.id).status == LotStatus.EXPIRED for lot in w.expired)
    assert effects["escalated"] == {w.waiting.id: 1}
    assert effects["runs"] > 0 and effects["claims"] > 0 and effects["reminders"] > 0
    assert len(inbox.messages) == sent["deliver_mail"] + sent["send_digests"] > 0, (
        "every mail sent once"
    )


# (b) The lease and the log ----------------------------------------------------------


def _job(func, minutes: int = 10) -> job_runs.Job:
    return job_runs.Job("test_job", "Test job", func, job_runs.every(minutes))


def test_a_run_in_progress_holds_the_lease(app, job_log):
    started, release = threading.Event(), threading.Event()

    def slow(session, now):
        started.set()
        assert release.wait(WAIT)
        return {"done": 1}

    job = _job(slow)
    results = []
    worker = threading.Thread(target=lambda: results.append(job_runs.run(app, job)))
    worker.start()
    try:
        assert started.wait(WAIT)
        assert job_runs.run(app, job) is None, "the scheduled duplicate skips"
        with pytest.raises(job_runs.JobBusy):
            job_runs.run(app, job, trigger=job_runs.MANUAL)
        assert [r.outcome for r in job_log()] == [JobOutcome.RUNNING]
    finally:
        release.set()
        worker.join(WAIT)
    assert results[0].outcome == JobOutcome.OK and results[0].counts == {"done": 1}
    [run] = job_log()
    assert run.outcome == JobOutcome.OK and run.counts == {"done": 1}
    assert run.finished_at >= run.started_at and run.trigger == "schedule"


def test_a_finished_run_keeps_the_lease_until_it_expires(app, job_log):
    job = _job(lambda session, now: 2)
    now = datetime.now(UTC)
    assert job_runs.run(app, job, now=now).counts == {"count": 2}
    assert job_runs.run(app, job, now=now + timedelta(minutes=4)) is None, (
        "a late duplicate of the same occurrence skips"
    )
    assert job_runs.run(app, job, now=now + timedelta(minutes=5)) is not None, (
        "the next occurrence (10 minutes later) finds the lease expired"
    )
    assert [r.outcome for r in job_log()] == [JobOutcome.OK, JobOutcome.OK]


def test_a_manual_run_takes_an_idle_lease_and_keeps_its_end(app, job_log):
    person = factories.user(factories.org("platform"), Role.COORDINATOR)
    db.session.commit()
    job = job_runs.Job("daily", "Daily", lambda session, now: 1, job_runs.daily_at("06:30"))
    now = datetime.now(UTC)
    job_runs.run(app, job, now=now)
    result = job_runs.run(
        app, job, trigger=job_runs.MANUAL, user_id=person.id, now=now + timedelta(minutes=1)
    )
    assert result.outcome == JobOutcome.OK
    manual = job_log()[-1]
    assert (manual.trigger, manual.triggered_by_id) == ("manual", person.id)
    lock = db.session.get(JobLock, "daily")
    assert lock.holder == "" and lock.locked_until == now + job_runs.DAILY_LEASE, (
        "the scheduled occurrence stays protected after a manual run"
    )
    assert job_runs.run(app, job, now=now + timedelta(hours=1)) is None


def test_a_failure_is_recorded_rolled_back_and_releases_the_lease(app, job_log):
    w = factories.world()
    lot_id = factories.lot(w.donor, title="Intact").id
    db.session.commit()

    def broken(session, now):
        session.execute(update(Lot).where(Lot.id == lot_id).values(title="Changed"))
        raise RuntimeError("the van is on fire")

    now = datetime.now(UTC)
    result = job_runs.run(app, _job(broken), now=now)
    assert result.outcome == JobOutcome.FAILED
    assert "RuntimeError: the van is on fire" in result.error
    [run] = job_log()
    assert run.outcome == JobOutcome.FAILED and run.error == result.error
    assert run.finished_at is not None
    assert db.session.get(Lot, lot_id).title == "Intact", "the job's work was rolled back"
    lock = db.session.get(JobLock, "test_job")
    assert lock.holder == "" and lock.locked_until <= run.finished_at
    assert job_runs.run(app, _job(lambda s, n: 0), now=run.finished_at).outcome == JobOutcome.OK, (
        "a failed run does not block a retry"
    )


def test_a_crashed_run_is_marked_interrupted_once_its_lease_expired(app, job_log):
    now = datetime.now(UTC)
    db.session.add(
        JobLock(name="test_job", holder="gone:1:dead", locked_until=now - timedelta(seconds=1))
    )
    db.session.add(
        JobRun(
            job="test_job",
            started_at=now - timedelta(minutes=6),
            outcome=JobOutcome.RUNNING,
            counts={},
            host="gone:1:dead",
        )
    )
    db.session.commit()
    assert job_runs.run(app, _job(lambda s, n: 1), now=now).outcome == JobOutcome.OK
    crashed, fresh = job_log()
    assert crashed.outcome == JobOutcome.FAILED and crashed.error == job_runs.INTERRUPTED
    assert fresh.outcome == JobOutcome.OK


# (c) Two real schedulers, one database ----------------------------------------------


def test_two_schedulers_on_one_database_do_each_job_once(
    app, database_uri, make_app, job_log, inbox
):
    """Two APScheduler BackgroundSchedulers, each with its own app (own engine and
    connection pool, as two processes would have), both configured from the registry
    and made to fire every job at the same instant."""
    w = _region()
    reminders = notifications.remind_expiring(db.session, local_today())  # mail to send
    db.session.commit()
    assert reminders > 0
    names = [job.name for job in jobs.registry(app.config)]
    settings = {k: v for k, v in app.config.items() if k.startswith(("MAIL_", "PLACEMENT_"))}
    apps_on_the_database = ExitStack()  # their own engines, disposed at the end
    apps = [
        apps_on_the_database.enter_context(make_app(database_uri, **settings)) for _ in range(2)
    ]
    schedulers = [BackgroundScheduler(timezone=jobs.TIMEZONE) for _ in apps]
    done, lock = threading.Event(), threading.Lock()
    events: list = []

    def listen(event):
        with lock:
            events.append(event)
            if len(events) == len(names) * len(schedulers):
                done.set()

    fire_at = datetime.now(UTC) + timedelta(seconds=2)
    try:
        for scheduler, other_app in zip(schedulers, apps, strict=True):
            jobs.configure(scheduler, other_app)
            scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
            scheduler.start(paused=True)
            for name in names:
                scheduler.modify_job(name, next_run_time=fire_at)
        for scheduler in schedulers:
            scheduler.resume()
        assert done.wait(WAIT), f"only {len(events)} job events arrived"
    finally:
        for scheduler in schedulers:
            if scheduler.running:
                scheduler.shutdown(wait=True)
        apps_on_the_database.close()

    assert not [e for e in events if e.code != EVENT_JOB_EXECUTED], [
        (e.job_id, getattr(e, "exception", None)) for e in events
    ]
    for name in names:
        returned = [e.retval for e in events if e.job_id == name]
        assert len(returned) == 2 and sum(r is None for r in returned) == 1, (
            f"{name}: one scheduler ran it, the other skipped: {returned}"
        )
    runs = job_log()
    assert sorted(r.job for r in runs) == sorted(names), "one logged run per job"
    assert all(r.outcome == JobOutcome.OK for r in runs), [(r.job, r.error) for r in runs]
    counts = {r.job: r.counts for r in runs}

    effects = _effects(w)
    assert effects["expired"] == {lot.id: 1 for lot in w.expired}
    assert effects["runs"] == counts["materialise_runs"]["count"] > 0
    assert effects["claims"] == counts["place_lots"]["claimed"] > 0
    assert effects["escalated"][w.waiting.id] == counts["escalate_waves"]["lots"] == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(Lot).where(Lot.status == LotStatus.EXPIRED)
        )
        == counts["expire_lots"]["count"]
        == 3
    )
    assert effects["reminders"] == reminders and counts["remind_expiring"]["count"] == 0
    sent = counts["deliver_mail"]["count"] + counts["send_digests"]["count"]
    assert len(inbox.messages) == sent >= reminders, "each mail sent once, by one scheduler"
    assert _mail_states(Notification.kind == NotificationKind.EXPIRING_APPROVAL) == {
        MailState.SENT: reminders
    }, "the reminders waiting at the start were mailed"
    assert MailState.SENDING not in _mail_states()
