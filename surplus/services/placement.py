"""Continuous placement: the scheduler places new lots and books every claim on a run.

Every ``PLACEMENT_EVERY_MINUTES`` (the ``place_lots`` job), for each platform with
planned runs ahead (its own, or those of a platform carrying for it):

1. Decide with a few small queries whether anything is new since the platform's last
   placement (its state is kept in the summary of its last unattended batch): a lot
   offered to its network that it has not seen (posted at least
   ``PLACEMENT_HOLD_MINUTES`` before, or reached by a wave since: a ``LotOffer`` row or
   the ``escalated`` event of waves.py); room that came back, looked at once an hour at
   most (a claim in transit to its network delivered, refused or cancelled); a new run;
   a claim of its network not booked and not yet tried (a social worker's own, or one
   whose booking was taken off). Nothing new: nothing is written.
2. When a lot is new, or room came back and lots are offered, run the matcher
   (:func:`allocation.propose`, or ``allocate``) over all the lots offered to its
   network, and confirm the proposal unattended (:func:`allocation.confirm`: the
   beneficiaries are told), each lot only to the organisations reach finds, weighing
   what each delivery adds to the runs (``reachability.reach``,
   ``matching.Params.detour_cost``). Placement weighs each organisation's need over the
   last ``NEED_WEEKS`` weeks (:func:`_over_weeks`): what is left of its need over those
   weeks, so that an organisation served well last week and one left out for three
   weeks are told apart, and fairness holds over a month, not only within a week.
3. Book each active, unbooked, not self-collected claim of the platform onto the best
   existing run (:func:`booking.book`, the scheduler as actor: the donor and the
   beneficiary are told when). When the convention says the beneficiary's people
   collect at donors that close and they can in time (services/self_collection.py),
   the claim goes on a run only within the detour budget of reachability; otherwise,
   or when no run fits, it is booked as self-collected (both told from when). A claim
   a person made that no run fits within that budget stays unbooked with the reasons
   (its beneficiary may fetch it, or cancel it; a coordinator may book it by hand),
   and is tried again only when a run appears or room came back. A claim the
   scheduler made itself that no run fits goes back to its lot at once
   (:func:`_give_back`: cancelled with the reason, its kilograms on the lot again);
   the matcher never proposes that lot to that organisation again
   (``reachability.given_back``) and, when something went back, runs once more over
   what is offered (at most ``REPROPOSE`` times a tick).
4. Record the batch (the proposal when the matcher ran, else an empty one) with the
   new state; the caller commits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from sqlalchemy.orm import Session

import matching

from .. import clock
from ..errors import Conflict, DomainError
from ..models import (
    AllocationBatch,
    BatchStatus,
    Claim,
    ClaimStatus,
    LineStatus,
    Notification,
    Organisation,
)
from ..templating import number
from . import (
    allocation,
    booking,
    claims,
    matching_adapter,
    notifications,
    reachability,
    self_collection,
)
from .allocation import Allocator
from .placement_state import (
    STATE,
    Pending,
    Seen,
    last_states,
    lot_news,
    pending_claims,
    with_runs,
)

# Room that came back (a claim in transit ended) is looked at once an hour at most: the
# deliveries of a round end one after the other, and each would rerun the matcher.
ROOM_RETRY = timedelta(hours=1)
# After claims went back to their lots, the matcher runs again at most this many times
# in the same tick (each time without the pairs that went back).
REPROPOSE = 2
NO_RUN_MESSAGE = _l("No run can carry it in time: given back to the lot.")
# Placement's need: what is left of an organisation's need over this many weeks.
NEED_WEEKS = 4


def run(
    session: Session, now: datetime | None = None, *, allocate: Allocator | None = None
) -> dict[str, int]:
    """Place and book for every platform with runs (module docstring); returns counts:
    platforms with something new, lines claimed and skipped, claims booked and not,
    claims of the scheduler's given back."""
    now = now or clock.now()
    totals = dict.fromkeys(
        ("platforms", "claimed", "skipped", "booked", "unbooked", "given_back"), 0
    )
    ahead = with_runs(session, now)
    newest_run, platform_ids = ahead.newest, ahead.platforms
    if not platform_ids:
        return totals
    hold = timedelta(minutes=current_app.config["PLACEMENT_HOLD_MINUTES"])
    pending = pending_claims(session, platform_ids, now, ahead.first_start)
    seen = last_states(session, platform_ids)
    # A claim in transit that ended: room again, or kilograms back on a lot.
    ended = {p: seen[p].transit - pending[p].transit for p in platform_ids}
    freed = {
        p
        for p in platform_ids
        if ended[p] and (seen[p].at is None or now - seen[p].at >= ROOM_RETRY)
    }
    for p in freed:
        ended[p] = frozenset()  # handled now
    news = lot_news(
        session, {p: None if p in freed else seen[p].at for p in platform_ids}, now, now - hold
    )
    for platform_id in platform_ids:
        counts = _place(
            session,
            platform_id,
            pending[platform_id],
            seen[platform_id],
            platform_id in news,
            platform_id in freed,
            ended[platform_id],
            newest_run,
            now,
            now - hold,
            allocate,
        )
        if counts is not None:
            totals["platforms"] += 1
            for key, value in counts.items():
                totals[key] += value
    session.flush()
    return totals


