"""Running a scheduled job: a lease per job in the database, and a log of every run.

A job is a name, a plain service function ``(session, now) -> int | dict`` (its counts)
and a schedule: the APScheduler trigger and a *lease* shorter than the period (half
the interval, 12 hours for a daily job).

``execute`` runs a job once:

1. Acquire the lease with one conditional UPDATE (the ``job_lock`` row is inserted
   first when missing; a concurrent insert's IntegrityError just means it exists)::

       UPDATE job_lock SET holder = :me, locked_until = :now + lease
       WHERE name = :job AND (locked_until IS NULL OR locked_until <= :now)

   and, in the same transaction, insert the ``JobRun`` (running) and mark runs left
   "running" by a holder whose lease expired as interrupted. No row updated: another
   process holds the lease, so skip (no JobRun). Lease and running log commit together,
   so a "running" row always has a live lease behind it, or is stale.
2. Run the function in its own transaction; commit and record ``ok`` with the counts,
   or roll back and record ``failed`` with the error. The exception stops here: a
   failing job never kills the scheduler.
3. On success the lease is *kept* until it expires but marked idle (``holder = ''``):
   another scheduler firing the same occurrence, even a few minutes late, still finds
   it held and skips. On failure it is released (nothing was done, so the next one to
   fire may retry at once).

Why one UPDATE is exclusive on both databases: on PostgreSQL (READ COMMITTED), a second
UPDATE of the same row waits for the first transaction, then re-evaluates its WHERE on
the committed row, finds ``locked_until`` in the future and updates nothing. On SQLite,
write transactions start with ``BEGIN IMMEDIATE`` (surplus/database.py), so the second
process waits for the write lock and then reads the committed row. A read-then-write in
Python would let both win.

Manual runs ("run now") take the lease too, so they never overlap a run in progress,
but they may also take an *idle* lease (a finished run's), since an admin asking again
means it. They hold it for ``MANUAL_LEASE`` or the remaining idle lease, whichever is
longer (so a late duplicate of the scheduled occurrence is still skipped), and raise
:class:`JobBusy` (409) when a run is actually in progress.

The lease also bounds a crash: a process that dies mid-run holds the job until its
lease expires at most. A run longer than its lease could overlap the next one; the jobs
are idempotent (conditional updates, unique constraints), so that wastes work but
never doubles an effect.
"""

from __future__ import annotations

import contextvars
import logging
import os
import secrets
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, literal, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import clock
from ..errors import Conflict
from ..models import JobLock, JobOutcome, JobRun

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

SCHEDULE, MANUAL = "schedule", "manual"
MANUAL_LEASE = timedelta(minutes=5)
DAILY_LEASE = timedelta(hours=12)
INTERRUPTED = "interrupted: its lease expired before it finished"
_IDLE = ""
_ERROR_MAX = 4000

JobFunc = Callable[[Session, datetime], "int | dict[str, Any] | None"]


@dataclass(frozen=True)
class Schedule:
    """When a job fires: APScheduler ``add_job`` trigger arguments, and the lease."""

    trigger: dict[str, Any]
    lease: timedelta
    minutes: int | None = None  # every N minutes
    at: str | None = None  # daily at HH:MM, Brussels time


def every(minutes: int) -> Schedule:
    return Schedule(
        {"trigger": "interval", "minutes": minutes},
        lease=timedelta(minutes=minutes) / 2,
        minutes=minutes,
    )


def daily_at(hhmm: str) -> Schedule:
    hour, _sep, minute = hhmm.partition(":")
    at = f"{int(hour):02d}:{int(minute or 0):02d}"
    return Schedule(
        {"trigger": "cron", "hour": int(hour), "minute": int(minute or 0)}, lease=DAILY_LEASE, at=at
    )


@dataclass(frozen=True)
class Job:
    name: str
    label: Any  # a lazy translated string
    func: JobFunc = field(repr=False)
    schedule: Schedule


@dataclass(frozen=True)
class Result:
    """What a run did (plain values, usable after its session is gone)."""

    run_id: int
    job: str
    outcome: JobOutcome
    counts: dict[str, Any]
    error: str


class JobBusy(Conflict):
    """A manual run asked for while the job is running."""


def new_holder() -> str:
    """Who holds a lease: host, process and a random part per run (so two schedulers in
    one process, as in the tests, are still told apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _utcnow() -> datetime:
    return clock.now()


def _ensure_lock_row(session: Session, name: str) -> None:
    """Insert the job's lock row the first time it runs anywhere."""
    if session.get(JobLock, name) is None:
        session.add(JobLock(name=name, holder=_IDLE, locked_until=None))
    try:
        session.commit()
    except IntegrityError:  # another process inserted it meanwhile: just as good
        session.rollback()


