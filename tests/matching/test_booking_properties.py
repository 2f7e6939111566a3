"""Property tests of the booking planner against the independent validator.

Instances are small: a few runs of up to six stops in a 20 km square, points often
shared (ties), windows that bind, small vans, deadlines, two time zones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.booking import (
    RunPlan,
    Shipment,
    StopPlan,
    apply_insertion,
    book,
    book_sequential,
    insert,
    kernels,
    validate_booking,
)
from matching.booking.arrays import Shipments
from matching.booking.check import check_route
from matching.booking.fleet import Fleet
from matching.booking.kernels import (
    coarse_bounds,
    distance_bounds,
    distance_column,
    distance_grid,
    exact_costs,
    near_grid,
    scan,
)
from matching.params import Params

T0 = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # Brussels moves to summer time at 01:00 UTC
ZONES = [UTC, ZoneInfo("Europe/Brussels")]
SHARED = [(50.0, 4.0), (50.05, 4.1), (50.1, 4.05), (50.12, 4.2)]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def points(draw) -> tuple[float, float]:
    if draw(st.booleans()):
        return draw(st.sampled_from(SHARED))
    return draw(st.floats(50.0, 50.15)), draw(st.floats(4.0, 4.25))


@st.composite
def moments(draw, lo: int = 0, hi: int = 360) -> datetime:
    return (T0 + timedelta(minutes=draw(st.integers(lo, hi)))).astimezone(
        draw(st.sampled_from(ZONES))
    )


@st.composite
def windows(draw) -> tuple[datetime, datetime] | None:
    if draw(st.integers(0, 2)) == 0:
        return None
    opens = draw(moments())
    return opens, opens + timedelta(minutes=draw(st.integers(-10, 240)))


@st.composite
def stops(draw) -> StopPlan:
    window = draw(windows()) or (None, None)
    if draw(st.booleans()):
        window = (None, window[1]) if draw(st.booleans()) else (window[0], None)
    delta = draw(st.sampled_from([-40.0, -15.0, 0.0, 10.0, 25.0]))
    return StopPlan(*draw(points()), delta, *window, draw(st.sampled_from([0.0, 5.0, 10.0])))


@st.composite
def runs(draw, rid: str) -> RunPlan:
    cold = draw(st.integers(0, 2))
    return RunPlan(
        rid,
        draw(st.sampled_from([30.0, 60.0, 150.0, 400.0])),
        cold >= 1,
        cold == 2,
        *draw(points()),
        draw(moments(0, 120)),
        draw(st.lists(stops(), max_size=6)),
        draw(st.sampled_from([30.0, 50.0, 80.0])),
        draw(st.none() | st.floats(60.0, 600.0)),
        draw(st.none() | st.sampled_from([0.0, 20.0, 100.0])),
    )


@st.composite
def shipments(draw, sid: str) -> Shipment:
    deadline = draw(st.none() | moments(-90, 600))
    return Shipment(
        sid,
        draw(st.sampled_from([5.0, 20.0, 45.0, 100.0])),
        draw(st.sampled_from(["ambient", "ambient", "chilled", "frozen"])),
        *draw(points()),
        *draw(points()),
        draw(windows()),
        draw(windows()),
        deadline,
    )


fleets = st.integers(1, 3).flatmap(lambda n: st.tuples(*(runs(f"r{i}") for i in range(n))))
many = st.integers(0, 7).flatmap(lambda n: st.tuples(*(shipments(f"s{i}") for i in range(n))))
parameters = st.builds(
    Params,
    now=st.just(T0),
    circuity=st.sampled_from([1.0, 1.3]),
    service_min=st.sampled_from([0.0, 5.0, 10.0]),
)


def brute_force(fleet, ship, params) -> float | None:
    """Least added km over every run and every pair of positions, by the validator."""
    best = None
    for run in fleet:
        before = check_route(run, [], params)
        if before.violations:
            continue
        size = len(run.stops) + 2
        for i in range(size - 1):
            for j in range(i + 1, size):
                after = check_route(run, [(ship, i, j)], params)
                if not after.violations and (best is None or after.km - before.km < best):
                    best = after.km - before.km
    return best


def one_by_one(fleet, ships, params) -> tuple[int, float]:
    """Sequential cheapest insertion through the public ``insert``."""
    fleet, count, km = list(fleet), 0, 0.0
    for ship in ships:
        found = insert(fleet, ship, params)
        if found is not None:
            k = [r.id for r in fleet].index(found.run_id)
            fleet[k] = apply_insertion(fleet[k], ship, found, params)
            count, km = count + 1, km + found.added_km
    return count, km


@SETTINGS
@given(fleets, shipments("s"), parameters)
def test_insert_equals_brute_force_and_respects_every_rule(fleet, ship, params):
    found = insert(fleet, ship, params)
    best = brute_force(fleet, ship, params)
    assert (found is None) == (best is None)
    if found is not None:
        assert abs(found.added_km - max(best, 0.0)) < 1e-6
        assert validate_booking(fleet, [ship], [found], params) == []


@SETTINGS
@given(fleets, many, parameters)
def test_book_respects_every_rule_and_is_never_worse_than_sequential(fleet, ships, params):
    result = book(fleet, ships, params)
    assert validate_booking(fleet, ships, result, params) == []
    count, km = one_by_one(fleet, ships, params)
    booked = sum(i.added_km for i in result)
    assert len(result) > count or (len(result) == count and booked <= km + 1e-6)
    baseline = book_sequential(fleet, ships, params)
    assert validate_booking(fleet, ships, baseline, params) == []
    assert len(baseline) == count
    assert abs(sum(i.added_km for i in baseline) - km) < 1e-6


@SETTINGS
@given(fleets, many, parameters)
def test_every_bound_of_the_planner_stays_below_the_exact_cost(fleet, ships, params):
    """The planner skips a run on a bound alone, so each must be a true lower bound (the
    distance bounds read straight lines through the Earth, off one dot product; a bound
    is ``inf`` beyond the run's reach, so only where no insertion exists), and the exact
    kernel behind ``book`` (filter, then the scan of the candidate pairs) must give the
    scan's cost and edges, ties included."""
    if not ships:
        return
    fleet_arrays = Fleet(fleet, params.circuity, service_min=params.service_min)
    fleet_arrays.ensure(np.arange(len(fleet)))
    arrays = Shipments.build(ships, params.circuity, params.service_min)
    si, ri = np.meshgrid(np.arange(len(ships)), np.arange(len(fleet)), indexing="ij")
    si, ri = si.ravel(), ri.ravel()
    exact, edge_a, edge_b = scan(fleet_arrays, arrays, si, ri)[:3]
    cost, a, b = exact_costs(fleet_arrays, arrays, si, ri)
    assert np.array_equal(cost, exact)
    found = np.isfinite(exact)
    assert np.array_equal(a[found], edge_a[found]) and np.array_equal(b[found], edge_b[found])
    grid, level = near_grid(fleet_arrays, arrays, np.arange(len(ships)), np.arange(len(fleet)), 5.0)
    column = np.concatenate(
        [distance_column(fleet_arrays, arrays, np.arange(len(ships)), r) for r in range(len(fleet))]
    )
    by_run = np.argsort(ri, kind="stable")  # column order: run first
    bounds = {
        "coarse": coarse_bounds(fleet_arrays, arrays, si, ri),
        "distance": distance_bounds(fleet_arrays, arrays, si, ri),
        "column": column[np.argsort(by_run)],
        "grid": distance_grid(
            fleet_arrays, arrays, np.arange(len(ships)), np.arange(len(fleet))
        ).ravel(),
        "near grid": grid.ravel(),
    }
    assert set(level.ravel().tolist()) <= {0, 1}
    feasible = np.isfinite(exact)
    for name, bound in bounds.items():
        assert (bound[feasible] <= exact[feasible] + 1e-9).all(), name


@SETTINGS
@given(fleets, parameters)
def test_one_run_pass_equals_the_pass_over_many_runs(fleet, params):
    """``book`` updates a run it changed with a pass on Python floats; it must give the
    vectorised pass's times, slack, loads, reach and verdict to the last bit."""
    arrays = Fleet(fleet, params.circuity, spare=3, service_min=params.service_min)
    arrays.ensure(np.arange(len(fleet)))
    state, ok, reach = arrays.state.copy(), arrays.base_ok.copy(), arrays.reach.copy()
    for r in range(len(fleet)):
        arrays._derive_row(r)
    assert np.array_equal(arrays.state, state)
    assert np.array_equal(arrays.base_ok, ok)
    assert np.array_equal(arrays.reach, reach)


@SETTINGS
@given(fleets, shipments("s"), parameters, st.data())
def test_a_run_changed_in_place_equals_the_run_read_again(fleet, ship, params, data):
    """``book`` updates the one run it changes (stops put in or taken out) with the
    one-row passes, which stop at the return and copy it over the padding; the run's
    geometry, times, slack, loads, reach and verdict must be those of the passes over
    many runs to the last bit."""
    arrays = Fleet(fleet, params.circuity, spare=3, service_min=params.service_min)
    arrays.ensure(np.arange(len(fleet)))
    ships = Shipments.build([ship], params.circuity, params.service_min)
    r = data.draw(st.integers(0, len(fleet) - 1))
    n = int(arrays.n[r])
    a = data.draw(st.integers(0, n))
    b = data.draw(st.integers(a, n))
    names = ("u", "el", "centre", "radius", "longest", "spread", "state", "base_ok", "reach")
    for change in ("insert", "remove"):
        if change == "insert":
            arrays.insert_stops(r, ships, 0, a, b)
        else:
            arrays.remove_stops(r, a + 1, b + 2)
        got = {name: getattr(arrays, name).copy() for name in names}
        rows = np.array([r])
        arrays._geometry(rows, arrays.u[:, rows].copy())
        arrays._derive(rows)
        for name in names:
            assert np.array_equal(getattr(arrays, name), got[name]), (change, name)


@SETTINGS
@given(fleets, many, parameters)
def test_the_distance_bound_edge_by_edge_equals_the_plain_one(fleet, ships, params):
    """Many shipments on one run take the level-1 bound edge by edge (edges first in
    memory); it must give the plain bound's floats exactly."""
    if not ships:
        return
    fleet_arrays = Fleet(fleet, params.circuity, service_min=params.service_min)
    arrays = Shipments.build(ships, params.circuity, params.service_min)
    every = np.arange(len(ships))
    for r in range(len(fleet)):
        plain = distance_column(fleet_arrays, arrays, every, r)
        saved, kernels._BY_EDGE = kernels._BY_EDGE, 1
        try:
            by_edge = distance_column(fleet_arrays, arrays, every, r)
        finally:
            kernels._BY_EDGE = saved
        assert np.array_equal(by_edge, plain)
