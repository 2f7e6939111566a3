"""The periodic jobs and their APScheduler 3 registration (the jobs are service functions).

Adding a job is one line in :func:`registry`: a name, its label, a function
``(session, now) -> int | dict`` and a schedule. ``services/job_runs.py`` runs each
firing under a database lease and logs it.

One scheduler runs: inside ``make run``'s process in development (SCHEDULER_ENABLED=1),
or in its own ``flask --app app scheduler`` process in production, never in gunicorn
workers. Each scheduler keeps its jobs in memory (a job store is never shared);
``coalesce`` and ``max_instances=1`` keep one process from piling up runs, and the lease
makes an accidental second scheduler skip what the first is doing or has just done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from .services import (
    job_runs,
    lots,
    notifications,
    placement,
    retention,
    runs,
    waves,
)
from .services.depots import alerts as depot_alerts
from .services.job_runs import Job, daily_at, every
from .services.lot_dates import local_today

log = logging.getLogger(__name__)

TIMEZONE = "Europe/Brussels"
MISFIRE_GRACE_SECONDS = 300


def _materialise_runs(session: Session, now: datetime) -> int:
    return runs.materialise(session, local_today(now))


def _remind_expiring(session: Session, now: datetime) -> int:
    return notifications.remind_expiring(session, local_today(now))


def registry(config: Mapping[str, Any]) -> list[Job]:
    """Every periodic job, in the order the job page lists them."""
    placing = (
        [
            Job(
                "place_lots",
                _l("Place new lots and book them on runs"),
                placement.run,
                every(minutes=config["PLACEMENT_EVERY_MINUTES"]),
            )
        ]
        if config["PLACEMENT_ENABLED"]
        else []
    )
    return [
        Job(
            "expire_lots",
            _l("Expire lots past their date or pickup window"),
            lots.expire_lots,
            every(minutes=10),
        ),
        Job(
            "escalate_waves",
            _l("Offer unclaimed lots to the next wave"),
            waves.escalate,
            every(minutes=5),
        ),
        Job(
            "materialise_runs",
            _l("Create the dated runs of the weekly rounds"),
            _materialise_runs,
            daily_at("02:15"),
        ),
        *placing,
        Job(
            "deliver_mail",
            _l("Send the mail of new notifications"),
            notifications.mail.deliver_pending,
            every(minutes=1),
        ),
        Job(
            "send_digests",
            _l("Send the daily digest mails"),
            notifications.mail.send_digests,
            daily_at(config["DIGEST_AT"]),
        ),
        Job(
            "remind_expiring",
            _l("Remind of conventions and FSE+ approvals expiring soon"),
            _remind_expiring,
            daily_at("06:00"),
        ),
        Job(
            "stock_alerts",
            _l("Tell coordinators of depot stock near its date"),
            depot_alerts.notify_expiring,
            daily_at("06:05"),
        ),
        Job(
            "retention",
            _l("Erase personal data past its retention period"),
            retention.run,
            daily_at("03:30"),
        ),
    ]


def find(config: Mapping[str, Any], name: str) -> Job | None:
    return next((job for job in registry(config) if job.name == name), None)


def configure(scheduler: BaseScheduler, app: Flask) -> None:
    """Add every job of the registry to ``scheduler`` (its in-memory job store)."""
    for job in registry(app.config):
        scheduler.add_job(
            job_runs.run,
            args=[app, job],
            id=job.name,
            name=job.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            **job.schedule.trigger,
        )


def start_background(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=TIMEZONE)
    configure(scheduler, app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler  # the job page shows its next run times
    return scheduler


def run_blocking(app: Flask) -> None:
    """The ``flask scheduler`` process: runs the jobs until stopped."""
    if not logging.getLogger().handlers:  # under systemd, the journal shows each run
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    scheduler = BlockingScheduler(timezone=TIMEZONE)
    configure(scheduler, app)
    app.extensions["scheduler"] = scheduler
    log.info("scheduler started with %d jobs", len(scheduler.get_jobs()))
    scheduler.start()
