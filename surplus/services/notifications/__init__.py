"""In-app notifications: who is told what, and how their mail is queued.

A notification stores its kind and plain parameters, never translated text: it is
rendered in the reader's language when shown or mailed (:mod:`.text`).
Each recipient's mail state comes from their choice for the kind at creation time:
``pending`` (sent by :func:`deliver_pending`), ``digest`` (gathered by
:func:`send_digests`) or ``none``. Functions flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from ...models import (
    Claim,
    Convention,
    ConventionStatus,
    Lot,
    LotStatus,
    Notification,
    NotificationKind,
    Organisation,
    Recall,
    Role,
    Run,
    Stop,
    TransportAgreement,
    User,
    utcnow,
)
from ..eligibility import channel_accepts, channels_by_org
from ..events import to_plain
from .mail import deliver_pending, send_digests
from .prefs import STATE_FOR_MODE, modes_for

__all__ = [
    "notify",
    "notify_org",
    "lot_claimed",
    "claim_allocated",
    "booked",
    "handover_refused",
    "collection_refused",
    "delivery_missed",
    "stock_expiring",
    "convention_decided",
    "lot_withdrawn",
    "lot_changed",
    "recall_opened",
    "new_lot_offered",
    "transport_agreement",
    "remind_expiring",
    "deliver_pending",
    "send_digests",
    "unread_count",
    "mark_read",
    "mark_all_read",
]
REMIND_DAYS = 30


def notify(
    session: Session,
    users: Iterable[User],
    kind: NotificationKind,
    subject: Any,
    params: dict[str, Any],
) -> list[Notification]:
    """One notification per active user about ``subject`` (a model instance)."""
    rows = [Notification(**row) for row in _rows(session, users, kind, subject, params)]
    session.add_all(rows)
    session.flush()
    return rows


def notify_many(
    session: Session,
    users: Iterable[User],
    kind: NotificationKind,
    subject: Any,
    params: dict[str, Any],
) -> int:
    """:func:`notify` for a crowd (a lot offered to whole networks): the same rows in one
    bulk INSERT, without an object per row; returns how many."""
    rows = _rows(session, users, kind, subject, params)
    if rows:
        session.execute(insert(Notification), rows)
    return len(rows)


def _rows(
    session: Session,
    users: Iterable[User],
    kind: NotificationKind,
    subject: Any,
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    people = {u.id: u for u in users if u.active}
    if not people:
        return []
    modes = modes_for(session, people, kind)
    plain = to_plain(params)
    return [
        {
            "user_id": uid,
            "kind": kind,
            "subject_type": type(subject).__name__.lower(),
            "subject_id": subject.id,
            "params": dict(plain),
            "mail_state": STATE_FOR_MODE[modes[uid]],
        }
        for uid in people
    ]


# Built once: read at every notice (services/eligibility.py says why).
_MEMBERS_OF_ORGS = (
    select(User)
    .where(User.organisation_id.in_(bindparam("orgs", expanding=True)), User.active.is_(True))
    .order_by(User.id)
)
_MEMBERS_IN_ROLES = _MEMBERS_OF_ORGS.where(User.role.in_(bindparam("roles", expanding=True)))


def _users_of(session: Session, org_id: int, roles: Iterable[Role] | None = None) -> list[User]:
    if roles is None:
        return list(session.scalars(_MEMBERS_OF_ORGS, {"orgs": [org_id]}))
    return list(session.scalars(_MEMBERS_IN_ROLES, {"orgs": [org_id], "roles": list(roles)}))


def _users_of_both(session: Session, first: int, second: int) -> list[User]:
    """The active users of two organisations, the first's then the second's, in one query."""
    users = session.scalars(_MEMBERS_OF_ORGS, {"orgs": [first, second]}).all()
    return [u for u in users if u.organisation_id == first] + [
        u for u in users if u.organisation_id == second
    ]


def notify_org(
    session: Session,
    org_id: int,
    kind: NotificationKind,
    subject: Any,
    params: dict[str, Any],
    *,
    roles: Iterable[Role] | None = None,
) -> list[Notification]:
    """Notify the active users of an organisation (only those of ``roles`` if given)."""
    return notify(session, _users_of(session, org_id, roles), kind, subject, params)


def _lot_params(lot: Lot) -> dict[str, Any]:
    return {"lot_id": lot.id, "title": lot.title}


def lot_claimed(
    session: Session,
    claim: Claim,
    allocated_by: Organisation | None = None,
    actor: User | None = None,
) -> list[Notification]:
    """Tell the donor that kilograms of its lot were claimed, and by whom; or, for a
    platform's allocation, to whom it was allocated. The acting user is not told what
    they did themselves (a coordinator allocating the platform's own lots)."""
    lot = claim.lot
    params = {
        **_lot_params(lot),
        "kg": claim.kg,
        "beneficiary": claim.beneficiary.name,
        "platform": claim.platform.name,
    }
    if allocated_by is not None:
        params["allocated_by"] = allocated_by.name
    users = [u for u in _users_of(session, lot.donor_id) if actor is None or u.id != actor.id]
    return notify(session, users, NotificationKind.LOT_CLAIMED, claim, params)


def claim_allocated(
    session: Session, claim: Claim, platform: Organisation, delivery: datetime | None
) -> list[Notification]:
    """Tell the beneficiary that a platform's allocation claimed kilograms for it: what,
    how much, from whom, and when it is delivered (``delivery``: None until booked)."""
    lot = claim.lot
    return notify_org(
        session,
        claim.beneficiary_id,
        NotificationKind.CLAIM_ALLOCATED,
        claim,
        {
            **_lot_params(lot),
            "kg": claim.kg,
            "platform": platform.name,
            "donor": lot.donor.name,
            "delivery": delivery,
        },
    )


def booked(
    session: Session,
    claim: Claim,
    run: Run | None,
    pickup_eta: datetime | None,
    drop_eta: datetime | None = None,
) -> list[Notification]:
    """Tell the donor and the beneficiary when the claim will be picked up and delivered
    (``run`` is None for self-collection)."""
    lot = claim.lot
    params = {
        **_lot_params(lot),
        "kg": claim.kg,
        "run_id": run.id if run else None,
        "run": run.name if run else None,
        "platform": claim.platform.name,
        "pickup": pickup_eta,
        "delivery": drop_eta,
        "beneficiary": claim.beneficiary.name,
    }
    users = _users_of_both(session, lot.donor_id, claim.beneficiary_id)
    return notify(session, users, NotificationKind.BOOKING, claim, params)


def _without_run(claim: Claim, **flag: bool) -> dict[str, Any]:
    """A booking notice's figures for a claim no run carries (``flag``: which case)."""
    lot = claim.lot
    return {
        **_lot_params(lot),
        "kg": claim.kg,
        "run_id": None,
        "run": None,
        "platform": claim.platform.name,
        "beneficiary": claim.beneficiary.name,
        "donor": lot.donor.name,
        **flag,
    }


def given_back(session: Session, claim: Claim) -> list[Notification]:
    """Tell the beneficiary and the donor that no run could carry a claim the platform's
    placement had made, and that its kilograms are on the lot again (a booking notice
    with ``given_back``)."""
    users = _users_of_both(session, claim.beneficiary_id, claim.lot.donor_id)
    params = _without_run(claim, given_back=True)
    return notify(session, users, NotificationKind.BOOKING, claim, params)


def no_run(session: Session, claim: Claim) -> list[Notification]:
    """Tell the beneficiary that no planned run can carry its claim before the lot's
    date: it may collect it at the donor, or cancel it (a booking notice with
    ``no_run``)."""
    params = _without_run(claim, no_run=True)
    return notify_org(session, claim.beneficiary_id, NotificationKind.BOOKING, claim, params)


def _refusal_params(
    claim: Claim, at: Any, stage: str, temperature: float | None, verdict: Any
) -> dict[str, Any]:
    lot = claim.lot
    return {
        **_lot_params(lot),
        "kg": claim.kg,
        "at": at,
        "stage": stage,
        "temperature": temperature,
        "limit": verdict.limit_c,
        "reason": verdict.reason,
        "beneficiary": claim.beneficiary.name,
        "donor": lot.donor.name,
        "batch": lot.lot_number,
    }


def _refusal_people(session: Session, claim: Claim) -> list[User]:
    """Who hears of a refused hand-over of the claim: its beneficiary, the coordinators
    of its platform and the donor."""
    return (
        _users_of(session, claim.beneficiary_id)
        + _users_of(session, claim.platform_id, [Role.COORDINATOR])
        + _users_of(session, claim.lot.donor_id)
    )


def handover_refused(
    session: Session, claim: Claim, stop: Stop, verdict: Any
) -> list[Notification]:
    """Tell the beneficiary, the donor and the coordinators of the claim's platform (and
    of the carrying platform, on its run) that a hand-over of the claim was refused:
    what, how many kg, when, at what temperature against which limit, and why."""
    lot = claim.lot
    stage = stop.kind.value if stop.leg == 0 else f"{stop.kind.value}_leg{stop.leg}"
    params = _refusal_params(claim, stop.confirmed_at, stage, stop.temperature_c, verdict)
    users = _refusal_people(session, claim)
    rows = notify(session, users, NotificationKind.HANDOVER_REFUSED, claim, params)
    carrier = stop.run.platform_id
    if carrier not in (claim.platform_id, claim.beneficiary_id, lot.donor_id):
        rows += notify_org(
            session,
            carrier,
            NotificationKind.HANDOVER_REFUSED,
            stop.run,
            params,
            roles=[Role.COORDINATOR],
        )
    return rows


def collection_refused(
    session: Session, claim: Claim, at: datetime, temperature: float | None, verdict: Any
) -> list[Notification]:
    """The same notice, to the same people, when the hand-over refused was the
    beneficiary's own collection at the donor's (stage ``self_collection``; no run)."""
    params = _refusal_params(claim, at, "self_collection", temperature, verdict)
    users = _refusal_people(session, claim)
    return notify(session, users, NotificationKind.HANDOVER_REFUSED, claim, params)


def delivery_missed(session: Session, claim: Claim, stop: Stop) -> list[Notification]:
    """Tell the beneficiary and the coordinators of the claim's platform and of the
    run's that nobody was there to receive the claim's food: what, how many kg, when,
    on which run, and which platform took it back (the driver's note, if any)."""
    lot, run = claim.lot, stop.run
    params = {
        **_lot_params(lot),
        "kg": claim.kg,
        "at": stop.confirmed_at,
        "beneficiary": claim.beneficiary.name,
        "run": run.name,
        "platform": run.platform.name,
        "note": stop.note,
    }
    users = _users_of(session, claim.beneficiary_id) + _users_of(
        session, claim.platform_id, [Role.COORDINATOR]
    )
    rows = notify(session, users, NotificationKind.DELIVERY_MISSED, claim, params)
    if run.platform_id not in (claim.platform_id, claim.beneficiary_id):
        rows += notify_org(
            session,
            run.platform_id,
            NotificationKind.DELIVERY_MISSED,
            run,
            params,
            roles=[Role.COORDINATOR],
        )
    return rows


def receipt_refused(session: Session, receipt: Any) -> list[Notification]:
    """Tell the donor (a claim's lot's, or the one at the door) and the depot platform's
    coordinators that food was refused at the depot's door: what, how many kg, when,
    the reading and why. The food goes back to its source."""
    params = {
        "title": receipt.product,
        "kg": receipt.grams / 1000,
        "at": receipt.checked_at,
        "temperature": receipt.temperature_c,
        "depot": receipt.depot.name,
        "reason_text": receipt.refusal_reason,
        "lot_id": receipt.claim.lot_id if receipt.claim is not None else None,
    }
    rows: list[Notification] = []
    if receipt.donor_id is not None:
        rows += notify_org(
            session, receipt.donor_id, NotificationKind.RECEIPT_REFUSED, receipt, params
        )
    rows += notify_org(
        session,
        receipt.depot.platform_id,
        NotificationKind.RECEIPT_REFUSED,
        receipt,
        params,
        roles=[Role.COORDINATOR],
    )
    return rows


def stock_expiring(
    session: Session, item: Any, day: date, days_left: int | None
) -> list[Notification]:
    """Tell the depot platform's coordinators that a stock item nears (or passed) its
    last day: what, kilograms, zone, depot, date and days left. ``day`` is the day of
    the alert, kept so that the daily job tells them once a day."""
    params = {
        "item_id": item.id,
        "title": item.product,
        "kg": item.grams / 1000,
        "zone": item.zone.name,
        "depot": item.depot.name,
        "date_kind": item.date_kind,
        "date": item.best_date,
        "days_left": days_left,
        "day": day,
    }
    return notify_org(
        session,
        item.depot.platform_id,
        NotificationKind.STOCK_EXPIRING,
        item,
        params,
        roles=[Role.COORDINATOR],
    )


def convention_decided(session: Session, conv: Convention) -> list[Notification]:
    """Tell the beneficiary the coordinator's decision and its reason."""
    return notify_org(
        session,
        conv.beneficiary_id,
        NotificationKind.CONVENTION_DECISION,
        conv,
        {
            "status": conv.status,
            "reason": conv.decision_reason or "",
            "platform": conv.platform.name,
        },
    )


def lot_withdrawn(session: Session, lot: Lot, claims: Iterable[Claim]) -> list[Notification]:
    """Tell each claimant organisation (once, with its kilograms) that the lot is gone.
    A recall has its own notification, with each holder's figures (:func:`recall_opened`)."""
    kg_by_org: dict[int, float] = {}
    for claim in claims:
        kg_by_org[claim.beneficiary_id] = kg_by_org.get(claim.beneficiary_id, 0) + claim.kg
    rows: list[Notification] = []
    for org_id, kg in kg_by_org.items():
        rows += notify_org(
            session,
            org_id,
            NotificationKind.LOT_WITHDRAWN,
            lot,
            {
                **_lot_params(lot),
                "kg": round(kg, 3),
                "reason": lot.status_reason or "",
                "donor": lot.donor.name,
                "batch": lot.lot_number,
            },
        )
    return rows


def lot_changed(
    session: Session,
    lot: Lot,
    org_ids: Iterable[int],
    changed: dict[str, tuple[Any, Any]],
) -> list[Notification]:
    """Tell each organisation holding a claim on the lot what its donor changed
    (``changed``: ``{column: (before, after)}``): the window, old and new; the new
    description; the weight, old and new."""
    params: dict[str, Any] = {**_lot_params(lot), "donor": lot.donor.name}
    if "pickup_from" in changed or "pickup_until" in changed:
        window = [changed.get(k, (getattr(lot, k), getattr(lot, k))) for k in _WINDOW]
        params["window"] = [window[0][0], window[1][0], window[0][1], window[1][1]]
    if "description" in changed:
        params["description"] = changed["description"][1]
    if "weight_g" in changed:
        params["weight_kg"] = [g / 1000 for g in changed["weight_g"]]
    if "units" in changed:
        params["units"] = changed["units"][1]
    rows: list[Notification] = []
    for org_id in org_ids:
        rows += notify_org(session, org_id, NotificationKind.LOT_CHANGED, lot, params)
    return rows


_WINDOW = ("pickup_from", "pickup_until")


def recall_opened(
    session: Session,
    recall: Recall,
    carried: dict[int, dict[str, float]],
    on_road: set[int],
) -> list[Notification]:
    """Tell each holder its own figures (what, kilograms delivered, in transit and
    cancelled, when, why, what to do), the coordinators of each platform carrying the
    food the figures of the claims it carries, and, for a platform with a run on the
    road carrying it, all its members: runs have no per-driver assignment, so the crew
    is the platform's team. ``carried``: each carrying platform's kilograms
    (``kg_delivered``, ``kg_in_transit``, ``kg_cancelled``) at the recall."""
    lot = recall.lot
    base = {
        **_lot_params(lot),
        "recall_id": recall.id,
        "donor": lot.donor.name,
        "batch": lot.lot_number,
        "reason": recall.reason,
        "at": recall.opened_at,
    }
    rows: list[Notification] = []
    for holder in recall.holders:
        if holder.status == "refused":
            continue  # it never received that food, and was told of the refusal
        params = {
            **base,
            "role": "holder",
            "kg_delivered": holder.kg_delivered,
            "kg_in_transit": holder.kg_in_transit,
            "kg_cancelled": holder.kg_cancelled,
        }
        rows += notify_org(session, holder.organisation_id, NotificationKind.RECALL, recall, params)
    for platform_id, figures in sorted(carried.items()):
        params = {**base, "role": "carrier", "on_road": platform_id in on_road, **figures}
        roles = None if platform_id in on_road else [Role.COORDINATOR]
        rows += notify_org(
            session, platform_id, NotificationKind.RECALL, recall, params, roles=roles
        )
    return rows


# Built once: read at every offer of a lot (services/eligibility.py says why). The
# networks' organisations: IN rather than DISTINCT, PostgreSQL cannot compare the JSON
# columns.
_NETWORKS = (
    select(Organisation)
    .where(
        Organisation.id.in_(
            select(Convention.beneficiary_id).where(
                Convention.platform_id.in_(bindparam("platforms", expanding=True)),
                Convention.status == ConventionStatus.ACTIVE,
            )
        )
    )
    .order_by(Organisation.id)
)
_TOLD_OF_LOT = (
    select(User.organisation_id)
    .join(Notification, Notification.user_id == User.id)
    .where(
        Notification.kind == NotificationKind.NEW_LOT,
        Notification.subject_type == "lot",
        Notification.subject_id == bindparam("lot"),
    )
)


def new_lot_offered(session: Session, lot: Lot, platform_ids: list[int]) -> int:
    """Tell the beneficiaries of these platforms' networks whose conventions accept the
    lot, each organisation once per lot; returns the number of notifications created."""
    if not platform_ids or lot.status != LotStatus.OPEN or lot.remaining_g <= 0:
        return 0
    candidates = session.scalars(_NETWORKS, {"platforms": list(platform_ids)}).all()
    already = set(session.scalars(_TOLD_OF_LOT, {"lot": lot.id}))
    wanted = set(platform_ids)
    params = {
        **_lot_params(lot),
        "kg": lot.remaining_kg,
        "donor": lot.donor.name,
        "locality": lot.pickup_locality,
        "date_kind": lot.date_kind,
        "date": lot.best_date,
        "storage": lot.storage,
    }
    chans = channels_by_org(
        session, [o for o in candidates if o.id not in already and o.id != lot.donor_id]
    )
    told = [
        org_id
        for org_id, org_chans in chans.items()
        if any(ch.convention.platform_id in wanted and channel_accepts(ch, lot) for ch in org_chans)
    ]
    if not told:
        return 0
    # The active users of every organisation told, in one query and in the order of
    # notifying each organisation in turn (its users by id); one flush for them all.
    members: dict[int, list[User]] = {}
    for user in session.scalars(_MEMBERS_OF_ORGS, {"orgs": told}):
        members.setdefault(user.organisation_id, []).append(user)
    users = [user for org_id in told for user in members.get(org_id, [])]
    return notify_many(session, users, NotificationKind.NEW_LOT, lot, params)


def transport_agreement(
    session: Session, agreement: TransportAgreement, action: str, *, by_org_id: int | None = None
) -> list[Notification]:
    """Tell the coordinators concerned: on ``requested`` the platform that must decide;
    on ``approved`` or ``refused`` the platform that asked; on any other action (such as
    ``ended``) the party other than ``by_org_id`` (both when it is not given)."""
    if action == "requested":
        targets = [agreement.deciding_org_id]
    elif action in ("approved", "refused"):
        targets = [agreement.requested_by_org_id]
    else:
        targets = [o for o in (agreement.carrier_id, agreement.client_id) if o != by_org_id]
    rows: list[Notification] = []
    for org_id in targets:
        other = agreement.other(org_id)
        rows += notify_org(
            session,
            org_id,
            NotificationKind.TRANSPORT_AGREEMENT,
            agreement,
            {"action": action, "platform": other.name, "reason": agreement.decision_reason or ""},
            roles=[Role.COORDINATOR],
        )
    return rows


def _reminded(session: Session, conv: Convention, what: str, day: date) -> bool:
    sent = session.scalars(
        select(Notification.params).where(
            Notification.kind == NotificationKind.EXPIRING_APPROVAL,
            Notification.subject_type == "convention",
            Notification.subject_id == conv.id,
        )
    )
    # JSON equality differs between SQLite and PostgreSQL: compare in Python.
    return any(p.get("what") == what and p.get("date") == day.isoformat() for p in sent)


def remind_expiring(session: Session, today: date) -> int:
    """Warn beneficiaries and their platform's coordinators of conventions ending, and
    FSE+ approvals expiring, within 30 days; never twice for the same convention, kind
    of expiry and date. Returns the number of notifications created."""
    horizon = today + timedelta(days=REMIND_DAYS)
    created = 0
    checks = (
        ("convention", Convention.valid_until),
        ("fse_plus", Convention.fse_plus_approval_expires),
    )
    for what, column in checks:
        query = select(Convention).where(
            Convention.status == ConventionStatus.ACTIVE,
            column.is_not(None),
            column >= today,
            column <= horizon,
        )
        if what == "fse_plus":
            query = query.where(Convention.fse_plus_allowed.is_(True))
        for conv in session.scalars(query.order_by(Convention.id)).all():
            day = conv.valid_until if what == "convention" else conv.fse_plus_approval_expires
            assert day is not None
            if _reminded(session, conv, what, day):
                continue
            params = {
                "what": what,
                "date": day,
                "beneficiary": conv.beneficiary.name,
                "platform": conv.platform.name,
            }
            users = _users_of(session, conv.beneficiary_id) + _users_of(
                session, conv.platform_id, [Role.COORDINATOR]
            )
            created += len(notify(session, users, NotificationKind.EXPIRING_APPROVAL, conv, params))
    return created


def unread_count(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def list_for(user: User):
    """The user's notifications, newest first (a select to paginate)."""
    return (
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())
    )


def mark_read(session: Session, user: User, notification_id: int) -> Notification | None:
    """Mark one of the user's own notifications read; None when it is not theirs."""
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        return None
    if row.read_at is None:
        row.read_at = utcnow()
        session.flush()
    return row


def mark_all_read(session: Session, user: User) -> int:
    return session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
