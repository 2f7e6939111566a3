"""Booking under concurrency: a coordinator and the scheduler (or two coordinators)
booking at the same instant never book a claim twice, never give two stops the same
place in a run, and never answer with a database error; on SQLite and PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from surplus.errors import Conflict
from surplus.extensions import db
from surplus.models import Claim, Run, Stop, User
from surplus.services import booking, claims, runs
from tests import factories

THREADS = 6


def _race(app, jobs):
    """Run each ``job(session)`` in its own thread, context and session, released
    together; each answers "booked" or "conflict"."""
    barrier = threading.Barrier(len(jobs))

    def attempt(job):
        with app.app_context():
            try:
                job.prepare()
                db.session.rollback()  # what the request read before is not held
                barrier.wait()
                job.run()
                db.session.commit()
                return "booked"
            except Conflict as conflict:
                db.session.rollback()
                assert conflict.status == 409
                return "conflict"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        outcomes = list(pool.map(attempt, jobs))
    db.session.rollback()  # the test's own session reads what the threads committed
    return outcomes


def _stops_of(claim_id: int) -> int:
    return db.session.scalar(select(func.count(Stop.id)).where(Stop.claim_id == claim_id))


class Book:
    def __init__(self, user_id: int | None, claim_id: int):
        self.user_id, self.claim_id = user_id, claim_id

    def prepare(self):
        self.actor = db.session.get(User, self.user_id) if self.user_id else None
        if self.actor is not None:
            _ = self.actor.organisation.name

    def run(self):
        claim = db.session.get(Claim, self.claim_id)
        booking.book(db.session, self.actor, claim)


def _claims(w, count: int) -> list[int]:
    made = []
    for _ in range(count):
        lot = factories.lot(w.donor, kg=20, days=5, hours_open=60)
        db.session.flush()
        claim, _created = claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
        made.append(claim.id)
    db.session.commit()
    return made


def _positions_are_clean():
    db.session.rollback()
    for run in db.session.scalars(select(Run)):
        assert [s.position for s in run.stops] == list(range(len(run.stops)))


def test_one_claim_booked_at_once_by_several_is_booked_once(app, daily_rounds):
    w = daily_rounds
    (claim_id,) = _claims(w, 1)
    jobs = [Book(w.coordinator.id if i % 2 else None, claim_id) for i in range(THREADS)]
    outcomes = _race(app, jobs)
    assert outcomes.count("booked") == 1 and outcomes.count("conflict") == THREADS - 1
    assert _stops_of(claim_id) == 2
    _positions_are_clean()


def test_claims_booked_at_once_onto_the_same_runs_all_fit(app, daily_rounds):
    w = daily_rounds
    claim_ids = _claims(w, THREADS)
    outcomes = _race(app, [Book(w.coordinator.id, claim_id) for claim_id in claim_ids])
    assert outcomes == ["booked"] * THREADS
    for claim_id in claim_ids:
        assert _stops_of(claim_id) == 2
    _positions_are_clean()
    for run in db.session.scalars(select(Run)):
        assert runs.timetable(run).problems == []
