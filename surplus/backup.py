"""Backups that restore (``flask --app app backup`` / ``restore``, surplus/cli.py).

A backup is one file and its sidecar ``<file>.json``, both mode 0600:

- **SQLite**: ``maillon-YYYYmmdd-HHMMSS.sqlite3``, a plain SQLite database written by
  SQLite's online backup API in one step, so it is the database as one read transaction
  saw it while the application went on writing; then ``PRAGMA integrity_check``.
- **PostgreSQL**: ``maillon-YYYYmmdd-HHMMSS.dump``, ``pg_dump --format=custom
  --no-owner`` of the application's schema, taken on a snapshot exported by a
  repeatable-read transaction that also counts the rows: the counts are those of the dump.

The sidecar records the database kind, the Alembic revision, the time (UTC), the size
and SHA-256 of the file, and the row count of every table. A restore checks all of it
before it touches the target, loads the backup only into an **empty** database (no table
but ``alembic_version`` holds a row; the tables may be missing or migrated and empty),
then counts the rows again and compares them with the sidecar.

Nothing here needs Flask: every function takes a SQLAlchemy URL (a ``URL`` keeps its
password; ``str(url)`` would mask it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import NullPool

from .config import ROOT

MIGRATIONS = ROOT / "migrations"
SUFFIXES = {"sqlite": ".sqlite3", "postgresql": ".dump"}
SIDECAR = ".json"
PARTIAL = ".partial"
FORMAT = 1
# The files `prune` may delete: backups, their sidecars, and leftovers of an interrupted one.
_OURS = re.compile(r"^maillon-(\d{8}-\d{6})\.(?:sqlite3|dump)(?:\.json|\.partial)?$")
_STAMP = "%Y%m%d-%H%M%S"
# Never counted, never in the way of a restore: Alembic's own bookkeeping.
_BOOKKEEPING = {"alembic_version"}
# pg_restore --list lines of the schema's own entries: "4; 2615 2200 SCHEMA - public owner".
_SCHEMA_ENTRY = re.compile(r"^\d+; \d+ \d+ (?:SCHEMA|COMMENT) - (?:SCHEMA )?\S+ ")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for the operator."""


