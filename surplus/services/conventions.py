"""Conventions between platforms and beneficiaries: requested by the beneficiary,
decided by the platform's coordinators, the gate of every claim (DESIGN.md §3 rule 4).

Interpretations written down here:
- A beneficiary's figure changes that *widen* what it may receive (a new or changed FSE+
  approval, a cold-chain class it did not declare, categories it did not accept) wait in
  ``pending_changes`` for a coordinator; narrowing changes and contact details apply at
  once, since they can only make Maillon more careful.
- Suspending or ending stops new claims at once (eligibility reads the status); the live
  claims made through the convention stay, listed for the coordinator to keep or cancel.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import access
from ..errors import Conflict, Invalid
from ..models import (
    IN_TRANSIT_CLAIM_STATUSES,
    Claim,
    Convention,
    ConventionStatus,
    Depot,
    DistributionMode,
    Organisation,
    OrgKind,
    User,
    Verification,
    utcnow,
)
from . import events, notifications
from .lot_dates import local_today

OPEN_STATUSES = (ConventionStatus.REQUESTED, ConventionStatus.ACTIVE, ConventionStatus.SUSPENDED)
TRACKED = (
    "status",
    "valid_from",
    "valid_until",
    "fse_plus_allowed",
    "fse_plus_approval_number",
    "fse_plus_approval_expires",
    "distribution_mode",
    "persons_per_week",
    "chilled_capacity_kg",
    "frozen_capacity_kg",
    "accepted_categories",
    "self_collect_km",
)
# The figures a beneficiary declares (schemas.convention loads them typed).
FIGURES = (
    "distribution_mode",
    "persons_per_week",
    "chilled_capacity_kg",
    "frozen_capacity_kg",
    "accepted_categories",
    "self_collect_km",
    "opening_hours",
    "fse_plus_approval_number",
    "fse_plus_approval_expires",
    "contact_name",
    "contact_phone",
)
APPROVAL = ("fse_plus_approval_number", "fse_plus_approval_expires")
# Which transitions each decision allows.
TRANSITIONS = {
    "approve": (ConventionStatus.REQUESTED, ConventionStatus.ACTIVE),
    "decline": (ConventionStatus.REQUESTED,),
    "suspend": (ConventionStatus.ACTIVE,),
    "reinstate": (ConventionStatus.SUSPENDED,),
    "end": (ConventionStatus.ACTIVE, ConventionStatus.SUSPENDED),
}
TARGET = {
    "approve": ConventionStatus.ACTIVE,
    "decline": ConventionStatus.DECLINED,
    "suspend": ConventionStatus.SUSPENDED,
    "reinstate": ConventionStatus.ACTIVE,
    "end": ConventionStatus.ENDED,
}


def _invalid(errors: dict[str, str]) -> Invalid:
    return Invalid(str(_l("Please correct the marked fields.")), errors)


def logistics_platforms(session: Session) -> list[Organisation]:
    """The platforms one can work with: verified, of kind platform, with a depot or a
    service area. The site team's own organisation is of kind platform but has neither,
    so it is none."""
    with_depot = set(session.scalars(select(Depot.platform_id)))
    rows = session.scalars(
        select(Organisation)
        .where(
            Organisation.kind == OrgKind.PLATFORM,
            Organisation.verification == Verification.VERIFIED,
        )
        .order_by(Organisation.name)
    )
    return [p for p in rows if p.service_postcodes or p.id in with_depot]


def logistics_platform(session: Session, org_id: int) -> Organisation | None:
    return next((p for p in logistics_platforms(session) if p.id == org_id), None)


def platforms_for(session: Session, org: Organisation) -> list[tuple[Organisation, float, bool]]:
    """The logistics platforms by distance, each with whether it serves the org's commune."""
    from .. import geo

    found = [
        (
            p,
            geo.road_km(org.lat, org.lon, p.lat, p.lon),
            org.postcode in (p.service_postcodes or []),
        )
        for p in logistics_platforms(session)
    ]
    return sorted(found, key=lambda item: item[1])


def _require_beneficiary_admin(actor: User, org: Organisation, message: str) -> None:
    if not (org.is_beneficiary and access.can(actor, access.CHANGE, org)):
        access.deny(message)