def _acquire(
    session: Session, job: Job, me: str, now: datetime, trigger: str, user_id: int | None
) -> int | None:
    """Take the lease and log the run as running (one transaction); the run's id, or
    None when someone else holds the lease."""
    _ensure_lock_row(session, job.name)
    free = or_(JobLock.locked_until.is_(None), JobLock.locked_until <= now)
    until: Any = now + job.schedule.lease
    if trigger == MANUAL:
        free = or_(free, JobLock.holder == _IDLE)
        wanted = literal(now + MANUAL_LEASE, JobLock.locked_until.type)
        until = case((JobLock.locked_until > wanted, JobLock.locked_until), else_=wanted)
    took = session.execute(
        update(JobLock)
        .where(JobLock.name == job.name, free)
        .values(holder=me, locked_until=until)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not took:
        session.rollback()
        return None
    session.execute(
        update(JobRun)
        .where(JobRun.job == job.name, JobRun.outcome == JobOutcome.RUNNING)
        .values(outcome=JobOutcome.FAILED, finished_at=now, error=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )
    # ``host`` keeps the whole holder, so a log row names the very process that ran it.
    run = JobRun(
        job=job.name,
        started_at=now,
        outcome=JobOutcome.RUNNING,
        counts={},
        trigger=trigger,
        triggered_by_id=user_id,
        host=me[:120],
    )
    session.add(run)
    session.flush()
    run_id = run.id  # read before commit: reloading it would open (on SQLite, lock) anew
    session.commit()
    return run_id


def as_counts(result: Any) -> dict[str, Any]:
    """A job function's result as the counts logged: a dict as it is, a number as
    ``{"count": n}``."""
    if result is None:
        return {}
    if isinstance(result, dict):
        return {str(k): v for k, v in result.items()}
    return {"count": int(result)}


def _finish(
    session: Session,
    job: Job,
    run_id: int,
    me: str,
    finished: datetime,
    outcome: JobOutcome,
    counts: dict[str, Any],
    error: str = "",
) -> None:
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(outcome=outcome, finished_at=finished, counts=counts, error=error)
        .execution_options(synchronize_session=False)
    )
    # Only our own lease: if we overran it, the next holder's is not ours to touch.
    release: dict[str, Any] = {"holder": _IDLE}
    if outcome == JobOutcome.FAILED:
        release["locked_until"] = finished
    session.execute(
        update(JobLock)
        .where(JobLock.name == job.name, JobLock.holder == me)
        .values(**release)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def execute(
    session: Session,
    job: Job,
    *,
    trigger: str = SCHEDULE,
    user_id: int | None = None,
    now: datetime | None = None,
    holder: str | None = None,
) -> Result | None:
    """Run ``job`` once under its lease (see the module docstring). Returns what it did,
    or None when skipped; a manual run raises :class:`JobBusy` instead of skipping."""
    now = now or _utcnow()
    me = holder or new_holder()
    started = time.monotonic()
    run_id = _acquire(session, job, me, now, trigger, user_id)
    if run_id is None:
        log.info("%s skipped: another process holds its lease", job.name)
        if trigger == MANUAL:
            raise JobBusy(
                str(
                    _l(
                        "“%(job)s” is running right now; try again when it has finished.",
                        job=job.label,
                    )
                )
            )
        return None
    try:
        counts = as_counts(job.func(session, now))
        session.commit()
    except Exception as exc:  # recorded, never raised: the scheduler must go on
        session.rollback()
        log.exception("%s failed", job.name)
        error = "".join(traceback.format_exception_only(exc)).strip()[:_ERROR_MAX]
        outcome = JobOutcome.FAILED
        counts = {}
    else:
        error, outcome = "", JobOutcome.OK
        log.info("%s: %s", job.name, counts)
    # Timestamps follow ``now`` (which tests may set) plus the time the job really took.
    finished = now + timedelta(seconds=time.monotonic() - started)
    _finish(session, job, run_id, me, finished, outcome, counts, error)
    return Result(run_id, job.name, outcome, counts, error)


def run(
    app: Flask,
    job: Job,
    *,
    trigger: str = SCHEDULE,
    user_id: int | None = None,
    now: datetime | None = None,
) -> Result | None:
    """Run ``job`` exactly as the scheduler does, from anywhere (a scheduler thread, a
    request's "run now", a test): in an empty context, so no request, user or locale
    leaks into the job, with its own app context and database session, and SQLite's
    ``BEGIN IMMEDIATE`` for every transaction."""
    from ..extensions import db

    def _isolated() -> Result | None:
        with app.app_context():
            try:
                return execute(db.session, job, trigger=trigger, user_id=user_id, now=now)
            finally:
                db.session.remove()

    return contextvars.Context().run(_isolated)
