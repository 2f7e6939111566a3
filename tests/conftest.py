"""Fixtures: an app per database backend (SQLite file and PostgreSQL), clients, sign-in,
the worlds of test data shared by several modules, and a real SMTP server.

Each backend's schema is built once per run by the Alembic migrations (the real
path); SQLite tests then copy the migrated file, PostgreSQL tests empty the tables.
The PostgreSQL test database is created for this run and dropped at its end. The demo
region is seeded once per backend for the whole run (``seeded_demo``), and copied.
"""

from __future__ import annotations

import atexit
import contextvars
import fcntl
import json
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text

from app import create_app
from surplus import clock, demo
from surplus.database import read_only_transactions
from surplus.extensions import db
from surplus.mail import mail
from surplus.models import (
    AgreementStatus,
    Depot,
    JobRun,
    Run,
    RunTemplate,
    TemplateStop,
    TransportAgreement,
    Vehicle,
)
from surplus.services import claims, runs
from surplus.services.booking import WEEKDAYS
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories
from tests.factories import PASSWORD
from tests.mailbox import Inbox

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgresql"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure. The run's seeded demo region on PostgreSQL
    (``seeded_demo``) is dropped by the process that ran the workers (or the only one)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter is not None and reporter.stats.get("skipped"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None and not hasattr(session.config, "workerinput"):
        names = factory.getbasetemp() / _DEMO_PG_NAME
        if names.exists():
            for name in names.read_text().split():
                PostgreSQL(PG_ADMIN_URL).drop(name)


_PHOTO_DIR = Path(tempfile.mkdtemp(prefix="maillon-photos-"))
atexit.register(shutil.rmtree, _PHOTO_DIR, ignore_errors=True)


def _base_config(uri: str) -> dict:
    if uri.startswith("postgresql"):
        # As surplus/config.py, and a commit does not wait for the server to flush its
        # log to disk (what others see is the same; only a crash of the test server
        # could lose the last commits): ~10 ms less per commit on a busy disk.
        engine = {
            "pool_pre_ping": True,
            "pool_recycle": 1800,
            "connect_args": {"options": "-c synchronous_commit=off"},
        }
        return _test_settings(uri) | {"SQLALCHEMY_ENGINE_OPTIONS": engine}
    return _test_settings(uri)


def _test_settings(uri: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": uri,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "maillon.test",
        "MAIL_ENABLED": False,
        "SCHEDULER_ENABLED": False,
        # Two-step verification is required of coordinators and site admins by default;
        # the tests of other features sign them in with a password only, and the MFA
        # tests (tests/web/test_mfa.py) turn the requirement on.
        "MFA_REQUIRED_ROLES": [],
        # Photos go to the run's own folder, never to instance/ of the checkout.
        "PHOTO_STORAGE_DIR": str(_PHOTO_DIR),
    }


def _dispose(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@contextmanager
def _app_on(uri: str, **settings) -> Iterator[Flask]:
    app = create_app(_base_config(uri) | settings)
    try:
        yield app
    finally:
        _dispose(app)


@pytest.fixture(scope="session")
def make_app() -> Callable[..., AbstractContextManager[Flask]]:
    """``with make_app(uri, **settings) as app:`` an application on the database ``uri``
    with the test settings (``settings`` override them; ``None`` is Flask's default).
    Its engines are its own, as another process's would be, and disposed on exit. Not
    inside an app context: push your own."""
    return _app_on


def _migrate(uri: str) -> None:
    with _app_on(uri) as app, app.app_context():
        upgrade()


@pytest.fixture(scope="session")
def migrate() -> Callable[[str], None]:
    """``migrate(uri)``: build the schema of the empty database ``uri`` by the Alembic
    migrations."""
    return _migrate


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("db") / "template.db"
    _migrate(f"sqlite:///{path}")
    return str(path)


class PostgreSQL:
    """The PostgreSQL server of the tests (``TEST_DATABASE_URL``): its databases by name."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of the database ``name``."""
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)

    def execute(self, statement: str) -> None:
        """Run ``statement`` on the maintenance database, outside any transaction."""
        try:
            admin = psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:  # every database test runs on PostgreSQL too
            raise RuntimeError(
                f"PostgreSQL is required at {self.admin_url} "
                f"(TEST_DATABASE_URL); start it, e.g. with `bash .ci/run`: "
                f"{exc}"
            ) from exc
        with admin:
            admin.execute(statement)

    def create(self, name: str, template: str | None = None) -> str:
        """Create the database ``name``, a copy of the database ``template`` if given (no
        one may be connected to it); returns its URL."""
        copy = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def drop(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres() -> PostgreSQL:
    """The PostgreSQL server: ``create``, ``drop`` and ``url`` of databases by name."""
    return PostgreSQL(PG_ADMIN_URL)


@pytest.fixture(scope="session")
def pg_database(postgres: PostgreSQL) -> Iterator[str]:
    name = f"maillon_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = postgres.create(name)
    try:
        _migrate(url)
        yield url
    finally:
        postgres.drop(name)


def _truncate(uri: str) -> None:
    """Empty every table of the application in the PostgreSQL database ``uri`` and
    restart every sequence, as ``TRUNCATE`` of them all ``RESTART IDENTITY`` would. Only
    the tables holding rows are emptied, by DELETE with the foreign-key triggers off
    (``session_replication_role``: every table ends empty, so no reference is left
    dangling): TRUNCATE gives each table new files, which costs tenths of a second a
    test on a busy disk, DELETE of a test's few rows milliseconds."""
    engine = create_engine(uri)
    names = sorted(db.metadata.tables)
    try:
        with engine.begin() as connection:
            filled = connection.scalars(
                text(
                    " UNION ALL ".join(
                        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in names
                    )
                )
            ).all()
            if filled and _is_superuser(connection):
                connection.execute(text("SET LOCAL session_replication_role = replica"))
                for name in filled:
                    connection.execute(text(f'DELETE FROM "{name}"'))
            elif filled:  # the triggers stay on for others: TRUNCATE, CASCADE in any order
                quoted = ", ".join(f'"{name}"' for name in filled)
                connection.execute(text(f"TRUNCATE {quoted} CASCADE"))
            connection.execute(
                text(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c "
                    "WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
                )
            )
    finally:
        engine.dispose()


def _is_superuser(connection) -> bool:
    query = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    return bool(connection.execute(text(query)).scalar())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_uri(backend: str, request: pytest.FixtureRequest, tmp_path) -> str:
    """This test's database, migrated and empty: a copy of the SQLite template, or the
    run's PostgreSQL database, truncated."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _truncate(url)
    return url


# -- the demo region, seeded once per run -------------------------------------------------

_DEMO_PG_NAME = "demo-postgresql.name"  # in the run's shared temporary directory


@dataclass
class DemoCopy:
    """A new database holding the seeded demo region: its URL, its name on PostgreSQL
    (``None`` on SQLite), and how to drop it."""

    uri: str
    name: str | None
    drop: Callable[[], None]


class SeededDemo:
    """The demo region as ``demo.seed`` leaves it (committed; its first jobs not run,
    ``demo.first_jobs(app)`` does that on a copy), seeded once per backend for the whole
    run on a pinned date. Seeding takes seconds; copying a file or ``CREATE DATABASE …
    TEMPLATE`` does not. Under pytest-xdist the first worker to need a backend seeds it
    in the run's shared temporary directory, under a file lock, and the others wait for
    it and copy it; the PostgreSQL one is dropped at the end of the run
    (``pytest_sessionfinish``)."""

    def __init__(self, shared: Path, migrated_sqlite: Callable[[], str], postgres: PostgreSQL):
        self.shared = shared
        self.migrated_sqlite = migrated_sqlite
        self.postgres = postgres
        self._info: dict[str, dict] = {}

    def today(self, backend: str) -> date:
        """The date the region was seeded on (``demo.local_today`` while seeding)."""
        return date.fromisoformat(self._ensure(backend)["today"])

    def seeded_at(self, backend: str) -> datetime:
        """The moment the region was seeded (its lots' windows and dates start from it)."""
        return datetime.fromisoformat(self._ensure(backend)["seeded_at"])

    def counts(self, backend: str) -> dict[str, int]:
        """What ``demo.seed`` returned."""
        return dict(self._ensure(backend)["counts"])

    def copy(self, backend: str, directory: Path) -> DemoCopy:
        """A new copy of the seeded region (an SQLite file in ``directory``)."""
        info = self._ensure(backend)
        suffix = uuid.uuid4().hex[:6]
        if backend == "sqlite":
            path = directory / f"demo-{suffix}.db"
            shutil.copy(info["path"], path)
            return DemoCopy(f"sqlite:///{path}", None, lambda: None)
        name = f"{info['name']}_{suffix}"
        url = self.postgres.create(name, template=info["name"])
        return DemoCopy(url, name, lambda: self.postgres.drop(name))

    def _ensure(self, backend: str) -> dict:
        if backend not in self._info:
            meta = self.shared / f"demo-{backend}.json"
            with open(self.shared / f"demo-{backend}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                if not meta.exists():
                    info = self._build(backend)
                    meta.write_text(json.dumps(info))
                self._info[backend] = json.loads(meta.read_text())
        return self._info[backend]

    def _build(self, backend: str) -> dict:
        if backend == "sqlite":
            path = self.shared / "demo-sqlite.db"
            building = self.shared / "demo-sqlite.building.db"
            shutil.copy(self.migrated_sqlite(), building)
            info = _seed_demo_into(f"sqlite:///{building}")
            building.replace(path)
            return info | {"path": str(path)}
        name = f"maillon_demo_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with open(self.shared / _DEMO_PG_NAME, "a") as names:  # dropped at the end of the run
            names.write(f"{name}\n")
        url = self.postgres.create(name)
        _migrate(url)
        return _seed_demo_into(url) | {"name": name}


def _seed_demo_into(uri: str) -> dict:
    """Seed the demo region into the migrated, empty database ``uri``; its engines are
    disposed on return (a PostgreSQL template must have no one connected)."""
    today, seeded_at = local_today(), clock.now()
    with _app_on(uri) as app, app.app_context(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "local_today", lambda: today)  # a run crossing midnight
        counts = demo.seed(db.session)
        db.session.commit()
        db.session.remove()
    return {"today": today.isoformat(), "seeded_at": seeded_at.isoformat(), "counts": counts}


@pytest.fixture(scope="session")
def seeded_demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres
) -> SeededDemo:
    """The run's seeded demo region: ``seeded_demo.copy(backend, directory)`` gives a
    new database holding it, ``today(backend)`` and ``counts(backend)`` what it was
    seeded with. Shared by the workers of a pytest-xdist run."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if hasattr(request.config, "workerinput") else base
    return SeededDemo(shared, lambda: request.getfixturevalue("sqlite_template"), postgres)


class IsolatedClient(FlaskClient):
    """Runs each request in an empty context, as a server would: its own app context,
    database session and ``g``, never the test's."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@contextmanager
def _test_app(uri: str) -> Iterator[Flask]:
    with _app_on(uri) as app:
        app.test_client_class = IsolatedClient
        # The test's own session only sets up and reads; it must never hold SQLite's write
        # lock while a request runs. Tests call db.session.rollback() to see a request's work.
        read_only_transactions(True)
        with app.app_context():
            yield app
            db.session.remove()
        read_only_transactions(False)


@pytest.fixture
def app(database_uri: str) -> Iterator[Flask]:
    with _test_app(database_uri) as app:
        yield app


@pytest.fixture
def seeded_app(backend: str, seeded_demo: SeededDemo, tmp_path: Path) -> Iterator[Flask]:
    """Like ``app``, on this test's own copy of the seeded demo region (``seeded_demo``:
    as ``demo.seed`` left it, its first jobs not run)."""
    copy = seeded_demo.copy(backend, tmp_path)
    try:
        with _test_app(copy.uri) as app:
            yield app
    finally:
        copy.drop()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def login_as(app: Flask):
    """Sign a test client in as ``user`` (password from the factories)."""

    def sign_in(user, client=None):
        client = client or app.test_client()
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        # Signing in writes (the security log): end the test's own transaction so that its
        # next write does not start from a snapshot older than that commit (SQLite would
        # refuse it as "database is locked"). What the test set up and did not commit yet
        # is committed with it.
        db.session.commit()
        return client

    return sign_in


@pytest.fixture
def api_token(client):
    def token_for(user) -> dict[str, str]:
        response = client.post("/api/v1/token", json={"email": user.email, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        db.session.commit()  # the token was written: see login_as
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return token_for


# -- worlds of test data ------------------------------------------------------------------


@pytest.fixture
def w(app):
    """The factories' world: two platforms, a CPAS and an association under convention
    with the first, two donors. Modules that need more override this fixture."""
    return factories.world()


def _fleet(w: factories.World) -> tuple[Depot, Vehicle, RunTemplate]:
    depot, van = factories.depot_and_van(w)
    factories.zones(depot)
    template = RunTemplate(
        platform_id=w.platform.id,
        vehicle_id=van.id,
        depot_id=depot.id,
        name="Tournée",
        weekday=0,
        departure="07:30",
        max_duration_min=600,
    )
    for pos, org in enumerate([w.asbl]):
        template.stops.append(
            TemplateStop(
                position=pos,
                organisation_id=org.id,
                lat=org.lat,
                lon=org.lon,
                load_delta_kg=-100,
                opens="08:00",
                closes="17:00",
                service_min=15,
            )
        )
    db.session.add(template)
    db.session.flush()
    return depot, van, template


@pytest.fixture
def make_fleet(app) -> Callable[[factories.World], tuple[Depot, Vehicle, RunTemplate]]:
    """``make_fleet(w)``: a depot and a refrigerated 500 kg van of ``w.platform``, and its
    Monday round (07:30, one stop delivering 100 kg to ``w.asbl``); flushed, not
    committed. Returns ``(depot, van, template)``."""
    return _fleet


@pytest.fixture
def daily_rounds(make_fleet) -> factories.World:
    """The world of ``factories.world()`` whose platform drives every day: the CPAS and
    the association open 08:00-17:00 daily, ``make_fleet``'s van has a round each day
    (Monday's from ``make_fleet``), runs are materialised from today, and ``w.driver``
    is a member of the platform. Adds ``depot``, ``van``, ``template``, ``driver``."""
    w = factories.world()
    for conv in (w.cpas_convention, w.asbl_convention):
        conv.opening_hours = {day: [["08:00", "17:00"]] for day in WEEKDAYS}
    w.depot, w.van, w.template = make_fleet(w)
    for day in range(1, 7):
        db.session.add(
            RunTemplate(
                platform_id=w.platform.id,
                vehicle_id=w.van.id,
                depot_id=w.depot.id,
                name=f"T{day}",
                weekday=day,
                departure="07:30",
                max_duration_min=600,
            )
        )
    db.session.flush()
    runs.materialise(db.session, local_today())
    w.driver = factories.user(w.platform)
    return w


def _platform_fleet(platform) -> tuple[Depot, Vehicle]:
    depot = Depot(
        platform_id=platform.id,
        name=f"Dépôt {platform.locality}",
        postcode=platform.postcode,
        locality=platform.locality,
        lat=platform.lat,
        lon=platform.lon,
        cold_room=True,
    )
    van = Vehicle(platform_id=platform.id, name="Frigo", capacity_kg=800, refrigerated=True)
    db.session.add_all([depot, van])
    db.session.flush()
    factories.zones(depot, frozen_kg=None)
    return depot, van


def _add_run(platform, depot: Depot, van: Vehicle, day: date) -> Run:
    start = datetime.combine(day, time(7, 30), tzinfo=BRUSSELS).astimezone(UTC)
    run = Run(
        platform_id=platform.id,
        vehicle_id=van.id,
        depot_id=depot.id,
        name=f"{platform.name} {day.isoformat()}",
        start_at=start,
        max_duration_min=600,
    )
    db.session.add(run)
    db.session.flush()
    return run


@pytest.fixture
def add_run(app) -> Callable[..., Run]:
    """``add_run(platform, depot, van, day)``: a run of ``platform`` leaving ``depot`` at
    07:30 (Brussels) on ``day``, without stops; flushed, not committed."""
    return _add_run


@pytest.fixture
def shared_world(app):
    """Shared runs: CPAS (Libramont, through the hub) claims a lot of a Namur shop. The
    hub has no run the lot's day; Namur's platform has one. Besides the factories'
    world: ``today``, ``day1``, ``day2``, ``hub_depot``, ``hub_van``, ``namur_depot``,
    ``namur_van``, ``namur_run``, ``lot`` and ``claim``."""
    w = factories.world()
    w.today = local_today()
    w.day1 = w.today + timedelta(days=1)
    w.day2 = w.today + timedelta(days=2)
    w.hub_depot, w.hub_van = _platform_fleet(w.platform)
    w.namur_depot, w.namur_van = _platform_fleet(w.other_platform)
    w.namur_run = _add_run(w.other_platform, w.namur_depot, w.namur_van, w.day1)
    w.lot = factories.lot(w.other_donor, kg=40, days=6)
    # Collect by noon on day 1: only day 1's runs can pick it up.
    w.lot.pickup_until = datetime.combine(w.day1, time(12, 0), tzinfo=BRUSSELS).astimezone(UTC)
    w.cpas_convention.opening_hours = {d: [["08:00", "17:00"]] for d in WEEKDAYS}
    db.session.commit()
    w.claim, _ = claims.claim_lot(db.session, w.cpas_user, w.lot.id, 30)
    db.session.commit()
    return w


@pytest.fixture
def agree(app) -> Callable[..., TransportAgreement]:
    """``agree(w, valid_from=w.today, valid_until=None)``: an active transport agreement,
    committed: ``w.other_platform`` carries for ``w.platform``."""

    def make(w, **kw) -> TransportAgreement:
        agreement = TransportAgreement(
            carrier_id=w.other_platform.id,
            client_id=w.platform.id,
            status=AgreementStatus.ACTIVE,
            valid_from=kw.get("valid_from", w.today),
            valid_until=kw.get("valid_until"),
            requested_by_org_id=w.platform.id,
        )
        db.session.add(agreement)
        db.session.commit()
        return agreement

    return make


@pytest.fixture
def job_log(app) -> Callable[[], list[JobRun]]:
    """``job_log()``: every logged job run, oldest first, as committed by the job's own
    session (the test's session is rolled back first)."""

    def read() -> list[JobRun]:
        db.session.rollback()
        return db.session.scalars(select(JobRun).order_by(JobRun.id)).all()

    return read


# -- mail ---------------------------------------------------------------------------------


@pytest.fixture
def inbox(app) -> Iterator[Inbox]:
    """Start aiosmtpd and point the app's mail at it (MAIL_ENABLED on); what arrives is in
    ``inbox.messages`` (helpers to read it in :mod:`tests.mailbox`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        MAIL_ENABLED=True,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_USE_TLS=False,
        MAIL_USE_SSL=False,
        MAIL_BACKEND="smtp",
    )
    mail.init_app(app)  # Flask-Mailman reads its settings at initialisation
    yield box
    controller.stop()
