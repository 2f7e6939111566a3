"""Every "may this user see/change this object" decision, in one place.

Views and API handlers call :func:`get_for` (or :func:`require`), which answers
404 when the object does not exist *or* the user may not see it (so ids of other
organisations reveal nothing) and 403 when the user may see it but not change it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select

from . import clock
from .errors import Forbidden, NotFound
from .models import (
    AllocationBatch,
    AllocationLine,
    Claim,
    Convention,
    Depot,
    DepotZone,
    Event,
    Invitation,
    Lot,
    LotStatus,
    Organisation,
    Recall,
    RecallHolder,
    Run,
    RunTemplate,
    StockItem,
    StockReceipt,
    Stop,
    TransportAgreement,
    User,
    Vehicle,
    db,
)

T = TypeVar("T")
VIEW, CHANGE = "view", "change"
# A lot's donor corrects or extends it after posting (description, window, kilograms,
# photos): its organisation's members, as for withdrawing it.
LOT_EDIT = "lot.edit"


def _same_org(user: User, org_id: int | None) -> bool:
    return org_id is not None and user.organisation_id == org_id


def coordinates(user: User | None, platform_id: int | None = None) -> bool:
    """The one coordinator check: a site admin, or a coordinator of ``platform_id`` (of any
    platform when ``platform_id`` is None)."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_site_admin:
        return True
    return user.is_coordinator and (platform_id is None or _same_org(user, platform_id))


def _platform_serves(user: User, beneficiary_id: int) -> bool:
    """A coordinator sees the organisations of its network (any convention with it)."""
    if not user.is_coordinator:
        return False
    found = db.session.scalar(
        select(Convention.id)
        .where(
            Convention.platform_id == user.organisation_id,
            Convention.beneficiary_id == beneficiary_id,
        )
        .limit(1)
    )
    return found is not None


def can(user: User, action: str, obj: Any) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.is_site_admin:
        return True
    check = _CHECKS.get(type(obj))
    return bool(check and check(user, action, obj))


def _organisation(user: User, action: str, org: Organisation) -> bool:
    if action == VIEW:
        return (
            _same_org(user, org.id)
            or _platform_serves(user, org.id)
            or (
                user.is_coordinator
                and org.verification.value == "pending"
                and may_verify(user, org)
            )
        )
    return _same_org(user, org.id) and user.is_org_admin


def _user(user: User, action: str, other: User) -> bool:
    if other.id == user.id:
        return True
    return _same_org(user, other.organisation_id) and (action == VIEW or user.is_org_admin)


def _invitation(user: User, action: str, inv: Invitation) -> bool:
    return _same_org(user, inv.organisation_id) and user.is_org_admin


def _lot(user: User, action: str, lot: Lot) -> bool:
    if _same_org(user, lot.donor_id):
        return True  # any action, LOT_EDIT included: the donor organisation's members
    if action != VIEW:
        return False
    if lot.status == LotStatus.OPEN and user.organisation.is_beneficiary:
        from .services.eligibility import lot_refusal

        if lot_refusal(db.session, user.organisation, lot) is None:
            return True  # else it may still have claimed some before (below)
    elif lot.status == LotStatus.OPEN and user.organisation.is_platform:
        # A platform sees the open lots offered to its network in their current wave.
        from .services.eligibility import offered_platforms

        offered = offered_platforms(db.session, lot)
        if offered is None or user.organisation_id in offered:
            return True
    return (
        db.session.scalar(
            select(Claim.id)
            .where(
                Claim.lot_id == lot.id,
                or_(
                    Claim.beneficiary_id == user.organisation_id,
                    Claim.platform_id == user.organisation_id,
                ),
            )
            .limit(1)
        )
        is not None
    )


def lot_visible_reason(user: User, lot: Lot) -> str | None:
    """Why an existing open lot is not offered to this user (None when it is)."""
    if can(user, VIEW, lot) or not user.organisation.is_beneficiary:
        return None
    if lot.status != LotStatus.OPEN:
        return None
    from .services.eligibility import lot_refusal

    return lot_refusal(db.session, user.organisation, lot)


