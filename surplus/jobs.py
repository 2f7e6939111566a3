"""APScheduler 3 registration of the periodic jobs (the jobs are service functions).

Exactly one scheduler runs: inside ``make run``'s process in development
(SCHEDULER_ENABLED=1), or in its own ``flask --app app scheduler`` process in
production, never in gunicorn workers. Jobs are idempotent, coalesced and never run
two instances at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from .extensions import db
from .services import allocation, lots, runs

log = logging.getLogger(__name__)


def _in_context(app: Flask, name: str, work: Callable[[], object]) -> object:
    with app.app_context():
        try:
            result = work()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("%s failed", name)
            raise
        finally:
            db.session.remove()
    log.info("%s: %s", name, result)
    return result


def expire_lots_job(app: Flask) -> object:
    """Expire lots past their date or their pickup window (every 10 minutes)."""
    return _in_context(app, "expire_lots", lambda: lots.expire_lots(db.session))


def daily_allocation_job(app: Flask) -> object:
    """Allocate and claim, unattended, the lots nearing their date (daily); each
    platform's run is stored as a batch that its coordinators see."""
    return _in_context(app, "daily_allocation", lambda: allocation.run_unattended(db.session))


def materialise_runs_job(app: Flask) -> object:
    """Create the dated runs of the weekly rounds two weeks ahead (nightly; idempotent)."""
    return _in_context(app, "materialise_runs", lambda: runs.materialise(db.session))


def _daily_at(value: str) -> dict:
    hour, _sep, minute = value.partition(":")
    return {"trigger": "cron", "hour": int(hour), "minute": int(minute or 0)}


def jobs(app: Flask) -> list[tuple[str, Callable[[Flask], object], dict]]:
    return [
        ("expire_lots", expire_lots_job, {"trigger": "interval", "minutes": 10}),
        ("daily_allocation", daily_allocation_job, _daily_at(app.config["MATCH_DAILY_AT"])),
        ("materialise_runs", materialise_runs_job, {"trigger": "cron", "hour": 2, "minute": 15}),
    ]


def _configure(scheduler, app: Flask) -> None:
    for job_id, func, trigger in jobs(app):
        scheduler.add_job(func, args=[app], id=job_id, replace_existing=True,
                          coalesce=True, max_instances=1, misfire_grace_time=300, **trigger)


def start_background(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="Europe/Brussels")
    _configure(scheduler, app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    return scheduler


def run_blocking(app: Flask) -> None:
    scheduler = BlockingScheduler(timezone="Europe/Brussels")
    _configure(scheduler, app)
    log.info("scheduler started with %d jobs", len(jobs(app)))
    scheduler.start()
