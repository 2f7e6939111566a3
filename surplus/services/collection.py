"""The beneficiary's people collect a self-collected claim at the donor's: the hand-over
recorded as a driver's stop is (services/stops.py), through the same check
(``food_safety.check_handover``) and, when it fails, the same end: the claim refused,
its people told.

What is kept: the claim's status, who received the food and the note (on the claim,
``collected_by`` and ``collection_note``, as a stop keeps its own: the retention job
blanks them with the stops' ones), and events for traceability (who recorded it, when,
the reading and the limit; never the name or the note, since the event log is
append-only: README, "Hand-over events").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .. import access
from ..errors import Conflict, Invalid
from ..models import Claim, ClaimStatus, User, utcnow
from . import events, food_safety, notifications
from .food_safety import Verdict
from .stops import REFUSED, Outcome, record_refusal

SELF_COLLECTED = "self_collected"  # the claim's and the lot's event
# The claim's events of its hand-over at the donor's: collected, or refused there (a
# self-collected claim is on no run, so its refusal is that hand-over's). Read by the
# trace and the personal-data export.
HANDOVER_EVENTS = (SELF_COLLECTED, REFUSED)
NOT_YOURS = _l(
    "Only the beneficiary or a coordinator of the claim's platform records its collection."
)
STAGE = "self_collection"  # where a refused hand-over took place (notices, lot event)


def confirm_collection(
    session: Session,
    actor: User,
    claim: Claim,
    temperature: float | None = None,
    receiver: str = "",
    note: str = "",
    *,
    km: float | None = None,
) -> Outcome:
    """Record that the beneficiary's people collected ``claim`` at the donor's.

    1. Only its beneficiary's members and its platform's coordinators (403), and only an
       active claim whose beneficiary chose self-collection (409, saying why).
    2. The hand-over check at this moment: a chilled or frozen lot needs its measured
       ``temperature``, and someone must have received it (``receiver``); otherwise
       :class:`Invalid` with a message per field (``temperature_c``, ``receiver``, the
       input's names) and nothing recorded.
    3. Passed: the claim is delivered, with an event ``self_collected`` on the claim and
       on the lot (the reading, the limit; ``km``, the round trip its people drove, when
       the caller knows it). Failed (past the use-by, recalled, too warm): the claim ends
       refused as at a stop, and its people are told (:func:`refuse`).

    ``receiver`` and ``note`` are kept on the claim (module docstring)."""
    if not access.can(actor, access.COLLECT, claim):
        access.deny(str(NOT_YOURS))
    _check_state(claim)
    lot = claim.lot
    now = utcnow()
    fields: dict[str, str] = {}
    message = ""
    verdict = Verdict(True, None)
    try:
        verdict = food_safety.check_handover(lot, temperature, now)
    except Invalid as error:  # the reading: missing or implausible
        message = error.message
        fields["temperature_c"] = error.fields.get("temperature", error.message)
    if not receiver.strip():
        message = message or str(_l("Who received it?"))
        fields["receiver"] = str(_l("Enter a name."))
    if fields:
        raise Invalid(message if len(fields) == 1 else str(_l("Some fields are invalid.")), fields)
    claim.collected_by, claim.collection_note = receiver.strip(), note.strip()
    figures = {"temperature_c": temperature, "limit_c": verdict.limit_c}
    if km is not None:
        figures["km"] = km
    if not verdict.ok:
        refuse(session, actor, claim, verdict, now, figures)
        return Outcome(False, verdict.message, verdict.limit_c, verdict.reason)
    before = events.snapshot(claim, "status")
    _end(session, claim, ClaimStatus.DELIVERED)
    events.record(
        session,
        actor,
        claim,
        SELF_COLLECTED,
        before=before,
        after={"status": claim.status.value, **figures},
        organisation_id=claim.beneficiary_id,
    )
    events.record(
        session,
        actor,
        lot,
        SELF_COLLECTED,
        after={
            **figures,
            "claim_id": claim.id,
            "kg": claim.kg,
            "beneficiary_id": claim.beneficiary_id,
        },
        organisation_id=lot.donor_id,
    )
    return Outcome(True, str(_l("Recorded.")), verdict.limit_c)


def _check_state(claim: Claim) -> None:
    """409 unless the claim is active and to be collected by its beneficiary."""
    if claim.status == ClaimStatus.REFUSED:
        raise Conflict(str(_l("This claim was refused at an earlier hand-over.")))
    if claim.status == ClaimStatus.DELIVERED:
        raise Conflict(str(_l("This claim was already collected or delivered.")))
    if claim.status != ClaimStatus.ACTIVE:
        raise Conflict(str(_l("Only an active claim can be collected.")))
    if not claim.self_collect:
        raise Conflict(
            str(
                _l(
                    "This claim is not to be collected by the beneficiary: choose "
                    "self-collection first."
                )
            )
        )
    if claim.depot_id is not None:
        raise Conflict(str(_l("A claim for a depot is recorded at the depot's door.")))


def _end(session: Session, claim: Claim, status: ClaimStatus, reason: str = "") -> None:
    """Move the claim from active to ``status`` in one conditional UPDATE: of two
    recordings sent at once (a double tap, the page and the API), the second finds it
    no longer active and is a 409, as if sent after the first."""
    moved = session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == ClaimStatus.ACTIVE)
        .values(status=status, status_reason=reason or claim.status_reason)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        session.refresh(claim)
        _check_state(claim)
        raise Conflict(str(_l("This claim was already collected or delivered.")))
    set_committed_value(claim, "status", status)
    set_committed_value(claim, "status_reason", reason or claim.status_reason)


def refuse(
    session: Session,
    actor: User,
    claim: Claim,
    verdict: Verdict,
    at: datetime,
    figures: dict[str, Any],
) -> None:
    """The collection failed the check: the claim ends refused as at a stop (its
    kilograms neither go back to the lot nor count as delivered; the same record,
    ``stops.record_refusal``), and
    the beneficiary, the platform's coordinators and the donor are told, with the
    reading and the limit. A self-collected claim is on no run (``booking.self_collect``
    took it off), so no stop leaves a run."""
    claim_before = events.snapshot(claim, "status", "grams")
    _end(session, claim, ClaimStatus.REFUSED, verdict.message)
    details = {
        "claim_id": claim.id,
        "kg": claim.kg,
        "stage": STAGE,
        "reason": verdict.reason,
        **figures,
    }
    record_refusal(session, actor, claim, verdict, claim_before, details, figures)
    notifications.collection_refused(session, claim, at, figures["temperature_c"], verdict)