# A self-collected claim: record its hand-over at the donor's (services/collection.py).
# The beneficiary's members, who collect it, and the coordinators of its platform.
COLLECT = "claim.collect"


def _claim(user: User, action: str, claim: Claim) -> bool:
    if action == COLLECT:
        return _same_org(user, claim.beneficiary_id) or coordinates(user, claim.platform_id)
    if action == VIEW:
        return (
            _same_org(user, claim.beneficiary_id)
            or _same_org(user, claim.lot.donor_id)
            or _same_org(user, claim.platform_id)
        )
    return _same_org(user, claim.beneficiary_id) or coordinates(user, claim.platform_id)


def _convention(user: User, action: str, conv: Convention) -> bool:
    if action == VIEW:
        return _same_org(user, conv.beneficiary_id) or _same_org(user, conv.platform_id)
    return coordinates(user, conv.platform_id) or (
        _same_org(user, conv.beneficiary_id) and user.is_org_admin
    )


def _platform_asset(user: User, action: str, obj: Depot | Vehicle | Run) -> bool:
    if action == VIEW:
        return _same_org(user, obj.platform_id)
    return coordinates(user, obj.platform_id)


ASSIGN = "run.assign"  # a run: choose who drives it (its platform's coordinators)


def _run(user: User, action: str, run: Run) -> bool:
    """A platform also sees (not changes) another platform's run that carries one of its
    claims under a transport agreement. Only the run's platform's coordinators choose
    its driver (:data:`ASSIGN`)."""
    if action == ASSIGN:
        return coordinates(user, run.platform_id)
    if _platform_asset(user, action, run):
        return True
    return (
        action == VIEW
        and user.organisation.is_platform
        and db.session.scalar(
            select(Stop.id)
            .join(Claim, Claim.id == Stop.claim_id)
            .where(Stop.run_id == run.id, Claim.platform_id == user.organisation_id)
            .limit(1)
        )
        is not None
    )


def sees_whole_run(user: User, run: Run) -> bool:
    """The run's own platform (and a site admin) sees every stop of it; a client platform
    following it under a transport agreement sees only the stops of its own claims
    (:func:`stop_shown`)."""
    return user.is_site_admin or _same_org(user, run.platform_id)


def stop_shown(user: User, stop: Stop) -> bool:
    """Whether a run's page, sheet and API show ``stop`` to ``user``."""
    return sees_whole_run(user, stop.run) or (
        stop.claim is not None and _same_org(user, stop.claim.platform_id)
    )


CONFIRM = "confirm"  # a stop: any member of the run's platform (its drivers) confirms it


def _stop(user: User, action: str, stop: Stop) -> bool:
    if action == CONFIRM:
        return _same_org(user, stop.run.platform_id)
    return _platform_asset(user, action, stop.run)


def _batch(user: User, action: str, batch: AllocationBatch) -> bool:
    """The matcher's proposals are the platform coordinators' work, seen only by them."""
    return coordinates(user, batch.platform_id)


def _line(user: User, action: str, line: AllocationLine) -> bool:
    return _batch(user, action, line.batch)


def _agreement(user: User, action: str, agreement: TransportAgreement) -> bool:
    """Only the two platforms' coordinators see an agreement; the service says who decides."""
    return user.is_coordinator and user.organisation_id in (
        agreement.carrier_id,
        agreement.client_id,
    )


def _event(user: User, action: str, ev: Event) -> bool:
    return action == VIEW and _same_org(user, ev.organisation_id)


_CHECKS = {
    Organisation: _organisation,
    User: _user,
    Invitation: _invitation,
    Lot: _lot,
    Claim: _claim,
    Convention: _convention,
    Vehicle: _platform_asset,
    RunTemplate: _platform_asset,
    Run: _run,
    Stop: _stop,
    Event: _event,
    TransportAgreement: _agreement,
    AllocationBatch: _batch,
    AllocationLine: _line,
}


