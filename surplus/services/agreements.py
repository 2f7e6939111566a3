"""Transport agreements between platforms: "the carrier's runs may carry lots claimed
through the client's conventions". One coordinator asks, the other platform approves or
refuses; either may end it. Booking reads ``carriers_for``; coordinators read
``monthly`` (kilograms carried for and by other platforms)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from .. import access
from ..errors import Conflict, Invalid
from ..models import (
    AgreementStatus,
    Claim,
    Organisation,
    Run,
    Stop,
    StopKind,
    StopStatus,
    TransportAgreement,
    User,
    utcnow,
)
from . import events
from .conventions import logistics_platform
from .lot_dates import BRUSSELS, local_today

DIRECTIONS = ("we_carry", "they_carry")
LIVE = (AgreementStatus.REQUESTED, AgreementStatus.ACTIVE)
ONLY_COORDINATORS = _l("Only a platform coordinator manages transport agreements.")


def request(
    session: Session,
    actor: User,
    *,
    other_id: int,
    direction: str,
    valid_from: date,
    valid_until: date | None = None,
    note: str = "",
) -> TransportAgreement:
    """Ask another logistics platform for an agreement; ``direction`` says who carries.
    The dates come checked by ``schemas.agreement`` (from today on, end after start)."""
    mine = access.coordinated_platform(actor, str(ONLY_COORDINATORS))
    other = logistics_platform(session, other_id)
    errors: dict[str, str] = {}
    if other is None or other.id == mine.id:
        errors["other_id"] = str(_l("Choose another platform."))
    if direction not in DIRECTIONS:
        errors["direction"] = str(_l("Say which platform's vans carry."))
    if errors:
        raise Invalid(str(_l("Please correct the marked fields.")), errors)
    assert other is not None
    carrier, client = (mine, other) if direction == "we_carry" else (other, mine)
    clash = session.scalar(
        select(TransportAgreement).where(
            TransportAgreement.carrier_id == carrier.id,
            TransportAgreement.client_id == client.id,
            TransportAgreement.status.in_(LIVE),
            or_(
                TransportAgreement.valid_until.is_(None),
                TransportAgreement.valid_until >= valid_from,
            ),
            *([TransportAgreement.valid_from <= valid_until] if valid_until is not None else []),
        )
    )
    if clash is not None:
        raise Conflict(
            str(
                _l(
                    "An agreement between these platforms in this direction is "
                    "already asked for or in force over these dates."
                )
            )
        )
    agreement = TransportAgreement(
        carrier_id=carrier.id,
        client_id=client.id,
        valid_from=valid_from,
        valid_until=valid_until,
        note=note.strip(),
        requested_by_org_id=mine.id,
        requested_by_id=actor.id,
    )
    session.add(agreement)
    session.flush()
    events.record(
        session,
        actor,
        agreement,
        "requested",
        organisation_id=mine.id,
        after={
            "carrier_id": carrier.id,
            "client_id": client.id,
            "valid_from": valid_from,
            "valid_until": valid_until,
        },
    )
    _notify(session, agreement, "requested")
    return agreement


def _acting_for(actor: User, agreement: TransportAgreement) -> int:
    """The platform on whose behalf ``actor`` decides: its own when it is a party (a
    site admin of neither acts for the deciding one)."""
    parties = (agreement.carrier_id, agreement.client_id)
    if not any(access.coordinates(actor, org_id) for org_id in parties):
        access.deny(str(_l("This agreement is between other platforms.")))
    return actor.organisation_id if actor.organisation_id in parties else agreement.deciding_org_id


def decide(
    session: Session, actor: User, agreement: TransportAgreement, action: str, reason: str = ""
) -> TransportAgreement:
    """The asked platform approves or refuses; either platform ends one in force."""
    by_org = _acting_for(actor, agreement)
    action = str(action)
    reason = reason.strip()
    if action in ("approve", "refuse"):
        if by_org != agreement.deciding_org_id:
            access.deny(str(_l("The other platform decides on your request.")))
        if agreement.status != AgreementStatus.REQUESTED:
            raise Conflict(str(_l("This agreement was already decided.")))
        if action == "refuse" and not reason:
            raise Invalid(
                str(_l("Give a reason; the other platform will see it.")),
                {"reason": str(_l("Give a reason."))},
            )
        agreement.status = (
            AgreementStatus.ACTIVE if action == "approve" else AgreementStatus.REFUSED
        )
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
    events.record(
        session,
        actor,
        agreement,
        action,
        reason=reason,
        organisation_id=by_org,
        after={"status": agreement.status.value},
    )
    _notify(session, agreement, action, by_org_id=by_org)
    return agreement


# The notices speak of what happened ("approved"), the decisions of what to do ("approve").
_NOTICE = {"approve": "approved", "refuse": "refused", "end": "ended"}


def _notify(
    session: Session, agreement: TransportAgreement, action: str, by_org_id: int | None = None
) -> None:
    from . import notifications

    notifications.transport_agreement(
        session, agreement, _NOTICE.get(action, action), by_org_id=by_org_id
    )


def of_platform(session: Session, platform: Organisation) -> list[TransportAgreement]:
    return list(
        session.scalars(
            select(TransportAgreement)
            .where(
                or_(
                    TransportAgreement.carrier_id == platform.id,
                    TransportAgreement.client_id == platform.id,
                )
            )
            .order_by(TransportAgreement.created_at.desc())
        )
    )


# Built once: read at every reach and booking (services/eligibility.py says why).
_CARRIERS_FOR = select(TransportAgreement).where(
    TransportAgreement.client_id.in_(bindparam("clients", expanding=True)),
    TransportAgreement.status == AgreementStatus.ACTIVE,
    TransportAgreement.valid_from <= bindparam("last"),
    or_(
        TransportAgreement.valid_until.is_(None),
        TransportAgreement.valid_until >= bindparam("first"),
    ),
)


def carriers_for(
    session: Session, client_ids: list[int], first: date, last: date
) -> dict[int, list[TransportAgreement]]:
    """Agreements in force at some point of [first, last] whose client is in
    ``client_ids``, by carrier id (check ``in_force`` on each run's day)."""
    rows = session.scalars(
        _CARRIERS_FOR, {"clients": list(client_ids), "first": first, "last": last}
    ).all()
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
        .join(Stop, Stop.run_id == Run.id)
        .join(Claim, Claim.id == Stop.claim_id)
        .where(
            Stop.kind == StopKind.PICKUP,
            Stop.status != StopStatus.REJECTED,
            Run.platform_id != Claim.platform_id,
            or_(Run.platform_id == platform.id, Claim.platform_id == platform.id),
        )
    ).all()
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
