"""Batch allocation: the matcher's proposal over a platform's open lots, reviewed and
confirmed into claims through the same concurrency-safe service as manual claims.

1. ``propose`` gathers the open lots of the platform's area and the beneficiaries of its
   network (through their convention with this platform only), runs
   :func:`matching.allocate`, and stores the proposal as a batch of lines.
2. The coordinator removes lines or changes their kilograms (``remove_line``,
   ``adjust_line``).
3. ``confirm`` claims each remaining line with ``claims.claim_lot`` on behalf of its
   beneficiary; a line that can no longer be claimed (claimed meanwhile, expired, rule
   changed) is skipped with the reason, the others go through.

Continuous placement (services/placement.py) does 1 and 3 unattended, as the scheduler.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

import matching
from matching.reach import Allocator, allocate_within_reach

from .. import access, clock
from ..errors import Conflict, DomainError, Invalid
from ..models import (
    AllocationBatch,
    AllocationLine,
    BatchStatus,
    Convention,
    ConventionStatus,
    LineStatus,
    Lot,
    Organisation,
    User,
    utcnow,
)
from ..templating import number
from . import (
    claim_facts,
    claims,
    events,
    matching_adapter,
    notifications,
    reachability,
    self_collection,
)
from .eligibility import channels_by_org, offerable_clause, offered_clause, receiving_channels
from .lot_dates import local_today

MATCHER_MESSAGE = _l("Only a platform coordinator runs the matcher.")


def _platform_of(actor: User | None, platform: Organisation | None) -> Organisation:
    """The platform a batch is for: the one given (the scheduler, a site admin), or the
    acting coordinator's own."""
    if platform is None:
        assert actor is not None
        platform = actor.organisation
    if actor is not None:
        access.require_coordinator(actor, platform.id, str(MATCHER_MESSAGE))
    if not platform.is_platform:
        access.deny(str(MATCHER_MESSAGE))
    return platform


# Built once: read at every placement tick (services/eligibility.py says why).
_NETWORK = (
    select(Organisation)
    .join(Convention, Convention.beneficiary_id == Organisation.id)
    .where(
        Convention.platform_id == bindparam("platform"),
        Convention.status == ConventionStatus.ACTIVE,
    )
)


def _network(session: Session, platform: Organisation, now: datetime):
    rows = session.scalars(_NETWORK, {"platform": platform.id}).unique().all()
    # Every organisation's channels with one query (not one per organisation).
    by_org = channels_by_org(session, list(rows), local_today(now))
    network = {}
    for org in rows:
        mine = [ch for ch in by_org.get(org.id, []) if ch.convention.platform_id == platform.id]
        if mine:
            network[org.id] = (org, mine)
    return network


def offered_lots(
    platform_id: int,
    now: datetime,
    *,
    within_hours: int | None = None,
    posted_before: datetime | None = None,
):
    """SQL: the open lots offered to the platform's network in their current wave
    (waves.py); only those whose date is within ``within_hours`` when given, and only
    those posted at or before ``posted_before`` when given."""
    query = select(Lot).where(offerable_clause(now), offered_clause(platform_id))
    if within_hours is not None:
        query = query.where(
            Lot.expires_at.is_not(None), Lot.expires_at <= now + timedelta(hours=within_hours)
        )
    if posted_before is not None:
        query = query.where(Lot.created_at <= posted_before)
    return query


def propose(
    session: Session,
    actor: User | None,
    *,
    platform: Organisation | None = None,
    now: datetime | None = None,
    within_hours: int | None = None,
    posted_before: datetime | None = None,
    allocate: Allocator | None = None,
    within_reach: bool = False,
) -> AllocationBatch:
    """Run the matcher (or ``allocate``: ``matching.greedy_allocate``, the baseline the
    simulation compares, goes through the very same proposal and confirmation) over the
    platform's offered lots (all of them, or those of :func:`offered_lots`' filters);
    store the proposal. ``actor`` None is the scheduler. ``within_reach``: each lot only
    to the organisations a planned run carries it to at a small detour
    (services/reachability.py), or whose own people can collect it in time
    (services/self_collection.py), as placement does."""
    now = now or clock.now()
    platform = _platform_of(actor, platform)
    query = offered_lots(platform.id, now, within_hours=within_hours, posted_before=posted_before)
    lots = session.scalars(query.order_by(Lot.id)).all()
    network = _network(session, platform, now)
    inputs = matching_adapter.beneficiaries(session, network, now)
    allocator = allocate or matching.allocate
    if within_reach:
        # the km a run adds to carry each pair: the matcher steers food to the
        # organisations a van passes by (matching.Params.detour_cost)
        unreached: dict[int, str] = {}  # why a lot reaches nobody by run
        refused = reachability.given_back(session, [lot.id for lot in lots])
        detours = reachability.reach(
            session, platform.id, lots, network, now, least=True, why=unreached, refused=refused
        )
        reach = {lot_id: frozenset(orgs) for lot_id, orgs in detours.items()}
        # and to those whose own people can collect it in time (services/self_collection.py):
        # a pair no run reaches within the budget is collected, and adds no run km
        if any(chans[0].convention.self_collect_km > 0 for _org, chans in network.values()):
            fetch = self_collection.fetchers(lots, network, now, refused)
            reach = {lot_id: orgs | fetch[lot_id] for lot_id, orgs in reach.items()}
        allocator = partial(
            allocate_within_reach,
            allocator,
            reach=reach,
            detour_km=detours,
            unreached=unreached,
        )
    result = allocator(
        [matching_adapter.to_lot(lot) for lot in lots], inputs, matching_adapter.params(now)
    )
    shares = (
        matching.need_met_shares(inputs, matching_adapter.params(now), result) if inputs else []
    )
    batch = AllocationBatch(
        platform_id=platform.id,
        created_by_id=actor.id if actor else None,
        unattended=actor is None,
        summary={
            "lots": len(lots),
            "beneficiaries": len(inputs),
            "kg_offered": round(sum(lot.remaining_kg for lot in lots), 3),
            "kg_placed": round(result.kg_placed, 3),
            "jain": round(matching.jain_index(shares), 4) if shares else None,
            "seconds": round(
                sum(result.stats.get(k, 0.0) for k in result.stats if k.endswith("_s")), 3
            ),
        },
        unallocated={
            str(lot_id): [round(u.kg, 3), u.reason] for lot_id, u in result.unallocated.items()
        },
    )
    for a in result.assignments:
        grams = int(round(a.kg * 1000))
        if grams > 0:
            batch.lines.append(
                AllocationLine(
                    lot_id=int(a.lot_id),
                    beneficiary_id=int(a.beneficiary_id),
                    grams=grams,
                    km=round(a.km, 2),
                    explanation=matching_adapter.explanation_dict(a.explanation),
                    reason_key=a.explanation.reason,
                )
            )
    session.add(batch)
    session.flush()
    events.record(
        session, actor, batch, "proposed", organisation_id=platform.id, after=batch.summary
    )
    return batch


