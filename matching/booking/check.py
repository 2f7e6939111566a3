"""Independent validator of bookings: one plain loop over each final route.

It shares no code with the planner beyond the distance function
(:class:`matching.distance.RoadEstimate`): it rebuilds every run's final stop list from
the insertions, walks it leg by leg in minutes since the run's start (taken from the
datetimes in UTC), and reports every broken rule of the time model in
:mod:`matching.booking.insertion` as a sentence. Tests and ``bench/booking.py`` use it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..distance import RoadEstimate

if TYPE_CHECKING:
    from ..params import Params
    from .model import Insertion, RunPlan, Shipment

TOLERANCE = 1e-6  # minutes, kg and km of float noise
ETA_TOLERANCE_MIN = 1e-3  # ETAs are datetimes, rounded to the microsecond
_VEHICLE = {"ambient": None, "chilled": "refrigerated", "frozen": "freezer"}


def _elapsed(start: datetime, moment: datetime) -> float:
    """Real minutes from ``start`` to ``moment``, in UTC: Python subtracts two datetimes
    of the same time zone as wall-clock times, which is wrong across a DST change."""
    return (moment.astimezone(UTC) - start.astimezone(UTC)) / timedelta(minutes=1)


@dataclass
class _Stop:
    label: str
    lat: float
    lon: float
    delta: float
    service: float
    opens: datetime | None = None
    closes: datetime | None = None
    deadline: datetime | None = None


@dataclass
class RouteCheck:
    """What walking a route found: broken rules, its km, each stop's service start."""

    violations: list[str] = field(default_factory=list)
    km: float = 0.0
    starts: list[float] = field(default_factory=list)  # minutes after run.start


def _new_stops(ship: Shipment, params: Params) -> tuple[_Stop, _Stop]:
    pw, dw = ship.pickup_window or (None, None), ship.drop_window or (None, None)
    pickup = _Stop(
        f"pickup of {ship.id!r}",
        ship.pickup_lat,
        ship.pickup_lon,
        ship.kg,
        params.service_min,
        pw[0],
        pw[1],
    )
    drop = _Stop(
        f"drop-off of {ship.id!r}",
        ship.drop_lat,
        ship.drop_lon,
        -ship.kg,
        params.service_min,
        dw[0],
        dw[1],
        ship.deadline,
    )
    return pickup, drop


def check_route(
    run: RunPlan, placed: Sequence[tuple[Shipment, int, int]], params: Params
) -> RouteCheck:
    """Walk ``run`` with each ``(shipment, pickup_index, drop_index)`` placed in it.

    The indices are positions in the final stop list (old stops keep their order).
    """
    out = RouteCheck()
    size = len(run.stops) + 2 * len(placed)
    slots: dict[int, _Stop] = {}
    for ship, i_p, i_d in placed:
        if not 0 <= i_p < i_d < size:
            out.violations.append(f"{ship.id!r}: bad positions {i_p}, {i_d} (size {size})")
            continue
        if i_p in slots or i_d in slots:
            out.violations.append(f"{ship.id!r}: position {i_p} or {i_d} used twice")
            continue
        slots[i_p], slots[i_d] = _new_stops(ship, params)
        need = _VEHICLE[ship.storage]
        if need is not None and not getattr(run, need):
            out.violations.append(f"{ship.id!r} ({ship.storage}) on a vehicle without {need}")
        if ship.deadline is not None and _elapsed(params.now, ship.deadline) <= 0:
            out.violations.append(f"{ship.id!r} booked after its use-by")
    if out.violations:
        return out
    old = iter(run.stops)
    route = []
    for i in range(size):
        if i in slots:
            route.append(slots[i])
        else:
            s = next(old)
            route.append(
                _Stop(
                    f"stop {len(route)}",
                    s.lat,
                    s.lon,
                    s.load_delta_kg,
                    s.service_min,
                    s.window_start,
                    s.window_end,
                )
            )
    _walk(run, route, params, out)
    return out


