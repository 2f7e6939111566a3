"""Delivery runs: weekly templates materialised into dated runs, one-off runs, stops,
and the timetable of a run under the booking planner's time model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction, joinedload, selectinload

from matching.booking import RunPlan, StopPlan
from matching.booking.check import check_route

from .. import access, clock
from ..errors import Conflict, Invalid
from ..models import (
    Claim,
    Depot,
    Lot,
    Run,
    RunStatus,
    RunTemplate,
    Stop,
    StopKind,
    StopStatus,
    User,
    Vehicle,
    cache,
)
from . import events, matching_adapter
from .kept import Kept, per_app
from .lot_dates import BRUSSELS, local_today

HORIZON_DAYS = 14
TEMP_POSITION = 1_000_000  # parking positions while stops are renumbered
STOPS_LOCK = 0x4D41494C  # PostgreSQL advisory lock of the runs' stops ("MAIL")
_HELD = "maillon.stops_lock"  # session.info: this transaction holds STOPS_LOCK


def hold_stops(session: Session) -> None:
    """Take the runs' stops for this transaction before reading them to change them
    (booking, unbooking, removing a stop): two bookings planned on the same stops at
    once would give two stops one position, or book one claim twice.

    PostgreSQL: a transaction-level advisory lock, then every object of the session is
    read again (what was read before the lock may have changed meanwhile); held until
    COMMIT or ROLLBACK, taken once per transaction. SQLite already runs one write
    transaction at a time (``BEGIN IMMEDIATE``, database.py): nothing to do."""
    if session.info.get(_HELD) or session.get_bind().dialect.name != "postgresql":
        return
    session.flush()
    session.execute(select(func.pg_advisory_xact_lock(STOPS_LOCK)))
    session.expire_all()
    session.info[_HELD] = True


@event.listens_for(Session, "after_transaction_end")
def _release(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the database transaction ended: the lock went with it
        session.info.pop(_HELD, None)


def local_time(day: date, hhmm: str) -> datetime:
    """``day`` at the Brussels wall-clock time ``"HH:MM"``, in UTC."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=BRUSSELS).astimezone(UTC)


def materialise(session: Session, today: date | None = None, days: int = HORIZON_DAYS) -> int:
    """Create the dated runs of every active template for the next ``days`` days.
    Idempotent: a (template, date) pair that exists is left alone, also when another
    process creates it at the same moment (the unique constraint decides)."""
    today = today or local_today()
    templates = session.scalars(select(RunTemplate).where(RunTemplate.active.is_(True))).all()
    existing = set(
        session.execute(
            select(Run.template_id, Run.run_date).where(
                Run.template_id.is_not(None), Run.run_date >= today
            )
        ).all()
    )
    created = 0
    for template in templates:
        for offset in range(days):
            day = today + timedelta(days=offset)
            if day.weekday() != template.weekday or (template.id, day) in existing:
                continue
            run = Run(
                platform_id=template.platform_id,
                vehicle_id=template.vehicle_id,
                depot_id=template.depot_id,
                template_id=template.id,
                run_date=day,
                name=f"{template.name} — {day.isoformat()}",
                start_at=local_time(day, template.departure),
                max_duration_min=template.max_duration_min,
            )
            for ts in template.stops:
                run.stops.append(
                    Stop(
                        position=ts.position,
                        kind=StopKind.REGULAR,
                        organisation_id=ts.organisation_id,
                        address=ts.address,
                        lat=ts.lat,
                        lon=ts.lon,
                        load_delta_kg=ts.load_delta_kg,
                        service_min=ts.service_min,
                        window_start=local_time(day, ts.opens) if ts.opens else None,
                        window_end=local_time(day, ts.closes) if ts.closes else None,
                    )
                )
            try:
                with session.begin_nested():
                    session.add(run)
            except IntegrityError:
                continue  # created meanwhile by another scheduler
            created += 1
    session.flush()
    return created


