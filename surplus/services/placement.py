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
   beneficiaries are told).
3. Book each active, unbooked, not self-collected claim of the platform onto the best
   existing run (:func:`booking.book`, the scheduler as actor: the donor and the
   beneficiary are told when). A claim no run fits stays unbooked with the reasons, and
   is tried again only when a run appears or room came back.
4. Record the batch (the proposal when the matcher ran, else an empty one) with the
   new state; the caller commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.orm import Session

from .. import clock
from ..errors import Conflict, DomainError
from ..models import (
    AllocationBatch,
    BatchStatus,
    Claim,
    ClaimStatus,
    LineStatus,
    Organisation,
)
from . import allocation, booking
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


def run(
    session: Session, now: datetime | None = None, *, allocate: Allocator | None = None
) -> dict[str, int]:
    """Place and book for every platform with runs (module docstring); returns counts:
    platforms with something new, lines claimed and skipped, claims booked and not."""
    now = now or clock.now()
    totals = dict.fromkeys(("platforms", "claimed", "skipped", "booked", "unbooked"), 0)
    newest_run, platform_ids = with_runs(session, now)
    if not platform_ids:
        return totals
    hold = timedelta(minutes=current_app.config["PLACEMENT_HOLD_MINUTES"])
    pending = pending_claims(session, platform_ids)
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
    counts = {"claimed": 0, "skipped": 0, "booked": 0, "unbooked": 0}
    if match:
        batch = allocation.propose(
            session,
            None,
            platform=session.get(Organisation, platform_id),
            now=now,
            posted_before=posted_before,
            allocate=allocate,
            within_reach=True,
        )
        if batch.lines:
            counts.update(allocation.confirm(session, None, batch))
        else:
            batch.status = BatchStatus.DISCARDED
        claimed = [line.claim_id for line in batch.lines if line.status == LineStatus.CLAIMED]
        to_book += [claim_id for claim_id in claimed if claim_id not in to_book]
    else:  # bookings only: an empty batch keeps the state
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
        if int(k) in pending.unbooked and int(k) not in to_book
    }
    for claim_id in to_book:
        why = _book(session, claim_id, now)
        if why is None:
            counts["booked"] += 1
        elif why:
            unbooked[str(claim_id)] = why
            counts["unbooked"] += 1
    batch.summary = {
        **(batch.summary or {}),
        "booked": counts["booked"],
        "unbooked": counts["unbooked"],
        STATE: {
            "at": now.isoformat(),
            "transit": sorted(pending.transit | set(to_book) | waiting),
            "unbooked": unbooked,
            "runs": newest_run,
        },
    }
    session.flush()
    return counts


def _book(session: Session, claim_id: int, now: datetime) -> str | None:
    """Book one claim as the scheduler: None when booked, the reasons when no run fits,
    "" when it no longer needs booking (booked, collected or cancelled meanwhile)."""
    claim = session.get(Claim, claim_id)
    if claim is None or claim.status != ClaimStatus.ACTIVE or claim.self_collect:
        return ""
    try:
        with session.begin_nested():  # a booking that fails leaves no stop behind
            booking.book(session, None, claim, now=now)
    except Conflict:
        return ""
    except DomainError as error:
        return error.message
    return None