def require(user: User, action: str, obj: T | None, message: str | None = None) -> T:
    """Return ``obj`` if ``user`` may do ``action`` on it. Otherwise 404 when the user may
    not even see it (ids of other organisations reveal nothing), 403 with ``message``
    when they may see it but not do this."""
    if obj is None or not can(user, VIEW, obj):
        raise NotFound(str(_l("Not found.")))
    if action != VIEW and not can(user, action, obj):
        deny(message)
    return obj


def get_for(
    user: User, model: type[T], ident: int, action: str = VIEW, message: str | None = None
) -> T:
    """Fetch by id and authorise in one step (see :func:`require`)."""
    return require(user, action, db.session.get(model, ident), message)


def deny(message: str | None = None, fields: dict | None = None) -> NoReturn:
    """Refuse an action (403) with a reason a person can read."""
    raise Forbidden(message or str(_l("You are not allowed to do this.")), fields)


def require_coordinator(
    user: User | None, platform_id: int | None = None, message: str | None = None
) -> None:
    """403 unless ``user`` coordinates ``platform_id`` (any platform when None)."""
    if not coordinates(user, platform_id):
        deny(message)


def require_donor(user: User) -> None:
    """Donors and platforms post lots; beneficiaries receive them."""
    if user.organisation.is_beneficiary:
        deny(str(_l("Only donors and platforms post lots.")))


def require_beneficiary(user: User) -> None:
    """Only a beneficiary organisation browses and claims the open lots offered to it."""
    if not user.organisation.is_beneficiary:
        deny(str(_l("Only CPAS and associations browse and claim lots.")))


def get_lot(user: User, lot_id: int) -> Lot:
    """A lot the user may see; for an existing open lot not offered to a beneficiary,
    403 with the reason (the lot page and the API say why); 404 otherwise."""
    lot = db.session.get(Lot, lot_id)
    if lot is not None and not can(user, VIEW, lot):
        reason = lot_visible_reason(user, lot)
        if reason:
            deny(reason)
    return require(user, VIEW, lot)


def visible_claims(user: User):
    """The claims a user lists as its own: its organisation's, newest first."""
    return (
        select(Claim).where(Claim.beneficiary_id == user.organisation_id).order_by(Claim.id.desc())
    )


def require_platform_member(user: User) -> None:
    """Runs, vans and rounds belong to logistics platforms; others have none."""
    if not user.organisation.is_platform:
        deny(str(_l("Only a logistics platform's team has runs.")))


def visible_runs(user: User):
    """The runs a user lists: its platform's own. (Another platform's run carrying one of
    its claims is reached from the claim, see :func:`_run`.)"""
    return select(Run).where(Run.platform_id == user.organisation_id)


def driven_runs(user: User):
    """The runs ``user`` drives: assigned to it, of its own platform (a driver who moved
    to another organisation keeps none of the old one's)."""
    return select(Run).where(Run.driver_id == user.id, Run.platform_id == user.organisation_id)


def visible_templates(user: User):
    """The weekly rounds of the user's platform."""
    return select(RunTemplate).where(RunTemplate.platform_id == user.organisation_id)


def visible_vehicles(user: User):
    return select(Vehicle).where(Vehicle.platform_id == user.organisation_id)


def visible_depots(user: User):
    return select(Depot).where(Depot.platform_id == user.organisation_id)


def visible_batches(user: User):
    """The matcher's proposals of the platform the user coordinates (none otherwise)."""
    if not user.is_coordinator:
        return select(AllocationBatch).where(False)
    return select(AllocationBatch).where(AllocationBatch.platform_id == user.organisation_id)


def coordinated_platform(user: User, message: str | None = None) -> Organisation:
    """The platform ``user`` acts for on the platform pages (its coordinators, or a site
    admin whose organisation is a platform); 403 for anyone else, saying so to the team
    of a platform not verified yet (its administrators coordinate it once verified)."""
    org = user.organisation
    if org.is_platform and not org.is_verified and not user.is_site_admin:
        deny(str(_l("The platform pages open once Maillon has verified your platform.")))
    if not org.is_platform or not coordinates(user, org.id):
        deny(message)
    return org


