"""Drivers confirm stops: picked up or delivered, with the measured temperature for the
cold chain and the receiver's name. These confirmations are the lot's traceability
events (who, when, where, at what temperature)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import access
from ..errors import Conflict, Invalid
from ..models import ClaimStatus, Stop, StopKind, StopStatus, StorageClass, User, utcnow
from . import events

# Highest temperature at which a lot may be handed over, by storage class (°C).
MAX_TEMPERATURE = {StorageClass.CHILLED: 7.0, StorageClass.FROZEN: -15.0}


@dataclass
class Outcome:
    ok: bool
    message: str


def confirm(
    session: Session,
    actor: User,
    stop: Stop,
    temperature: float | None = None,
    receiver: str = "",
    note: str = "",
) -> Outcome:
    """Mark a stop done. A chilled or frozen lot needs its temperature (measured, finite
    and plausible: schemas.run.StopConfirmInSchema); above the lot's limit the handover is
    refused: the stop is marked rejected and an event records it."""
    if not access.can(actor, access.CONFIRM, stop):
        access.deny(str(_l("Only the platform running this van confirms its stops.")))
    if stop.status != StopStatus.PLANNED:
        raise Conflict(str(_l("This stop is already confirmed.")))
    claim = stop.claim
    lot = claim.lot if claim else None
    celsius = temperature
    limit = MAX_TEMPERATURE.get(lot.storage) if lot else None
    if limit is not None and celsius is None:
        raise Invalid(
            str(_l("Measure and enter the temperature of this chilled or frozen lot.")),
            {"temperature": str(_l("Required for the cold chain."))},
        )
    if stop.kind == StopKind.DROPOFF and not receiver:
        raise Invalid(str(_l("Who received it?")), {"receiver": str(_l("Enter a name."))})
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
    stop.temperature_c = celsius
    stop.receiver_name = receiver
    stop.note = note
    stop.confirmed_at = utcnow()
    stop.confirmed_by_id = actor.id
    if limit is not None and celsius is not None and celsius > limit:
        message = str(
            _l(
                "Too warm: %(t)s °C measured, at most %(max)s °C for this lot. "
                "Do not hand it over; the refusal is recorded.",
                t=f"{celsius:g}",
                max=f"{limit:g}",
            )
        )
        stop.status = StopStatus.REJECTED
        session.flush()
        events.record(
            session,
            actor,
            stop,
            "rejected",
            before=before,
            after={
                "status": "rejected",
                "temperature_c": celsius,
                "lot_id": lot.id if lot else None,
            },
            reason=message,
            organisation_id=stop.run.platform_id,
        )
        if lot is not None:
            events.record(
                session,
                actor,
                lot,
                "cold_chain_broken",
                reason=message,
                after={"stop_id": stop.id, "temperature_c": celsius},
                organisation_id=lot.donor_id,
            )
        return Outcome(False, message)
    stop.status = StopStatus.DONE
    # A relay's hand-over at the hub (end of leg 1, start of leg 2) leaves the claim
    # collected; only the drop-off at the beneficiary delivers it.
    if claim is not None and stop.kind == StopKind.PICKUP and stop.leg != 2:
        claim.status = ClaimStatus.COLLECTED
    elif claim is not None and stop.kind == StopKind.DROPOFF and stop.leg != 1:
        claim.status = ClaimStatus.DELIVERED
    session.flush()
    action = {StopKind.PICKUP: "picked_up", StopKind.DROPOFF: "delivered"}.get(stop.kind, "done")
    if stop.leg == 1 and stop.kind == StopKind.DROPOFF:
        action = "left_at_hub"
    elif stop.leg == 2 and stop.kind == StopKind.PICKUP:
        action = "taken_from_hub"
    after = {
        "status": "done",
        "temperature_c": celsius,
        "receiver": stop.receiver_name,
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
    return Outcome(True, str(_l("Recorded.")))


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
