"""Allocation within reach: a lot goes only to the organisations its transport reaches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from matching import (
    REASONS,
    Beneficiary,
    InvalidInputError,
    Lot,
    Params,
    allocate,
    greedy_allocate,
)
from matching.booking import insert
from matching.reach import (
    NO_COLD_RUN,
    NO_RUN_IN_TIME,
    NO_RUN_NEARBY,
    NO_RUN_REACHES,
    allocate_within_reach,
    fits_alone,
    nearest_miss,
)
from tests.matching.strategies import NOW
from tests.matching.test_booking_properties import many, parameters, runs

PARAMS = Params(now=NOW)
LAT, LON = 50.4669, 4.8675  # Namur
KM = 1 / 111.2


def lot(ident, kg=100.0, **kw) -> Lot:
    return Lot(**(dict(id=ident, kg=kg, lat=LAT, lon=LON, storage="ambient",
                       category="bakery") | kw))  # fmt: skip


def ben(ident, km_north, persons=40, cap=1000.0) -> Beneficiary:
    return Beneficiary(
        id=ident,
        lat=LAT + km_north * KM,
        lon=LON,
        persons_per_week=persons,
        capacity_kg={"ambient": cap},
    )


def test_a_lot_goes_only_to_reachable_organisations_even_when_another_is_nearer():
    bens = [ben("near", 1), ben("far", 20)]
    result = allocate_within_reach(
        allocate, [lot("l1", 50)], bens, PARAMS, reach={"l1": frozenset({"far"})}
    )
    assert {a.beneficiary_id for a in result.assignments} == {"far"}
    assert result.kg_placed == 50
    # the same lot without the restriction goes to the nearer one first
    free = allocate([lot("l1", 50)], bens, PARAMS)
    assert "near" in {a.beneficiary_id for a in free.assignments}


def test_a_lot_nobody_reaches_is_left_with_its_reason():
    result = allocate_within_reach(
        allocate,
        [lot("l1", 30), lot("l2", 20)],
        [ben("a", 1)],
        PARAMS,
        reach={"l2": frozenset({"a"})},
    )
    assert result.unallocated["l1"].kg == 30
    assert result.unallocated["l1"].reason == NO_RUN_REACHES
    assert NO_RUN_REACHES in REASONS
    assert [a.lot_id for a in result.assignments] == ["l2"]


def test_a_lot_nobody_reaches_keeps_the_reason_the_caller_found():
    result = allocate_within_reach(
        allocate,
        [lot("l1", 30), lot("l2", 20), lot("l3", 10)],
        [ben("a", 1)],
        PARAMS,
        reach={"l3": frozenset()},
        unreached={"l1": NO_COLD_RUN, "l3": NO_RUN_IN_TIME},
    )
    assert result.unallocated["l1"].reason == NO_COLD_RUN
    assert result.unallocated["l2"].reason == NO_RUN_REACHES, "none given: the general one"
    assert result.unallocated["l3"].reason == NO_RUN_IN_TIME
    assert result.assignments == []
    assert {NO_RUN_IN_TIME, NO_COLD_RUN, NO_RUN_NEARBY} <= set(REASONS)


def test_the_nearest_miss_is_the_reason_where_a_run_came_nearest():
    assert nearest_miss(None, NO_RUN_IN_TIME) == NO_RUN_IN_TIME
    assert nearest_miss(NO_RUN_NEARBY, NO_RUN_IN_TIME) == NO_RUN_NEARBY
    assert nearest_miss(NO_COLD_RUN, NO_RUN_REACHES) == NO_RUN_REACHES
    assert nearest_miss(NO_RUN_REACHES, "capacity_exhausted") == "capacity_exhausted"
    assert nearest_miss("capacity_exhausted", NO_RUN_REACHES) == "capacity_exhausted"
    assert nearest_miss("capacity_exhausted", "no_capacity") == "no_capacity", "the later"


def test_room_taken_by_one_group_is_not_given_twice():
    # "a" has room for 60 kg of ambient goods; two lots with different reach sets
    # (so two groups) both reach it: together they may not exceed its room.
    bens = [ben("a", 1, persons=400, cap=60.0), ben("b", 5, persons=400, cap=1000.0)]
    lots = [lot("l1", 50, use_by=NOW + timedelta(days=1)), lot("l2", 50)]
    reach = {"l1": frozenset({"a"}), "l2": frozenset({"a", "b"})}
    for allocator in (allocate, greedy_allocate):
        result = allocate_within_reach(allocator, lots, bens, PARAMS, reach=reach)
        to_a = sum(x.kg for x in result.assignments if x.beneficiary_id == "a")
        assert to_a <= 60 + 1e-9
        assert sum(x.kg for x in result.assignments if x.lot_id == "l1") == 50  # soonest first
        for x in result.assignments:
            assert x.beneficiary_id in reach[x.lot_id]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs("r"), many, parameters)
def test_fits_alone_says_what_insert_says_shipment_by_shipment(run, ships, params):
    expected = [insert([run], ship, params) is not None for ship in ships]
    assert fits_alone(run, list(ships), params) == expected


def test_a_detour_steers_kilograms_to_the_organisation_a_van_passes_by():
    # Two organisations as needy and about as near: without detours the lot is shared
    # evenly; the one whose delivery adds 8 km to a run gets less, whichever it is.
    bens = [ben("a", 5, persons=20), ben("b", 6, persons=20)]
    lots = [lot("l1", 50)]

    def given(detour_km):
        result = allocate(lots, bens, PARAMS, detour_km=detour_km)
        return {a.beneficiary_id: a.kg for a in result.assignments}

    assert given(None) == {"a": 25.0, "b": 25.0}
    off_a = given({"l1": {"a": 8.0, "b": 0.5}})
    off_b = given({"l1": {"a": 0.5, "b": 8.0}})
    assert off_a.get("a", 0.0) < off_a["b"] and off_b.get("b", 0.0) < off_b["a"]
    assert sum(off_a.values()) == sum(off_b.values()) == 50  # placing comes first
    # without a weight on detours, they change nothing
    flat = Params(now=NOW, detour_cost=0.0)
    result = allocate(lots, bens, flat, detour_km={"l1": {"a": 8.0, "b": 0.5}})
    assert {a.beneficiary_id: a.kg for a in result.assignments} == {"a": 25.0, "b": 25.0}


def test_a_detour_weighs_more_on_a_smaller_part():
    # The same 6 km spread over what the pair can take: a beneficiary needing 10 kg
    # pays it over 10 kg, one needing 50 kg over 50 kg (the lot's 50 kg either way).
    bens = [ben("small", 5, persons=4), ben("big", 5, persons=20)]
    result = allocate([lot("l1", 50)], bens, PARAMS,
                      detour_km={"l1": {"small": 6.0, "big": 6.0}})  # fmt: skip
    plain = allocate([lot("l1", 50)], bens, PARAMS)
    got = {a.beneficiary_id: a.kg for a in result.assignments}
    before = {a.beneficiary_id: a.kg for a in plain.assignments}
    assert got.get("small", 0.0) < before["small"]


def test_detours_are_checked():
    bens = [ben("a", 5)]
    with pytest.raises(InvalidInputError):
        allocate([lot("l1", 50)], bens, PARAMS, detour_km={"l1": {"a": float("nan")}})
    with pytest.raises(InvalidInputError):
        allocate([lot("l1", 50)], bens, Params(now=NOW, detour_cost=-1.0))


def test_allocation_within_reach_passes_the_detours_on():
    bens = [ben("a", 5, persons=20), ben("b", 6, persons=20)]
    reach = {"l1": frozenset({"a", "b"})}
    detour_km = {"l1": {"a": 8.0, "b": 0.5}}
    within = allocate_within_reach(
        allocate, [lot("l1", 50)], bens, PARAMS, reach=reach, detour_km=detour_km
    )
    alone = allocate([lot("l1", 50)], bens, PARAMS, detour_km=detour_km)
    assert [(a.beneficiary_id, a.kg) for a in within.assignments] == [
        (a.beneficiary_id, a.kg) for a in alone.assignments
    ]


def test_a_lot_sent_farther_because_a_van_passes_by_says_so():
    bens = [ben("a", 5, persons=20), ben("b", 7, persons=20)]
    lots = [lot("l1", 20, divisible=False)]
    plain = allocate(lots, bens, PARAMS).assignments
    assert [(a.beneficiary_id, a.explanation.reason) for a in plain] == [
        ("a", "closer_and_needier")
    ]
    assert plain[0].explanation.detour_km is None

    steered = allocate(lots, bens, PARAMS, detour_km={"l1": {"a": 10.0, "b": 0.5}}).assignments
    assert [(a.beneficiary_id, a.explanation.reason) for a in steered] == [("b", "on_the_way")]
    why = steered[0].explanation
    assert (why.detour_km, why.runner_up_id, why.runner_up_detour_km) == (0.5, "a", 10.0)
    assert "adds 0.5 km to a run, against 10.0 km for a" in why.text
