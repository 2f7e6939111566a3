"""Allocation within reach: a lot goes only to the organisations its transport reaches."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings

from matching import REASONS, Beneficiary, Lot, Params, allocate, greedy_allocate
from matching.booking import insert
from matching.reach import NO_RUN_REACHES, allocate_within_reach, fits_alone
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
