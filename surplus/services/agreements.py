"""Transport agreements between platforms: "the carrier's runs may carry lots claimed
through the client's conventions". One coordinator asks, the other platform approves or
refuses; either may end it. Booking reads ``carriers_for``; coordinators read
``monthly`` (kilograms carried for and by other platforms)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..errors import Conflict, Forbidden, Invalid
from ..models import (
    AgreementStatus,
    Claim,
    Organisation,
    OrgKind,
    Run,
    Stop,
    StopKind,
    StopStatus,
    TransportAgreement,
    User,
    Verification,
    utcnow,
)
from . import events
from .conventions import parse_day
from .lot_dates import BRUSSELS, local_today

DIRECTIONS = ("we_carry", "they_carry")
LIVE = (AgreementStatus.REQUESTED, AgreementStatus.ACTIVE)


def _coordinator(actor: User) -> Organisation:
    if not actor.is_coordinator:
        raise Forbidden(str(_l("Only a platform coordinator manages transport agreements.")))
    return actor.organisation


def request(session: Session, actor: User, *, other_id: Any, direction: str,
            valid_from: Any, valid_until: Any = None, note: str = "") -> TransportAgreement:
    """Ask another platform for an agreement; ``direction`` says who carries."""
    mine = _coordinator(actor)
    errors: dict[str, str] = {}
    other = None
    try:
        other = session.get(Organisation, int(other_id))
    except (TypeError, ValueError):
        pass
    if other is None or other.kind != OrgKind.PLATFORM \
            or other.verification != Verification.VERIFIED or other.id == mine.id:
        errors["other_id"] = str(_l("Choose another platform."))
    if direction not in DIRECTIONS:
        errors["direction"] = str(_l("Say which platform's vans carry."))
    start = parse_day(valid_from, "valid_from", errors)
    if start is None and "valid_from" not in errors:
        errors["valid_from"] = str(_l("Enter the first day."))
    end = parse_day(valid_until, "valid_until", errors)
    if start is not None and start < local_today():
        errors["valid_from"] = str(_l("The first day cannot be in the past."))
    if start is not None and end is not None and end < start:
        errors["valid_until"] = str(_l("The end date must follow the start date."))
    if errors:
        raise Invalid(str(_l("Please correct the marked fields.")), errors)
    assert other is not None and start is not None
    carrier, client = (mine, other) if direction == "we_carry" else (other, mine)
    clash = session.scalar(select(TransportAgreement).where(
        TransportAgreement.carrier_id == carrier.id, TransportAgreement.client_id == client.id,
        TransportAgreement.status.in_(LIVE),
        or_(TransportAgreement.valid_until.is_(None), TransportAgreement.valid_until >= start),
        *([TransportAgreement.valid_from <= end] if end is not None else [])))
    if clash is not None:
        raise Conflict(str(_l("An agreement between these platforms in this direction is "
                              "already asked for or in force over these dates.")))
    agreement = TransportAgreement(
        carrier_id=carrier.id, client_id=client.id, valid_from=start, valid_until=end,
        note=note.strip()[:1000], requested_by_org_id=mine.id, requested_by_id=actor.id)
    session.add(agreement)
    session.flush()
    events.record(session, actor, agreement, "requested", organisation_id=mine.id,
                  after={"carrier_id": carrier.id, "client_id": client.id,
                         "valid_from": start, "valid_until": end})
    _notify(session, agreement, "requested")
    return agreement


def decide(session: Session, actor: User, agreement: TransportAgreement, action: str,
           reason: str = "") -> TransportAgreement:
    """The asked platform approves or refuses; either platform ends one in force."""
    mine = _coordinator(actor)
    if mine.id not in (agreement.carrier_id, agreement.client_id):
        raise Forbidden(str(_l("This agreement is between other platforms.")))
    reason = reason.strip()[:1000]
    if action in ("approve", "refuse"):
        if mine.id != agreement.deciding_org_id:
            raise Forbidden(str(_l("The other platform decides on your request.")))
        if agreement.status != AgreementStatus.REQUESTED:
            raise Conflict(str(_l("This agreement was already decided.")))
        if action == "refuse" and not reason:
            raise Invalid(str(_l("Give a reason; the other platform will see it.")),
                          {"reason": str(_l("Give a reason."))})
        agreement.status = AgreementStatus.ACTIVE if action == "approve" \
            else AgreementStatus.REFUSED
    elif action == "end":
        if agreement.status != AgreementStatus.ACTIVE:
            raise Conflict(str(_l("Only an agreement in force can be ended.")))
        agreement.status = AgreementStatus.ENDED
        today = local_today()
        if agreement.valid_until is None or agreement.valid_until > today:
            agreement.valid_until = max(today, agreement.valid_from)
    else:
        raise Invalid(str(_l("Unknown decision.")), {"action": str(_l("Unknown decision."))})
    agreement.decision_reason = reason
    agreement.decided_by_id = actor.id
    agreement.decided_at = utcnow()
    session.flush()
    events.record(session, actor, agreement, action, reason=reason, organisation_id=mine.id,
                  after={"status": agreement.status.value})
    _notify(session, agreement, action, by_org_id=mine.id)
    return agreement


# The notices speak of what happened ("approved"), the decisions of what to do ("approve").
_NOTICE = {"approve": "approved", "refuse": "refused", "end": "ended"}


def _notify(session: Session, agreement: TransportAgreement, action: str,
            by_org_id: int | None = None) -> None:
    from . import notifications

    notifications.transport_agreement(session, agreement, _NOTICE.get(action, action),
                                      by_org_id=by_org_id)


def of_platform(session: Session, platform: Organisation) -> list[TransportAgreement]:
    return list(session.scalars(select(TransportAgreement).where(or_(
        TransportAgreement.carrier_id == platform.id,
        TransportAgreement.client_id == platform.id)).order_by(
        TransportAgreement.created_at.desc())))


def carriers_for(session: Session, client_ids: list[int], first: date,
                 last: date) -> dict[int, list[TransportAgreement]]:
    """Agreements in force at some point of [first, last] whose client is in
    ``client_ids``, by carrier id (check ``in_force`` on each run's day)."""
    rows = session.scalars(select(TransportAgreement).where(
        TransportAgreement.client_id.in_(client_ids),
        TransportAgreement.status == AgreementStatus.ACTIVE,
        TransportAgreement.valid_from <= last,
        or_(TransportAgreement.valid_until.is_(None),
            TransportAgreement.valid_until >= first))).all()
    found: dict[int, list[TransportAgreement]] = defaultdict(list)
    for agreement in rows:
        found[agreement.carrier_id].append(agreement)
    return found


@dataclass
class MonthLine:
    month: date
    for_others_kg: float = 0.0
    for_others_stops: int = 0
    by_others_kg: float = 0.0
    by_others_stops: int = 0


def monthly(session: Session, platform: Organisation) -> list[MonthLine]:
    """Per month (of the run's day), kilograms picked up by this platform's vans for
    other platforms' claims, and by other platforms' vans for this one's. Planned and
    done pickups count; refused handovers (cold chain) do not."""
    rows = session.execute(
        select(Run.start_at, Run.platform_id, Claim.platform_id, Stop.load_delta_kg)
        .join(Stop, Stop.run_id == Run.id).join(Claim, Claim.id == Stop.claim_id)
        .where(Stop.kind == StopKind.PICKUP, Stop.status != StopStatus.REJECTED,
               Run.platform_id != Claim.platform_id,
               or_(Run.platform_id == platform.id, Claim.platform_id == platform.id))).all()
    months: dict[date, MonthLine] = {}
    for start_at, carrier_id, _client_id, kg in rows:
        local = start_at.astimezone(BRUSSELS).date().replace(day=1)
        line = months.setdefault(local, MonthLine(local))
        if carrier_id == platform.id:
            line.for_others_kg += kg
            line.for_others_stops += 1
        else:
            line.by_others_kg += kg
            line.by_others_stops += 1
    return sorted(months.values(), key=lambda m: m.month, reverse=True)
