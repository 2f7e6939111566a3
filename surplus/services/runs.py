"""Delivery runs: weekly templates materialised into dated runs, one-off runs, stops,
and the timetable of a run under the booking planner's time model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matching.booking import RunPlan, StopPlan
from matching.booking.check import check_route

from .. import access
from ..errors import Invalid
from ..models import (
    Depot,
    Run,
    RunStatus,
    RunTemplate,
    Stop,
    StopKind,
    User,
    Vehicle,
)
from . import events, matching_adapter
from .lot_dates import BRUSSELS, local_today

HORIZON_DAYS = 14
TEMP_POSITION = 1_000_000  # parking positions while stops are renumbered


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
    params = matching_adapter.params(datetime.now(UTC))
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
    (through positions above every real one)."""
    for i, stop in enumerate(ordered):
        stop.position = TEMP_POSITION + i
    session.flush()
    for i, stop in enumerate(ordered):
        stop.position = i
    session.flush()


def remove_stop(session: Session, actor: User | None, stop: Stop) -> None:
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
            .where(
                Run.platform_id.in_(platform_ids),
                Run.status == RunStatus.PLANNED,
                Run.start_at >= since,
                Run.start_at <= until,
            )
            .order_by(Run.start_at)
        )
    )