def may_oversee(user: User | None) -> bool:
    """The overview of every organisation and user is the site admins'."""
    return user is not None and user.is_authenticated and user.is_site_admin


def require_oversee(user: User | None) -> None:
    """403 unless ``user`` is a site admin (see :func:`may_oversee`)."""
    if not may_oversee(user):
        deny(str(_l("Only Maillon's administrators see every organisation and user.")))


def require_job_board(user: User | None) -> None:
    """The scheduled jobs' board: site admins, and coordinators reading it (the jobs
    serve every platform: they see whether the allocation ran and the mail went)."""
    require_coordinator(user)


def may_run_jobs(user: User | None) -> bool:
    """The jobs are global: only site admins run one by hand."""
    return may_oversee(user)


def require_run_jobs(user: User | None) -> None:
    """403 unless ``user`` may run a job by hand (see :func:`may_run_jobs`)."""
    if not may_run_jobs(user):
        deny(
            str(
                _l(
                    "The jobs serve every platform: only Maillon's administrators run one "
                    "by hand. They run by themselves on their schedule."
                )
            )
        )


def visible_conventions(user: User):
    """The conventions a user lists: its organisation's, as beneficiary or as platform."""
    return select(Convention).where(
        or_(
            Convention.beneficiary_id == user.organisation_id,
            Convention.platform_id == user.organisation_id,
        )
    )


# -- verification of new organisations ----------------------------------------------------


def _service_reach(platform: Organisation):
    """The platform's service area as the offer waves read it (``waves.Reach``): its
    declared communes and its own, and its radius around its depots (its seat without
    one). ``Reach.covers`` is the one area rule; verification asks it as wave 1 does."""
    from .services import waves

    points = db.session.execute(
        select(Depot.lat, Depot.lon).where(Depot.platform_id == platform.id).order_by(Depot.id)
    ).all()
    return waves.reach_of(platform, [(lat, lon) for lat, lon in points])


def _in_area(reach: Any, org: Organisation) -> bool:
    from flask import current_app

    from matching.distance import RoadEstimate

    road = RoadEstimate(current_app.config["ROAD_CIRCUITY"])
    return reach.covers(org.postcode, org.lat, org.lon, road)


def verification_refusal(user: User, org: Organisation) -> str | None:
    """Why ``user`` may not verify ``org`` (None when it may). Site admins verify any
    organisation; a coordinator verifies the donors and beneficiaries within its
    platform's service area, never a platform: Maillon's administrators verify those,
    and whatever lies outside every area."""
    if user is None or not user.is_authenticated:
        return str(_l("You are not allowed to do this."))
    if user.is_site_admin:
        return None
    if not user.is_coordinator:
        return str(
            _l("Only platform coordinators and Maillon's administrators verify organisations.")
        )
    if org.is_platform:
        return str(_l("Only Maillon's administrators verify logistics platforms."))
    reach = _service_reach(user.organisation)
    if _in_area(reach, org):
        return None
    place = f"{org.postcode} {org.locality}"
    if reach.radius_km is None:
        why = _l("%(place)s is not one of its communes", place=place)
    else:
        from flask_babel import format_decimal

        km = format_decimal(reach.radius_km)
        has_depot = db.session.scalar(
            select(Depot.id).where(Depot.platform_id == reach.platform_id).limit(1)
        )
        why = (
            _l(
                "%(place)s is neither one of its communes nor within %(km)s km of its depots",
                place=place,
                km=km,
            )
            if has_depot
            else _l(
                "%(place)s is neither one of its communes nor within %(km)s km of its address",
                place=place,
                km=km,
            )
        )
    return str(
        _l(
            "This organisation is outside your platform's service area (%(why)s); "
            "Maillon's administrators verify it.",
            why=why,
        )
    )


def may_verify(user: User, org: Organisation) -> bool:
    """Site admins verify anyone; coordinators verify the donors and beneficiaries within
    their platform's service area (see :func:`verification_refusal`)."""
    return verification_refusal(user, org) is None


