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
from .services import lots

log = logging.getLogger(__name__)


def expire_lots_job(app: Flask) -> int:
    """Expire lots past their date or their pickup window (every 10 minutes)."""
    with app.app_context():
        try:
            count = lots.expire_lots(db.session)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("expire_lots failed")
            raise
        finally:
            db.session.remove()
    log.info("expire_lots: %d lots expired", count)
    return count


JOBS: list[tuple[str, Callable[[Flask], int], dict]] = [
    ("expire_lots", expire_lots_job, {"trigger": "interval", "minutes": 10}),
]


def _configure(scheduler, app: Flask) -> None:
    for job_id, func, trigger in JOBS:
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
    log.info("scheduler started with %d jobs", len(JOBS))
    scheduler.start()
