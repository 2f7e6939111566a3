"""The job page: every scheduled job with its schedule, last and next run, and the log
of recent runs. Site admins run a job now (a button per job); coordinators read the
board only, since the jobs are global."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from .. import access, jobs
from ..extensions import db, htmx
from ..models import JobOutcome, JobRun, User
from ..services import job_runs
from .helpers import page_or_fragment

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
PER_PAGE = 25

OUTCOMES = {
    JobOutcome.RUNNING: _l("running"),
    JobOutcome.OK: _l("done"),
    JobOutcome.FAILED: _l("failed"),
}
TRIGGERS = {job_runs.SCHEDULE: _l("on schedule"), job_runs.MANUAL: _l("by hand")}
# Keys of the counts the jobs return; an unknown key is shown as it is.
COUNT_LABELS = {
    "platforms": _l("platforms"),
    "claimed": _l("claimed"),
    "skipped": _l("skipped"),
    # Continuous placement's (services/placement.py).
    "booked": _l("booked on a run"),
    "unbooked": _l("not booked"),
    "lots": _l("lots"),
    # The retention job's (services/retention.py).
    "handovers": _l("hand-overs"),
    "notes": _l("notes"),
    "contacts": _l("contacts"),
    "security_events": _l("security log lines"),
    "api_tokens": _l("API tokens"),
}


def schedule_words(schedule: job_runs.Schedule) -> str:
    if schedule.minutes:
        return ngettext("Every minute", "Every %(num)d minutes", schedule.minutes)
    return _("Every day at %(time)s", time=schedule.at)


def counts_words(counts: dict[str, Any]) -> str:
    if set(counts) == {"count"}:
        return str(counts["count"])
    return " · ".join(f"{COUNT_LABELS.get(key, key)} {value}" for key, value in counts.items())


def duration_words(run: JobRun) -> str:
    if run.finished_at is None:
        return ""
    seconds = (run.finished_at - run.started_at).total_seconds()
    if seconds < 60:
        return f"{format_decimal(round(seconds, 1))} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def _error_words(run: JobRun) -> str:
    if run.error == job_runs.INTERRUPTED:
        return _("Interrupted: its process stopped, or overran its lease, before it finished.")
    return run.error


def _board(message: str | None = None, category: str = "success") -> dict[str, Any]:
    """What the board shows: the jobs table and one page of the log (``?page=``)."""
    registry = jobs.registry(current_app.config)
    scheduler = current_app.extensions.get("scheduler")
    last = {
        run.job: run
        for run in db.session.scalars(
            select(JobRun).where(JobRun.id.in_(select(func.max(JobRun.id)).group_by(JobRun.job)))
        )
    }
    rows = []
    for job in registry:
        planned = scheduler.get_job(job.name) if scheduler else None
        rows.append(
            {
                "job": job,
                "schedule": schedule_words(job.schedule),
                "last": last.get(job.name),
                "next": planned.next_run_time if planned else None,
            }
        )
    total = db.session.scalar(select(func.count()).select_from(JobRun)) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    log = db.session.scalars(
        select(JobRun).order_by(JobRun.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    people = {run.triggered_by_id for run in log} - {None}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(people))).all())
    labels = {job.name: job.label for job in registry}
    return dict(
        rows=rows,
        log=log,
        page_no=page,
        pages=pages,
        names=names,
        labels=labels,
        scheduled=scheduler is not None,
        may_run=access.may_run_jobs(current_user),
        message=message,
        category=category,
        outcomes=OUTCOMES,
        triggers=TRIGGERS,
        counts_words=counts_words,
        duration_words=duration_words,
        error_words=_error_words,
    )


@bp.get("/")
@login_required
def job_list():
    """The jobs and their log (the board alone for htmx); 403 unless site admin or
    coordinator. Jobs are global, so every coordinator sees the whole log, read-only."""
    access.require_job_board(current_user)
    return page_or_fragment("jobs/list.html", "jobs/_board.html", **_board())


@bp.post("/<name>/run")
@login_required
def job_run_now(name: str):
    """Run a job now, in this request, exactly as the scheduler would, logged as manual
    with who asked; answers the board (htmx) or redirects to it. 403 unless site admin
    (jobs are global; a coordinator reads the board only), 404 for an unknown job, 409
    while the job is running elsewhere."""
    access.require_run_jobs(current_user)
    job = jobs.find(current_app.config, name)
    if job is None:
        abort(404)
    user_id = current_user.id
    # The job writes through its own connection: end this request's transaction first
    # (on SQLite it holds the write lock the job would wait for).
    db.session.rollback()
    status = 200
    try:
        result = job_runs.run(
            current_app._get_current_object(),
            job,  # type: ignore[attr-defined]
            trigger=job_runs.MANUAL,
            user_id=user_id,
        )
    except job_runs.JobBusy as busy:
        message, category, status = busy.message, "error", 409
    else:
        assert result is not None  # a manual run raises rather than skipping
        if result.outcome == JobOutcome.OK:
            message, category = (
                _(
                    "“%(job)s” done: %(counts)s.",
                    job=job.label,
                    counts=counts_words(result.counts) or "—",
                ),
                "success",
            )
        else:
            message, category = (
                _("“%(job)s” failed: %(error)s", job=job.label, error=result.error),
                "error",
            )
    if htmx:
        return render_template("jobs/_board.html", **_board(message, category)), status
    flash(message, category)
    return redirect(url_for("jobs.job_list"))