def require_verify(user: User, org: Organisation) -> None:
    """403, saying why, unless ``user`` may verify ``org``."""
    refusal = verification_refusal(user, org)
    if refusal is not None:
        deny(refusal)


def organisation_to_verify(user: User, org_id: int) -> Organisation:
    """The organisation ``user`` verifies or refuses: 404 when it does not exist, or is
    not awaiting verification and ``user`` may not see it; 403 saying why when ``user``
    may not decide on it (a coordinator: outside its platform's area, or a platform)."""
    org = db.session.get(Organisation, org_id)
    if org is None or (org.verification.value != "pending" and not can(user, VIEW, org)):
        raise NotFound(str(_l("Not found.")))
    require_verify(user, org)
    return org


def verification_queue(user: User) -> list[Organisation]:
    """The organisations awaiting verification that ``user`` verifies, oldest first:
    every one for a site admin (those outside every platform's area included), the
    donors and beneficiaries within its platform's area for a coordinator, none else."""
    pending = db.session.scalars(Organisation.pending()).all()
    if user.is_site_admin:
        return list(pending)
    if not user.is_coordinator:
        return []
    reach = _service_reach(user.organisation)
    return [org for org in pending if not org.is_platform and _in_area(reach, org)]


def visible_lots(user: User, *columns: Any, now: datetime | None = None) -> Select:
    """The lots a user lists: for a beneficiary the open lots offered to it now, for
    others the lots their organisation posted."""
    org = user.organisation
    if org.is_beneficiary:
        return offered_lots(org, *columns, now=now)
    return select(*(columns or (Lot,))).where(Lot.donor_id == org.id)


def offered_lots(
    org: Organisation, *columns: Any, now: datetime | None = None, chans: list | None = None
) -> Select:
    """The open lots offered to a beneficiary organisation now: the lot list's scope
    (``chans``, its conventions in force, saves reading them again)."""
    from .services.eligibility import channels, eligible_clause, offerable_clause
    from .services.lot_dates import local_today

    now = now or clock.now()
    chans = channels(db.session, org, local_today(now)) if chans is None else chans
    return select(*(columns or (Lot,))).where(offerable_clause(now), eligible_clause(chans))


# -- traceability (Reg. (EC) 178/2002 art. 18: one step back, one step forward) ----------


def _lots_handled_by(platform_id: int) -> Select:
    """Ids of the lots a platform took part in: a claim through it, or a run of it
    carrying a claim."""
    carried = (
        select(Stop.claim_id).join(Run, Run.id == Stop.run_id).where(Run.platform_id == platform_id)
    )
    return select(Claim.lot_id).where(or_(Claim.platform_id == platform_id, Claim.id.in_(carried)))


def trace_part(user: User, lot: Lot | None) -> int | None:
    """Which part of a lot's trace ``user`` reads: all of it (None) for the donor, the
    platforms involved (claims through them, runs of theirs carrying it) and site
    admins; only its own claims (its organisation's id) for a receiving organisation.
    404 for anyone else, as for a lot they may not see."""
    if lot is None or user is None or not user.is_authenticated:
        raise NotFound(str(_l("Not found.")))
    org_id = user.organisation_id
    if user.is_site_admin or lot.donor_id == org_id:
        return None
    if user.organisation.is_platform and db.session.scalar(
        _lots_handled_by(org_id).where(Claim.lot_id == lot.id).limit(1)
    ):
        return None
    received = select(Claim.id).where(Claim.lot_id == lot.id, Claim.beneficiary_id == org_id)
    if db.session.scalar(received.limit(1)) is not None:
        return org_id
    raise NotFound(str(_l("Not found.")))


def may_trace(user: User, lot: Lot) -> bool:
    """Whether the lot page links to its traceability sheet."""
    try:
        trace_part(user, lot)
    except NotFound:
        return False
    return True


