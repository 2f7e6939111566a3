"""Fixtures: an app per database backend (SQLite file and PostgreSQL), clients, sign-in.

Each backend's schema is built once per run by the Alembic migrations (the real
path); SQLite tests then copy the migrated file, PostgreSQL tests truncate the tables.
The PostgreSQL test database is created for this run and dropped at its end.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from surplus.database import read_only_transactions
from surplus.extensions import db

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgresql"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter is not None and reporter.stats.get("skipped"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _base_config(uri: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": uri,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "maillon.test",
        "MAIL_ENABLED": False,
        "SCHEDULER_ENABLED": False,
        "LOGIN_MAX_FAILURES": 3,
    }


def _dispose(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def _migrate(uri: str) -> None:
    app = create_app(_base_config(uri))
    with app.app_context():
        upgrade()
    _dispose(app)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("db") / "template.db"
    _migrate(f"sqlite:///{path}")
    return str(path)


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}".replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"maillon_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # every database test runs on PostgreSQL too
        raise RuntimeError(f"PostgreSQL is required at {PG_ADMIN_URL} (TEST_DATABASE_URL); "
                           f"start it, e.g. with `bash .ci/run`: {exc}") from exc
    admin.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    try:
        _migrate(url)
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _truncate(app: Flask) -> None:
    with app.app_context():
        names = [t.name for t in db.metadata.sorted_tables]
        db.session.execute(text(
            "TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
        db.session.commit()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_uri(backend: str, request: pytest.FixtureRequest, tmp_path) -> str:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("pg_database")


class IsolatedClient(FlaskClient):
    """Runs each request in an empty context, as a server would: its own app context,
    database session and ``g``, never the test's."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(database_uri: str, backend: str) -> Iterator[Flask]:
    app = create_app(_base_config(database_uri))
    app.test_client_class = IsolatedClient
    if backend == "postgresql":
        _truncate(app)
    # The test's own session only sets up and reads; it must never hold SQLite's write
    # lock while a request runs. Tests call db.session.rollback() to see a request's work.
    read_only_transactions(True)
    with app.app_context():
        yield app
        db.session.remove()
    read_only_transactions(False)
    _dispose(app)


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def login_as(app: Flask):
    """Sign a test client in as ``user`` (password from the factories)."""
    from tests.factories import PASSWORD

    def sign_in(user, client=None):
        client = client or app.test_client()
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return sign_in


@pytest.fixture
def api_token(client):
    from tests.factories import PASSWORD

    def token_for(user) -> dict[str, str]:
        response = client.post("/api/v1/token", json={"email": user.email, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return token_for
