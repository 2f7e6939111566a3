"""Backups that restore (surplus/backup.py; `flask --app app backup` and `restore`).

The demo region is seeded once per backend for this module (as `flask demo seed` does),
backed up with the CLI, and restored into fresh databases: a new one (no table) and a
migrated empty one. Every table's row count and a checksum of its sorted rows (and, on
PostgreSQL, every sequence's position) must be the source's. Then the refusals: a
database with rows, a damaged or foreign file, another database kind, a newer revision;
each leaves the target as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from surplus import backup as backups
from surplus import demo
from surplus.database import tune_engine
from surplus.extensions import db
from surplus.models import JobRun
from tests import factories

BACKENDS = ["sqlite", "postgresql"]
HEADS = backups.migration_heads()


# -- databases ----------------------------------------------------------------------------


class Databases:
    """This module's databases: the seeded demo region per backend (built on first use),
    its CLI backup, and fresh targets; PostgreSQL ones are dropped at the end."""

    def __init__(self, directory: Path, postgres, migrate, make_app, sqlite_template: str):
        self.directory = directory
        self.postgres = postgres
        self.migrate = migrate
        self.make_app = make_app
        self.sqlite_template = sqlite_template
        self.created: list[str] = []
        self.sources: dict[str, str] = {}
        self.backups: dict[str, tuple[Path, str]] = {}
        self.pg_migrated: str | None = None
        self.refusing: dict[tuple[str, bool], str] = {}

    def fresh(self, kind: str, *, migrated: bool) -> str:
        """A new database: no table at all, or migrated and empty."""
        name = f"maillon_backup_{uuid.uuid4().hex[:8]}"
        if kind == "sqlite":
            path = self.directory / f"{name}.db"
            if migrated:
                shutil.copy(self.sqlite_template, path)
            return f"sqlite:///{path}"
        self.created.append(name)
        if not migrated:
            return self.postgres.create(name)
        if self.pg_migrated is None:  # migrated once, then copied
            self.pg_migrated = f"maillon_backup_migrated_{uuid.uuid4().hex[:8]}"
            self.created.append(self.pg_migrated)
            self.migrate(self.postgres.create(self.pg_migrated))
        return self.postgres.create(name, template=self.pg_migrated)

    def untouched(self, kind: str, *, migrated: bool) -> str:
        """A fresh database shared by the tests of refusals, which must leave it as it
        is (each checks it)."""
        key = (kind, migrated)
        if key not in self.refusing:
            self.refusing[key] = self.fresh(kind, migrated=migrated)
        return self.refusing[key]

    def source(self, kind: str) -> str:
        """The demo region on ``kind``, seeded as `flask demo seed` seeds it."""
        if kind not in self.sources:
            uri = self.fresh(kind, migrated=True)
            with self.make_app(uri) as app, app.app_context():
                demo.seed(db.session)
                db.session.commit()
                demo.first_jobs(app)
                db.session.remove()
            self.sources[kind] = uri
        return self.sources[kind]

    def copy(self, kind: str) -> str:
        """A copy of the demo region, for a test that writes to it."""
        source = self.source(kind)
        name = f"maillon_backup_{uuid.uuid4().hex[:8]}"
        if kind == "sqlite":
            path = self.directory / f"{name}.db"
            shutil.copy(source.removeprefix("sqlite:///"), path)
            return f"sqlite:///{path}"
        self.created.append(name)
        return self.postgres.create(name, template=source.rsplit("/", 1)[1])

    def backup(self, kind: str) -> tuple[Path, str]:
        """The demo region's backup by `flask --app app backup --output DIR`, and what
        the command printed."""
        if kind not in self.backups:
            out = self.directory / f"backups-{kind}"
            with self.make_app(self.source(kind)) as app:
                result = app.test_cli_runner().invoke(args=["backup", "--output", str(out)])
            assert result.exit_code == 0, result.output
            (path,) = [p for p in out.iterdir() if not p.name.endswith(".json")]
            self.backups[kind] = (path, result.output)
        return self.backups[kind]


@pytest.fixture(scope="module")
def dbs(tmp_path_factory, postgres, migrate, make_app, sqlite_template) -> Iterator[Databases]:
    databases = Databases(
        tmp_path_factory.mktemp("backup"), postgres, migrate, make_app, sqlite_template
    )
    yield databases
    for name in databases.created:
        postgres.drop(name)


def _engine(uri: str):
    return create_engine(uri, poolclass=NullPool)


def digests(uri: str) -> dict[str, tuple[int, str]]:
    """Per table: its row count and the SHA-256 of its rows, sorted; on PostgreSQL also
    where each sequence stands (new rows after a restore must not collide)."""
    engine = _engine(uri)
    found: dict[str, tuple[int, str]] = {}
    try:
        with engine.connect() as conn:
            for name in inspect(conn).get_table_names():
                rows = sorted(
                    repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{name}"'))
                )
                found[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
            if engine.dialect.name == "postgresql":
                for name, last in conn.execute(
                    text("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")
                ):
                    found[f"sequence {name}"] = (0, str(last))
    finally:
        engine.dispose()
    return found


def restore(make_app, uri: str, path: Path, *args: str):
    with make_app(uri) as app:
        return app.test_cli_runner().invoke(args=["restore", str(path), *args])


def revision(uri: str) -> str | None:
    engine = _engine(uri)
    try:
        with engine.connect() as conn:
            if "alembic_version" not in inspect(conn).get_table_names():
                return None
            return conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()


# -- the round trip -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", BACKENDS)
def test_backup_writes_a_private_file_and_its_sidecar(dbs: Databases, kind: str):
    path, output = dbs.backup(kind)
    sidecar = path.with_name(path.name + ".json")
    assert path.name.startswith("maillon-")
    assert path.suffix == {"sqlite": ".sqlite3", "postgresql": ".dump"}[kind]
    for file in (path, sidecar):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    manifest = json.loads(sidecar.read_text())
    assert manifest["kind"] == kind
    assert (manifest["revision"],) == HEADS
    assert manifest["size"] == path.stat().st_size
    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    source = digests(dbs.source(kind))
    assert manifest["tables"] == {
        name: n for name, (n, _) in source.items() if not name.startswith("sequence ")
    }
    assert manifest["rows"] > 1000  # the demo region, not an empty schema
    assert str(path) in output
    assert f"{len(manifest['tables'])} tables, {manifest['rows']} rows" in output


@pytest.mark.parametrize("migrated", [False, True], ids=["new", "migrated-empty"])
@pytest.mark.parametrize("kind", BACKENDS)
def test_restore_brings_back_every_row(dbs: Databases, make_app, kind: str, migrated: bool):
    path, _ = dbs.backup(kind)
    target = dbs.fresh(kind, migrated=migrated)

    result = restore(make_app, target, path, "--yes")

    assert result.exit_code == 0, result.output
    assert "Every table matches the backup" in result.output
    assert "db upgrade" not in result.output  # the backup is at the code's revision
    source, restored = digests(dbs.source(kind)), digests(target)
    assert restored.keys() == source.keys()
    differing = [name for name in source if restored[name] != source[name]]
    assert not differing, differing
    assert sum(n for n, _ in restored.values()) > 1000


@pytest.mark.parametrize("kind", BACKENDS)
def test_backup_is_consistent_while_the_app_writes(dbs: Databases, make_app, kind: str):
    """A writer commits two job_run rows per transaction before, during and after the
    backup: the backup holds whole transactions only (an even number of its rows), and
    what it holds is what its sidecar counted (the restore compares them)."""
    uri = dbs.copy(kind)
    engine = create_engine(uri)
    tune_engine(engine)
    started, stop = threading.Event(), threading.Event()
    commits: list[int] = [0]
    errors: list[BaseException] = []

    def write() -> None:
        try:
            while True:
                last = stop.is_set()  # one more transaction once told to stop
                with Session(engine) as session, session.begin():
                    session.add_all([JobRun(job="backup-writer"), JobRun(job="backup-writer")])
                commits[0] += 1
                started.set()
                if last:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            started.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert started.wait(30)
        before = commits[0]
        out = dbs.directory / f"consistent-{uuid.uuid4().hex[:6]}"
        with make_app(uri) as app:
            result = app.test_cli_runner().invoke(args=["backup", "--output", str(out)])
        after = commits[0]
    finally:
        stop.set()
        writer.join(30)
        engine.dispose()
    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert before >= 1 and commits[0] > after  # it wrote before, and went on after

    (path,) = [p for p in out.iterdir() if not p.name.endswith(".json")]
    target = dbs.fresh(kind, migrated=False)
    restored = restore(make_app, target, path, "--yes")
    assert restored.exit_code == 0, restored.output
    check = _engine(target)
    try:
        with check.connect() as conn:
            held = conn.scalar(text("SELECT count(*) FROM job_run WHERE job = 'backup-writer'"))
    finally:
        check.dispose()
    assert held >= 2 * before
    assert held % 2 == 0


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BACKENDS)
def test_restore_refuses_a_database_with_rows(dbs: Databases, make_app, kind: str):
    path, _ = dbs.backup(kind)
    target = dbs.fresh(kind, migrated=True)
    engine = _engine(target)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO job_lock (name, holder, locked_until) VALUES ('x', '', :t)"),
            {"t": datetime.now(UTC)},
        )
    engine.dispose()
    before = digests(target)

    result = restore(make_app, target, path, "--yes")

    assert result.exit_code != 0
    assert "not empty" in result.output and "job_lock: 1 rows" in result.output
    assert digests(target) == before


def _damaged_copy(path: Path, directory: Path, how: str) -> Path:
    directory.mkdir()
    copy = directory / path.name
    sidecar = path.with_name(path.name + ".json")
    shutil.copy(sidecar, directory / sidecar.name)
    data = path.read_bytes()
    if how == "truncated":
        copy.write_bytes(data[: len(data) // 2])
    else:  # not a backup at all, with a sidecar that vouches for it
        copy.write_bytes(b"garbage " * 4096)
        manifest = json.loads(sidecar.read_text())
        manifest.update(
            size=copy.stat().st_size, sha256=hashlib.sha256(copy.read_bytes()).hexdigest()
        )
        (directory / sidecar.name).write_text(json.dumps(manifest))
    return copy


@pytest.mark.parametrize("how", ["truncated", "foreign"])
@pytest.mark.parametrize("kind", BACKENDS)
def test_a_damaged_backup_fails_cleanly(dbs: Databases, make_app, tmp_path, kind: str, how: str):
    path, _ = dbs.backup(kind)
    damaged = _damaged_copy(path, tmp_path / "damaged", how)
    target = dbs.untouched(kind, migrated=True)
    before = digests(target)

    result = restore(make_app, target, damaged, "--yes")

    assert result.exit_code != 0
    assert result.output.startswith("Error: Restore failed:")
    assert ("damaged" if how == "truncated" else str(damaged)) in result.output
    assert "Traceback" not in result.output
    assert digests(target) == before  # the migrated empty schema, untouched
    assert revision(target) == HEADS[0]


def test_restore_refuses_another_database_kind(dbs: Databases, make_app):
    path, _ = dbs.backup("sqlite")
    target = dbs.untouched("postgresql", migrated=False)

    result = restore(make_app, target, path, "--yes")

    assert result.exit_code != 0
    assert "sqlite backup and the target is postgresql" in result.output
    assert "not supported" in result.output
    assert digests(target) == {}


@pytest.mark.parametrize("kind", BACKENDS)
def test_restore_refuses_a_backup_newer_than_the_code(dbs: Databases, make_app, tmp_path, kind):
    path, _ = dbs.backup(kind)
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    manifest = json.loads(path.with_name(path.name + ".json").read_text())
    manifest["revision"] = "9999"
    copy.with_name(copy.name + ".json").write_text(json.dumps(manifest))
    target = dbs.untouched(kind, migrated=False)

    result = restore(make_app, target, copy, "--yes")

    assert result.exit_code != 0
    assert "revision 9999" in result.output and "newer version" in result.output
    assert digests(target) == {}


def test_restore_without_sidecar_or_confirmation_does_nothing(dbs: Databases, make_app, tmp_path):
    path, _ = dbs.backup("sqlite")
    lone = tmp_path / path.name
    shutil.copy(path, lone)
    target = dbs.untouched("sqlite", migrated=False)

    result = restore(make_app, target, lone, "--yes")
    assert result.exit_code != 0 and "No sidecar" in result.output

    with make_app(target) as app:
        answered_no = app.test_cli_runner().invoke(args=["restore", str(path)], input="n\n")
    assert answered_no.exit_code != 0
    assert "Restore maillon-" in answered_no.output
    assert digests(target) == {}


# -- older backups, retention, passwords --------------------------------------------------


@pytest.mark.parametrize("kind", BACKENDS)
def test_an_older_backup_restores_then_upgrades(dbs: Databases, make_app, tmp_path, kind: str):
    old = dbs.fresh(kind, migrated=False)
    with make_app(old) as app, app.app_context():
        upgrade(revision="0010")
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (path,) = [p for p in tmp_path.iterdir() if not p.name.endswith(".json")]
    target = dbs.fresh(kind, migrated=True)  # at the code's revision, empty

    restored = restore(make_app, target, path, "--yes")

    assert restored.exit_code == 0, restored.output
    assert revision(target) == "0010"
    assert "revision 0010" in restored.output and "flask --app app db upgrade" in restored.output
    with make_app(target) as app, app.app_context():
        upgrade()
    assert revision(target) == HEADS[0]


def test_old_backups_are_deleted_after_the_retention_period(make_app, sqlite_template, tmp_path):
    source = tmp_path / "source.db"
    shutil.copy(sqlite_template, source)
    directory = tmp_path / "backups"  # BACKUP_DIR, created on first use
    now = datetime.now(UTC)

    def stamp(days: float) -> str:
        return (now - timedelta(days=days)).strftime("maillon-%Y%m%d-%H%M%S")

    directory.mkdir(mode=0o700)
    old, recent = stamp(800), stamp(700)
    for name in (
        f"{old}.sqlite3",
        f"{old}.sqlite3.json",
        f"{old}.dump",
        f"{recent}.sqlite3",
        "notes.txt",
    ):
        (directory / name).write_text("x")

    with make_app(f"sqlite:///{source}", BACKUP_DIR=str(directory), RETENTION_DAYS=730) as app:
        result = app.test_cli_runner().invoke(args=["backup"])
        assert result.exit_code == 0, result.output
        left = sorted(p.name for p in directory.iterdir())
        assert f"{old}.sqlite3" not in left and f"{old}.dump" not in left
        assert f"{old}.sqlite3.json" not in left
        assert f"{recent}.sqlite3" in left and "notes.txt" in left
        assert "Deleted 3 files older than 730 days" in result.output
        assert len([n for n in left if n.endswith(".sqlite3.json")]) == 1  # the new one

        shorter = app.test_cli_runner().invoke(
            args=["backup", "--keep-days", "30", "--output", str(directory / "today.sqlite3")]
        )
        assert shorter.exit_code == 0, shorter.output
        left = sorted(p.name for p in directory.iterdir())
        assert f"{recent}.sqlite3" not in left
        assert "today.sqlite3" in left and "notes.txt" in left
        assert len([n for n in left if n.startswith("maillon-") and n.endswith(".sqlite3")]) == 1

        again = app.test_cli_runner().invoke(
            args=["backup", "--output", str(directory / "today.sqlite3")]
        )
        assert again.exit_code != 0 and "already exists" in again.output


def test_a_database_owner_without_superuser_rights_backs_up_and_restores(
    postgres, make_app, migrate, tmp_path
):
    """As in production: the application's role owns its database and nothing more."""
    suffix = uuid.uuid4().hex[:8]
    role, names = f"maillon_owner_{suffix}", [f"maillon_owned_{suffix}_{i}" for i in (1, 2)]
    postgres.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        postgres.create(names[0])
        postgres.execute(f'ALTER DATABASE "{names[0]}" OWNER TO "{role}"')
        source = postgres.url(names[0]).replace("postgres@", f"{role}@", 1)
        migrate(source)  # the role owns the tables, functions and sequences
        postgres.create(names[1], template=names[0])  # migrated and empty, the role's too
        postgres.execute(f'ALTER DATABASE "{names[1]}" OWNER TO "{role}"')
        target = postgres.url(names[1]).replace("postgres@", f"{role}@", 1)
        with make_app(source) as app, app.app_context():
            factories.world()
            db.session.commit()
            db.session.remove()
            result = app.test_cli_runner().invoke(args=["backup", "--output", str(tmp_path)])
        assert result.exit_code == 0, result.output
        (path,) = [p for p in tmp_path.iterdir() if not p.name.endswith(".json")]

        restored = restore(make_app, target, path, "--yes")

        assert restored.exit_code == 0, restored.output
        before, after = digests(source), digests(target)
        assert after == before
        assert after["organisation"][0] >= 4
    finally:
        for name in names:
            postgres.drop(name)
        postgres.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_the_password_goes_by_environment_not_command_line(
    dbs: Databases, make_app, monkeypatch, tmp_path
):
    plain = dbs.fresh("postgresql", migrated=True)
    with_password = plain.replace("postgres@", "postgres:s3cr%21t@", 1)  # trust auth here
    seen: list[tuple[list[str], dict[str, str]]] = []
    run = backups.subprocess.run

    def spy(command, **kwargs):
        seen.append((command, kwargs["env"]))
        return run(command, **kwargs)

    monkeypatch.setattr(backups.subprocess, "run", spy)
    with make_app(with_password) as app:
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    ((command, env),) = seen
    assert command[0].endswith("pg_dump")
    assert "--format=custom" in command and "--no-owner" in command
    assert not any("s3cr" in arg for arg in command)
    assert env["PGPASSWORD"] == "s3cr!t"
    assert "s3cr" not in result.output


