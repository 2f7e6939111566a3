"""Claiming kilograms of a lot, and cancelling a claim, safely under concurrency.

Conservation (DESIGN.md §3 rule 5) rests on one conditional UPDATE of the lot's
remaining grams, checked by its row count, in the transaction that inserts the claim;
the CHECK constraint ``remaining_g >= 0`` stands behind it. On PostgreSQL the UPDATE
re-reads the row after waiting for a concurrent writer; on SQLite write transactions
start with BEGIN IMMEDIATE, so they run one after the other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import access, clock, geo
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..models import (
    Claim,
    ClaimStatus,
    Convention,
    Depot,
    DepotZone,
    Lot,
    LotStatus,
    Organisation,
    User,
)
from ..templating import kg, number
from . import events, notifications
from .eligibility import (
    conventions_for,
    depot_refusal,
    entitled,
    lot_refusal,
    offerable_clause,
)


def _grams(kg: float) -> int:
    grams = int(round(kg * 1000))
    if grams <= 0:  # the schema bounds kg; the unattended matcher is trusted but checked
        raise Invalid(str(_l("Claim more than 0 kg.")), {"kg": str(_l("Claim more than 0 kg."))})
    return grams


def _available(lot_id: int, session: Session) -> int:
    return session.scalar(select(Lot.remaining_g).where(Lot.id == lot_id)) or 0


def _choose_convention(
    session: Session, org: Organisation, lot: Lot, platform_id: int | None, now: datetime
) -> Convention:
    options = conventions_for(session, org, lot, now)
    if not options:
        raise Forbidden(lot_refusal(session, org, lot, now) or str(_l("Not allowed.")))
    if platform_id is not None:
        chosen = [c for c in options if c.platform_id == platform_id]
        if not chosen:
            raise Forbidden(
                str(_l("You have no convention in force with this platform that covers this lot.")),
                {"platform_id": str(_l("Not allowed."))},
            )
        return chosen[0]
    # Several platforms: the one nearest the pickup place carries it best.
    return min(
        options,
        key=lambda c: geo.road_km(c.platform.lat, c.platform.lon, lot.pickup_lat, lot.pickup_lon),
    )


def _choose_depot(session: Session, actor: User | None, lot: Lot, depot_id: int | None) -> Depot:
    """The depot a platform's claim goes to: ``depot_id`` (its own, with a zone for the
    lot's storage class), else its nearest depot that has one."""
    assert actor is not None
    platform_id = actor.organisation_id
    if depot_id is not None:
        depot = session.get(Depot, depot_id)
        if depot is None or depot.platform_id != platform_id:
            raise NotFound(str(_l("Not found.")), {"depot_id": str(_l("Not one of your depots."))})
        candidates = [depot]
    else:
        candidates = list(session.scalars(select(Depot).where(Depot.platform_id == platform_id)))
    zoned = set(
        session.scalars(
            select(DepotZone.depot_id).where(
                DepotZone.depot_id.in_([d.id for d in candidates]), DepotZone.storage == lot.storage
            )
        )
    )
    fit = [d for d in candidates if d.id in zoned]
    if not fit:
        message = str(_l("No depot of yours has a zone for this storage class."))
        raise Forbidden(message, {"depot_id": message})
    return min(fit, key=lambda d: (geo.road_km(d.lat, d.lon, lot.pickup_lat, lot.pickup_lon), d.id))


def _acting_for(
    actor: User | None, beneficiary: Organisation | None, platform_id: int | None
) -> Organisation:
    """The organisation the claim is for: the actor's own, or, for a platform's
    coordinator (or the unattended matcher, ``actor=None``), a beneficiary of its network
    through that platform."""
    if beneficiary is None:
        assert actor is not None
        return actor.organisation
    if actor is not None:
        access.require_coordinator(
            actor,
            platform_id,
            str(_l("Only a coordinator of the platform may claim for a beneficiary.")),
        )
    if platform_id is None:
        message = str(_l("Choose the platform."))
        raise Invalid(message, {"platform_id": message})
    return beneficiary