def _editable(actor: User, line: AllocationLine) -> None:
    access.require_coordinator(actor, line.batch.platform_id, str(MATCHER_MESSAGE))
    if line.batch.status != BatchStatus.PREVIEW:
        raise Conflict(str(_l("This proposal was already confirmed.")))


def remove_line(session: Session, actor: User, line: AllocationLine) -> None:
    _editable(actor, line)
    line.status = LineStatus.REMOVED if line.status == LineStatus.PROPOSED else LineStatus.PROPOSED
    session.flush()


def adjust_line(session: Session, actor: User, line: AllocationLine, kg: float) -> None:
    """Change a proposed line's kilograms (more than 0, to the gram: schemas.allocation),
    within what the lot still has."""
    _editable(actor, line)
    grams = int(round(kg * 1000))
    if grams > line.lot.remaining_g:
        message = str(_l("Between 0 and %(kg)s kg.", kg=number(line.lot.remaining_kg, 3)))
        raise Invalid(message, {"kg": message})
    line.grams = grams
    session.flush()


def confirm(session: Session, actor: User | None, batch: AllocationBatch) -> dict[str, int]:
    """Claim every proposed line; skip (with the reason) those no longer possible."""
    if actor is not None:
        access.require_coordinator(actor, batch.platform_id, str(MATCHER_MESSAGE))
    if batch.status != BatchStatus.PREVIEW:
        raise Conflict(str(_l("This proposal was already confirmed.")))
    counts = {"claimed": 0, "skipped": 0}
    for line in batch.lines:
        if line.status != LineStatus.PROPOSED:
            continue
        try:
            claim, _created = claims.claim_lot(
                session,
                actor,
                line.lot_id,
                line.kg,
                platform_id=batch.platform_id,
                idempotency_key=f"batch-{batch.id}-line-{line.id}",
                beneficiary=line.beneficiary,
            )
        except DomainError as error:
            line.status, line.note = LineStatus.SKIPPED, error.message
            counts["skipped"] += 1
            continue
        line.status, line.claim_id = LineStatus.CLAIMED, claim.id
        counts["claimed"] += 1
        if _created:  # the beneficiary learns of it: what, how much, from whom, when
            notifications.claim_allocated(
                session, claim, batch.platform, claim_facts.planned_delivery(session, claim)
            )
    batch.status = BatchStatus.CONFIRMED
    batch.confirmed_at = utcnow()
    batch.summary = {**batch.summary, **counts}
    session.flush()
    events.record(
        session, actor, batch, "confirmed", organisation_id=batch.platform_id, after=counts
    )
    return counts


def best_placed(
    session: Session,
    lot: Lot,
    platform: Organisation | None = None,
    now: datetime | None = None,
    limit: int = 5,
) -> list[tuple[Organisation, Any]]:
    """Where the matcher would send this lot now: its assignments among the beneficiaries
    within reach (of ``platform``'s network when given), best first, with explanations."""
    from ..geo import road_km

    now = now or clock.now()
    max_km = current_app.config["MATCH_MAX_KM"]
    query = (
        select(Organisation)
        .join(Convention, Convention.beneficiary_id == Organisation.id)
        .where(Convention.status == ConventionStatus.ACTIVE)
    )
    if platform is not None:
        query = query.where(Convention.platform_id == platform.id)
    network = {}
    for org in session.scalars(query).unique():
        if road_km(org.lat, org.lon, lot.pickup_lat, lot.pickup_lon) > max_km:
            continue
        # Only the conventions through which it may receive this lot now (its wave
        # included), so the list never suggests an organisation that could not claim it.
        chans = [
            ch
            for ch in receiving_channels(session, org, lot, now)
            if platform is None or ch.convention.platform_id == platform.id
        ]
        if chans:
            network[org.id] = (org, chans)
    if not network or lot.remaining_g <= 0:
        return []
    inputs = matching_adapter.beneficiaries(session, network, now)
    result = matching.allocate([matching_adapter.to_lot(lot)], inputs, matching_adapter.params(now))
    ranked = sorted(result.assignments, key=lambda a: (-a.kg, a.km))[:limit]
    return [(network[int(a.beneficiary_id)][0], a) for a in ranked]