def _check_approval(figures: Mapping[str, Any]) -> None:
    """An FSE+ approval is a number and an expiry date, both or neither."""
    number, expires = figures.get(APPROVAL[0]), figures.get(APPROVAL[1])
    if number and expires is None:
        raise _invalid({APPROVAL[1]: str(_l("Give the expiry date of the FSE+ approval."))})
    if expires is not None and not number:
        raise _invalid({APPROVAL[0]: str(_l("Give the FSE+ approval number."))})


def request_convention(
    session: Session, actor: User, platform_id: int, figures: Mapping[str, Any]
) -> Convention:
    """A beneficiary's admin asks a logistics platform for a convention; ``figures`` as
    loaded by ``schemas.convention`` (the model's defaults fill what is left out)."""
    org = actor.organisation
    _require_beneficiary_admin(
        actor, org, str(_l("Only a CPAS or association administrator can request a convention."))
    )
    platform = logistics_platform(session, platform_id)
    if platform is None:
        raise _invalid({"platform_id": str(_l("Choose a platform from the list."))})
    _check_approval(figures)
    existing = session.scalar(
        select(Convention).where(
            Convention.platform_id == platform.id,
            Convention.beneficiary_id == org.id,
            Convention.status.in_(OPEN_STATUSES),
        )
    )
    if existing is not None:
        raise Conflict(
            str(_l("You already have a convention with this platform.")), convention_id=existing.id
        )
    # Left out: as the organisation declared at sign-up.
    figures = {
        **figures,
        "distribution_mode": figures.get("distribution_mode") or org.distribution_mode,
    }
    if figures["distribution_mode"] is None:
        raise _invalid({"distribution_mode": str(_l("Say how you hand out the food."))})
    conv = Convention(
        platform_id=platform.id, beneficiary_id=org.id, status=ConventionStatus.REQUESTED
    )
    for name in FIGURES:
        if name in figures:
            setattr(conv, name, figures[name])
    if figures.get("afsca_number"):
        org.afsca_number = figures["afsca_number"]
    session.add(conv)
    session.flush()
    events.record(session, actor, conv, "requested", after=events.snapshot(conv, *TRACKED))
    return conv


