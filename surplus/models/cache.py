"""Counters of the writes that can change what a process keeps in memory.

Every transaction that wrote a table a counter watches adds one to that counter's ``n``
as the last statement before its COMMIT: the session events below see ORM flushes and
ORM bulk statements, in every process that uses the models (web, jobs, command line).

- ``lots``: every table the lot list may read (all but ``IGNORED``);
  :mod:`surplus.services.list_cache` keeps what the list computed while it has not moved;
- ``runs``: the planned runs as reach reads them (``RUN_TABLES``);
  :func:`surplus.services.runs.planned_views` keeps them while it has not moved.
"""

from __future__ import annotations

import functools
from itertools import chain
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, event, select
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from .base import db


class CacheVersion(db.Model):
    __tablename__ = "cache_version"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


LOTS = "lots"
RUNS = "runs"
_CHANGED = "maillon.changed"  # session.info: the counters this transaction must move

# Tables no query of the lot list reads (the cached parts: candidates, API items,
# cards). Writing them leaves the cache alone; any other table moves the version.
IGNORED = frozenset(
    {
        "allocation_batch",
        "allocation_line",
        "api_token",
        "cache_version",
        "depot",
        "depot_zone",
        "event",
        "invitation",
        "job_lock",
        "job_run",
        "notification",
        "notification_preference",
        "recall",
        "recall_holder",
        "recovery_code",
        "run",
        "run_template",
        "security_event",
        "stock_item",
        "stock_movement",
        "stock_receipt",
        "stock_source",
        "stop",
        "template_stop",
        "user_account",
        "vehicle",
    }
)
# The tables planned runs are read from (runs.planned_views): runs, their stops, vans, depots.
RUN_TABLES = frozenset({"run", "stop", "vehicle", "depot"})


@functools.cache
def _counters(table: str | None) -> frozenset[str]:
    """The counters a write to ``table`` moves (asked at every flushed object)."""
    lots = frozenset() if table in IGNORED else frozenset({LOTS})
    return lots | {RUNS} if table in RUN_TABLES else lots


_ALL = frozenset({LOTS, RUNS})


# -- the version ---------------------------------------------------------------------------


def _table_of(obj: Any) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return table.name if table is not None else None


def _note(session: Session, counters: frozenset[str]) -> None:
    if counters:
        session.info[_CHANGED] = session.info.get(_CHANGED, frozenset()) | counters


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _context: Any, _instances: Any) -> None:
    for obj in chain(session.new, session.dirty, session.deleted):
        if session.info.get(_CHANGED) == _ALL:
            return
        _note(session, _counters(_table_of(obj)))


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    _note(state.session, _counters(getattr(table, "name", None)))


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    """One more on each counter the transaction moves, last: the transaction's own
    writes are flushed first, so that the counters' row locks are the last locks it
    takes (PostgreSQL), always in the same order (by name), and two writers can never
    wait for each other's rows in opposite orders."""
    if session.in_nested_transaction():  # a savepoint: the transaction goes on
        return
    session.flush()
    dialect = session.get_bind().dialect.name
    for name in sorted(session.info.pop(_CHANGED, ())):
        # On the transaction's connection, as Core: the ORM's bulk-insert path adds nothing
        # to an upsert of one row, and no event of ours watches cache_version.
        session.connection().execute(_bump_statement(dialect, name))


@functools.cache  # built once per counter and backend (services/eligibility.py says why)
def _bump_statement(dialect: str, name: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(CacheVersion).values(name=name, n=1)
    return statement.on_conflict_do_update(
        index_elements=[CacheVersion.name], set_={"n": CacheVersion.n + 1}
    )


# Built once: read at every page, look and placement tick (services/eligibility.py says why).
_VERSION = select(CacheVersion.n).where(CacheVersion.name == bindparam("name"))


def version(session: Session, name: str = LOTS) -> int | None:
    """Counter ``name`` now (0 before the first write), read before the data; None while
    the session's transaction holds writes of its own to a table it watches, which no
    one else sees yet (nothing may be kept from it, nor reused for it)."""
    found = session.scalar(_VERSION, {"name": name})
    if name in session.info.get(_CHANGED, ()):  # read after the query: its autoflush counts
        return None
    return int(found or 0)
