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

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, Forbidden, Invalid
from ..models import (
    Claim,
    ClaimStatus,
    Convention,
    ConventionStatus,
    Organisation,
    OrgKind,
    User,
    Verification,
    utcnow,
)
from . import events, notifications
from .convention_input import Figures, parse_figures
from .lot_dates import local_today

OPEN_STATUSES = (ConventionStatus.REQUESTED, ConventionStatus.ACTIVE, ConventionStatus.SUSPENDED)
TRACKED = ("status", "valid_from", "valid_until", "fse_plus_allowed",
           "fse_plus_approval_number", "fse_plus_approval_expires", "persons_per_week",
           "chilled_capacity_kg", "frozen_capacity_kg", "accepted_categories")
# Which transitions each decision allows.
TRANSITIONS = {
    "approve": (ConventionStatus.REQUESTED, ConventionStatus.ACTIVE),
    "decline": (ConventionStatus.REQUESTED,),
    "suspend": (ConventionStatus.ACTIVE,),
    "reinstate": (ConventionStatus.SUSPENDED,),
    "end": (ConventionStatus.ACTIVE, ConventionStatus.SUSPENDED),
}
TARGET = {"approve": ConventionStatus.ACTIVE, "decline": ConventionStatus.DECLINED,
          "suspend": ConventionStatus.SUSPENDED, "reinstate": ConventionStatus.ACTIVE,
          "end": ConventionStatus.ENDED}


def _invalid(errors: dict[str, str]) -> Invalid:
    return Invalid(str(_l("Please correct the marked fields.")), errors)


def platforms_for(session: Session, org: Organisation) -> list[tuple[Organisation, float, bool]]:
    """Verified platforms by distance, each with whether it serves the org's commune.
    A platform-kind organisation with neither a depot nor a service area (the site's own
    team) is not a logistics platform one can work with, and is left out."""
    from .. import geo
    from ..models import Depot

    with_depot = set(session.scalars(select(Depot.platform_id)))
    rows = session.scalars(select(Organisation).where(
        Organisation.kind == OrgKind.PLATFORM,
        Organisation.verification == Verification.VERIFIED)).all()
    found = [(p, geo.road_km(org.lat, org.lon, p.lat, p.lon),
              org.postcode in (p.service_postcodes or []))
             for p in rows if p.service_postcodes or p.id in with_depot]
    return sorted(found, key=lambda item: item[1])


def _apply(conv: Convention, f: Figures) -> None:
    for name in ("persons_per_week", "chilled_capacity_kg", "frozen_capacity_kg",
                 "accepted_categories", "opening_hours", "fse_plus_approval_number",
                 "fse_plus_approval_expires", "contact_name", "contact_phone"):
        setattr(conv, name, getattr(f, name))


def request_convention(session: Session, actor: User, platform_id: Any,
                       data: dict[str, Any]) -> Convention:
    """A beneficiary's admin asks a platform for a convention."""
    org = actor.organisation
    if not org.is_beneficiary or not actor.is_org_admin:
        raise Forbidden(str(_l("Only a CPAS or association administrator can request a "
                               "convention.")))
    platform = session.get(Organisation, platform_id) if str(platform_id).isdigit() else None
    if platform is None or platform.kind != OrgKind.PLATFORM \
            or platform.verification != Verification.VERIFIED:
        raise _invalid({"platform_id": str(_l("Choose a platform from the list."))})
    figures, errors = parse_figures(data)
    if errors:
        raise _invalid(errors)
    existing = session.scalar(select(Convention).where(
        Convention.platform_id == platform.id, Convention.beneficiary_id == org.id,
        Convention.status.in_(OPEN_STATUSES)))
    if existing is not None:
        raise Conflict(str(_l("You already have a convention with this platform.")),
                       convention_id=existing.id)
    conv = Convention(platform_id=platform.id, beneficiary_id=org.id,
                      status=ConventionStatus.REQUESTED)
    _apply(conv, figures)
    if figures.afsca_number:
        org.afsca_number = figures.afsca_number
    session.add(conv)
    session.flush()
    events.record(session, actor, conv, "requested", after=events.snapshot(conv, *TRACKED))
    return conv


def _widens(conv: Convention, f: Figures) -> dict[str, Any]:
    """The changes that would let the beneficiary receive more than approved."""
    wider: dict[str, Any] = {}
    if (f.fse_plus_approval_number, f.fse_plus_approval_expires) != (
            conv.fse_plus_approval_number, conv.fse_plus_approval_expires):
        wider["fse_plus_approval_number"] = f.fse_plus_approval_number
        wider["fse_plus_approval_expires"] = (f.fse_plus_approval_expires.isoformat()
                                              if f.fse_plus_approval_expires else None)
    if f.chilled_capacity_kg > 0 and conv.chilled_capacity_kg <= 0:
        wider["chilled_capacity_kg"] = f.chilled_capacity_kg
    if f.frozen_capacity_kg > 0 and conv.frozen_capacity_kg <= 0:
        wider["frozen_capacity_kg"] = f.frozen_capacity_kg
    old, new = set(conv.accepted_categories or []), set(f.accepted_categories)
    if old and (not new or not new <= old):
        wider["accepted_categories"] = f.accepted_categories
    return wider


