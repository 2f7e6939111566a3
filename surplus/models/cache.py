"""A counter of the writes that can change what the lot list shows.

Every transaction that wrote a table the list may read adds one to ``n`` (row
``lots``) as the last statement before its COMMIT: the session events below see ORM
flushes and ORM bulk statements, in every process that uses the models (web, jobs,
command line). :mod:`surplus.services.list_cache` keeps what the list computed while
``n`` has not moved. Tables the list never reads (``IGNORED``) leave it alone.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import BigInteger, String, event, select
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from .base import db


class CacheVersion(db.Model):
    __tablename__ = "cache_version"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


NAME = "lots"
_CHANGED = "maillon.list_changed"  # session.info: this transaction wrote a listed table

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


# -- the version ---------------------------------------------------------------------------


def _table_of(obj: Any) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return table.name if table is not None else None


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(_CHANGED):
        return
    for obj in chain(session.new, session.dirty, session.deleted):
        if _table_of(obj) not in IGNORED:
            session.info[_CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in IGNORED:
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    """One more on the counter, last: the transaction's own writes are flushed first,
    so that the counter's row lock is the last lock it takes (PostgreSQL), and two
    writers can never wait for each other's rows in opposite orders."""
    if session.in_nested_transaction():  # a savepoint: the transaction goes on
        return
    session.flush()
    if session.info.pop(_CHANGED, False):
        session.execute(_bump_statement(session.get_bind().dialect.name))


def _bump_statement(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(CacheVersion).values(name=NAME, n=1)
    return statement.on_conflict_do_update(
        index_elements=[CacheVersion.name], set_={"n": CacheVersion.n + 1}
    )


def version(session: Session) -> int | None:
    """The data's version now (0 before the first write), read before the data; None
    while the session's transaction holds writes of its own to a listed table, which
    no one else sees yet (nothing may be kept from it, nor reused for it)."""
    found = session.scalar(select(CacheVersion.n).where(CacheVersion.name == NAME))
    if session.info.get(_CHANGED):  # read after the query: its autoflush counts
        return None
    return int(found or 0)
