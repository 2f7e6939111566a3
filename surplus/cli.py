"""Flask commands: demo data and the scheduler process."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

demo = AppGroup("demo", help="Demo region.")


@demo.command("seed")
@click.option("--scale", default=1, show_default=True, help="Grow the region N-fold.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has data.")
def demo_seed(scale: int, if_empty: bool) -> None:
    """Create the demo region (platforms, beneficiaries, donors, lots, runs)."""
    from . import demo as demo_module
    from .extensions import db

    if if_empty and not demo_module.is_empty(db.session):
        click.echo("Database already has data; demo seed skipped.")
        return
    counts = demo_module.seed(db.session, scale=scale)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with db.engine.connect() as conn:  # fresh statistics for the planner
            conn.execute(text("ANALYZE"))
            conn.commit()
    demo_module.first_jobs(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo("Seeded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@click.command("scheduler")
def scheduler_run() -> None:
    """Run the job scheduler in this process (exactly one such process in production)."""
    from . import jobs

    jobs.run_blocking(current_app._get_current_object())  # type: ignore[attr-defined]


def register(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(scheduler_run)