def _place(
    session: Session,
    platform_id: int,
    pending: Pending,
    seen: Seen,
    match: bool,
    freed: bool,
    waiting: frozenset[int],
    newest_run: int,
    now: datetime,
    posted_before: datetime,
    allocate: Allocator | None,
) -> dict[str, int] | None:
    """Steps 2-4 for one platform: ``match`` when a lot is new to it; ``freed`` when a
    claim in transit to its network ended (``waiting``: the ended claims whose room is
    looked at later, kept in the state until then). None when nothing was new."""
    retry = freed or newest_run > seen.runs
    to_book = [c for c in pending.unbooked if retry or str(c) not in seen.unbooked]
    if not match and not to_book:
        return None
    counts = {"claimed": 0, "skipped": 0, "booked": 0, "unbooked": 0, "given_back": 0}
    unbooked: dict[str, str] = {}
    tried: set[int] = set()  # claims tried now, still in transit
    batch = None
    rounds = 0
    while True:
        made: set[int] = set()
        if match:
            batch = allocation.propose(
                session,
                None,
                platform=session.get(Organisation, platform_id),
                now=now,
                posted_before=posted_before,
                allocate=_over_weeks(session, now, allocate),
                within_reach=True,
            )
            if batch.lines:
                for key, value in allocation.confirm(session, None, batch).items():
                    counts[key] += value
            else:
                batch.status = BatchStatus.DISCARDED
            made = {
                line.claim_id
                for line in batch.lines
                if line.status == LineStatus.CLAIMED and line.claim_id is not None
            }
            to_book += [claim_id for claim_id in sorted(made) if claim_id not in to_book]
        gave_back = False
        for claim_id in to_book:
            tried.add(claim_id)
            why = _book(session, claim_id, now)
            if why is None:
                counts["booked"] += 1
            elif why and _give_back(session, claim_id, why, fresh=claim_id in made):
                tried.discard(claim_id)  # no longer in transit: no room to come back
                counts["given_back"] += 1
                gave_back = True
            elif why:
                unbooked[str(claim_id)] = why
                counts["unbooked"] += 1
                if str(claim_id) not in seen.unbooked:  # told once, not at every retry
                    notifications.no_run(session, session.get(Claim, claim_id))
        to_book = []
        rounds += 1
        if not (gave_back and rounds <= REPROPOSE):
            break
        match = True  # what went back is offered again, to others
    if batch is None:  # bookings only: an empty batch keeps the state
        batch = AllocationBatch(
            platform_id=platform_id,
            unattended=True,
            status=BatchStatus.DISCARDED,
            summary={
                "lots": 0,
                "beneficiaries": 0,
                "kg_offered": 0,
                "kg_placed": 0,
                "jain": None,
                "seconds": 0,
            },
        )
        session.add(batch)
    unbooked = {
        k: why
        for k, why in seen.unbooked.items()
        if int(k) in pending.unbooked and int(k) not in tried
    } | unbooked
    batch.summary = {
        **(batch.summary or {}),
        "booked": counts["booked"],
        "unbooked": counts["unbooked"],
        "given_back": counts["given_back"],
        STATE: {
            "at": now.isoformat(),
            "transit": sorted(pending.transit | tried | waiting),
            "unbooked": unbooked,
            "runs": newest_run,
        },
    }
    session.flush()
    return counts


