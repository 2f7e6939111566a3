"""The job page: site admins and coordinators see every job and the log; site admins run
a job now (logged as manual, with who asked), coordinators read the board only (the jobs
are global); everyone else is kept out."""

import html
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale, ngettext

from surplus.extensions import db
from surplus.models import JobLock, JobOutcome, JobRun, Lot, LotStatus, Role
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def w(app):
    w = factories.world()
    w.admin = factories.user(factories.org("platform", name="Maillon"), Role.SITE_ADMIN)
    now = datetime.now(UTC)
    db.session.add_all(
        [
            JobRun(
                job="place_lots",
                started_at=now - timedelta(hours=2),
                finished_at=now - timedelta(hours=2) + timedelta(seconds=3),
                outcome=JobOutcome.OK,
                counts={"platforms": 2, "claimed": 7, "skipped": 1, "booked": 6},
                host="sched-1:42:abcd",
            ),
            JobRun(
                job="expire_lots",
                started_at=now - timedelta(hours=1),
                finished_at=now - timedelta(hours=1),
                outcome=JobOutcome.FAILED,
                counts={},
                error="RuntimeError: the van is on fire",
                host="sched-1:42:abcd",
            ),
        ]
    )
    w.stale = factories.lot(w.donor, kg=10, title="Périmé")
    w.stale.expires_at = now - timedelta(minutes=5)
    db.session.commit()
    return w


@pytest.mark.parametrize("who", ["admin", "coordinator"])
def test_admins_and_coordinators_see_the_jobs_and_their_log(w, login_as, who):
    page = login_as(getattr(w, who)).get("/jobs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for msgid in (
        "Scheduled jobs",
        "Expire lots past their date or pickup window",
        "Create the dated runs of the weekly rounds",
        "Place new lots and book them on runs",
        "Erase personal data past its retention period",
    ):
        assert factories.translated("fr", msgid) in html
    assert factories.translated("fr", "Every day at %(time)s", time="02:15") in html
    with force_locale("fr"):
        every_15 = ngettext("Every minute", "Every %(num)d minutes", 15)
    assert every_15 != "Every 15 minutes" and every_15 in html, "place_lots, every 15 minutes"
    assert 'href="/jobs/"' in html, "the menu links to the page"
    assert "RuntimeError: the van is on fire" in html and "sched-1:42:abcd" in html
    assert f"{factories.translated('fr', 'claimed')} 7" in html
    if who == "admin":
        assert factories.translated("fr", "Run now") in html
        assert html.count('action="/jobs/') >= 4 and 'name="csrf_token"' in html
    else:  # read-only: the jobs serve every platform
        assert factories.translated("fr", "Run now") not in html
        assert 'action="/jobs/' not in html


def test_members_and_other_organisations_are_kept_out(w, login_as, client, job_log):
    for person in (w.cpas_user, w.donor_user):
        member = login_as(person)
        assert member.get("/jobs/").status_code == 403
        assert member.post("/jobs/expire_lots/run").status_code == 403
    assert client.get("/jobs/").status_code == 302, "anonymous: to the sign-in page"
    assert len(job_log()) == 2, "nothing ran"


def test_run_now_runs_the_job_and_logs_who_asked(w, login_as, job_log):
    w.admin.name = "Administration Maillon"
    db.session.commit()
    admin = login_as(w.admin)
    response = admin.post("/jobs/expire_lots/run", headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="flash flash-success"' in html and "<html" not in html, "the board only"
    manual = job_log()[-1]
    assert (manual.job, manual.trigger, manual.outcome) == ("expire_lots", "manual", JobOutcome.OK)
    assert manual.triggered_by_id == w.admin.id and manual.counts == {"count": 1}
    assert db.session.get(Lot, w.stale.id).status == LotStatus.EXPIRED
    assert "Administration Maillon" in html, "the log says who ran it"

    again = admin.post("/jobs/expire_lots/run")  # plain form: back to the page
    assert again.status_code == 302 and again.headers["Location"].endswith("/jobs/")
    assert [r.triggered_by_id for r in job_log()[-2:]] == [w.admin.id, w.admin.id]


def test_coordinators_do_not_run_jobs(w, login_as, job_log):
    coordinator = login_as(w.coordinator)
    for headers in ({}, HX):
        response = coordinator.post("/jobs/expire_lots/run", headers=headers)
        assert response.status_code == 403
        assert factories.translated(
            "fr",
            "The jobs serve every platform: only Maillon's administrators run one by hand. "
            "They run by themselves on their schedule.",
        ) in html.unescape(response.get_data(as_text=True))
    assert len(job_log()) == 2, "nothing ran"
    assert db.session.get(Lot, w.stale.id).status == LotStatus.OPEN


def test_run_now_while_the_job_runs_elsewhere_is_a_conflict(w, login_as, job_log):
    db.session.add(
        JobLock(
            name="materialise_runs",
            holder="sched-2:7:beef",
            locked_until=datetime.now(UTC) + timedelta(minutes=30),
        )
    )
    db.session.commit()
    response = login_as(w.admin).post("/jobs/materialise_runs/run", headers=HX)
    assert response.status_code == 409
    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    assert len(job_log()) == 2


def test_unknown_job_and_log_pages(w, login_as):
    admin = login_as(w.admin)
    assert admin.post("/jobs/nope/run").status_code == 404
    now = datetime.now(UTC)
    db.session.rollback()  # a fresh snapshot: signing in wrote to the security log
    db.session.add_all(
        [
            JobRun(
                job="expire_lots",
                started_at=now,
                finished_at=now,
                outcome=JobOutcome.OK,
                counts={"count": 0},
            )
            for _ in range(30)
        ]
    )
    db.session.commit()
    first = admin.get("/jobs/").get_data(as_text=True)
    assert "?page=2" in first and "the van is on fire" not in first, "newest first"
    second = admin.get("/jobs/?page=2", headers=HX)
    html = second.get_data(as_text=True)
    assert second.status_code == 200 and "<html" not in html
    assert "the van is on fire" in html


def test_next_run_times_show_when_a_scheduler_runs_in_this_process(w, app, login_as):
    from apscheduler.schedulers.background import BackgroundScheduler

    from surplus import jobs

    admin = login_as(w.admin)
    without = admin.get("/jobs/").get_data(as_text=True)
    assert factories.translated("fr", "Next run") not in without, "just the schedule"
    scheduler = BackgroundScheduler(timezone=jobs.TIMEZONE)
    jobs.configure(scheduler, app)
    scheduler.start(paused=True)  # next run times computed, nothing fires
    app.extensions["scheduler"] = scheduler
    try:
        html = admin.get("/jobs/").get_data(as_text=True)
    finally:
        del app.extensions["scheduler"]
        scheduler.shutdown(wait=False)
    assert factories.translated("fr", "Next run") in html
    assert html.count("<td>—</td>") == 0, "every job has its next time"
