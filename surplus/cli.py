"""Flask commands: demo data and the scheduler process."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

demo = AppGroup("demo", help="Demo region.")


@demo.command("seed")
@click.option("--scale", default=1, show_default=True, help="Grow the region N-fold.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has data.")
@click.option("--hello", metavar="URL", help="Then say where to go and how to sign in.")
def demo_seed(scale: int, if_empty: bool, hello: str | None) -> None:
    """Create the demo region (platforms, beneficiaries, donors, lots, runs)."""
    from . import demo as demo_module
    from .extensions import db

    if if_empty and not demo_module.is_empty(db.session):
        click.echo("Database already has data; demo seed skipped.")
    else:
        _seed(scale)
    if hello:
        _hello(hello)


@demo.command("hello")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True)
def demo_hello(url: str) -> None:
    """Say where the demo is served and which demo accounts sign in."""
    _hello(url)


def _hello(url: str) -> None:
    """The banner: the address, the demo's featured accounts as the database holds them
    (each platform's coordination and the site admin, found by role; the named donors
    and beneficiaries of ``demo.NAMED_USERS``; the driver, when the demo has one), with
    their role and organisation, and the demo password."""
    from sqlalchemy import or_, select

    from . import demo as demo_module
    from .demo_data import DEMO_PASSWORD
    from .extensions import db
    from .models import Organisation, Role, User

    named = [f"{local}@demo.maillon.be" for local in demo_module.NAMED_USERS]
    driver = getattr(demo_module, "DRIVER_EMAIL", None)
    rows = db.session.execute(
        select(User.email, User.role, Organisation.name)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(
            User.email.like("%@demo.maillon.be"),
            or_(
                User.email.in_(named + ([driver] if driver else [])),
                User.role.in_([Role.COORDINATOR, Role.SITE_ADMIN]),
            ),
        )
        .order_by(User.id)
    ).all()
    width = max((len(email) for email, _, _ in rows), default=0)
    lines = ["", f"  Maillon: open {url}", ""]
    if rows:
        lines.append(f"  Sign in as one of these demo accounts, password {DEMO_PASSWORD}:")
        lines += [f"    {email:<{width}}  {role.value:<11}  {org}" for email, role, org in rows]
    else:
        lines.append("  No demo account in this database (`flask demo seed` creates them).")
    lines.append("")
    click.echo("\n".join(lines))


def _seed(scale: int) -> None:
    from . import demo as demo_module
    from .extensions import db

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