def _over_weeks(session: Session, now: datetime, allocate: Allocator | None) -> Allocator:
    """``allocate`` (the matcher by default) seeing each organisation's need over the
    last ``NEED_WEEKS`` weeks: its target over those weeks (persons a week ×
    ``NEED_WEEKS``) minus what it received over them. The beneficiaries it is given
    carry ``matching_adapter``'s figure (the recent window's) plus what an earlier
    group of the same proposal gave them (``matching.reach``); that part is kept."""
    inner = allocate or matching.allocate
    window: dict[int, float] = {}
    weeks: dict[int, float] = {}
    known: set[int] = set()

    def allocate_over_weeks(lots, beneficiaries, params, **options):
        # matching.reach calls it once per group of lots: read each organisation once
        ids = [b.id for b in beneficiaries if b.id not in known]
        if ids:
            window.update(matching_adapter.received_kg(session, ids, now))
            weeks.update(
                matching_adapter.received_kg(session, ids, now, timedelta(weeks=NEED_WEEKS))
            )
            known.update(ids)
        seen = [
            replace(
                b,
                persons_per_week=b.persons_per_week * NEED_WEEKS,
                received_kg=weeks.get(b.id, 0.0) + max(0.0, b.received_kg - window.get(b.id, 0.0)),
            )
            for b in beneficiaries
        ]
        return inner(lots, seen, params, **options)

    return allocate_over_weeks


class _TooFar(Exception):
    """The best run found would go further out of its way than the detour budget."""

    def __init__(self, added_km: float, budget_km: float) -> None:
        super().__init__()
        self.added_km, self.budget_km = added_km, budget_km


TOO_FAR_MESSAGE = _l(
    "The nearest planned run would drive %(km)s km more to carry it; the scheduler adds at "
    "most %(budget)s km for these kilograms (your coordinator may still book it)."
)


def _book(session: Session, claim_id: int, now: datetime) -> str | None:
    """Book one claim as the scheduler: None when booked, the reasons when no run fits,
    "" when it no longer needs booking (booked, collected or cancelled meanwhile).
    The scheduler puts a claim on a run only within the detour budget of its kilograms
    (``reachability.budget_km``, the rule by which the matcher offers lots and a claim's
    answer tells whether a run can bring it: services/carriage.py); a coordinator may
    book it further by hand. A claim its beneficiary's people can collect in time
    (services/self_collection.py) and no run fits within that budget is booked as
    self-collected, and both sides are told from when."""
    claim = session.get(Claim, claim_id)
    if claim is None or claim.status != ClaimStatus.ACTIVE or claim.self_collect:
        return ""
    fetch = self_collection.for_claim(claim, now)
    why = ""
    try:
        with session.begin_nested():  # a booking that fails leaves no stop behind
            proposal = booking.book(session, None, claim, now=now)
            added, budget = _added_km(proposal), reachability.budget_km(_budget_kg(claim))
            if added > budget + reachability.EPS_KM:
                raise _TooFar(added, budget)
        return None
    except Conflict:
        return ""
    except DomainError as error:
        why = error.message
    except _TooFar as far:
        why = str(TOO_FAR_MESSAGE % {"km": number(far.added_km), "budget": number(far.budget_km)})
    if fetch is None:
        return why
    try:
        with session.begin_nested():
            booking.self_collect(session, None, claim)
    except DomainError as error:
        return why or error.message
    notifications.booked(session, claim, None, fetch)
    return None


def _budget_kg(claim: Claim) -> float:
    """The kilograms a claim's detour budget is of: a person's claim, its own; one the
    matcher made, the lot's, since the matcher offered the lot to that organisation by
    the budget of the lot (reachability.reach) and may give it a part only."""
    return claim.lot.weight_kg if claim.created_by_id is None else claim.kg


def _added_km(proposal: booking.Proposal) -> float:
    if proposal.relay is not None:
        return proposal.relay.added_km
    assert proposal.insertion is not None
    return proposal.insertion.added_km


def _give_back(session: Session, claim_id: int, why: str, *, fresh: bool) -> bool:
    """Cancel a claim the scheduler made that no run fits (``why``: the booking
    planner's reasons), as ``claims.cancel_claim`` does for a person: conditionally,
    its kilograms back on the lot, events on the claim and the lot. ``fresh``: made in
    this very placement, whose notices (to the beneficiary, ``claim_allocated``; to the
    donor, ``lot_claimed``) have not left the transaction, and are withdrawn with it;
    otherwise both are told it went back (``notifications.given_back``).
    A claim a person made is theirs to fetch or cancel: False, nothing done."""
    claim = session.get(Claim, claim_id)
    if claim is None or claim.created_by_id is not None or claim.depot_id is not None:
        return False
    if not claims.give_back(session, claim, str(NO_RUN_MESSAGE), why):
        return False
    if fresh:
        session.execute(
            delete(Notification).where(
                Notification.subject_type == "claim",
                Notification.subject_id == claim.id,
            )
        )
    else:  # its beneficiary and donor were told of it: tell them it went back
        notifications.given_back(session, claim)
    return True