def to_plan(run: Run) -> RunPlan:
    """The run as the booking planner sees it. The van leaves the depot with what the
    regular stops receive; booked lots are loaded at their pickup."""
    start_load = -sum(
        s.load_delta_kg for s in run.stops if s.kind == StopKind.REGULAR and s.load_delta_kg < 0
    )
    return RunPlan(
        id=run.id,
        capacity_kg=run.vehicle.capacity_kg,
        refrigerated=run.vehicle.refrigerated,
        freezer=run.vehicle.freezer,
        depot_lat=run.depot.lat,
        depot_lon=run.depot.lon,
        start=run.start_at,
        speed_kmh=run.speed_kmh,
        max_duration_min=run.max_duration_min,
        start_load_kg=start_load,
        stops=[
            StopPlan(s.lat, s.lon, s.load_delta_kg, s.window_start, s.window_end, s.service_min)
            for s in run.stops
        ],
    )


@dataclass
class Timetable:
    rows: list[tuple[Stop, datetime, float]]  # stop, planned service start, kg on board after
    km: float
    start_load_kg: float
    problems: list[str]


def timetable(run: Run) -> Timetable:
    plan = to_plan(run)
    params = matching_adapter.params(clock.now())
    check = check_route(plan, [], params)
    load = plan.initial_load_kg
    rows = []
    for stop, minutes in zip(run.stops, check.starts, strict=False):
        load += stop.load_delta_kg
        rows.append((stop, run.start_at + timedelta(minutes=minutes), load))
    return Timetable(rows, check.km, plan.initial_load_kg, check.violations)


RUNS_MESSAGE = _l("Only a coordinator of this platform can change its runs.")


def create_one_off(
    session: Session,
    actor: User,
    vehicle_id: int,
    depot_id: int,
    start_at: datetime,
    name: str = "",
) -> Run:
    """A run outside the weekly rounds, with the platform's own van and depot (the
    values come typed and bounded from schemas.run.RunInSchema)."""
    platform_id = actor.organisation_id
    access.require_coordinator(actor, platform_id, str(RUNS_MESSAGE))
    vehicle, depot = session.get(Vehicle, vehicle_id), session.get(Depot, depot_id)
    errors = {}
    if vehicle is None or vehicle.platform_id != platform_id:
        errors["vehicle_id"] = str(_l("Choose one of your vehicles."))
    if depot is None or depot.platform_id != platform_id:
        errors["depot_id"] = str(_l("Choose one of your depots."))
    if errors:
        raise Invalid(str(_l("Please correct the marked fields.")), errors)
    run = Run(
        platform_id=platform_id,
        vehicle_id=vehicle_id,
        depot_id=depot_id,
        start_at=start_at,
        name=name or str(_l("One-off run")),
    )
    session.add(run)
    session.flush()
    events.record(
        session, actor, run, "created", after={"start_at": start_at, "vehicle_id": vehicle_id}
    )
    return run


def renumber(session: Session, run: Run, ordered: list[Stop]) -> None:
    """Give ``ordered`` the positions 0..n-1 without tripping the unique constraint
    (through positions above every real one). A stop already at its place is left alone:
    the others' new positions are free of it."""
    moved = [(i, stop) for i, stop in enumerate(ordered) if stop.position != i]
    for i, stop in moved:
        stop.position = TEMP_POSITION + i
    session.flush()
    for i, stop in moved:
        stop.position = i
    session.flush()


def remove_stop(session: Session, actor: User | None, stop: Stop) -> None:
    hold_stops(session)
    run = stop.run
    if actor is not None:
        access.require_coordinator(actor, run.platform_id, str(RUNS_MESSAGE))
    if stop.confirmed_at is not None:
        raise Invalid(str(_l("This stop was already confirmed by the driver.")))
    rest = [s for s in run.stops if s.id != stop.id]
    events.record(
        session,
        actor,
        stop,
        "removed",
        organisation_id=run.platform_id,
        before={"run_id": run.id, "position": stop.position, "kind": stop.kind},
    )
    run.stops.remove(stop)
    session.flush()
    renumber(session, run, rest)


def planned_runs(
    session: Session, platform_ids: list[int], since: datetime, until: datetime
) -> list[Run]:
    return list(
        session.scalars(
            select(Run)
            .where(*_planned(platform_ids, since, until))
            .order_by(Run.start_at, Run.id)
            # the booking planner reads every run's stops, van and depot (to_plan)
            .options(selectinload(Run.stops), joinedload(Run.vehicle), joinedload(Run.depot))
        )
    )


