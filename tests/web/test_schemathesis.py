"""Schemathesis against the API's own OpenAPI document (/api/v1/openapi.json), in
process (WSGI), on the seeded demo region, as a donor, a social worker of a CPAS and a
platform coordinator (bearer tokens of theirs stored in the region: ``demo_region``).

Every operation of the document is exercised by each of the three accounts, with data
that follows the document and data that breaks it (schemathesis's positive and negative
modes, its coverage phase and random examples), and every answer is checked:

- no server error (5xx; the exception and where it was raised are added to the failure);
- the status code is documented for the operation, and so is the body (its schema) and
  its content type;
- after a request that may write, the database keeps its invariants
  (``integrity_problems`` in ``conftest.py``: the engine's own check, lots whose
  kilograms add up with their live claims, finite numbers, no NUL in text).

The document is read once, at collection, from an application of the same code (its
document does not depend on the data); the requests go to ``demo_app``: a fresh copy of
the demo region per operation and account, so that what one operation's data changes
(withdrawn lots, cancelled claims, decided conventions) does not leak into another's.

Generation is deterministic (a fixed seed, derandomised Hypothesis, no example database)
and bounded (``MAX_EXAMPLES`` per operation and account) so that the file runs in a minute
or two on SQLite. It runs on SQLite only: PostgreSQL gets the bad-input corpus
(``test_bad_input.py``), which sends the values that differ between the backends
(ids beyond 32 bits, NUL in text) on purpose.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from app import create_app
from tests.web.conftest import describe, integrity_problems, server_errors

MAX_EXAMPLES = 10  # random examples per operation and account (besides the coverage phase)
SEED = 20_261_201

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",  # data that follows the document, and data that breaks it
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        "phases": {"stateful": {"enabled": False}},
    }
)


def _document_app() -> Flask:
    """An application of this code on an empty in-memory database: it serves the same
    OpenAPI document as any other."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "openapi-only",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SCHEDULER_ENABLED": False,
            "MAIL_ENABLED": False,
        }
    )


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _document_app(), config=CONFIG)

# The token endpoint is exercised signed out by the bad-input corpus; here every
# operation is called with a valid token of the account.
schema = schema.exclude(path="/api/v1/token")

ROLES = ["donor", "cpas", "coordinator"]


class Commits:
    """Whether anything was committed to an SQLite database since the last look: ``PRAGMA
    data_version`` of a connection of our own, which never writes, changes when any
    other connection commits, and only then."""

    current: Commits | None = None  # the running test's copy of the region

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path)
        self.version = self._version()

    def _version(self) -> int:
        return self.connection.execute("PRAGMA data_version").fetchone()[0]

    def since_last_look(self) -> bool:
        version, self.version = self.version, self._version()
        return version != self.version


@pytest.fixture
def commits(demo_app: Flask) -> Iterator[Commits]:
    """Watches the test's copy of the region (checked by ``integrity_problems`` when it
    was made) for commits."""
    watch = Commits.current = Commits(
        demo_app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    )
    try:
        yield watch
    finally:
        Commits.current = None
        watch.connection.close()


def database_intact(ctx, response, case) -> bool | None:
    """After a request that may write, the database keeps its invariants. When nothing
    was committed since the last check (a refused request), the database is the one
    already checked: its invariants still hold."""
    if case.method.upper() in ("GET", "HEAD", "OPTIONS"):
        return None
    if Commits.current is not None and not Commits.current.since_last_look():
        return None
    problems = integrity_problems()
    if problems:
        raise AssertionError("The database is corrupted: " + "; ".join(problems))
    return None


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    database_intact,
]


@pytest.fixture
def backend() -> str:
    """SQLite only (see the module's docstring)."""
    return "sqlite"


@pytest.fixture(params=ROLES)
def role(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def auth(role: str, backend: str, demo_app: Flask, demo_region) -> dict[str, str]:
    """The account's bearer header (its token is stored in the template of the region,
    so it is valid on every copy)."""
    return {"Authorization": f"Bearer {demo_region.facts[backend]['tokens'][role]}"}


@schema.parametrize()
# One copy of the region per operation and account, shared by its examples: on purpose.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_document(
    case, demo_app: Flask, auth: dict[str, str], commits: Commits
):
    with server_errors(demo_app) as errors:
        try:
            case.call_and_validate(app=demo_app, headers=auth, checks=CHECKS)
        except Exception as failure:
            for error in errors:
                failure.add_note(f"Server error: {describe(error)}")
            raise
