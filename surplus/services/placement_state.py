"""What continuous placement (services/placement.py) reads to decide, cheaply, whether
anything is new for a platform, and the state it keeps between two placements.

The state of a platform's last placement is kept in the summary of its newest
unattended batch (``summary["placement"]``): when it ran, the claims then in transit to
its network, its claims no run fitted (with the reasons), the newest run. Each tick
reads, for every platform at once, with statements built once (SQLAlchemy memoises a
statement's cache key on the object) and run on the session's connection without the
ORM's per-statement setup: the platforms with runs ahead, the claims in transit and not
booked, the last states, and the lots new to someone. Five statements, whatever the
number of platforms, lots and claims; a tick with nothing new writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Date, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from ..models import (
    IN_TRANSIT_CLAIM_STATUSES,
    AgreementStatus,
    AllocationBatch,
    Claim,
    ClaimStatus,
    Convention,
    ConventionStatus,
    Event,
    Lot,
    LotOffer,
    Run,
    RunStatus,
    Stop,
    TransportAgreement,
)
from .eligibility import LAST_WAVE, offerable_clause
from .lot_dates import local_today

STATE = "placement"  # the key of the placement state in a batch's summary
LATE_COMMIT = timedelta(minutes=1)  # see lot_news


@dataclass
class Pending:
    """The claims of one platform's network now."""

    transit: set[int] = field(default_factory=set)  # in transit to its network
    unbooked: list[int] = field(default_factory=list)  # its active claims without stops


@dataclass(frozen=True)
class Seen:
    """What the platform's last placement saw; ``at`` None: it never ran."""

    at: datetime | None = None
    transit: frozenset[int] = frozenset()
    unbooked: dict[str, str] = field(default_factory=dict)  # claim id -> why no run fits
    runs: int = 0  # the newest planned run's id

    @classmethod
    def of(cls, summary: dict[str, Any] | None) -> Seen:
        state = (summary or {}).get(STATE)
        if not state:  # none yet, or a batch from before continuous placement
            return cls()
        return cls(
            datetime.fromisoformat(state["at"]),
            frozenset(state["transit"]),
            dict(state["unbooked"]),
            int(state["runs"]),
        )


@cache
def _queries() -> SimpleNamespace:
    """The statements read at each tick, built once (module docstring)."""
    now, posted, since, platforms = (
        bindparam("now"),
        bindparam("posted"),
        bindparam("since"),
        bindparam("platforms", expanding=True),
    )
    today = bindparam("today", type_=Date)
    booked = select(Stop.id).where(Stop.claim_id == Claim.id).exists()
    newest = (
        select(func.max(AllocationBatch.id))
        .where(AllocationBatch.unattended.is_(True), AllocationBatch.platform_id.in_(platforms))
        .group_by(AllocationBatch.platform_id)
    )
    # The lots of allocation.offered_lots whatever the platform, with their offers to the
    # platforms asked about and their last escalation; the offered filter is in Python.
    escalated_at = (
        select(func.max(Event.at))
        .where(
            Event.subject_type == "lot",
            Event.subject_id == Lot.id,
            Event.action == "escalated",
        )
        .scalar_subquery()
    )
    offerable = (
        select(Lot.id, Lot.wave, Lot.created_at, LotOffer.platform_id, LotOffer.offered_at)
        .add_columns(escalated_at)
        .outerjoin(LotOffer, and_(LotOffer.lot_id == Lot.id, LotOffer.platform_id.in_(platforms)))
        .where(offerable_clause(now), Lot.created_at <= posted)
    )
    escalated = (
        select(Event.id)
        .where(
            Event.subject_type == "lot",
            Event.subject_id == Lot.id,
            Event.action == "escalated",
            Event.at >= since,
        )
        .exists()
    )
    recent = offerable.where(
        or_(
            Lot.created_at >= bindparam("since_posted"),
            Lot.id.in_(select(LotOffer.lot_id).where(LotOffer.offered_at >= since)),
            escalated,
        )
    )
    return SimpleNamespace(
        runs=select(Run.platform_id, func.max(Run.id), func.min(Run.start_at))
        .where(Run.status == RunStatus.PLANNED, Run.start_at >= now)
        .group_by(Run.platform_id),
        clients=select(TransportAgreement.client_id).where(
            TransportAgreement.carrier_id.in_(platforms),
            TransportAgreement.status == AgreementStatus.ACTIVE,
            TransportAgreement.valid_from <= today,
            or_(TransportAgreement.valid_until.is_(None), TransportAgreement.valid_until >= today),
        ),
        claims=select(
            Claim.id,
            Claim.platform_id,
            Claim.status,
            Claim.self_collect,
            booked,
            Convention.platform_id,
            Lot.pickup_until,
            Lot.expires_at,
        )
        .join(Lot, Lot.id == Claim.lot_id)
        .outerjoin(
            Convention,
            and_(
                Convention.beneficiary_id == Claim.beneficiary_id,
                Convention.status == ConventionStatus.ACTIVE,
                Convention.platform_id.in_(platforms),
            ),
        )
        .where(Claim.status.in_(IN_TRANSIT_CLAIM_STATUSES))
        .order_by(Claim.id),
        states=select(AllocationBatch.platform_id, AllocationBatch.summary).where(
            AllocationBatch.id.in_(newest)
        ),
        offerable=offerable,
        recent=recent,
    )