def traceable_claims(user: User) -> Select:
    """The claims an inspection search lists for ``user``: every claim of the lots whose
    whole trace it reads, and its own claims (see :func:`trace_part`)."""
    if user.is_site_admin:
        return select(Claim)
    org_id = user.organisation_id
    own_lots = select(Lot.id).where(Lot.donor_id == org_id)
    shown = [Claim.beneficiary_id == org_id, Claim.lot_id.in_(own_lots)]
    if user.organisation.is_platform:
        shown.append(Claim.lot_id.in_(_lots_handled_by(org_id)))
    return select(Claim).where(or_(*shown))


# -- recalls ----------------------------------------------------------------------------


def _recall(user: User, action: str, recall: Recall) -> bool:
    """The donor, the platforms involved and each holder follow a recall; nobody else
    sees it. Acknowledging is :func:`recall_holder`'s."""
    org_id = user.organisation_id
    if action != VIEW:
        return False
    if recall.lot.donor_id == org_id or any(h.organisation_id == org_id for h in recall.holders):
        return True
    return user.organisation.is_platform and (
        db.session.scalar(_lots_handled_by(org_id).where(Claim.lot_id == recall.lot_id).limit(1))
        is not None
    )


_CHECKS[Recall] = _recall


def recall_holder(user: User, recall: Recall) -> RecallHolder:
    """The holder row ``user`` answers for: its organisation's, if it holds some of the
    recalled food (delivered or in transit). 404 for whoever may not see the recall, 403
    for the others (the donor, a platform, an organisation whose claim was only
    planned)."""
    require(user, VIEW, recall)
    for holder in recall.holders:
        if holder.organisation_id == user.organisation_id and holder.must_acknowledge:
            return holder
    deny(str(_l("Only an organisation holding the recalled food answers for it.")))


def may_acknowledge(user: User, recall: Recall) -> bool:
    """Whether the recall page offers ``user`` the acknowledgement form."""
    try:
        holder = recall_holder(user, recall)
    except (Forbidden, NotFound):
        return False
    return recall.is_open and holder.ack_at is None


def lot_recall(lot: Lot) -> Recall | None:
    """The lot's recall, if any (the lot page links to it when the user may see it)."""
    return db.session.scalar(select(Recall).where(Recall.lot_id == lot.id))


# -- reports ------------------------------------------------------------------------------


class ReportScope:
    """What a report counts for its reader (services/reports/summary.py).

    ``lots``: a clause on ``Lot``, the lots whose kilograms it reports; ``claims``: a
    clause on ``Claim``, the claims it counts (all on those lots); ``network``: a select
    of the beneficiary ids whose need met it measures besides the recipients of those
    claims (None: the recipients only); ``platform_id``: the platform whose carrying for
    and by other platforms it reports (None: not reported)."""

    def __init__(self, lots: Any, claims: Any, network: Any = None, platform_id: int | None = None):
        self.lots, self.claims, self.network, self.platform_id = lots, claims, network, platform_id


def platform_report_scope(platform_id: int) -> ReportScope:
    """A platform's report (its coordinators', and its public page): the lots it posted,
    was offered in wave 1 or handled (a claim through it, or carried by its runs); the
    claims through it, carried by its runs, or on its own lots; its network's need."""
    from .models import ConventionStatus, LotOffer

    offered = select(LotOffer.lot_id).where(LotOffer.platform_id == platform_id, LotOffer.wave == 1)
    carried = (
        select(Stop.claim_id).join(Run, Run.id == Stop.run_id).where(Run.platform_id == platform_id)
    )
    own = select(Lot.id).where(Lot.donor_id == platform_id)
    return ReportScope(
        lots=or_(
            Lot.donor_id == platform_id,
            Lot.id.in_(offered),
            Lot.id.in_(_lots_handled_by(platform_id)),
        ),
        claims=or_(Claim.platform_id == platform_id, Claim.id.in_(carried), Claim.lot_id.in_(own)),
        network=select(Convention.beneficiary_id).where(
            Convention.platform_id == platform_id, Convention.status == ConventionStatus.ACTIVE
        ),
        platform_id=platform_id,
    )