def claim_lot(
    session: Session,
    actor: User | None,
    lot_id: int,
    kg: float,
    platform_id: int | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
    beneficiary: Organisation | None = None,
    depot_id: int | None = None,
    seen_g: int | None = None,
) -> tuple[Claim, bool]:
    """Claim ``kg`` of a lot for the actor's organisation (or, for a coordinator or the
    unattended matcher, for ``beneficiary`` through ``platform_id``). A logistics
    platform claims for its own depot (``depot_id``, else its nearest depot with a zone
    for the lot's storage class): no convention then (``eligibility.depot_refusal``).

    Returns ``(claim, created)``; a repeated idempotency key returns the first claim.
    Raises Forbidden (403) when a rule refuses, Invalid (400) for a bad quantity and
    Conflict (409, with ``available_kg`` and ``code``) when the kilograms are not there:
    ``too_much`` when more was asked than was left, ``claimed_meanwhile`` when others
    claimed since the claimant saw the lot. ``seen_g`` is what remained on the page the
    claimant saw; without it, only a claim lost at write time counts as a race. The rules
    come first, so a refusal never reveals how many kilograms remain.
    """
    now = now or clock.now()
    org = _acting_for(actor, beneficiary, platform_id)
    key = (idempotency_key or "").strip()[:64] or None
    if key:
        existing = session.scalar(
            select(Claim).where(Claim.beneficiary_id == org.id, Claim.idempotency_key == key)
        )
        if existing is not None:
            return existing, False
    grams = _grams(kg)
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(str(_l("Not found.")))
    depot = None
    if org.is_platform and beneficiary is None:  # for the platform's own depot
        refusal = depot_refusal(session, org, lot, now)
        if refusal is None:
            depot = _choose_depot(session, actor, lot, depot_id)
        elif (
            lot.status == LotStatus.CLAIMED and depot_refusal(session, org, lot, now, True) is None
        ):
            raise _conflict(0, grams, seen_g, lost=True)
        else:
            raise Forbidden(refusal)
        convention = None
    else:
        if lot.status == LotStatus.CLAIMED and entitled(session, org, lot, now):
            raise _conflict(0, grams, seen_g, lost=True)  # claimed to the last kilogram
        convention = _choose_convention(session, org, lot, platform_id, now)
    if lot.remaining_g < grams:
        raise _conflict(lot.remaining_g, grams, seen_g)
    if not lot.divisible and grams != lot.weight_g:
        raise Invalid(
            str(_l("This lot cannot be split: claim all %(kg)s kg.", kg=number(lot.weight_kg, 3))),
            {"kg": str(_l("Claim the whole lot."))},
        )
    if lot.divisible and grams < lot.min_part_g and grams != lot.remaining_g:
        raise Invalid(
            str(
                _l("Claim at least %(kg)s kg, or all that remains.", kg=number(lot.min_part_kg, 3))
            ),
            {"kg": str(_l("Below the minimum part."))},
        )
    before = events.snapshot(lot, "remaining_g", "status")
    try:
        with session.begin_nested():
            done = session.execute(
                update(Lot)
                # The lot rules again at write time (the same definition as the list),
                # plus the kilograms: whatever changed since they were read.
                .where(
                    Lot.id == lot_id,
                    offerable_clause(now),
                    Lot.remaining_g >= grams,
                    or_(Lot.remaining_g == grams, Lot.min_part_g <= grams),
                )
                .values(
                    remaining_g=Lot.remaining_g - grams,
                    status=case(
                        (Lot.remaining_g == grams, LotStatus.CLAIMED.value),
                        else_=LotStatus.OPEN.value,
                    ),
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if done != 1:
                raise _Lost()
            claim = Claim(
                lot_id=lot_id,
                beneficiary_id=org.id,
                platform_id=convention.platform_id if convention else org.id,
                convention_id=convention.id if convention else None,
                depot_id=depot.id if depot else None,
                grams=grams,
                idempotency_key=key,
                created_by_id=actor.id if actor else None,
            )
            session.add(claim)
            session.flush()
    except _Lost:
        available_g = _available(lot_id, session)
        if available_g >= grams:  # not the kilograms: the lot stopped being offered meanwhile
            message = str(
                _l("This lot is no longer offered (withdrawn, or past its pickup time or date).")
            )
            raise Conflict(
                message, {"kg": message}, available_kg=available_g / 1000, code="not_offered"
            ) from None
        raise _conflict(available_g, grams, seen_g, lost=True) from None
    except IntegrityError:
        if key is None:
            raise
        existing = session.scalar(
            select(Claim).where(Claim.beneficiary_id == org.id, Claim.idempotency_key == key)
        )
        if existing is None:
            raise
        return existing, False
    session.refresh(lot)
    events.record(
        session,
        actor,
        lot,
        "claimed",
        before=before,
        after=events.snapshot(lot, "remaining_g", "status"),
        organisation_id=lot.donor_id,
    )
    events.record(
        session,
        actor,
        claim,
        "created",
        organisation_id=org.id,
        after={"lot_id": lot_id, "grams": grams, "platform_id": claim.platform_id},
    )
    # A coordinator or the matcher acting for a beneficiary allocates: say so, by whom.
    allocator = claim.platform if beneficiary is not None else None
    notifications.lot_claimed(session, claim, allocated_by=allocator, actor=actor)
    return claim, True


def _conflict(available_g: int, asked_g: int, seen_g: int | None, lost: bool = False) -> Conflict:
    """Too much, or a race: others claimed since the claimant saw the lot (fewer grams
    now than on their page) or, when we do not know what they saw, since we read it."""
    available, asked = available_g / 1000, asked_g / 1000
    raced = available_g < seen_g if seen_g is not None else lost
    if raced:
        if available_g:
            message = _l(
                "Someone claimed part of this lot meanwhile: %(left)s are left now.",
                left=kg(available),
            )
        else:
            message = _l("Someone claimed the rest of this lot meanwhile: nothing is left.")
        code = "claimed_meanwhile"
    else:
        message = _l(
            "Only %(left)s are left; you asked for %(asked)s.", left=kg(available), asked=kg(asked)
        )
        code = "too_much"
    return Conflict(str(message), {"kg": str(message)}, available_kg=available, code=code)


class _Lost(Exception):
    """The conditional update found fewer kilograms than asked."""


def cancel_claim(session: Session, actor: User, claim: Claim, reason: str = "") -> None:
    """Cancel a claim before collection; its kilograms go back to the lot."""
    access.require(
        actor,
        access.CHANGE,
        claim,
        str(_l("Only the claiming organisation can cancel this claim.")),
    )
    if not _back_to_lot(session, actor, claim, reason.strip()):
        raise Conflict(
            str(
                _l(
                    "This claim can no longer be cancelled (collected, withdrawn or "
                    "already cancelled)."
                )
            )
        )


def give_back(session: Session, claim: Claim, reason: str, why: str) -> bool:
    """The scheduler cancels a claim it made itself that no run can carry (``why``: the
    booking planner's reasons), as a person cancels theirs; not one its beneficiary
    chose to collect. False when the claim was no longer active (nothing done)."""
    return _back_to_lot(
        session,
        None,
        claim,
        reason,
        Claim.self_collect.is_(False),
        after={"given_back": True, "why": why},
        organisation_id=claim.beneficiary_id,
    )


def _back_to_lot(
    session: Session,
    actor: User | None,
    claim: Claim,
    reason: str,
    *conditions: Any,
    after: dict[str, Any] | None = None,
    organisation_id: int | None = None,
) -> bool:
    """Cancel an active claim (and ``conditions``), conditionally, so that two cancels
    never return its kilograms twice; its kilograms back on the lot, its stops off
    their runs, events on the claim and the lot. False when it was no longer active."""
    done = session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == ClaimStatus.ACTIVE, *conditions)
        .values(status=ClaimStatus.CANCELLED, status_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        return False
    lot_before = events.snapshot(claim.lot, "remaining_g", "status")
    session.execute(
        update(Lot)
        .where(Lot.id == claim.lot_id)
        .values(
            remaining_g=Lot.remaining_g + claim.grams,
            status=case((Lot.status == LotStatus.CLAIMED, LotStatus.OPEN.value), else_=Lot.status),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(claim)
    session.refresh(claim.lot)
    from .booking import unbook

    unbook(session, actor, claim)
    events.record(
        session,
        actor,
        claim,
        "cancelled",
        before={"status": "active"},
        after={"status": "cancelled", **(after or {})},
        reason=reason,
        organisation_id=organisation_id,
    )
    events.record(
        session,
        actor,
        claim.lot,
        "claim_cancelled",
        before=lot_before,
        after=events.snapshot(claim.lot, "remaining_g", "status"),
        organisation_id=claim.lot.donor_id,
    )
    return True
