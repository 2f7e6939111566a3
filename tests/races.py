"""Races for the concurrency tests: contenders released at the same instant, each in its
own thread, application context and session, as concurrent requests are served."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.orm import Session

from surplus.errors import Conflict
from surplus.extensions import db
from surplus.models import User

WON, LOST = "won", "lost"


def race(
    app,
    user_ids: Sequence[int | None],
    act: Callable[[Session, User | None, int], Any],
    *,
    on_conflict: Callable[[Conflict], None] | None = None,
) -> list[Any]:
    """Contender ``i`` loads user ``user_ids[i]`` (None: the scheduler) and its
    organisation, as a request reads them first, lets go of what it read, waits for the
    others, then runs ``act(session, actor, i)`` and commits: its outcome is what ``act``
    returned, or :data:`WON` when that is None. A ``Conflict`` rolls back; it must be a
    409 (and pass ``on_conflict``), and the outcome is :data:`LOST`. Any other error
    fails the test. Afterwards the test's own session reads what the threads committed."""
    barrier = threading.Barrier(len(user_ids))

    def attempt(i: int) -> Any:
        with app.app_context():
            try:
                user_id = user_ids[i]
                actor = db.session.get(User, user_id) if user_id is not None else None
                if actor is not None:
                    _ = actor.organisation.name
                db.session.rollback()
                barrier.wait()
                outcome = act(db.session, actor, i)
                db.session.commit()
                return WON if outcome is None else outcome
            except Conflict as conflict:
                db.session.rollback()
                assert conflict.status == 409
                if on_conflict is not None:
                    on_conflict(conflict)
                return LOST
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(user_ids)) as pool:
        outcomes = list(pool.map(attempt, range(len(user_ids))))
    db.session.rollback()
    return outcomes
