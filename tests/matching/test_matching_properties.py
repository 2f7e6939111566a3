"""Property tests: for any instance, the allocations keep every rule."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import (
    WHY,
    allocate,
    check_feasible,
    eligibility,
    greedy_allocate,
    jain_index,
    need_met_shares,
    repair,
)
from matching.candidates import Problem, candidate_graph, widen
from matching.flow import COST_SCALE, solve_flow
from matching.state import State
from matching.utility import utility
from tests.matching.strategies import instances, realistic_instance

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(instances())
def test_allocate_is_always_feasible(instance):
    lots, bens, params = instance
    result = allocate(lots, bens, params)
    assert check_feasible(lots, bens, params, result) == []
    for a in result.assignments:
        why = a.explanation
        assert why.reason in WHY
        assert why.need_after_kg == pytest.approx(max(0.0, why.need_before_kg - a.kg), abs=1e-6)
        assert why.text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_the_first_flow_by_regions_places_as_much_as_one_flow_and_allocate_stays_feasible(
    instance,
):
    lots, bens, params = instance
    params = replace(params, resolve=True)
    problem = Problem.build(lots, bens, params)
    graph = candidate_graph(problem)
    with mock.patch.multiple(repair, LOTS_PER_REGION=2, REGIONS_FROM=0):  # two lots a region
        state, near = repair.first_flow(problem, graph)
        result = allocate(lots, bens, params)
    assert check_feasible(lots, bens, params, result) == []
    assert state.x.sum() == pytest.approx(solve_flow(problem, graph).sum(), abs=1e-6)
    assert (state.left_array() >= -1e-9).all()
    assert (state.room_array() >= -1e-9).all()
    assert not near[~np.isin(np.arange(len(lots)), graph.lot[graph.in_flow])].any()


@settings(max_examples=60, deadline=None)
@given(instances())
def test_greedy_baseline_is_always_feasible(instance):
    lots, bens, params = instance
    assert check_feasible(lots, bens, params, greedy_allocate(lots, bens, params)) == []


@settings(max_examples=80, deadline=None)
@given(instances(max_lots=8, max_bens=10))
def test_candidate_graph_holds_exactly_the_eligible_pairs_when_k_is_large(instance):
    lots, bens, params = instance
    problem = Problem.build(lots, bens, params)
    graph = candidate_graph(problem, k=len(bens) + 1, reserve=0)
    found = {(int(a), int(b)) for a, b in zip(graph.lot, graph.ben, strict=True)}
    expected = {
        (i, j)
        for i, lot in enumerate(lots)
        for j, ben in enumerate(bens)
        if lot.kg > 0 and eligibility(lot, ben, params).ok
    }
    assert found == expected


@settings(max_examples=60, deadline=None)
@given(instances(max_lots=10, max_bens=6))
def test_fairness_never_costs_placed_kilograms(instance):
    # Placement comes first: the concave objective never costs placed kilograms on
    # instances without indivisible lots or minimum parts.
    lots, bens, params = instance
    lots = [replace(lot, divisible=True, min_part_kg=0.0) for lot in lots]
    fair = allocate(lots, bens, params).kg_placed
    plain = allocate(lots, bens, replace(params, fairness_alpha=0.0)).kg_placed
    assert fair == pytest.approx(plain, abs=0.01 * (1 + len(lots)))


def test_the_package_imports_no_web_or_database_code():
    code = (
        "import sys, matching; "
        "bad = {m.split('.')[0] for m in sys.modules} & {'flask', 'sqlalchemy', 'surplus'}; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_on_a_realistic_instance_maillon_is_fair_and_places_as_much_as_greedy():
    lots, bens, params = realistic_instance(400, 200)
    fair, greedy = allocate(lots, bens, params), greedy_allocate(lots, bens, params)
    assert check_feasible(lots, bens, params, fair) == []
    shares = need_met_shares(bens, params, fair)
    assert jain_index(shares) >= 0.95
    assert jain_index(shares) > jain_index(need_met_shares(bens, params, greedy)) + 0.1
    assert fair.kg_placed >= 0.999 * greedy.kg_placed  # placement is a heuristic too
    assert fair.objective > greedy.objective


def _relaxation_value(problem: Problem, graph, x: np.ndarray) -> float:
    """``F`` of the module docstring of a flow's kilograms (every lot divisible)."""
    params = problem.params
    got = np.bincount(graph.ben, x, minlength=len(problem.beneficiaries))
    urgent = problem.lot_urgent[graph.lot]
    return float(
        utility(got, problem.ben_need, params).sum()
        + params.urgency_value * x[urgent].sum()
        - params.km_cost * (graph.km * x).sum()
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_numbering_the_flows_nodes_changes_neither_the_kilograms_nor_the_optimum(instance):
    lots, bens, params = instance
    problem = Problem.build(lots, bens, params)
    graph = candidate_graph(problem)
    ordered = solve_flow(problem, graph)
    plain = solve_flow(problem, graph, order_nodes=False)
    assert ordered.sum() == pytest.approx(plain.sum(), abs=1e-6)
    # Both are optimal for the same integer costs: their values differ by cost rounding
    # only (at most 1.5 / COST_SCALE per kilogram each).
    tol = 3.0 * plain.sum() / COST_SCALE + 1e-6
    assert _relaxation_value(problem, graph, ordered) == pytest.approx(
        _relaxation_value(problem, graph, plain), abs=tol
    )
    # The kilograms sit on the right pairs: lots and capacities hold.
    assert (np.bincount(graph.lot, ordered, minlength=len(lots)) <= problem.lot_kg + 1e-6).all()
    recv = np.zeros((len(bens), 3))
    np.add.at(recv, (graph.ben, problem.lot_class[graph.lot]), ordered)
    assert (recv <= np.nan_to_num(problem.ben_cap) + 1e-6).all()


@pytest.mark.parametrize("seed", range(4))
def test_a_widened_state_is_the_state_built_afresh_on_the_wider_graph(seed):
    lots, bens, params = realistic_instance(120, 60, seed)
    problem = Problem.build(lots, bens, params)
    graph = candidate_graph(problem, k=3, reserve=0)
    rng = np.random.default_rng(seed)
    short = np.flatnonzero((np.diff(graph.ptr) > 0) & (rng.random(len(lots)) < 0.3))
    room = rng.random((len(bens), 3)) < 0.5
    widened = widen(problem, graph, short, 2, room)
    assert widened is not None
    wide, old = widened
    state = State(problem, graph, rng.uniform(0, 5, graph.size))
    state.add(0, 1.0)  # running totals moved by the repair
    added = np.flatnonzero(old < 0)
    carried = state.widened(wide, added - np.arange(len(added)))
    fresh = State(problem, wide, np.where(old >= 0, state.x[np.maximum(old, 0)], 0.0))
    assert carried.x.tolist() == fresh.x.tolist()
    for name in ("recv", "got", "left", "_ben", "_class", "_lot", "_cost", "_ptr"):
        assert getattr(carried, name) == getattr(fresh, name), name
    assert carried.ben_edges.tolist() == fresh.ben_edges.tolist()
    assert carried.ben_ptr.tolist() == fresh.ben_ptr.tolist()


@st.composite
def _with_detours(draw):
    lots, bens, params = draw(instances())
    km = st.sampled_from([0.0, 0.5, 3.0, 12.0, 40.0])
    detours = {lot.id: {b.id: draw(km) for b in bens if draw(st.booleans())} for lot in lots}
    return lots, bens, replace(params, detour_cost=draw(st.sampled_from([0.0, 2.0, 32.0]))), detours


@PROPERTY
@given(_with_detours())
def test_detours_change_where_food_goes_never_how_much_the_flow_places(instance):
    lots, bens, params, detours = instance
    result = allocate(lots, bens, params, detour_km=detours)
    assert check_feasible(lots, bens, params, result) == []
    for a in result.assignments:
        assert a.explanation.reason in WHY and a.explanation.text
    plain, steered = Problem.build(lots, bens, params), Problem.build(lots, bens, params, detours)
    placed = solve_flow(plain, candidate_graph(plain)).sum()
    assert solve_flow(steered, candidate_graph(steered)).sum() == pytest.approx(placed, abs=1e-6)