def _widens(conv: Convention, wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The changes that would let the beneficiary receive more than approved."""
    wider: dict[str, Any] = {}
    number, expires = wanted[APPROVAL[0]], wanted[APPROVAL[1]]
    # A new or changed approval waits; giving one up narrows, and applies at once.
    if number and (number, expires) != (
        conv.fse_plus_approval_number,
        conv.fse_plus_approval_expires,
    ):
        wider[APPROVAL[0]] = number
        wider[APPROVAL[1]] = expires.isoformat() if expires else None
    if wanted["chilled_capacity_kg"] > 0 and conv.chilled_capacity_kg <= 0:
        wider["chilled_capacity_kg"] = wanted["chilled_capacity_kg"]
    if wanted["frozen_capacity_kg"] > 0 and conv.frozen_capacity_kg <= 0:
        wider["frozen_capacity_kg"] = wanted["frozen_capacity_kg"]
    # Free distribution opens FSE+ stock (and VAT-relieved donations): it waits.
    if wanted["distribution_mode"].is_free and not conv.distribution_mode.is_free:
        wider["distribution_mode"] = wanted["distribution_mode"].value
    old, new = set(conv.accepted_categories or []), set(wanted["accepted_categories"])
    if old and (not new or not new <= old):
        wider["accepted_categories"] = list(wanted["accepted_categories"])
    return wider


def update_figures(
    session: Session, actor: User, conv: Convention, figures: Mapping[str, Any]
) -> dict[str, Any]:
    """The beneficiary changes the figures given in ``figures`` (the others keep their
    value: the API's PATCH sends some, the page's form all). Returns the changes held
    for the coordinator; a newer value of a field replaces the one held before."""
    _require_beneficiary_admin(
        actor,
        conv.beneficiary,
        str(_l("Only the beneficiary's administrator can change these figures.")),
    )
    if conv.status not in OPEN_STATUSES:
        raise Invalid(str(_l("This convention has ended; request a new one.")))
    given = {name for name in FIGURES if name in figures}
    if given & set(APPROVAL):
        given |= set(APPROVAL)  # the approval is held or applied as a pair
    # The pair rule reads the result, hence here and not in the schema: a PATCH may
    # send only the number and keep the date on file.
    wanted = {name: figures[name] if name in figures else getattr(conv, name) for name in FIGURES}
    if wanted["distribution_mode"] is None:  # blank on the form or null: keep what is on file
        wanted["distribution_mode"] = conv.distribution_mode
        given.discard("distribution_mode")
    _check_approval(wanted)
    before = events.snapshot(conv, *TRACKED)
    held = _widens(conv, wanted) if conv.status != ConventionStatus.REQUESTED else {}
    for name in given - set(held):
        setattr(conv, name, wanted[name])
    pending = {k: v for k, v in (conv.pending_changes or {}).items() if k not in given}
    conv.pending_changes = {**pending, **held} or None
    if figures.get("afsca_number"):
        conv.beneficiary.afsca_number = figures["afsca_number"]
    session.flush()
    events.record(
        session,
        actor,
        conv,
        "figures_updated",
        before=before,
        after={**events.snapshot(conv, *TRACKED), "pending": held},
        organisation_id=conv.beneficiary_id,
    )
    return held


def decide(
    session: Session,
    actor: User,
    conv: Convention,
    action: str,
    *,
    reason: str = "",
    valid_from: date | None = None,
    valid_until: date | None = None,
    fse_plus: bool = False,
) -> Convention:
    """A coordinator approves (or updates the terms), declines, suspends, reinstates or
    ends a convention. Approving also accepts any pending figure changes; the validity
    starts on ``valid_from``, else the day on file, else today."""
    access.require_coordinator(
        actor, conv.platform_id, str(_l("Only a coordinator of this platform can decide."))
    )
    action = str(action)
    if action not in TRANSITIONS:
        raise Invalid(str(_l("Unknown decision.")), {"action": str(_l("Unknown decision."))})
    if conv.status not in TRANSITIONS[action]:
        from ..labels import label

        raise Conflict(
            str(
                _l(
                    "This convention is %(status)s; this decision does not apply.",
                    status=label("convention_status", conv.status),
                )
            )
        )
    reason = reason.strip()
    errors: dict[str, str] = {}
    if action in ("decline", "suspend", "end") and not reason:
        errors["reason"] = str(_l("Give a reason; the beneficiary will see it."))
    before = events.snapshot(conv, *TRACKED)
    if action == "approve":
        for name, value in (conv.pending_changes or {}).items():
            if name == APPROVAL[1] and value:
                value = date.fromisoformat(value)
            if name == "distribution_mode":
                value = DistributionMode(value)
            setattr(conv, name, value)
        start = valid_from or conv.valid_from or local_today()
        if valid_until is not None and valid_until < start:
            errors["valid_until"] = str(_l("The end date must follow the start date."))
        if fse_plus and not (
            conv.fse_plus_approval_number
            and conv.fse_plus_approval_expires
            and conv.fse_plus_approval_expires >= local_today()
        ):
            errors["fse_plus"] = str(
                _l("FSE+ needs an approval number and an unexpired approval date on file.")
            )
        if not errors:
            conv.valid_from, conv.valid_until = start, valid_until
            conv.fse_plus_allowed = bool(fse_plus)
            conv.pending_changes = None
    if errors:  # the caller rolls back what was applied in memory
        raise _invalid(errors)
    conv.status = TARGET[action]
    conv.decision_reason = reason
    conv.decided_at = utcnow()
    session.flush()
    events.record(
        session,
        actor,
        conv,
        action,
        before=before,
        after=events.snapshot(conv, *TRACKED),
        reason=reason,
        organisation_id=conv.platform_id,
    )
    events.record(
        session,
        actor,
        conv,
        action,
        reason=reason,
        after={"status": conv.status.value},
        organisation_id=conv.beneficiary_id,
    )
    notifications.convention_decided(session, conv)
    return conv


def live_claims(session: Session, conv: Convention) -> list[Claim]:
    """Claims made through the convention that are still to be collected or delivered."""
    return list(
        session.scalars(
            select(Claim)
            .where(
                Claim.convention_id == conv.id,
                Claim.status.in_(IN_TRANSIT_CLAIM_STATUSES),
            )
            .order_by(Claim.id)
        )
    )


def history(session: Session, conv: Convention) -> list:
    from ..models import Event

    return list(
        session.scalars(
            select(Event)
            .where(
                Event.subject_type == "convention",
                Event.subject_id == conv.id,
                Event.organisation_id == conv.beneficiary_id,
            )
            .order_by(Event.id)
        )
    )
