"""Drivers confirm stops: picked up or delivered, with the measured temperature for the
cold chain and the receiver's name. These confirmations are the lot's traceability
events (who, when, where, at what temperature)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import access
from ..errors import Conflict, Invalid
from ..models import Claim, ClaimStatus, Run, Stop, StopKind, StopStatus, User, utcnow
from . import events, food_safety, notifications
from .booking import unbook
from .food_safety import Verdict

REFUSED = "refused"  # the claim's event of a refused hand-over (trace.py reads it)


@dataclass
class Outcome:
    ok: bool
    message: str
    # When refused: the limit that applied (°C, None for ambient food) and why
    # (food_safety.TOO_WARM or USE_BY_PASSED).
    limit_c: float | None = None
    reason: str | None = None


def confirm(
    session: Session,
    actor: User,
    stop: Stop,
    temperature: float | None = None,
    receiver: str = "",
    note: str = "",
) -> Outcome:
    """Mark a stop done after the hand-over check (services.food_safety): a chilled or
    frozen lot needs its measured temperature, and a drop-off its receiver (Invalid,
    nothing recorded). A lot past its use-by or too warm is refused: the stop is marked
    rejected, the claim ends refused and its people are told (:func:`refuse`)."""
    if not access.can(actor, access.CONFIRM, stop):
        access.deny(str(_l("Only the platform running this van confirms its stops.")))
    if stop.status != StopStatus.PLANNED:
        raise Conflict(str(_l("This stop is already confirmed.")))
    claim = stop.claim
    lot = claim.lot if claim else None
    now = utcnow()
    verdict = food_safety.check_handover(lot, temperature, now) if lot else Verdict(True, None)
    if stop.kind == StopKind.DROPOFF and not receiver:
        raise Invalid(str(_l("Who received it?")), {"receiver": str(_l("Enter a name."))})
    if claim is not None and claim.status == ClaimStatus.REFUSED:
        raise Conflict(str(_l("This claim was refused at an earlier hand-over.")))
    if (
        claim is not None
        and stop.kind == StopKind.DROPOFF
        and claim.status != ClaimStatus.COLLECTED
    ):
        raise Conflict(str(_l("Confirm the pickup of this lot first.")))
    if (
        claim is not None
        and stop.kind == StopKind.PICKUP
        and stop.leg == 2
        and not _at_hub(session, stop)
    ):
        raise Conflict(str(_l("The first leg has not reached the hub yet.")))
    before = {"status": stop.status.value}
    stop.temperature_c = temperature
    stop.receiver_name = receiver
    stop.note = note
    stop.confirmed_at = now
    stop.confirmed_by_id = actor.id
    if claim is not None and claim.depot_id is not None and stop.kind == StopKind.DROPOFF:
        return _into_depot(session, actor, stop, claim, temperature, note, before)
    if not verdict.ok:
        assert claim is not None
        refuse(session, actor, stop, claim, verdict, before)
        return Outcome(False, verdict.message, verdict.limit_c, verdict.reason)
    stop.status = StopStatus.DONE
    # A relay's hand-over at the hub (end of leg 1, start of leg 2) leaves the claim
    # collected; only the drop-off at the beneficiary delivers it.
    if claim is not None and stop.kind == StopKind.PICKUP and stop.leg != 2:
        claim.status = ClaimStatus.COLLECTED
    elif claim is not None and stop.kind == StopKind.DROPOFF and stop.leg != 1:
        claim.status = ClaimStatus.DELIVERED
    session.flush()
    action = _action(stop)
    after = {
        "status": "done",
        "temperature_c": temperature,
        "limit_c": verdict.limit_c,
        "run_id": stop.run_id,
    }
    events.record(
        session,
        actor,
        stop,
        action,
        before=before,
        after=after,
        organisation_id=stop.run.platform_id,
    )
    if lot is not None and claim is not None:
        events.record(
            session,
            actor,
            lot,
            action,
            organisation_id=lot.donor_id,
            after={
                **after,
                "claim_id": claim.id,
                "kg": claim.kg,
                "beneficiary_id": claim.beneficiary_id,
            },
        )
    return Outcome(True, str(_l("Recorded.")), verdict.limit_c)


def _into_depot(
    session: Session,
    actor: User,
    stop: Stop,
    claim: Claim,
    temperature: float | None,
    note: str,
    before: dict,
) -> Outcome:
    """The drop-off of a platform's claim at its own depot is the depot's receipt: the
    same check at the door, then stock (services/depots/receipts.py)."""
    from .depots import receipts

    assert claim.depot is not None
    got = receipts.receive_claim(
        session, actor, claim.depot, claim.id, {"temperature": temperature, "note": note}
    )
    stop.status = StopStatus.DONE if got.receipt.accepted else StopStatus.REJECTED
    session.flush()
    events.record(
        session,
        actor,
        stop,
        "delivered" if got.receipt.accepted else "rejected",
        before=before,
        after={
            "status": stop.status.value,
            "temperature_c": temperature,
            "limit_c": got.limit_c,
            "receipt_id": got.receipt.id,
            "run_id": stop.run_id,
        },
        organisation_id=stop.run.platform_id,
    )
    if not got.receipt.accepted:
        return Outcome(False, got.receipt.refusal_reason, got.limit_c, got.reason)
    return Outcome(True, str(_l("Recorded: in stock.")), got.limit_c)


def _action(stop: Stop) -> str:
    if stop.leg == 1 and stop.kind == StopKind.DROPOFF:
        return "left_at_hub"
    if stop.leg == 2 and stop.kind == StopKind.PICKUP:
        return "taken_from_hub"
    return {StopKind.PICKUP: "picked_up", StopKind.DROPOFF: "delivered"}.get(stop.kind, "done")


def refuse(
    session: Session,
    actor: User,
    stop: Stop,
    claim: Claim,
    verdict: Verdict,
    before: dict,
) -> None:
    """A refused hand-over ends the claim: the food is unfit. Its kilograms do not go
    back to the lot (never offered again) and are not counted as delivered; the claim's
    stops still to do (the drop-off, the relay's other leg) leave their runs, so no
    driver carries refused food on; the beneficiary, the platforms' coordinators and the
    donor are told, with the measured temperature and the limit."""
    lot = claim.lot
    stop.status = StopStatus.REJECTED
    claim_before = events.snapshot(claim, "status", "grams")
    claim.status = ClaimStatus.REFUSED
    claim.status_reason = verdict.message
    session.flush()
    details = {
        "stop_id": stop.id,
        "claim_id": claim.id,
        "kg": claim.kg,
        "stage": _action(stop),
        "temperature_c": stop.temperature_c,
        "limit_c": verdict.limit_c,
        "reason": verdict.reason,
    }
    events.record(
        session,
        actor,
        stop,
        "rejected",
        before=before,
        after={"status": "rejected", "lot_id": lot.id, **details},
        reason=verdict.message,
        organisation_id=stop.run.platform_id,
    )
    record_refusal(session, actor, claim, verdict, claim_before, details)
    unbook(session, actor, claim)
    notifications.handover_refused(session, claim, stop, verdict)


def record_refusal(
    session: Session,
    actor: User,
    claim: Claim,
    verdict: Verdict,
    before: dict,
    details: dict,
    figures: dict | None = None,
) -> None:
    """The record of a refused hand-over, at a stop or at a self-collection
    (services/collection.py), once the caller has ended the claim: the event ``refused``
    on the claim (its status and grams ``before`` and now, with ``figures``) and
    ``handover_refused`` on the lot with ``details`` (what its donor reads), both with
    the verdict's message."""
    events.record(
        session,
        actor,
        claim,
        REFUSED,
        before=before,
        after={**events.snapshot(claim, "status", "grams"), **(figures or {})},
        reason=verdict.message,
        organisation_id=claim.beneficiary_id,
    )
    lot = claim.lot
    events.record(
        session,
        actor,
        lot,
        "handover_refused",
        after=details,
        reason=verdict.message,
        organisation_id=lot.donor_id,
    )


def nobody_there(session: Session, actor: User, stop: Stop, note: str = "") -> None:
    """Nobody was at the drop-off to receive the food. The stop ends missed and the
    claim returned: the food goes back with the van to the run's platform, which
    receives it at one of its depots (``depots.receipts.receive_claim``) and may offer
    it again from there. Its kilograms are not delivered, so the beneficiary's need is
    unchanged; they do not go back to the lot either (the food is no longer at the
    donor's). The beneficiary and the coordinators of the claim's platform and of the
    run's are told what, how much, when and where the food is now. Only a planned
    drop-off at a beneficiary, after its pickup, can be missed (409 otherwise)."""
    if not access.can(actor, access.CONFIRM, stop):
        access.deny(str(_l("Only the platform running this van confirms its stops.")))
    if stop.status != StopStatus.PLANNED:
        raise Conflict(str(_l("This stop is already confirmed.")))
    claim = stop.claim
    if (
        claim is None
        or stop.kind != StopKind.DROPOFF
        or stop.leg == 1
        or claim.depot_id is not None
    ):
        raise Conflict(str(_l("Only a delivery to an organisation can be recorded as missed.")))
    if claim.status == ClaimStatus.REFUSED:
        raise Conflict(str(_l("This claim was refused at an earlier hand-over.")))
    if claim.status != ClaimStatus.COLLECTED:
        raise Conflict(str(_l("Confirm the pickup of this lot first.")))
    lot = claim.lot
    before = {"status": stop.status.value}
    claim_before = events.snapshot(claim, "status", "grams")
    now = utcnow()
    # Recorded once, even when two taps arrive at the same moment: each row changes only
    # from the state read above (the second waits for the first, then changes nothing).
    changed = (
        session.execute(
            update(Stop)
            .where(Stop.id == stop.id, Stop.status == StopStatus.PLANNED)
            .values(status=StopStatus.MISSED, note=note, confirmed_at=now, confirmed_by_id=actor.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        + session.execute(
            update(Claim)
            .where(Claim.id == claim.id, Claim.status == ClaimStatus.COLLECTED)
            .values(
                status=ClaimStatus.RETURNED,
                status_reason=str(_l("Nobody was there to receive it.")),  # the note: the stop's
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    )
    if changed != 2:
        raise Conflict(str(_l("This stop is already confirmed.")))
    session.refresh(stop)
    session.refresh(claim)
    run = stop.run
    details = {
        "stop_id": stop.id,
        "claim_id": claim.id,
        "kg": claim.kg,
        "beneficiary_id": claim.beneficiary_id,
        "run_id": run.id,
        "platform_id": run.platform_id,
    }
    events.record(
        session,
        actor,
        stop,
        "missed",
        before=before,
        after={"status": "missed", "lot_id": lot.id, **details},
        reason=note,
        organisation_id=run.platform_id,
    )
    events.record(
        session,
        actor,
        claim,
        "returned",
        before=claim_before,
        after={
            **events.snapshot(claim, "status", "grams"),
            "run_id": run.id,
            "platform_id": run.platform_id,
        },
        reason=note,
        organisation_id=claim.beneficiary_id,
    )
    events.record(
        session, actor, lot, "delivery_missed", after=details, reason=note,
        organisation_id=lot.donor_id,
    )  # fmt: skip
    unbook(session, actor, claim)  # a stop of it still planned elsewhere leaves its run
    notifications.delivery_missed(session, claim, stop)


def returned_to(session: Session, claim: Claim) -> int | None:
    """The platform a returned claim's food went back to: the one whose van found
    nobody at the drop-off (None for a claim that was not returned)."""
    if claim.status != ClaimStatus.RETURNED:
        return None
    return session.scalar(
        select(Run.platform_id)
        .join(Stop, Stop.run_id == Run.id)
        .where(Stop.claim_id == claim.id, Stop.status == StopStatus.MISSED)
        .order_by(Stop.confirmed_at.desc(), Stop.id.desc())
        .limit(1)
    )


def _at_hub(session: Session, stop: Stop) -> bool:
    """The relay's first leg was dropped at the hub."""
    return (
        session.scalar(
            select(Stop.id).where(
                Stop.claim_id == stop.claim_id,
                Stop.leg == 1,
                Stop.kind == StopKind.DROPOFF,
                Stop.status == StopStatus.DONE,
            )
        )
        is not None
    )
