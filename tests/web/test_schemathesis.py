"""Schemathesis against the API's own OpenAPI document (/api/v1/openapi.json), in
process (WSGI), on the seeded demo region, as a donor, a social worker of a CPAS and a
platform coordinator (bearer tokens from POST /api/v1/token).

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

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from app import create_app
from tests.web.conftest import ACCOUNTS, describe, integrity_problems, issue_token, server_errors

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


def database_intact(ctx, response, case) -> bool | None:
    """After a request that may write, the database keeps its invariants."""
    if case.method.upper() in ("GET", "HEAD", "OPTIONS"):
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


_TOKENS: dict[str, str] = {}


@pytest.fixture
def auth(role: str, demo_app: Flask) -> dict[str, str]:
    """The account's bearer header (the token is valid on every copy of the region)."""
    if role not in _TOKENS:
        _TOKENS[role] = issue_token(demo_app, ACCOUNTS[role])
    return {"Authorization": f"Bearer {_TOKENS[role]}"}


@schema.parametrize()
# One copy of the region per operation and account, shared by its examples: on purpose.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_document(case, demo_app: Flask, auth: dict[str, str]):
    with server_errors(demo_app) as errors:
        try:
            case.call_and_validate(app=demo_app, headers=auth, checks=CHECKS)
        except Exception as failure:
            for error in errors:
                failure.add_note(f"Server error: {describe(error)}")
            raise