@dataclass(frozen=True)
class Manifest:
    """What the sidecar says of its backup."""

    kind: str
    revision: str | None
    created_at: datetime
    file: str
    size: int
    sha256: str
    tables: dict[str, int]

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "kind": self.kind,
                "revision": self.revision,
                "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
                "file": self.file,
                "size": self.size,
                "sha256": self.sha256,
                "rows": self.rows,
                "tables": self.tables,
            },
            indent=2,
            sort_keys=False,
        )

    @classmethod
    def read(cls, backup: Path) -> Manifest:
        path = sidecar_of(backup)
        try:
            data = json.loads(path.read_text())
            if data.get("format") != FORMAT:
                raise BackupError(f"{path}: unknown sidecar format {data.get('format')!r}.")
            return cls(
                kind=data["kind"],
                revision=data["revision"],
                created_at=datetime.fromisoformat(data["created_at"].replace("Z", "+00:00")),
                file=data["file"],
                size=int(data["size"]),
                sha256=data["sha256"],
                tables={str(k): int(v) for k, v in data["tables"].items()},
            )
        except FileNotFoundError:
            raise BackupError(
                f"No sidecar {path}: it says what the backup holds and is needed to check it."
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupError(f"{path} is not a readable backup sidecar ({exc}).") from None


@dataclass
class BackupResult:
    path: Path
    sidecar: Path
    manifest: Manifest
    pruned: list[Path] = field(default_factory=list)


@dataclass
class RestoreResult:
    target: str
    manifest: Manifest
    counts: dict[str, int]
    heads: tuple[str, ...]

    @property
    def mismatches(self) -> dict[str, tuple[int | None, int | None]]:
        """Tables whose row count differs from the sidecar's: ``{name: (backup, restored)}``."""
        names = sorted(set(self.manifest.tables) | set(self.counts))
        return {
            name: (self.manifest.tables.get(name), self.counts.get(name))
            for name in names
            if self.manifest.tables.get(name) != self.counts.get(name)
        }

    @property
    def needs_upgrade(self) -> bool:
        return self.manifest.revision is not None and self.manifest.revision not in self.heads


def kind_of(url: str | URL) -> str:
    """``"sqlite"`` or ``"postgresql"`` (anything else cannot be backed up here)."""
    backend = make_url(url).get_backend_name()
    if backend not in SUFFIXES:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {backend}.")
    return backend


def sidecar_of(backup: Path) -> Path:
    return backup.with_name(backup.name + SIDECAR)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# -- backup -------------------------------------------------------------------------------


def backup(
    url: str | URL,
    directory: Path,
    *,
    output: Path | None = None,
    keep_days: int | None = None,
    now: datetime | None = None,
) -> BackupResult:
    """Write a backup of the database ``url``, its sidecar, then delete the backups of the
    same directory older than ``keep_days`` (none when ``None``).

    ``output`` is the file to write, or a directory (an existing one, or a name without
    suffix) to write the usual name in; by default ``directory`` (BACKUP_DIR). An
    existing file is never overwritten."""
    kind = kind_of(url)
    now = (now or _utcnow()).astimezone(UTC).replace(microsecond=0)
    name = f"maillon-{now.strftime(_STAMP)}{SUFFIXES[kind]}"
    if output is None:
        path = directory / name
    elif output.is_dir() or not output.suffix:  # a directory, made if needed
        path = output / name
    else:
        path = output
    partial, sidecar = path.with_name(path.name + PARTIAL), sidecar_of(path)
    for existing in (path, sidecar):
        if existing.exists():
            raise BackupError(f"{existing} already exists; a backup never overwrites a file.")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial.unlink(missing_ok=True)  # the leftover of an interrupted backup
        _create_private(partial)
    except OSError as exc:
        raise BackupError(f"Cannot write in {path.parent}: {exc}.") from None
    written: list[Path] = [partial]
    try:
        if kind == "sqlite":
            revision, tables = _sqlite_backup(make_url(url), partial)
        else:
            revision, tables = _pg_backup(make_url(url), partial)
        partial.chmod(0o600)
        manifest = Manifest(
            kind=kind,
            revision=revision,
            created_at=now,
            file=path.name,
            size=partial.stat().st_size,
            sha256=_sha256(partial),
            tables=tables,
        )
        _write_private(sidecar, manifest.to_json() + "\n")
        written.append(sidecar)
        partial.rename(path)
    except OSError as exc:
        for file in written:
            file.unlink(missing_ok=True)
        raise BackupError(f"Writing {path} failed: {exc}.") from None
    except BaseException:
        for file in written:
            file.unlink(missing_ok=True)
        raise
    result = BackupResult(path=path, sidecar=sidecar, manifest=manifest)
    if keep_days is not None:
        result.pruned = prune(path.parent, keep_days, now=now, keep={path, sidecar})
    return result


def prune(
    directory: Path, keep_days: int, *, now: datetime | None = None, keep: set[Path] = frozenset()
) -> list[Path]:
    """Delete this directory's backups (and sidecars) whose name says they were taken more
    than ``keep_days`` days before ``now``; other files are left alone. Returns them."""
    if keep_days < 1:
        raise BackupError("--keep-days must be at least 1.")
    limit = (now or _utcnow()) - timedelta(days=keep_days)
    deleted = []
    for path in sorted(directory.iterdir()):
        match = _OURS.match(path.name)
        if not match or path in keep or not path.is_file():
            continue
        taken = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
        if taken < limit:
            path.unlink()
            deleted.append(path)
    return deleted


def _create_private(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    path.chmod(0o600)


def _write_private(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    path.chmod(0o600)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- SQLite -------------------------------------------------------------------------------


def _sqlite_file(url: URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"{url} is not an SQLite database file.")
    return Path(database)


def _sqlite_tables(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {
        name: conn.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0] for name in names
    }


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def _sqlite_check(conn: sqlite3.Connection, what: str) -> None:
    try:
        rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a sound SQLite database: {exc}.") from None
    if rows != ["ok"]:
        raise BackupError(f"{what} fails SQLite's integrity check: {'; '.join(rows[:5])}.")


def _sqlite_backup(url: URL, partial: Path) -> tuple[str | None, dict[str, int]]:
    source = _sqlite_file(url)
    if not source.is_file():
        raise BackupError(f"No SQLite database at {source}.")
    try:
        with closing(sqlite3.connect(source, timeout=30)) as src:
            with closing(sqlite3.connect(partial)) as dst:
                # pages=-1: one step under one read transaction, a consistent copy even
                # while the application writes (WAL lets it go on meanwhile).
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                _sqlite_check(dst, "The backup just written")
                return _sqlite_revision(dst), _sqlite_tables(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup of {source} failed: {exc}.") from None


def _sqlite_occupied(target: Path) -> dict[str, int]:
    if not target.exists():
        return {}
    try:
        with closing(sqlite3.connect(f"{target.as_uri()}?mode=ro", uri=True, timeout=30)) as conn:
            counts = _sqlite_tables(conn)
    except sqlite3.Error as exc:
        raise BackupError(f"Cannot read the target database {target}: {exc}.") from None
    return {name: n for name, n in counts.items() if n and name not in _BOOKKEEPING}


def _sqlite_restore(url: URL, backup_file: Path) -> dict[str, int]:
    target = _sqlite_file(url)
    occupied = _sqlite_occupied(target)
    if occupied:
        raise NotEmpty(str(target), occupied)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not target.exists():
        _create_private(target)
    try:
        with closing(sqlite3.connect(f"{backup_file.as_uri()}?mode=ro", uri=True)) as src:
            with closing(sqlite3.connect(target, timeout=30)) as dst:
                src.backup(dst, pages=-1)  # replaces every page of the target at once
                return _sqlite_tables(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"Restoring into {target} failed: {exc}.") from None


# -- PostgreSQL ---------------------------------------------------------------------------


def _pg_client(program: str) -> str:
    found = shutil.which(program) or (
        f"/usr/bin/{program}" if Path(f"/usr/bin/{program}").exists() else None
    )
    if not found:
        raise BackupError(f"{program} is not installed (postgresql-client); it is needed here.")
    return found


def pg_connection(url: str | URL) -> tuple[str, dict[str, str]]:
    """The libpq connection string of ``url`` for pg_dump/pg_restore ``--dbname`` (host,
    port, user, database and the URL's query options such as ``sslmode``), and the
    environment to run them in: the password goes in ``PGPASSWORD``, never on the
    command line."""
    from psycopg.conninfo import make_conninfo

    url = make_url(url)
    params: dict[str, Any] = {
        key: (value[-1] if isinstance(value, tuple) else value) for key, value in url.query.items()
    }
    params.update(
        {
            key: value
            for key, value in {
                "host": url.host,
                "port": url.port,
                "user": url.username,
                "dbname": url.database,
            }.items()
            if value not in (None, "")
        }
    )
    password = url.password if url.password is not None else params.get("password")
    params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    env.setdefault("PGAPPNAME", "maillon-backup")
    return make_conninfo(**params), env


@contextmanager
def _pg(url: URL) -> Iterator[Connection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    except BackupError:
        raise
    except Exception as exc:  # OperationalError and the like: the server's own words
        message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise BackupError(
            f"PostgreSQL at {url.host or 'localhost'}/{url.database}: {message}"
        ) from None
    finally:
        engine.dispose()


def _pg_tables(conn: Connection, schema: str) -> dict[str, int]:
    names = conn.scalars(
        text("SELECT tablename FROM pg_tables WHERE schemaname = :schema ORDER BY tablename"),
        {"schema": schema},
    ).all()
    return {
        name: conn.scalar(text(f"SELECT count(*) FROM {_quote(schema)}.{_quote(name)}"))
        for name in names
    }


def _pg_revision(conn: Connection, schema: str, tables: dict[str, int]) -> str | None:
    if "alembic_version" not in tables:
        return None
    return conn.scalar(text(f"SELECT version_num FROM {_quote(schema)}.alembic_version"))


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BackupError(f"{what}: cannot run {command[0]}: {exc}.") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip() or "no message"
        raise BackupError(f"{what} failed (exit code {done.returncode}): {detail}")
    return done.stdout


def _pg_backup(url: URL, partial: Path) -> tuple[str | None, dict[str, int]]:
    conninfo, env = pg_connection(url)
    pg_dump = _pg_client("pg_dump")
    with _pg(url) as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # The dump reads this transaction's snapshot: the counts below are the dump's.
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            schema = conn.scalar(text("SELECT current_schema()"))
            tables = _pg_tables(conn, schema)
            revision = _pg_revision(conn, schema, tables)
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    f"--schema={schema}",
                    f"--file={partial}",
                    f"--dbname={conninfo}",
                ],
                env,
                "pg_dump",
            )
    return revision, tables


def _pg_restore(url: URL, backup_file: Path) -> dict[str, int]:
    conninfo, env = pg_connection(url)
    pg_restore = _pg_client("pg_restore")
    contents = _run([pg_restore, "--list", str(backup_file)], env, f"Reading {backup_file}")
    with _pg(url) as conn, conn.begin():
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        schema = conn.scalar(text("SELECT current_schema()"))
        if schema is None:
            raise BackupError("The target database has no schema on its search_path.")
        names = conn.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
        ).all()
        qualified = [f"{_quote(schema)}.{_quote(name)}" for name in names]
        if qualified:  # nobody writes in between: the check and the drop are one transaction
            conn.execute(text(f"LOCK TABLE {', '.join(qualified)} IN ACCESS EXCLUSIVE MODE"))
        counts = _pg_tables(conn, schema)
        occupied = {n: c for n, c in counts.items() if c and n not in _BOOKKEEPING}
        if occupied:
            raise NotEmpty(f"{url.host or 'localhost'}/{url.database}", occupied)
        _pg_clear(conn, schema)
    # The schema itself exists in the target (it is where the tables were): everything
    # but its CREATE SCHEMA and COMMENT ON SCHEMA is restored, in one transaction, so a
    # failure leaves the schema as empty as the drop above left it.
    wanted = [
        line if not _SCHEMA_ENTRY.match(line) else ";" + line for line in contents.splitlines()
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as listing:
        listing.write("\n".join(wanted) + "\n")
    try:
        _run(
            [
                pg_restore,
                "--no-owner",
                "--no-acl",
                "--single-transaction",
                "--exit-on-error",
                f"--use-list={listing.name}",
                f"--dbname={conninfo}",
                str(backup_file),
            ],
            env,
            "pg_restore (the target holds no table now; restore again once the cause is fixed)",
        )
    finally:
        os.unlink(listing.name)
    with _pg(url) as conn:
        return _pg_tables(conn, conn.scalar(text("SELECT current_schema()")))


def _pg_clear(conn: Connection, schema: str) -> None:
    """Drop what the migrations created in ``schema`` (its tables hold no rows): views,
    tables, sequences, functions (the triggers'), enum and domain types; objects of
    extensions stay. pg_restore then creates them as the backup has them, whatever
    revision the target was migrated to."""
    q = _quote(schema)
    not_extension = (
        "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
    )
    for sql, kind in (
        ("SELECT quote_ident(viewname) FROM pg_views WHERE schemaname = :s", "VIEW"),
        (
            "SELECT quote_ident(matviewname) FROM pg_matviews WHERE schemaname = :s",
            "MATERIALIZED VIEW",
        ),
        ("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = :s", "TABLE"),
        ("SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = :s", "SEQUENCE"),
        (
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = :s AND p.prokind IN ('f', 'p') AND "
            + not_extension.format(oid="p.oid"),
            "ROUTINE",
        ),
        (
            "SELECT quote_ident(t.typname) FROM pg_type t "
            "JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = :s AND t.typtype IN ('e', 'd') AND "
            + not_extension.format(oid="t.oid"),
            "TYPE",
        ),
    ):
        for name in conn.scalars(text(sql), {"s": schema}).all():
            qualified = name if kind == "ROUTINE" else f"{q}.{name}"
            conn.execute(text(f"DROP {kind} IF EXISTS {qualified} CASCADE"))


# -- restore ------------------------------------------------------------------------------


class NotEmpty(BackupError):
    def __init__(self, target: str, occupied: dict[str, int]) -> None:
        self.occupied = occupied
        listed = ", ".join(f"{name}: {n} rows" for name, n in sorted(occupied.items())[:6])
        more = f" and {len(occupied) - 6} more tables" if len(occupied) > 6 else ""
        super().__init__(
            f"Refusing to restore: the target database {target} is not empty ({listed}{more}). "
            "Restore only into an empty database: a new one, or one whose tables hold no row."
        )


def migration_heads(migrations: Path = MIGRATIONS) -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory(str(migrations)).get_heads())


def check(backup_file: Path, url: str | URL, migrations: Path = MIGRATIONS) -> Manifest:
    """Everything a restore checks before it touches the target: the sidecar, the kind,
    the revision, the file's size and checksum, and (SQLite) its integrity."""
    from alembic.script import ScriptDirectory

    if not backup_file.is_file():
        raise BackupError(f"No backup file at {backup_file}.")
    manifest = Manifest.read(backup_file)
    kind = kind_of(url)
    if manifest.kind != kind:
        raise BackupError(
            f"{backup_file.name} is a {manifest.kind} backup and the target is {kind}: "
            "restoring across database kinds is not supported."
        )
    if manifest.revision is not None:
        script = ScriptDirectory(str(migrations))
        try:
            script.get_revision(manifest.revision)
        except Exception:  # alembic's ResolutionError / CommandError: not one of ours
            raise BackupError(
                f"The backup is at migration revision {manifest.revision}, which this code "
                f"does not know (its migrations go up to {', '.join(script.get_heads())}): "
                "it was taken by a newer version. Restore it with that version."
            ) from None
    size = backup_file.stat().st_size
    if size != manifest.size or _sha256(backup_file) != manifest.sha256:
        raise BackupError(
            f"{backup_file} is damaged: its size or checksum differs from its sidecar's "
            f"({size} bytes, {manifest.size} expected). Use another backup."
        )
    if kind == "sqlite":
        try:
            with closing(sqlite3.connect(f"{backup_file.as_uri()}?mode=ro", uri=True)) as conn:
                _sqlite_check(conn, str(backup_file))
        except sqlite3.Error as exc:
            raise BackupError(f"{backup_file} cannot be opened: {exc}.") from None
    return manifest


def restore(url: str | URL, backup_file: Path, *, migrations: Path = MIGRATIONS) -> RestoreResult:
    """Load ``backup_file`` into the empty database ``url`` after :func:`check`; the
    result holds the restored row counts to compare with the sidecar's."""
    url = make_url(url)
    manifest = check(backup_file, url, migrations)
    if manifest.kind == "sqlite":
        counts = _sqlite_restore(url, backup_file)
    else:
        counts = _pg_restore(url, backup_file)
    return RestoreResult(
        target=url.render_as_string(hide_password=True),
        manifest=manifest,
        counts=counts,
        heads=migration_heads(migrations),
    )