@dataclass(frozen=True)
class VanView:
    capacity_kg: float
    refrigerated: bool
    freezer: bool


@dataclass(frozen=True)
class PlaceView:
    lat: float
    lon: float


class StopView(NamedTuple):
    """A stop's values as :func:`to_plan` reads them (a row of :func:`planned_views`)."""

    kind: StopKind
    lat: float
    lon: float
    load_delta_kg: float
    window_start: datetime | None
    window_end: datetime | None
    service_min: int


@dataclass(frozen=True)
class RunView:
    """A planned run as placement reads it (services/reachability.py): the values
    :func:`to_plan` and the route read, with the names of the run's own, and no ORM
    object. Read-only; booking works on the runs themselves."""

    id: int
    platform_id: int
    depot_id: int
    start_at: datetime
    speed_kmh: float
    max_duration_min: int | None
    vehicle: VanView
    depot: PlaceView
    stops: tuple[StopView, ...]


def planned_views(
    session: Session, platform_ids: list[int], since: datetime, until: datetime
) -> list[RunView]:
    """:func:`planned_runs` as :class:`RunView`, without an object per run and stop:
    reach reads them at every call (each page's card lines, each placement). Each
    process keeps the platforms' planned runs from a moment on while no transaction
    wrote a run, stop, van or depot (counter ``runs``, read after the session's own
    writes are flushed: a transaction that wrote them reads the database) and answers
    later moments from them: time alone only takes runs out of this window."""
    session.flush()
    at = cache.version(session, cache.RUNS)
    key = tuple(sorted(set(platform_ids)))
    if at is None:  # the transaction's own writes: read what is asked, keep nothing
        return _read_views(session, key, since, until)
    kept = _kept_views()
    found = kept.get("runs", at, key)
    if found is None or found[0] > since:
        found = (since, _read_views(session, key, since))
        kept.put("runs", at, key, found)
    return [run for run in found[1] if since <= run.start_at <= until]


def _kept_views() -> Kept:
    return per_app("maillon_planned_runs", lambda: Kept(runs=64))


def _read_views(
    session: Session, platform_ids: tuple[int, ...], since: datetime, until: datetime | None = None
) -> list[RunView]:
    """The platforms' planned runs leaving from ``since`` (up to ``until``, if given), in
    start order, in two plain queries on the session's connection."""
    connection = session.connection()
    heads = connection.execute(
        select(
            Run.id,
            Run.platform_id,
            Run.depot_id,
            Run.start_at,
            Run.speed_kmh,
            Run.max_duration_min,
            Vehicle.capacity_kg,
            Vehicle.refrigerated,
            Vehicle.freezer,
            Depot.lat,
            Depot.lon,
        )
        .join(Vehicle, Vehicle.id == Run.vehicle_id)
        .join(Depot, Depot.id == Run.depot_id)
        .where(*_planned(list(platform_ids), since, until))
        .order_by(Run.start_at, Run.id)
    ).all()
    if not heads:
        return []
    stops: dict[int, list[StopView]] = {h.id: [] for h in heads}
    for run_id, *values in connection.execute(
        select(
            Stop.run_id,
            Stop.kind,
            Stop.lat,
            Stop.lon,
            Stop.load_delta_kg,
            Stop.window_start,
            Stop.window_end,
            Stop.service_min,
        )
        .where(Stop.run_id.in_(list(stops)))
        .order_by(Stop.run_id, Stop.position)
    ):
        stops[run_id].append(StopView._make(values))
    return [
        RunView(
            h.id,
            h.platform_id,
            h.depot_id,
            h.start_at,
            h.speed_kmh,
            h.max_duration_min,
            VanView(h.capacity_kg, h.refrigerated, h.freezer),
            PlaceView(h.lat, h.lon),
            tuple(stops[h.id]),
        )
        for h in heads
    ]


def _planned(platform_ids: list[int], since: datetime, until: datetime | None) -> tuple:
    found = (
        Run.platform_id.in_(platform_ids),
        Run.status == RunStatus.PLANNED,
        Run.start_at >= since,
    )
    return found if until is None else (*found, Run.start_at <= until)