def _walk(run: RunPlan, route: list[_Stop], params: Params, out: RouteCheck) -> None:
    road = RoadEstimate(params.circuity)

    def at(moment: datetime) -> float:
        return _elapsed(run.start, moment)

    load = run.start_load_kg
    if load is None:
        load = sum(-s.load_delta_kg for s in run.stops if s.load_delta_kg < 0)
    if load > run.capacity_kg + TOLERANCE:
        out.violations.append(f"leaves the depot with {load:.1f} kg > {run.capacity_kg} kg")
    lat, lon, t = run.depot_lat, run.depot_lon, 0.0
    for stop in route + [_Stop("return to depot", run.depot_lat, run.depot_lon, 0.0, 0.0)]:
        km = road.km(lat, lon, stop.lat, stop.lon)
        out.km += km
        t += km / run.speed_kmh * 60.0
        lat, lon = stop.lat, stop.lon
        if stop.opens is not None and t < at(stop.opens):
            t = at(stop.opens)
        if stop.closes is not None and t > at(stop.closes) + TOLERANCE:
            out.violations.append(
                f"{stop.label}: service starts {t - at(stop.closes):.3f} "
                "min after its window closes"
            )
        if stop.deadline is not None and t + stop.service > at(stop.deadline) + TOLERANCE:
            out.violations.append(f"{stop.label}: ends after the lot's use-by")
        out.starts.append(t)
        t += stop.service
        load += stop.delta
        if load > run.capacity_kg + TOLERANCE:
            out.violations.append(f"{stop.label}: {load:.1f} kg on board > {run.capacity_kg}")
        if load < -TOLERANCE:
            out.violations.append(f"{stop.label}: unloads more than is on board ({load:.1f} kg)")
    out.starts.pop()
    if run.max_duration_min is not None and t > run.max_duration_min + TOLERANCE:
        out.violations.append(f"lasts {t:.1f} min > {run.max_duration_min} min")


def validate_route(
    run: RunPlan, booked: Sequence[tuple[Shipment, Insertion]], params: Params
) -> list[str]:
    """Every broken rule of ``run`` with its bookings (final positions), as sentences.

    Besides the rules of the time model, checks that each insertion's ETAs are the
    walked service starts and that the run's ``added_km`` add up to its new km minus
    its old km.
    """
    check = check_route(run, [(s, i.pickup_index, i.drop_index) for s, i in booked], params)
    problems = [f"run {run.id!r}: {v}" for v in check.violations]
    if problems:
        return problems
    for ship, ins in booked:
        for name, index, eta in (
            ("pickup", ins.pickup_index, ins.pickup_eta),
            ("drop-off", ins.drop_index, ins.drop_eta),
        ):
            walked = check.starts[index]
            if abs(_elapsed(run.start, eta) - walked) > ETA_TOLERANCE_MIN:
                problems.append(
                    f"run {run.id!r}: {ship.id!r} {name} ETA {eta} is not the "
                    f"planned time ({walked:.3f} min after start)"
                )
    before = check_route(run, [], params).km
    added = sum(ins.added_km for _, ins in booked)
    if abs(check.km - before - added) > TOLERANCE * max(1.0, check.km):
        problems.append(f"run {run.id!r}: added km {added:.6f} != {check.km - before:.6f}")
    return problems


def validate_booking(
    runs: Sequence[RunPlan],
    shipments: Sequence[Shipment],
    insertions: Sequence[Insertion],
    params: Params,
) -> list[str]:
    """Check a whole ``book`` result: known ids, each shipment once, every run valid."""
    by_run = {r.id: r for r in runs}
    by_ship = {s.id: s for s in shipments}
    problems: list[str] = []
    groups: dict[Hashable, list[tuple[Shipment, Insertion]]] = defaultdict(list)
    seen: set[Hashable] = set()
    for ins in insertions:
        if ins.run_id not in by_run or ins.shipment_id not in by_ship:
            problems.append(f"unknown run {ins.run_id!r} or shipment {ins.shipment_id!r}")
        elif ins.shipment_id in seen:
            problems.append(f"shipment {ins.shipment_id!r} booked twice")
        else:
            seen.add(ins.shipment_id)
            groups[ins.run_id].append((by_ship[ins.shipment_id], ins))
    for run_id, booked in groups.items():
        problems += validate_route(by_run[run_id], booked, params)
    return problems
