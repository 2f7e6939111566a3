"""Flask commands: demo data, the scheduler process, backup and restore."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

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
        required = current_app.config.get("MFA_REQUIRED_ROLES") or []
        if required:
            lines += [
                "",
                f"  Accounts with the role {' or '.join(required)} are asked to set up two-step",
                "  verification (an authenticator app) at their first sign-in.",
            ]
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


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@click.command("backup")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=True),
    help="File to write (a name with a suffix), or directory to write "
    "maillon-YYYYmmdd-HHMMSS.sqlite3/.dump in (default: BACKUP_DIR).",
)
@click.option(
    "--keep-days",
    type=click.IntRange(min=1),
    help="Then delete the backups of that directory older than N days "
    "(default: RETENTION_DAYS, as personal data in the database).",
)
@with_appcontext
def backup_run(output: Path | None, keep_days: int | None) -> None:
    """Write a consistent backup of the database and its sidecar (.json)."""
    from . import backup as backups
    from .extensions import db

    days = keep_days if keep_days is not None else int(current_app.config["RETENTION_DAYS"])
    try:
        result = backups.backup(
            db.engine.url,
            Path(current_app.config["BACKUP_DIR"]),
            output=output,
            keep_days=days,
        )
    except backups.BackupError as exc:
        raise click.ClickException(f"Backup failed: {exc}") from None
    m = result.manifest
    click.echo(
        f"Backup written: {result.path} ({_size(m.size)}, {m.kind}, revision {m.revision}, "
        f"{len(m.tables)} tables, {m.rows} rows)"
    )
    click.echo(f"Sidecar: {result.sidecar}")
    if result.pruned:
        click.echo(f"Deleted {len(result.pruned)} files older than {days} days:")
        for path in result.pruned:
            click.echo(f"  {path}")


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_run(path: Path, yes: bool) -> None:
    """Load the backup PATH into the application's database, which must be empty."""
    from . import backup as backups
    from .extensions import db

    url = db.engine.url
    target = url.render_as_string(hide_password=True)
    try:
        manifest = backups.check(path, url)
        if not yes:
            click.confirm(
                f"Restore {path.name} ({manifest.kind}, revision {manifest.revision}, "
                f"{manifest.created_at:%Y-%m-%d %H:%M} UTC, {manifest.rows} rows) into {target}?",
                abort=True,
            )
        db.engine.dispose()  # no pooled connection of ours in the way
        result = backups.restore(url, path)
    except backups.BackupError as exc:
        raise click.ClickException(f"Restore failed: {exc}") from None
    finally:
        db.engine.dispose()
    width = max((len(name) for name in result.manifest.tables | result.counts), default=5)
    click.echo(f"Restored {path} into {result.target}.")
    click.echo(f"  {'table':<{width}}  {'backup':>9}  {'restored':>9}")
    mismatches = result.mismatches
    for name in sorted(result.manifest.tables | result.counts):
        expected, found = result.manifest.tables.get(name), result.counts.get(name)
        flag = "  MISMATCH" if name in mismatches else ""
        click.echo(f"  {name:<{width}}  {expected!s:>9}  {found!s:>9}{flag}")
    if mismatches:
        raise click.ClickException(
            f"Row counts differ from the backup's sidecar in {len(mismatches)} tables: "
            + ", ".join(sorted(mismatches))
        )
    click.echo(
        f"Every table matches the backup: {len(result.counts)} tables, {result.manifest.rows} rows."
    )
    if result.needs_upgrade:
        click.echo(
            f"The backup is at revision {result.manifest.revision}; this code's migrations "
            f"are at {', '.join(result.heads)}: run `flask --app app db upgrade` now."
        )


def register(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(scheduler_run)
    app.cli.add_command(backup_run)
    app.cli.add_command(restore_run)
