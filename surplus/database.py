"""Engine tuning per backend.

SQLite: WAL so readers never block the writer, a busy timeout, foreign keys on,
and ``BEGIN IMMEDIATE`` for write transactions (SQLAlchemy's pysqlite recipe):
pysqlite's deferred BEGIN lets two transactions read, then fail to upgrade to a
write lock, so a claim could neither wait nor win. Read-only requests keep a
deferred BEGIN so page views do not queue behind each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_sqlite_begin: ContextVar[str] = ContextVar("sqlite_begin", default="BEGIN IMMEDIATE")


def read_only_transactions(enabled: bool) -> None:
    """Mark the current context (a GET request) as read-only for SQLite."""
    _sqlite_begin.set("BEGIN DEFERRED" if enabled else "BEGIN IMMEDIATE")


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside the block take the write lock at once (``BEGIN
    IMMEDIATE``), also in a read-only request: for the rare write a GET makes."""
    token = _sqlite_begin.set("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        _sqlite_begin.reset(token)


def tune_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(_sqlite_begin.get())
