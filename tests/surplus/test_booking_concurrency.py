"""Booking under concurrency: a coordinator and the scheduler (or two coordinators)
booking at the same instant never book a claim twice, never give two stops the same
place in a run, and never answer with a database error; on SQLite and PostgreSQL."""

from sqlalchemy import func, select

from surplus.extensions import db
from surplus.models import Claim, Run, Stop
from surplus.services import booking, claims, runs
from tests import factories
from tests.races import race

THREADS = 6


def _race(app, jobs: list[tuple[int | None, int]]) -> list[str]:
    """Book each ``(user id or None for the scheduler, claim id)`` at once: "won" or
    "lost" (409) for each."""

    def book(session, actor, i):
        booking.book(session, actor, session.get(Claim, jobs[i][1]))

    return race(app, [user_id for user_id, _claim in jobs], book)


def _stops_of(claim_id: int) -> int:
    return db.session.scalar(select(func.count(Stop.id)).where(Stop.claim_id == claim_id))


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
    jobs = [(w.coordinator.id if i % 2 else None, claim_id) for i in range(THREADS)]
    outcomes = _race(app, jobs)
    assert outcomes.count("won") == 1 and outcomes.count("lost") == THREADS - 1
    assert _stops_of(claim_id) == 2
    _positions_are_clean()


def test_claims_booked_at_once_onto_the_same_runs_all_fit(app, daily_rounds):
    w = daily_rounds
    claim_ids = _claims(w, THREADS)
    outcomes = _race(app, [(w.coordinator.id, claim_id) for claim_id in claim_ids])
    assert outcomes == ["won"] * THREADS
    for claim_id in claim_ids:
        assert _stops_of(claim_id) == 2
    _positions_are_clean()
    for run in db.session.scalars(select(Run)):
        assert runs.timetable(run).problems == []
