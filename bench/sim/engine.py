"""The discrete-event loop: a simulated period through the real services.

One :class:`Simulation` runs one policy on its own copy of the world's database. The
clock (``surplus.clock``) is set to each event's time before the event is handled, so
every service, model default and job reads simulated time. Each event is one
transaction, as a request or a job firing would be; a refusal by a service
(``DomainError``: claimed meanwhile, no run fits, ...) rolls that event back and is
counted, as a person would see the message and move on.

Events:

- ``post``: a donor's user posts a lot (``lots.create_lot``, which publishes it in its
  offer waves); ``withdraw``: the donor withdraws it if it is still open.
- ``job``: a scheduled job of ``surplus/jobs.py`` called as a function ``(session, now)``
  at its cadence (see :data:`EVERY_MIN` and :data:`DAILY_AT`). A firing of
  ``expire_lots`` or ``escalate_waves`` is skipped before the first moment one of their
  lots is due (the same conditions as the job's query, read again after any event that
  could bring it earlier), so the outcome is that of firing every time. ``place_lots`` is
  skipped while no event since its last firing could have given it anything new (a
  lot posted, reached by a wave or given back, a claim made, cancelled or ended, a run
  created: what its own "nothing new" check compares), when that check would find
  nothing. Not run: mail delivery, digests, reminders, stock alerts and retention
  (no mail leaves a simulation, and nothing in it is old enough to erase).
- ``look``: a social worker opens the list (``browse.browse``, what the page shows, as
  their organisation) and claims what fits the week's need left (``claims.claim_lot``).
  A look is skipped when the organisation's last look found the list empty and no lot
  has been posted, reached a new wave or been given back since: time only takes lots
  off the list, so it would find it empty again. First, at every look, the social
  worker reads the notices that no run can carry a claim of theirs
  (``notifications.no_run``) and cancels those claims (their people would have chosen
  to fetch it if they could): the food is offered again.
- ``cancel``: a beneficiary cancels a claim still to be collected (``claims.cancel_claim``).
- ``fetch``: a beneficiary whose people fetch food themselves within ``self_collect_km``
  chose self-collection (``booking.self_collect``) for a claim of its own or the
  matcher's that close (``behaviour.fetch_at``); they collect it at the donor's now and
  record the hand-over (``collection.confirm_collection``, reading a temperature within
  the cold chain's limit: the claim delivered, or refused as at a stop), with the km
  they drove.
- ``book``: the coordinator books the claims of the platform's network onto runs
  (``booking.book``), in the first-come-first-served policy only.
- ``run``: a run leaves its depot; its booked stops are then due at their planned
  times (``runs.timetable``), each a ``stop`` event: the driver confirms the pickup or
  the drop-off (``stops.confirm``, reading a temperature within the cold chain's limit),
  or finds nobody there at the drop-off (``stops.nobody_there``: the stop ends missed,
  the claim returned to the run's platform).
- ``return``: 30 minutes after such a run's last stop, the van is back: the platform's
  coordinator receives the food at the run's depot, or another of its depots keeping
  that storage (``depots.receipts.receive_claim``, the check at the door), and offers
  it again at once (``depots.stock.offer``: a lot picked up at the depot, through the
  offer waves). Frozen food finds no freezer in the simulated depots: it is lost.
- ``day``: local midnight; a snapshot of open and claimed kilograms, and the day's looks.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import bindparam, func, or_, select

from surplus import clock, jobs
from surplus.errors import DomainError
from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Depot,
    Lot,
    LotStatus,
    Notification,
    NotificationKind,
    Organisation,
    Run,
    RunStatus,
    Stop,
    StopKind,
    StopStatus,
    User,
)
from surplus.services import booking, browse, carriage, claims, collection, lots, runs, stops
from surplus.services.depots import receipts, stock
from surplus.services.eligibility import LAST_WAVE
from surplus.services.lot_dates import BRUSSELS
from surplus.services.waves import Settings

from . import behaviour
from .policies import Policy

EVERY_MIN = {"expire_lots": 10, "escalate_waves": 5, "place_lots": 15}
DAILY_AT = {"materialise_runs": "02:15"}
RUN_SCAN_AT = "02:30"  # after materialise_runs: the day's runs get their departures
BACK_AT_DEPOT = timedelta(minutes=30)  # from a run's last stop to its depot

# Order of events at the same instant: jobs first (as the scheduler fires on the minute),
# then drivers, coordinators, people.
PRIORITY = {
    "day": 0,
    "job": 1,
    "run": 2,
    "stop": 3,
    "return": 3,
    "book": 4,
    "post": 5,
    "withdraw": 6,
    "look": 7,
    "cancel": 8,
    "fetch": 9,
}


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=BRUSSELS).astimezone(UTC)


@dataclass
class JobTimes:
    """Per job: real calls, total and longest seconds; ticks skipped as due to nothing."""

    calls: Counter = field(default_factory=Counter)
    total_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    max_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    skipped: Counter = field(default_factory=Counter)

    def add(self, name: str, seconds: float) -> None:
        self.calls[name] += 1
        self.total_s[name] += seconds
        self.max_s[name] = max(self.max_s[name], seconds)

    def table(self) -> dict[str, dict[str, float]]:
        return {
            name: {
                "calls": self.calls[name],
                "skipped": self.skipped[name],
                "total_s": round(self.total_s[name], 3),
                "mean_ms": round(1000 * self.total_s[name] / max(1, self.calls[name]), 2),
                "max_ms": round(1000 * self.max_s[name], 2),
            }
            for name in sorted(set(self.calls) | set(self.skipped))
        }


@dataclass
class Outcome:
    policy: str
    wall_s: float
    events: Counter
    refusals: Counter
    jobs: dict[str, dict[str, float]]
    jobs_first_month: dict[str, dict[str, float]]
    snapshots: list[dict[str, Any]]
    posting_refusals: Counter


# What a look reads each time, built once (services/eligibility.py says why): a social
# worker's booking notices not read yet, and the claims made since the engine last looked.
_UNREAD_BOOKING_NOTICES = select(
    Notification.id, Notification.subject_type, Notification.subject_id, Notification.params
).where(
    Notification.user_id == bindparam("user"),
    Notification.kind == NotificationKind.BOOKING,
    Notification.id > bindparam("after"),
)
_CLAIMS_AFTER = (
    select(Claim.id, Claim.beneficiary_id, Claim.lot_id)
    .where(Claim.id > bindparam("after"))
    .order_by(Claim.id)
)


class Simulation:
    def __init__(self, app: Flask, world, postings, policy: Policy, spec, seed: int) -> None:
        self.app = app
        self.world = world
        self.postings = postings
        self.policy = policy
        self.spec = spec
        self.seed = seed
        self.start = local_midnight(spec.start)
        self.end = local_midnight(spec.start + timedelta(days=spec.days))
        self.month_end = self.start + timedelta(days=30)
        self.heap: list[tuple[datetime, int, int, str, Any]] = []
        self.seq = itertools.count()
        self.bens = {b.org_id: b for b in world.beneficiaries}
        self.platforms = {p.org_id: p for p in world.platforms}
        self.events: Counter = Counter()
        self.refusals: Counter = Counter()
        self.posting_refusals: Counter = Counter()
        self.times = JobTimes()
        self.month_times = JobTimes()
        self.snapshots: list[dict[str, Any]] = []
        self.last_claim_id = 0
        self.dirty = True  # something place_lots would see as new
        self.dirty_until = self.start  # ... or will, once PLACEMENT_HOLD_MINUTES passed
        self.hold = timedelta(minutes=app.config["PLACEMENT_HOLD_MINUTES"])
        self.next_due: dict[str, datetime | None] = {}
        self.offer_version = 0  # moves when a lot appears on some list, or more of it
        self.empty_seen: dict[int, int] = {}  # org id -> offer_version its list was empty at
        self.notices_read: dict[int, int] = {}  # user id -> the last notice id they read
        self.every = dict(EVERY_MIN, place_lots=app.config["PLACEMENT_EVERY_MINUTES"])
        self.jobs = self._jobs()

    # -- the queue ------------------------------------------------------------------------

    def push(self, at: datetime, kind: str, data: Any = None) -> None:
        heapq.heappush(self.heap, (at, PRIORITY[kind], next(self.seq), kind, data))

    def _jobs(self) -> dict[str, Any]:
        registered = {job.name: job.func for job in jobs.registry(self.app.config)}
        chosen = {name: registered[name] for name in ("expire_lots", "escalate_waves")}
        chosen["materialise_runs"] = registered["materialise_runs"]
        if self.policy.placement:
            from surplus.services import placement

            allocate = self.policy.allocate
            if allocate is None and "place_lots" in registered:
                chosen["place_lots"] = registered["place_lots"]
            else:
                chosen["place_lots"] = lambda session, now: placement.run(
                    session, now, allocate=allocate
                )
        return chosen

    # -- running --------------------------------------------------------------------------

    def run(self) -> Outcome:
        started = time.perf_counter()
        for posting in self.postings:
            if self.start <= posting.at < self.end:
                self.push(posting.at, "post", posting)
        for offset in range(self.spec.days + 1):
            self.push(local_midnight(self.spec.start + timedelta(days=offset)), "day", offset)
        for name in self.every:
            if name in self.jobs:
                self.push(self.start, "job", name)
        self.push(self.start, "job", "materialise_runs")  # a deployment had run it before
        self.push(self.start, "job", "_scan_runs")
        session = db.session
        while self.heap:
            at, _prio, _seq, kind, data = heapq.heappop(self.heap)
            if at > self.end or (at == self.end and kind != "day"):
                break
            clock.set_time(at)
            handler = getattr(self, f"on_{kind}")
            try:
                handler(session, at, data)
                session.commit()
            except DomainError as error:
                session.rollback()
                self.refusals[(kind, _short(error))] += 1
        clock.set_time(self.end)
        session.commit()
        return Outcome(
            policy=self.policy.name,
            wall_s=time.perf_counter() - started,
            events=self.events,
            refusals=self.refusals,
            jobs=self.times.table(),
            jobs_first_month=self.month_times.table(),
            snapshots=self.snapshots,
            posting_refusals=self.posting_refusals,
        )

    # -- handlers -------------------------------------------------------------------------

    def on_day(self, session, at: datetime, offset: int) -> None:
        if offset > 0:
            self.snapshots.append(self._snapshot(session, self.spec.start + timedelta(offset - 1)))
        if offset >= self.spec.days:
            return
        day = self.spec.start + timedelta(days=offset)
        for ben in self.world.beneficiaries:
            for when in behaviour.look_times(self.seed, ben, day):
                self.push(when, "look", ben.org_id)
        if offset > 0:
            for name, hhmm in DAILY_AT.items():
                self.push(runs.local_time(day, hhmm), "job", name)
            self.push(runs.local_time(day, RUN_SCAN_AT), "job", "_scan_runs")
        if day.weekday() < 5:
            for hhmm in self.policy.coordinator_books_at:
                self.push(runs.local_time(day, hhmm), "book", None)

    def on_job(self, session, at: datetime, name: str) -> None:
        if name in self.every:
            self.push(at + timedelta(minutes=self.every[name]), "job", name)
        if name == "_scan_runs":
            self._scan_runs(session, at)
            return
        if not self._due(session, name, at):
            self.times.skipped[name] += 1
            return
        started = time.perf_counter()
        result = self.jobs[name](session, at)
        session.commit()
        seconds = time.perf_counter() - started
        self.times.add(name, seconds)
        if at < self.month_end:
            self.month_times.add(name, seconds)
        self.events[f"job:{name}"] += 1
        did = _did_something(result)
        self.events[f"job:{name}:did"] += did
        self.next_due.pop(name, None)
        if name == "place_lots":
            self.dirty = False
        elif did:
            self.dirty = True
            if name == "escalate_waves":
                self.offer_version += 1
        if name == "place_lots" and did:  # a tick that claimed nothing made no claim
            self._new_claims(session, at)

    def _due(self, session, name: str, at: datetime) -> bool:
        """Whether the job could do anything now. For the lot jobs, the first moment
        one of their lots is due (the job's own conditions) is kept until an event that
        could bring it earlier (a lot posted or given back) or the job's own run."""
        if name == "place_lots":
            return self.dirty or at <= self.dirty_until
        if name not in ("expire_lots", "escalate_waves"):
            return True
        if name not in self.next_due:
            self.next_due[name] = self._first_due(session, name)
        due = self.next_due[name]
        return due is not None and due <= at

    def _first_due(self, session, name: str) -> datetime | None:
        if name == "expire_lots":
            dates = session.scalar(
                select(func.min(Lot.expires_at)).where(
                    Lot.status.in_([LotStatus.OPEN, LotStatus.CLAIMED])
                )
            )
            windows = session.scalar(
                select(func.min(Lot.pickup_until)).where(Lot.status == LotStatus.OPEN)
            )
        else:
            urgent = Settings.current().urgent
            live = (Lot.status == LotStatus.OPEN, Lot.remaining_g > 0, Lot.wave < LAST_WAVE)
            dates = session.scalar(select(func.min(Lot.next_wave_at)).where(*live))
            windows = session.scalar(select(func.min(Lot.expires_at)).where(*live))
            windows = windows - urgent if windows is not None else None
        found = [d for d in (dates, windows) if d is not None]
        return min(found) if found else None

    def _lots_changed(self, at: datetime) -> None:
        """A lot appeared on some list, or has more kilograms again."""
        self.next_due.clear()
        self.offer_version += 1
        self.dirty = True
        self.dirty_until = max(self.dirty_until, at + self.hold)

    def on_post(self, session, at: datetime, posting) -> None:
        user = session.get(User, posting.donor.user_id)
        try:
            lot, _warnings = lots.create_lot(session, user, posting.draft, at)
        except DomainError as error:
            self.posting_refusals[_short(error)] += 1
            raise
        self.events["posted"] += 1
        self._lots_changed(at)
        if posting.withdraw_at is not None:
            self.push(posting.withdraw_at, "withdraw", (lot.id, posting.donor.user_id))

    def on_withdraw(self, session, at: datetime, data) -> None:
        lot_id, user_id = data
        lot = session.get(Lot, lot_id)
        if lot.status not in (LotStatus.OPEN, LotStatus.CLAIMED):
            return
        lots.withdraw_lot(session, session.get(User, user_id), lot, "No longer available.")
        self.events["withdrawn"] += 1
        self.dirty = True

    def on_look(self, session, at: datetime, org_id: int) -> None:
        ben = self.bens[org_id]
        user = session.get(User, ben.user_id)
        self._read_no_run(session, user, at)
        if self.empty_seen.get(org_id) == self.offer_version:
            self.events["looks_at_an_empty_list_skipped"] += 1
            return
        org = session.get(Organisation, org_id)
        page = browse.browse(session, org, browse.Filters(), now=at)
        self.events["looks"] += 1
        if not page.cards:
            self.empty_seen[org_id] = self.offer_version
        # Each card says how its lot can reach them (``carriage.for_lots``, the line the
        # page loads into it): they leave alone what nothing can bring in time. Then the
        # cards in their order, one claim at a time: a claim whose answer says that
        # nothing can bring its kilograms in time is cancelled at once, and its
        # kilograms of need go to the next cards.
        lines = carriage.for_lots(session, org, [card.lot for card in page.cards], at)
        cards = [
            card
            for card in page.cards
            if card.lot_id not in lines or lines[card.lot_id].reachable  # not in: nothing said
        ]
        self.events["cards_left_no_carriage"] += len(page.cards) - len(cards)
        left = page.need_kg
        claimed = self.events["claims_by_people"]
        while cards:
            picks = behaviour.choose(cards, left)
            if not picks:
                break
            pick = picks[0]
            cards = cards[[card.lot_id for card in cards].index(pick.lot_id) + 1 :]
            left -= self._claim(session, user, pick, at)
        if self.events["claims_by_people"] != claimed:  # only people's claims are new here
            self._new_claims(session, at)

    def _claim(self, session, user: User, pick: behaviour.Pick, at: datetime) -> float:
        """A social worker claims a card's lot and reads the answer: when it says that no
        planned run can bring the food in time and their own people cannot collect it
        (``carriage.for_claim``, what the claim box shows), they cancel at once, as it
        asks. Returns the kilograms kept."""
        try:
            claim, _created = claims.claim_lot(
                session, user, pick.lot_id, pick.kg, now=at, seen_g=pick.seen_g
            )
            session.commit()
        except DomainError as error:
            session.rollback()
            self.refusals[("claim", _short(error))] += 1
            return 0.0
        self.events["claims_by_people"] += 1
        self.dirty = True
        self._maybe_fetch(session, claim, at)
        how = carriage.for_claim(session, claim, at)
        if how is None or how.reachable:
            return pick.kg
        if not self._cancel(session, user, claim, at, "cancelled_at_claim_no_carriage"):
            return pick.kg
        return 0.0

    def _cancel(self, session, user: User, claim: Claim, at: datetime, event: str) -> bool:
        """The social worker cancels a claim no run can bring in time (``event`` counts
        it); False when the service refused."""
        try:
            claims.cancel_claim(session, user, claim, "No run can bring it to us in time.")
            session.commit()
        except DomainError as error:
            session.rollback()
            self.refusals[(event, _short(error))] += 1
            return False
        self.events[event] += 1
        self._lots_changed(at)
        return True

    def _read_no_run(self, session, user: User, at: datetime) -> None:
        """The social worker reads the notices that no run can carry a claim of theirs
        before the lot's date (``notifications.no_run``: "collect it yourself, or cancel
        the claim"). Their people would already have chosen to fetch it when they could
        (``_maybe_fetch``, at the claim), so they cancel it: the food is offered again."""
        rows = session.execute(
            _UNREAD_BOOKING_NOTICES,
            {"user": user.id, "after": self.notices_read.get(user.id, 0)},
        ).all()
        for notice_id, subject_type, subject_id, params in rows:
            self.notices_read[user.id] = max(self.notices_read.get(user.id, 0), notice_id)
            if not params.get("no_run") or subject_type != "claim":
                continue
            claim = session.get(Claim, subject_id)
            if claim is None or claim.status != ClaimStatus.ACTIVE or claim.self_collect:
                continue
            self._cancel(session, user, claim, at, "cancelled_no_run")

    def _new_claims(self, session, at: datetime) -> None:
        """Every claim made since the last call, by people or by the matcher: whether
        and when its beneficiary cancels it."""
        rows = session.execute(_CLAIMS_AFTER, {"after": self.last_claim_id}).all()
        for claim_id, org_id, lot_id in rows:
            self.last_claim_id = claim_id
            ben = self.bens.get(org_id)
            if ben is None:
                continue
            delay = behaviour.cancel_delay(self.seed, ben, lot_id)
            if delay is not None:
                self.push(at + delay, "cancel", claim_id)
            claim = session.get(Claim, claim_id)
            if claim.created_by_id is None:  # the matcher's: its beneficiary was told
                self._maybe_fetch(session, claim, at)

    def _maybe_fetch(self, session, claim: Claim, at: datetime) -> None:
        """A beneficiary whose people fetch food themselves within ``self_collect_km``
        does so for a lot that close, when it can get there in time (behaviour.fetch_at):
        it chooses self-collection (``booking.self_collect``, which takes the claim off
        any run), or placement already chose it (no run fits, and the convention's
        ``self_collect_km`` says it fetches that far), and a ``fetch`` event is due at
        that moment."""
        ben = self.bens.get(claim.beneficiary_id)
        if ben is None or claim.status != ClaimStatus.ACTIVE:
            return
        when = behaviour.fetch_at(self.seed, ben, claim.lot, at)
        if when is None:
            return
        if claim.self_collect:  # placement chose it: no run, but within its radius
            self.events["self_collect_by_placement"] += 1
            self.push(when, "fetch", claim.id)
            return
        try:
            booking.self_collect(session, session.get(User, ben.user_id), claim)
            session.commit()
        except DomainError as error:
            session.rollback()
            self.refusals[("self_collect", _short(error))] += 1
            return
        self.events["self_collect_chosen"] += 1
        self.dirty = True
        self.push(when, "fetch", claim.id)

    def on_fetch(self, session, at: datetime, claim_id: int) -> None:
        """The beneficiary's people collect a self-collected claim at the donor's and
        record it as its members do (``collection.confirm_collection``): the hand-over
        check with the reading of a thermometer within the limit, then the claim
        delivered (or refused, as at a stop). Its event ``self_collected`` carries the km
        its people drove (a round trip), which the figures count apart from the runs'
        km."""
        claim = session.get(Claim, claim_id)
        if claim is None or claim.status != ClaimStatus.ACTIVE or not claim.self_collect:
            return  # cancelled meanwhile, or past its date (expire_lots)
        ben = self.bens[claim.beneficiary_id]
        user = session.get(User, ben.user_id)
        lot = claim.lot
        outcome = collection.confirm_collection(
            session,
            user,
            claim,
            temperature=behaviour.reading(lot),
            receiver=user.name,
            km=round(2 * behaviour.fetch_km(ben, lot), 2),
        )
        self.events[f"fetch_{'ok' if outcome.ok else 'refused'}"] += 1
        self.dirty = True

    def on_cancel(self, session, at: datetime, claim_id: int) -> None:
        claim = session.get(Claim, claim_id)
        if claim.status != ClaimStatus.ACTIVE:
            return
        user = session.get(User, self.bens[claim.beneficiary_id].user_id)
        claims.cancel_claim(session, user, claim, "Plans changed.")
        self.events["cancelled"] += 1
        self._lots_changed(at)

    def on_book(self, session, at: datetime, _data) -> None:
        booked_ids = select(Stop.claim_id).where(Stop.claim_id.is_not(None))
        for platform in self.world.platforms:
            coordinator = session.get(User, platform.coordinator_id)
            # Not the claims no run can take any more (their lot's pickup window has
            # closed, or its date passed): the planner would refuse them again.
            ids = session.scalars(
                select(Claim.id)
                .join(Lot, Lot.id == Claim.lot_id)
                .where(
                    Claim.platform_id == platform.org_id,
                    Claim.status == ClaimStatus.ACTIVE,
                    Claim.self_collect.is_(False),
                    Claim.id.not_in(booked_ids),
                    Lot.pickup_until > at,
                    or_(Lot.expires_at.is_(None), Lot.expires_at > at),
                )
                .order_by(Claim.id)
            ).all()
            for claim_id in ids:
                try:
                    booking.book(session, coordinator, session.get(Claim, claim_id), now=at)
                    session.commit()
                    self.events["booked_by_coordinator"] += 1
                except DomainError as error:
                    session.rollback()
                    self.refusals[("book", _short(error))] += 1
                    coordinator = session.get(User, platform.coordinator_id)

    def _scan_runs(self, session, at: datetime) -> None:
        """The day's runs leave at their start time."""
        day = at.astimezone(BRUSSELS).date()
        for run_id, start_at in session.execute(
            select(Run.id, Run.start_at).where(
                Run.status == RunStatus.PLANNED,
                Run.start_at >= max(at, local_midnight(day)),
                Run.start_at < local_midnight(day + timedelta(days=1)),
            )
        ).all():
            self.push(start_at, "run", run_id)

    def on_run(self, session, at: datetime, run_id: int) -> None:
        run = session.get(Run, run_id)
        if run.status != RunStatus.PLANNED:
            return
        self.events["runs"] += 1
        for stop, eta, _load in runs.timetable(run).rows:
            if stop.kind in (StopKind.PICKUP, StopKind.DROPOFF) and stop.claim_id is not None:
                self.push(max(eta, at), "stop", stop.id)

    def on_stop(self, session, at: datetime, stop_id: int) -> None:
        stop = session.get(Stop, stop_id)
        if stop is None or stop.status != StopStatus.PLANNED:
            return  # unbooked meanwhile (cancelled, refused earlier)
        claim = stop.claim
        driver = session.get(User, self.platforms[stop.run.platform_id].driver_id)
        ben = self.bens.get(claim.beneficiary_id)
        self.dirty = True
        if (
            stop.kind == StopKind.DROPOFF
            and stop.leg != 1
            and ben is not None
            and claim.status == ClaimStatus.COLLECTED
            and behaviour.misses(self.seed, ben, claim.lot_id)
        ):
            back = runs.timetable(stop.run).rows[-1][1] + BACK_AT_DEPOT
            stops.nobody_there(session, driver, stop, note="Nobody there to receive it.")
            self.events["missed_windows"] += 1
            self.push(max(back, at), "return", claim.id)
            return
        receiver = "Reception" if stop.kind == StopKind.DROPOFF else ""
        outcome = stops.confirm(
            session, driver, stop, temperature=behaviour.reading(claim.lot), receiver=receiver
        )
        self.events[f"{stop.kind.value}_{'ok' if outcome.ok else 'refused'}"] += 1

    def on_return(self, session, at: datetime, claim_id: int) -> None:
        """The van is back: the platform's coordinator receives what nobody took at a
        drop-off at the run's depot (or another of its depots keeping that storage),
        with the usual check at the door, and offers it again at once, as a lot picked
        up at the depot (``stock.offer``: through the offer waves like any lot)."""
        claim = session.get(Claim, claim_id)
        platform_id = stops.returned_to(session, claim)
        coordinator = session.get(User, self.platforms[platform_id].coordinator_id)
        got = None
        for depot in self._depots_for(session, platform_id, claim):
            try:
                with session.begin_nested():
                    got = receipts.receive_claim(
                        session, coordinator, depot, claim.id,
                        {"temperature": behaviour.reading(claim.lot)},
                    )  # fmt: skip
                break
            except DomainError as error:  # this depot keeps no such food: the next one
                self.refusals[("return", _short(error))] += 1
        if got is None or got.item is None:
            self.events["returned_not_received"] += 1
            return
        self.events["returned_received"] += 1
        stock.offer(session, coordinator, got.item, {})
        self.events["returned_offered"] += 1
        self._lots_changed(at)

    def _depots_for(self, session, platform_id: int, claim: Claim) -> list[Depot]:
        """The platform's depots, the run's own first (the van comes back to it)."""
        run_depot = session.scalar(
            select(Run.depot_id)
            .join(Stop, Stop.run_id == Run.id)
            .where(Stop.claim_id == claim.id, Stop.status == StopStatus.MISSED)
            .limit(1)
        )
        depots = session.scalars(
            select(Depot).where(Depot.platform_id == platform_id).order_by(Depot.id)
        ).all()
        return sorted(depots, key=lambda d: d.id != run_depot)

    # -- snapshots ------------------------------------------------------------------------

    def _snapshot(self, session, day: date) -> dict[str, Any]:
        open_g = session.scalar(
            select(func.coalesce(func.sum(Lot.remaining_g), 0)).where(Lot.status == LotStatus.OPEN)
        )
        booked = select(Stop.claim_id).where(Stop.claim_id.is_not(None))
        unbooked_g = session.scalar(
            select(func.coalesce(func.sum(Claim.grams), 0)).where(
                Claim.status == ClaimStatus.ACTIVE, Claim.id.not_in(booked)
            )
        )
        live_g = session.scalar(
            select(func.coalesce(func.sum(Claim.grams), 0)).where(
                Claim.status.in_([ClaimStatus.ACTIVE, ClaimStatus.COLLECTED])
            )
        )
        return {
            "date": day.isoformat(),
            "open_kg_at_midnight": round(open_g / 1000, 3),
            "claimed_unbooked_kg_at_midnight": round(unbooked_g / 1000, 3),
            "booked_or_on_board_kg_at_midnight": round((live_g - unbooked_g) / 1000, 3),
        }


def _did_something(result: Any) -> bool:
    if isinstance(result, int):
        return result > 0
    if isinstance(result, dict):
        return any(
            isinstance(v, int | float) and v > 0 for k, v in result.items() if k != "seconds"
        )
    return bool(result)


def _short(error: DomainError) -> str:
    return str(getattr(error, "message", error))[:90]