def report_scope(user: User) -> ReportScope:
    """What ``user``'s reports count: everything for a site admin; its platform's for a
    coordinator; its lots and their claims for a donor; its claims and the lots they are
    on for a beneficiary. 403 for an organisation not yet verified, and for a platform's
    members who do not coordinate it (the reports are the coordinators')."""
    from .models import ConventionStatus

    if user.is_site_admin:
        return ReportScope(
            lots=Lot.id.is_not(None),
            claims=Claim.id.is_not(None),
            network=select(Convention.beneficiary_id).where(
                Convention.status == ConventionStatus.ACTIVE
            ),
        )
    org = user.organisation
    if not org.is_verified:
        deny(str(_l("Reports open once your organisation is verified.")))
    if org.is_platform:
        if not user.is_coordinator:
            deny(str(_l("Only the platform's coordinators read its reports.")))
        return platform_report_scope(org.id)
    if org.is_beneficiary:
        mine = select(Claim.lot_id).where(Claim.beneficiary_id == org.id)
        return ReportScope(
            lots=Lot.id.in_(mine),
            claims=Claim.beneficiary_id == org.id,
            network=select(Organisation.id).where(Organisation.id == org.id),
        )
    own = select(Lot.id).where(Lot.donor_id == org.id)
    return ReportScope(lots=Lot.donor_id == org.id, claims=Claim.lot_id.in_(own))


def published_platform(platform_id: int) -> Organisation:
    """A verified platform that publishes its headline figures; 404 otherwise (an
    unpublished platform's page does not exist for the public)."""
    org = db.session.get(Organisation, platform_id)
    if org is None or not org.is_platform or not org.is_verified or not org.publish_figures:
        raise NotFound(str(_l("Not found.")))
    return org


# -- FSE+ register ----------------------------------------------------------------------


def may_read_fse_register(user: User) -> bool:
    """Site admins, a platform's coordinators and beneficiary organisations keep an FSE+
    register; donors and a platform's other members do not."""
    if user is None or not user.is_authenticated:
        return False
    org = user.organisation
    return user.is_site_admin or org.is_beneficiary or (org.is_platform and user.is_coordinator)


def fse_register_claims(user: User, organisation_id: int | None = None) -> Select:
    """The claims whose FSE+ deliveries ``user`` lists in the register: a site admin's,
    all; a coordinator's, those through its platform; a beneficiary's, its own. Narrowed
    to one beneficiary ``organisation_id``: 404 unless it is the coordinator's network
    (any convention with its platform), the beneficiary itself, or (site admin) exists.
    403 for donors and anyone else."""
    if not may_read_fse_register(user):
        deny(str(_l("Only platforms and beneficiary organisations keep an FSE+ register.")))
    org = user.organisation
    if user.is_site_admin:
        query = select(Claim)
        if organisation_id is not None and db.session.get(Organisation, organisation_id) is None:
            raise NotFound(str(_l("Not found.")))
    elif org.is_platform:
        query = select(Claim).where(Claim.platform_id == org.id)
        if organisation_id is not None and not _platform_serves(user, organisation_id):
            raise NotFound(str(_l("Not found.")))
    else:
        query = select(Claim).where(Claim.beneficiary_id == org.id)
        if organisation_id is not None and organisation_id != org.id:
            raise NotFound(str(_l("Not found.")))
    if organisation_id is not None:
        query = query.where(Claim.beneficiary_id == organisation_id)
    return query


def fse_register_organisations(user: User) -> list[Organisation]:
    """The beneficiaries a reader may narrow the register to: a coordinator's network,
    for a site admin those holding an FSE+ convention; none for a beneficiary."""
    if user.is_site_admin:
        ids = select(Convention.beneficiary_id).where(Convention.fse_plus_allowed.is_(True))
    elif user.organisation.is_platform and user.is_coordinator:
        ids = select(Convention.beneficiary_id).where(
            Convention.platform_id == user.organisation_id
        )
    else:
        return []
    return list(
        db.session.scalars(
            select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)
        )
    )


# -- donation documents --