# -- drivers ------------------------------------------------------------------------------

DRIVER_MESSAGE = _l("Only a coordinator of this platform chooses who drives its runs.")


def drivers(session: Session, platform_id: int) -> list[User]:
    """Who may drive a platform's runs: its active accounts, by name."""
    return list(
        session.scalars(
            select(User)
            .where(User.organisation_id == platform_id, User.active.is_(True))
            .order_by(User.name, User.id)
        )
    )


def assign_driver(session: Session, actor: User, run: Run, driver_id: int | None) -> Run:
    """Give the run to ``driver_id`` (None: to nobody). The driver must be an account of
    the run's platform (Invalid otherwise, as for an id that does not exist) and active
    (Conflict); a finished or cancelled run keeps its driver (Conflict). Recorded as an
    event of the run's platform; the driver finds the run on their home page."""
    access.require(actor, access.ASSIGN, run, str(DRIVER_MESSAGE))
    driver = session.get(User, driver_id) if driver_id is not None else None
    if driver_id is not None and (driver is None or driver.organisation_id != run.platform_id):
        raise Invalid(
            str(_l("Choose a member of this platform.")),
            {"driver_id": str(_l("Choose a member of this platform."))},
        )
    if driver is not None and not driver.active:
        raise Conflict(
            str(_l("This account is deactivated: it cannot drive.")),
            {"driver_id": str(_l("This account is deactivated: it cannot drive."))},
        )
    if run.driver_id == driver_id:
        return run
    if run.status in (RunStatus.DONE, RunStatus.CANCELLED):
        raise Conflict(str(_l("This run is over: its driver no longer changes.")))
    before = {"driver_id": run.driver_id}
    run.driver_id = driver_id
    session.flush()
    events.record(
        session,
        actor,
        run,
        "driver_assigned" if driver_id is not None else "driver_unassigned",
        before=before,
        after={"driver_id": driver_id},
        organisation_id=run.platform_id,
    )
    return run


@dataclass
class DriverRun:
    """One of a driver's runs at a glance: how far it is, and where to go next."""

    run: Run
    done: int
    total: int
    next_stop: Stop | None
    next_at: datetime | None


def sheet_options():
    """Loader options for a run's page, sheet and a driver's cards: the van, the depot,
    the stops with their organisations, claims and lots, without a query per stop."""
    return (
        selectinload(Run.vehicle),
        selectinload(Run.depot),
        selectinload(Run.stops).selectinload(Stop.organisation),
        selectinload(Run.stops)
        .selectinload(Stop.claim)
        .selectinload(Claim.lot)
        .selectinload(Lot.donor),
        selectinload(Run.stops).selectinload(Stop.claim).selectinload(Claim.platform),
        selectinload(Run.stops).selectinload(Stop.claim).selectinload(Claim.beneficiary),
    )


def driver_runs(session: Session, user: User, first: date, days: int) -> list[DriverRun]:
    """The runs ``user`` drives from ``first`` (Brussels day) for ``days`` days, by
    departure, with the stops done, the total and the next stop to make."""
    since = datetime.combine(first, time(0, 0), tzinfo=BRUSSELS).astimezone(UTC)
    until = datetime.combine(first + timedelta(days=days), time(0, 0), tzinfo=BRUSSELS)
    found = session.scalars(
        access.driven_runs(user)
        .options(*sheet_options())
        .where(
            Run.start_at >= since,
            Run.start_at < until.astimezone(UTC),
            Run.status != RunStatus.CANCELLED,
        )
        .order_by(Run.start_at, Run.id)
    ).all()
    cards = []
    for run in found:
        table = timetable(run)
        upcoming = [(s, at) for s, at, _load in table.rows if s.status == StopStatus.PLANNED]
        next_stop, next_at = upcoming[0] if upcoming else (None, None)
        cards.append(
            DriverRun(
                run=run,
                done=len(table.rows) - len(upcoming),
                total=len(table.rows),
                next_stop=next_stop,
                next_at=next_at,
            )
        )
    return cards