def _read(session: Session, statement, **params: Any):
    """Rows of one of ``_queries()`` (columns, no entities): through the session's
    connection, without the ORM's per-statement setup."""
    return session.connection().execute(statement, params)


@dataclass(frozen=True)
class Runs:
    """The planned runs ahead, as a tick sees them."""

    newest: int = 0  # the newest one's id
    platforms: list[int] = field(default_factory=list)  # with runs ahead (own or carried)
    first_start: datetime | None = None  # the soonest one leaves then


def with_runs(session: Session, now: datetime) -> Runs:
    """The newest planned run ahead (its id), the platforms that have runs ahead (their
    own, or those of a platform carrying for them under an agreement in force), and when
    the soonest one leaves."""
    q = _queries()
    rows = _read(session, q.runs, now=now).all()
    if not rows:
        return Runs()
    carriers = sorted(platform_id for platform_id, _newest, _first in rows)
    clients = _read(session, q.clients, platforms=carriers, today=local_today(now)).scalars()
    return Runs(
        max(newest for _platform_id, newest, _first in rows),
        sorted(set(carriers) | set(clients)),
        min(first for _platform_id, _newest, first in rows),
    )


def pending_claims(
    session: Session, platform_ids: list[int], now: datetime, first_start: datetime | None
) -> dict[int, Pending]:
    """The claims in transit and the unbooked claims of every platform, in one query.

    An unbooked claim counts only while a run could still take it: its lot's pickup
    window closes after the soonest planned run leaves (``first_start``), and its date
    has not come. The others can never be booked (runs only come later); they stay
    active, in transit, until their date ends them, and are not tried again."""
    pending: dict[int, Pending] = {p: Pending() for p in platform_ids}
    rows = _read(session, _queries().claims, platforms=platform_ids)
    for (
        claim_id,
        platform_id,
        status,
        self_collect,
        is_booked,
        network_of,
        pickup_until,
        expires_at,
    ) in rows:
        if network_of is not None:
            pending[network_of].transit.add(claim_id)
        if platform_id in pending:
            mine = pending[platform_id]
            mine.transit.add(claim_id)  # its depot's claims too
            if (
                status == ClaimStatus.ACTIVE
                and not self_collect
                and not is_booked
                and (first_start is None or pickup_until > first_start)
                and (expires_at is None or expires_at > now)
                and claim_id not in mine.unbooked  # one row per convention of the claimant
            ):
                mine.unbooked.append(claim_id)
    return pending


def last_states(session: Session, platform_ids: list[int]) -> dict[int, Seen]:
    """What each platform's last placement saw (the summary of its newest unattended
    batch; the batch's other columns are not read)."""
    found = dict(_read(session, _queries().states, platforms=platform_ids).all())
    return {p: Seen.of(found.get(p)) for p in platform_ids}


def lot_news(
    session: Session,
    since: dict[int, datetime | None],
    now: datetime,
    posted_before: datetime,
) -> set[int]:
    """The platforms (keys of ``since``) with a lot offered to their network that is new
    to them since their moment in ``since`` (None: any lot offered counts): posted past
    the hold since then, or reached by a wave since then (step 1). One query.

    The moments are taken ``LATE_COMMIT`` early: a lot posted (or offered) by a
    transaction that committed after the last placement read the lots, but stamped
    before it, is looked at again rather than missed; so is what happened at the very
    instant of the last placement (a simulated clock stands still between jobs)."""
    hold = now - posted_before
    moments = {p: at - LATE_COMMIT if at is not None else None for p, at in since.items()}
    known = [at for at in moments.values() if at is not None]
    params: dict[str, Any] = {"now": now, "posted": posted_before, "platforms": list(moments)}
    if len(known) == len(moments):  # every platform placed before: only what is recent
        first = min(known)
        query = _queries().recent
        params |= {"since": first, "since_posted": first - hold}
    else:
        query = _queries().offerable
    lots: dict[int, tuple[int, datetime, datetime | None]] = {}
    offers: dict[tuple[int, int], datetime] = {}
    for lot_id, wave, created_at, platform_id, offered_at, escalated_at in _read(
        session, query, **params
    ):
        lots[lot_id] = (wave, created_at, escalated_at)
        if platform_id is not None:
            offers[(lot_id, platform_id)] = offered_at
    news = set()
    for platform_id, moment in moments.items():
        for lot_id, (wave, created_at, escalated_at) in lots.items():
            offered_at = offers.get((lot_id, platform_id))
            # As eligibility.offered_clause: wave 3 is everyone, waves 1-2 a LotOffer row.
            if wave < LAST_WAVE and offered_at is None:
                continue
            if (
                moment is None
                or created_at >= moment - hold
                or (offered_at is not None and offered_at >= moment)
                or (escalated_at is not None and escalated_at >= moment)
            ):
                news.add(platform_id)
                break
    return news