def may_read_donations(user: User, donor: Organisation) -> bool:
    """Who reads a donor's donation documents: the members of the donor organisation (a
    donor, or a platform that posts lots) and site admins."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_site_admin or (_same_org(user, donor.id) and not donor.is_beneficiary)


def donor_of_documents(user: User) -> Organisation:
    """The donor whose "my donations" ``user`` reads: its own organisation; 403 for a
    beneficiary (it receives donations, it does not make them)."""
    if not may_read_donations(user, user.organisation) or user.organisation.is_beneficiary:
        deny(str(_l("Only donors and platforms that post lots have donation documents.")))
    return user.organisation


def donation_claim(user: User, claim_id: int) -> Claim:
    """A claim whose donation document ``user`` may read: 403 for a beneficiary (not a
    site admin), 404 for a claim of another donor's lot, as for one that does not exist."""
    if not user.is_site_admin:
        donor_of_documents(user)
    claim = db.session.get(Claim, claim_id)
    if claim is None or not may_read_donations(user, claim.lot.donor):
        raise NotFound(str(_l("Not found.")))
    return claim


# -- depots --------------------------------------------------------------------------------

HANDLE = "handle"  # depot work at the door and in the rooms: any member of its platform


def _depot_action(user: User, action: str, platform_id: int) -> bool:
    """A depot's platform members see its stock and work it (receive, check, split,
    merge, adjust, count); its coordinators also set its zones and offer its stock."""
    if action in (VIEW, HANDLE):
        return _same_org(user, platform_id)
    return coordinates(user, platform_id)


def _depot(user: User, action: str, depot: Depot) -> bool:
    return _depot_action(user, action, depot.platform_id)


def _stock_thing(user: User, action: str, obj: StockItem | StockReceipt | DepotZone) -> bool:
    return _depot_action(user, action, obj.depot.platform_id)


_CHECKS[Depot] = _depot
_CHECKS[DepotZone] = _stock_thing
_CHECKS[StockItem] = _stock_thing
_CHECKS[StockReceipt] = _stock_thing


def depot_stock(user: User, depot: Depot) -> Select:
    """The items with food left in a depot the user may see (404 otherwise), first
    expired first out: the earliest date first, undated last, then the oldest."""
    require(user, VIEW, depot)
    return (
        select(StockItem)
        .where(StockItem.depot_id == depot.id, StockItem.grams > 0)
        .order_by(
            StockItem.expires_at.is_(None), StockItem.expires_at, StockItem.created_at, StockItem.id
        )
    )


# -- depot traceability and reports --


def fse_register_depots(user: User, organisation_id: int | None = None) -> Select:
    """The depots whose FSE+ stock (received, on hand) ``user``'s register lists: every
    depot for a site admin, its platform's for a coordinator, none for a beneficiary
    (it keeps no depot) nor when the register is narrowed to one beneficiary. 403 for
    who keeps no register (see :func:`fse_register_claims`)."""
    if not may_read_fse_register(user):
        deny(str(_l("Only platforms and beneficiary organisations keep an FSE+ register.")))
    from sqlalchemy import false

    query = select(Depot.id)
    if organisation_id is not None:
        return query.where(false())
    if user.is_site_admin:
        return query
    if user.organisation.is_platform:
        return query.where(Depot.platform_id == user.organisation_id)
    return query.where(false())


# -- security log and accounts' GDPR rights --------------------------------------------------


def may_read_security_log(user: User | None) -> bool:
    """Everyone's security log (sign-ins, failures, tokens) is the site admins'; each user
    reads their own on "your recent activity"."""
    return user is not None and user.is_authenticated and user.is_site_admin


def require_security_log_reader(user: User | None) -> None:
    """403 unless ``user`` may read everyone's security log."""
    if not may_read_security_log(user):
        deny(str(_l("Only Maillon's administrators see everyone's security log.")))


def may_reactivate(actor: User | None, member: User) -> bool:
    """An administrator of the member's organisation, or a site admin, switches a
    deactivated (not deleted) account back on."""
    if actor is None or not actor.is_authenticated:
        return False
    if member.active or member.deleted_at is not None or member.id == actor.id:
        return False
    return actor.is_site_admin or (_same_org(actor, member.organisation_id) and actor.is_org_admin)