def update_figures(session: Session, actor: User, conv: Convention,
                   data: dict[str, Any]) -> dict[str, Any]:
    """The beneficiary updates its figures; returns the changes held for approval."""
    if conv.beneficiary_id != actor.organisation_id or not actor.is_org_admin:
        raise Forbidden(str(_l("Only the beneficiary's administrator can change these figures.")))
    if conv.status not in OPEN_STATUSES:
        raise Invalid(str(_l("This convention has ended; request a new one.")))
    figures, errors = parse_figures(data)
    if errors:
        raise _invalid(errors)
    before = events.snapshot(conv, *TRACKED)
    held = _widens(conv, figures) if conv.status != ConventionStatus.REQUESTED else {}
    kept = {name: getattr(conv, name) for name in held}
    _apply(conv, figures)
    for name, value in kept.items():  # widening values wait for the coordinator
        setattr(conv, name, value)
    conv.pending_changes = held or None
    if figures.afsca_number:
        actor.organisation.afsca_number = figures.afsca_number
    session.flush()
    events.record(session, actor, conv, "figures_updated", before=before,
                  after={**events.snapshot(conv, *TRACKED), "pending": held},
                  organisation_id=conv.beneficiary_id)
    return held


def may_decide(actor: User, conv: Convention) -> bool:
    return actor.is_site_admin or (actor.is_coordinator
                                   and actor.organisation_id == conv.platform_id)


def parse_day(raw: Any, name: str, errors: dict[str, str]) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        errors[name] = str(_l("Enter a date as YYYY-MM-DD."))
        return None


def decide(session: Session, actor: User, conv: Convention, action: str, *,
           reason: str = "", valid_from: Any = None, valid_until: Any = None,
           fse_plus: bool = False) -> Convention:
    """A coordinator approves (or updates the terms), declines, suspends, reinstates or
    ends a convention. Approving also accepts any pending figure changes."""
    if not may_decide(actor, conv):
        raise Forbidden(str(_l("Only a coordinator of this platform can decide.")))
    if action not in TRANSITIONS:
        raise Invalid(str(_l("Unknown decision.")), {"action": str(_l("Unknown decision."))})
    if conv.status not in TRANSITIONS[action]:
        from ..labels import label

        raise Conflict(str(_l("This convention is %(status)s; this decision does not apply.",
                              status=label("convention_status", conv.status))))
    reason = reason.strip()
    errors: dict[str, str] = {}
    if action in ("decline", "suspend", "end") and not reason:
        errors["reason"] = str(_l("Give a reason; the beneficiary will see it."))
    before = events.snapshot(conv, *TRACKED)
    if action == "approve":
        for name, value in (conv.pending_changes or {}).items():
            if name == "fse_plus_approval_expires" and value:
                value = date.fromisoformat(value)
            setattr(conv, name, value)
        start = parse_day(valid_from, "valid_from", errors) or conv.valid_from or local_today()
        end = parse_day(valid_until, "valid_until", errors)
        if end is not None and end < start:
            errors["valid_until"] = str(_l("The end date must follow the start date."))
        if fse_plus and not (conv.fse_plus_approval_number and conv.fse_plus_approval_expires
                             and conv.fse_plus_approval_expires >= local_today()):
            errors["fse_plus"] = str(_l("FSE+ needs an approval number and an unexpired "
                                        "approval date on file."))
        if not errors:
            conv.valid_from, conv.valid_until = start, end
            conv.fse_plus_allowed = bool(fse_plus)
            conv.pending_changes = None
    if errors:  # the caller rolls back what was applied in memory
        raise _invalid(errors)
    conv.status = TARGET[action]
    conv.decision_reason = reason
    conv.decided_at = utcnow()
    session.flush()
    events.record(session, actor, conv, action, before=before,
                  after=events.snapshot(conv, *TRACKED), reason=reason,
                  organisation_id=conv.platform_id)
    events.record(session, actor, conv, action, reason=reason,
                  after={"status": conv.status.value}, organisation_id=conv.beneficiary_id)
    notifications.convention_decided(session, conv)
    return conv


def live_claims(session: Session, conv: Convention) -> list[Claim]:
    """Claims made through the convention that are still to be collected or delivered."""
    return list(session.scalars(select(Claim).where(
        Claim.convention_id == conv.id,
        Claim.status.in_([ClaimStatus.ACTIVE, ClaimStatus.COLLECTED])).order_by(Claim.id)))


def history(session: Session, conv: Convention) -> list:
    from ..models import Event

    return list(session.scalars(select(Event).where(
        Event.subject_type == "convention", Event.subject_id == conv.id,
        Event.organisation_id == conv.beneficiary_id).order_by(Event.id)))