def test_a_failed_pg_dump_exits_with_its_message(dbs: Databases, make_app, tmp_path):
    missing = dbs.postgres.url(f"maillon_missing_{uuid.uuid4().hex[:8]}")
    with make_app(missing) as app:
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(tmp_path)])
    assert result.exit_code != 0
    assert "Backup failed" in result.output and "does not exist" in result.output
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_a_missing_sqlite_database_is_not_backed_up(make_app, tmp_path):
    with make_app(f"sqlite:///{tmp_path / 'nowhere.db'}") as app:
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "No SQLite database at" in result.output


def test_a_count_that_differs_from_the_sidecar_fails_the_restore(
    dbs: Databases, make_app, tmp_path
):
    path, _ = dbs.backup("sqlite")
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    manifest = json.loads(path.with_name(path.name + ".json").read_text())
    manifest["tables"]["organisation"] += 1
    copy.with_name(copy.name + ".json").write_text(json.dumps(manifest))

    result = restore(make_app, dbs.fresh("sqlite", migrated=False), copy, "--yes")

    assert result.exit_code != 0
    line = next(line for line in result.output.splitlines() if " organisation " in line)
    assert line.split()[1:] == [
        str(manifest["tables"]["organisation"]),
        str(manifest["tables"]["organisation"] - 1),
        "MISMATCH",
    ]
    assert "Row counts differ from the backup's sidecar in 1 tables: organisation" in result.output


def test_pg_connection_keeps_the_url_options_and_hands_the_password_apart():
    conninfo, env = backups.pg_connection(
        "postgresql+psycopg://maillon:p%40ss@db.example:5433/maillon?sslmode=require"
    )
    assert "p@ss" not in conninfo and "password" not in conninfo
    assert set(conninfo.split()) == {
        "host=db.example",
        "port=5433",
        "user=maillon",
        "dbname=maillon",
        "sslmode=require",
    }
    assert env["PGPASSWORD"] == "p@ss"
