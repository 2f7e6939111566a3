"""Allocation on small hand-made cases: fairness, whole lots, parts, reasons, explanations."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from unittest import mock

import numpy as np
import pytest

from matching import (
    REASONS,
    WHY,
    Allocation,
    Beneficiary,
    InvalidInputError,
    Lot,
    Params,
    allocate,
    check_feasible,
    greedy_allocate,
    repair,
)
from matching.candidates import Problem, candidate_graph, widen
from matching.flow import solve_flow
from matching.repair import resolve_divisible
from matching.state import State
from tests.matching.strategies import NOW

PARAMS = Params(now=NOW)
LAT, LON = 50.4669, 4.8675  # Namur
KM = 1 / 111.2  # about one great-circle km of latitude


def lot(ident="l1", kg=100.0, **kw) -> Lot:
    return Lot(**(dict(id=ident, kg=kg, lat=LAT, lon=LON, storage="ambient",
                       category="bakery") | kw))  # fmt: skip


def ben(ident, km_north, need_kg=100.0, cap=1000.0, **kw) -> Beneficiary:
    """A beneficiary ``km_north`` great-circle km north of the lots, needing ``need_kg``."""
    return Beneficiary(**(dict(id=ident, lat=LAT + km_north * KM, lon=LON,
                               persons_per_week=need_kg / 2.5,
                               capacity_kg={"ambient": cap, "chilled": cap}) | kw))  # fmt: skip


def run(lots, bens, params=PARAMS) -> tuple[Allocation, dict]:
    result = allocate(lots, bens, params)
    assert check_feasible(lots, bens, params, result) == []
    given: dict = {}
    for a in result.assignments:
        given[a.beneficiary_id] = given.get(a.beneficiary_id, 0.0) + a.kg
    return result, given


def test_food_is_spread_over_two_needy_organisations_not_piled_on_the_nearest():
    lots = [lot(kg=100.0)]
    bens = [ben("near", 2, need_kg=100.0), ben("far", 6, need_kg=100.0)]
    _, given = run(lots, bens)
    assert given["near"] == pytest.approx(50.0, abs=5.0)
    assert given["far"] == pytest.approx(50.0, abs=5.0)
    # The nearest-first baseline fills the nearest one.
    baseline = greedy_allocate(lots, bens, PARAMS)
    assert [(a.beneficiary_id, a.kg) for a in baseline.assignments] == [("near", 100.0)]


def test_shares_of_need_not_kilograms_are_equalised():
    _, given = run([lot(kg=150.0)], [ben("small", 2, need_kg=50.0), ben("big", 3, need_kg=250.0)])
    assert given["small"] / 50.0 == pytest.approx(given["big"] / 250.0, abs=0.1)


def test_what_an_organisation_already_received_counts_against_it():
    # Same target; "fed" already had 60 % of it and lies nearer. Fairness is of the share
    # of the target met, not of what is left: the small lot goes to the one that had none.
    bens = [ben("fed", 1, need_kg=100.0, received_kg=60.0), ben("hungry", 6, need_kg=100.0)]
    result, given = run([lot(kg=1.5)], bens)
    assert given == {"hungry": pytest.approx(1.5)}
    why = result.assignments[0].explanation
    assert why.reason == "greater_need"
    assert (why.unmet_before, why.runner_up_unmet) == (pytest.approx(1.0), pytest.approx(0.4))


def test_lots_proposed_one_at_a_time_are_shared_as_one_proposal_would_be():
    # Continuous placement proposes a few lots at a time: handing on what each proposal
    # gave as received, the next ones still go to whoever has the least of its target.
    bens = [ben("near", 1, need_kg=100.0), ben("far", 6, need_kg=100.0)]
    received = {"near": 0.0, "far": 0.0}
    for i in range(8):
        now = [replace(b, received_kg=received[b.id]) for b in bens]
        _, given = run([lot(f"l{i}", kg=5.0)], now)
        for ident, kg in given.items():
            received[ident] += kg
    assert received == {"near": pytest.approx(20.0, abs=2.5), "far": pytest.approx(20.0, abs=2.5)}


def test_without_fairness_distance_decides():
    params = replace(PARAMS, fairness_alpha=0.0)
    _, given = run([lot(kg=100.0)], [ben("near", 2), ben("far", 6)], params)
    assert given == {"near": pytest.approx(100.0)}


def test_indivisible_lot_goes_whole_to_one_beneficiary():
    result, given = run([lot(kg=120.0, divisible=False)], [ben("a", 2, 70.0), ben("b", 3, 70.0)])
    assert len(result.assignments) == 1 and result.assignments[0].kg == 120.0
    assert result.unallocated == {}


def test_indivisible_lot_too_big_for_everyone_stays_unallocated_with_a_reason():
    result, _ = run([lot(kg=120.0, divisible=False)], [ben("a", 2, cap=100.0)])
    assert result.assignments == []
    assert result.unallocated["l1"].reason == "no_capacity"  # eligibility already refuses


def test_indivisible_lot_that_no_longer_fits_after_others_is_reported():
    lots = [lot("big", kg=80.0, divisible=False), lot("other", kg=80.0, divisible=False)]
    result, _ = run(lots, [ben("a", 2, cap=100.0)])
    assert len(result.assignments) == 1
    ((left_id, left),) = result.unallocated.items()
    assert left.kg == 80.0 and left.reason == "no_room_for_whole_lot"


def test_parts_respect_the_minimum_part():
    bens = [ben("a", 2, need_kg=15.0), ben("b", 3, need_kg=15.0)]
    result, _ = run([lot(kg=30.0, min_part_kg=20.0)], bens)
    assert result.kg_placed == pytest.approx(30.0)
    assert all(a.kg >= 20.0 for a in result.assignments)


def test_a_lot_smaller_than_its_minimum_part_goes_whole():
    result, _ = run([lot(kg=8.0, min_part_kg=20.0)], [ben("a", 2, 4.0), ben("b", 3, 4.0)])
    assert [a.kg for a in result.assignments] == [8.0]


def test_capacity_per_storage_class_is_respected_and_the_rest_reported():
    lots = [lot("c", kg=50.0, storage="chilled", category="dairy")]
    result, given = run(lots, [ben("a", 2, need_kg=200.0, cap=30.0)])
    assert given == {"a": pytest.approx(30.0)}
    assert result.unallocated["c"].kg == pytest.approx(20.0)
    assert result.unallocated["c"].reason == "capacity_exhausted"


def test_remainder_below_minimum_part_is_reported_as_such():
    bens = [ben("a", 2, cap=80.0), ben("b", 9, cap=60.0)]
    result, _ = run([lot(kg=100.0, min_part_kg=60.0)], bens)
    assert result.kg_placed == pytest.approx(80.0)  # 80 to a; 20 would be a part below 60
    assert result.unallocated["l1"].reason == "below_min_part"


def test_zero_need_beneficiary_only_gets_what_needy_ones_cannot_take():
    bens = [ben("full", 1, need_kg=0.0), ben("needy", 8, need_kg=60.0, cap=60.0)]
    _, given = run([lot(kg=100.0)], bens)
    assert given["needy"] == pytest.approx(60.0)
    assert given["full"] == pytest.approx(40.0)  # placing comes first: nothing is wasted


def test_urgent_lot_wins_scarce_capacity():
    lots = [
        lot("later", kg=50.0, use_by=NOW + timedelta(days=20)),
        lot("soon", kg=50.0, use_by=NOW + timedelta(days=1)),
    ]
    result, _ = run(lots, [ben("a", 2, cap=50.0)])
    assert [a.lot_id for a in result.assignments] == ["soon"]


def test_lots_nobody_may_receive_say_why():
    lots = [
        lot("old", use_by=NOW - timedelta(hours=1)),
        lot("fse", fse_plus=True),
        lot("frozen", storage="frozen", category="meat"),
        lot("far", lat=LAT + 1.0),
    ]
    result, _ = run(lots, [ben("a", 2)])
    reasons = {lot_id: left.reason for lot_id, left in result.unallocated.items()}
    assert reasons == {
        "old": "past_use_by",
        "fse": "fse_plus_not_approved",
        "frozen": "no_freezer_storage",
        "far": "too_far",
    }
    assert all(key in REASONS for key in reasons.values())
    assert result.unallocated["old"].message == REASONS["past_use_by"]


def test_explanations_carry_distance_need_and_runner_up():
    result, _ = run([lot(kg=40.0)], [ben("a", 2, need_kg=100.0), ben("b", 4, need_kg=0.0)])
    (assignment,) = result.assignments
    why = assignment.explanation
    assert assignment.beneficiary_id == "a"
    assert why.km == pytest.approx(assignment.km) and why.km == pytest.approx(2 * 1.3, rel=0.01)
    assert why.need_kg == 100.0
    assert why.need_before_kg == 100.0 and why.need_after_kg == pytest.approx(60.0)
    assert why.unmet_before == 1.0
    assert why.runner_up_id == "b"
    assert why.runner_up_km == pytest.approx(4 * 1.3, rel=0.01)
    assert why.runner_up_need_kg == 0.0 and why.runner_up_unmet == 0.0
    assert why.reason == "closer_and_needier" and why.reason in WHY
    assert "b" in why.text and "km" in why.text
    assert set(why.as_dict()) >= {"km", "need_before_kg", "need_after_kg", "reason", "text"}


def test_explanation_when_the_winner_is_farther_but_needier():
    result, _ = run([lot(kg=20.0)], [ben("near", 1, need_kg=100.0, received_kg=100.0),
                                     ben("far", 6, need_kg=100.0)])  # fmt: skip
    (assignment,) = result.assignments
    assert assignment.beneficiary_id == "far"
    assert assignment.explanation.reason == "greater_need"
    assert assignment.explanation.runner_up_id == "near"


def test_explanation_when_the_runner_up_is_full_or_absent():
    result, _ = run([lot(kg=20.0)], [ben("a", 3), ben("b", 1, cap=0.0)])
    assert result.assignments[0].explanation.reason == "only_candidate"
    lots = [lot("x", kg=30.0), lot("y", kg=30.0)]
    result, _ = run(lots, [ben("a", 1, need_kg=100.0, cap=30.0), ben("b", 5, need_kg=100.0)])
    reasons = {a.lot_id: a.explanation.reason for a in result.assignments}
    assert "runner_up_full" in reasons.values()


def test_needs_chain_across_the_assignments_of_one_beneficiary():
    lots = [lot("x", kg=30.0), lot("y", kg=30.0)]
    result, _ = run(lots, [ben("a", 2, need_kg=100.0)])
    first, second = (a.explanation for a in result.assignments)
    assert first.need_after_kg == pytest.approx(second.need_before_kg)
    assert second.need_after_kg == pytest.approx(40.0)


def test_empty_inputs_give_an_empty_allocation():
    assert allocate([], [], PARAMS).assignments == []
    assert allocate([lot()], [], PARAMS).unallocated["l1"].reason == "no_ambient_storage"
    assert allocate([], [ben("a", 1)], PARAMS).unallocated == {}


def test_an_empty_lot_is_neither_assigned_nor_reported():
    result, _ = run([lot(kg=0.0)], [ben("a", 1)])
    assert result.assignments == [] and result.unallocated == {}


@pytest.mark.parametrize(
    "make",
    [
        lambda: allocate([lot("x"), lot("x")], [], PARAMS),
        lambda: allocate([], [ben("a", 1), ben("a", 2)], PARAMS),
        lambda: allocate([lot()], [ben("a", 1)], Params(now=NOW.replace(tzinfo=None))),
        lambda: allocate([lot()], [ben("a", 1)], replace(PARAMS, need_tiers=(0.5, 0.2, 1.0))),
        lambda: allocate([lot()], [ben("a", 1)], replace(PARAMS, fairness_alpha=1.0)),
        lambda: lot(kg=-1.0),
        lambda: lot(storage="warm"),
        lambda: lot(use_by=NOW.replace(tzinfo=None)),
        lambda: lot(lat=float("nan")),
        lambda: ben("a", 1, capacity_kg={"cellar": 10.0}),
        lambda: ben("a", 1, received_kg=-5.0),
    ],
)
def test_invalid_input_raises_the_matchers_own_error(make):
    with pytest.raises(InvalidInputError):
        make()


def test_allocation_is_deterministic():
    lots = [lot(f"l{i}", kg=10.0 + i, lon=LON + 0.01 * i) for i in range(6)]
    bens = [ben(f"b{i}", i + 1, need_kg=20.0) for i in range(4)]
    first, second = allocate(lots, bens, PARAMS), allocate(lots, bens, PARAMS)
    assert first.assignments == second.assignments


def _two_places() -> tuple[list[Lot], list[Beneficiary]]:
    """An indivisible and a divisible lot near Namur, a divisible lot out of their reach."""
    liege = dict(lat=LAT + 60 * KM)
    lots = [lot("whole", kg=60.0, divisible=False), lot("part", kg=40.0),
            lot("far", kg=50.0, **liege)]  # fmt: skip
    bens = [ben("a", 2, need_kg=50.0), ben("b", 3, need_kg=50.0),
            ben("c", 59, need_kg=40.0), ben("d", 61, need_kg=40.0)]  # fmt: skip
    return lots, bens


def test_parts_the_indivisible_lots_did_not_disturb_keep_the_flows_kilograms():
    lots, bens = _two_places()
    problem = Problem.build(lots, bens, PARAMS)
    graph = candidate_graph(problem)
    flow = solve_flow(problem, graph)
    far = graph.lot == 2
    far_flow = {bens[b].id: x for b, x in zip(graph.ben[far], flow[far], strict=True) if x}
    result, given = run(lots, bens)
    far_kept = {a.beneficiary_id: a.kg for a in result.assignments if a.lot_id == "far"}
    assert far_kept == pytest.approx(far_flow) and sum(far_kept.values()) == pytest.approx(50.0)
    assert given["a"] + given["b"] == pytest.approx(100.0)


def test_divisible_lots_at_a_beneficiary_the_rounding_changed_are_solved_again():
    lots, bens = _two_places()
    problem = Problem.build(lots, bens, PARAMS)
    graph = candidate_graph(problem)
    pair = {(int(i), int(b)): e for e, (i, b) in enumerate(zip(graph.lot, graph.ben, strict=True))}
    x = np.zeros(graph.size)
    # As the flow left it: the indivisible lot split between a and b, the divisible lot at a.
    x[[pair[0, 0], pair[0, 1], pair[1, 0], pair[2, 2], pair[2, 3]]] = [10.0, 50.0, 40.0, 30.0, 20.0]
    state = State(problem, graph, x)
    before = state.recv_array()
    # Rounding gave the indivisible lot whole to a: b lost 50 kg.
    state.add(pair[0, 0], 50.0)
    state.add(pair[0, 1], -50.0)
    resolve_divisible(state, before)
    assert state.x[pair[1, 1]] == pytest.approx(40.0)  # the divisible lot moved to b
    assert state.x[pair[0, 0]] == 60.0  # the whole lot stays
    assert state.x[[pair[2, 2], pair[2, 3]]].tolist() == [30.0, 20.0]  # undisturbed
    assert state.left_array().tolist() == [0.0, 0.0, 0.0]


def test_a_first_flow_by_regions_keeps_the_kilograms_that_must_cross_a_border():
    # Two beneficiaries, so two regions; every lot joins the region of its nearest, "w",
    # which has room for 50 of the 160 kg: the rest must cross to "e".
    lots = [lot(f"l{i}", kg=40.0) for i in range(4)]
    bens = [ben("w", 1, cap=50.0), ben("e", 10)]
    problem = Problem.build(lots, bens, PARAMS)
    graph = candidate_graph(problem)
    with mock.patch.multiple(repair, LOTS_PER_REGION=2, REGIONS_FROM=0):
        state, near = repair.first_flow(problem, graph)
    assert np.bincount(graph.ben, state.x, minlength=2).tolist() == pytest.approx([50.0, 110.0])
    assert near.all()  # every lot has a pair across the border: step 4 solves them again


def test_widening_searches_only_beneficiaries_with_room_left():
    params = replace(PARAMS, candidates_per_lot=1)
    bens = [ben("near", 1), ben("full", 2), ben("room", 3), ben("farther", 4)]
    problem = Problem.build([lot(kg=50.0)], bens, params)
    graph = candidate_graph(problem)
    assert graph.ben.tolist() == [0]
    room = np.ones((len(bens), 3), dtype=bool)
    room[[0, 1], :] = False  # near (already a candidate) and full have no room left
    wide, old = widen(problem, graph, np.array([0]), 1, room)
    assert [bens[b].id for b in wide.ben] == ["near", "room"]
    assert old.tolist() == [0, -1] and wide.rank[1] >= wide.k  # not a flow pair
    room[2:, :] = False
    assert widen(problem, graph, np.array([0]), 1, room) is None


@pytest.mark.parametrize("parts", range(2, 14))
def test_the_second_flow_cuts_its_regions_elsewhere(parts):
    """Step 4's regions are an odd number other than the first flow's, so that
    _bisect's first cut (at 1/2 for an even count) is not the first flow's."""
    second = repair.second_parts(parts)
    assert second % 2 == 1 and second >= 3 and second != parts and second <= max(5, parts)
    rng = np.random.default_rng(parts)
    lat, lon = rng.uniform(49.5, 50.8, 600), rng.uniform(3.0, 6.3, 600)
    first, again = repair._bisect(lat, lon, parts), repair._bisect(lat, lon, second)
    # a first-flow border pair (two points either side of it) ends inside one region
    crossing = first[:, None] != first[None, :]
    assert (crossing & (again[:, None] == again[None, :])).any()


def test_one_flow_needs_no_second_by_regions():
    assert repair.second_parts(1) == 1
