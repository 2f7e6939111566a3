"""The independent checks: the validator catches broken allocations; Jain's index."""

from __future__ import annotations

import pytest

from matching import (
    Allocation,
    Assignment,
    Beneficiary,
    Explanation,
    Lot,
    Params,
    Unallocated,
    check_feasible,
    jain_index,
    need_met_shares,
    objective_value,
)
from matching.eligibility import eligibility
from tests.matching.strategies import NOW

PARAMS = Params(now=NOW)
LOT = Lot("l", 50.0, 50.4669, 4.8675, "ambient", "bakery", divisible=False)
BEN = Beneficiary("b", 50.48, 4.8675, 40, capacity_kg={"ambient": 30.0})
KM = eligibility(LOT, BEN, PARAMS).km


def assignment(kg: float, km: float = KM, lot_id="l", ben_id="b") -> Assignment:
    return Assignment(lot_id, ben_id, kg, km, Explanation(km, 0, 0, 0, 0, "only_candidate"))


def test_validator_lists_every_broken_rule():
    bad = Allocation([assignment(20.0, km=1.0), assignment(45.0)], {"l": Unallocated(1.0, "x")})
    lines = "\n".join(check_feasible([LOT], [BEN], PARAMS, bad))
    assert "pair assigned twice" in lines
    assert "not eligible (no_capacity)" in lines  # 50 kg whole lot, 30 kg of room
    assert "differs from the road estimate" in lines
    assert "below the minimum" in lines
    assert "exceeds capacity" in lines
    assert "given out of 50.0" in lines
    assert "indivisible but given as parts" in lines
    assert "accounted for" in lines


def test_validator_accepts_a_valid_allocation():
    ben = Beneficiary("b", 50.48, 4.8675, 40, capacity_kg={"ambient": 60.0})
    good = Allocation([assignment(50.0)], {})
    assert check_feasible([LOT], [ben], PARAMS, good) == []


def test_validator_flags_unknown_ids():
    bad = Allocation([assignment(1.0, ben_id="ghost")], {})
    assert check_feasible([LOT], [BEN], PARAMS, bad)[0].startswith("unknown")


@pytest.mark.parametrize(
    ("values", "index"),
    [([1, 1, 1, 1], 1.0), ([1, 0, 0, 0], 0.25), ([1, 0], 0.5), ([], 1.0), ([0, 0], 1.0),
     ([0.5, 1.0], 0.9)],
)  # fmt: skip
def test_jain_index(values, index):
    assert jain_index(values) == pytest.approx(index)


def test_need_met_shares_and_objective():
    ben = Beneficiary("b", 50.48, 4.8675, 40, capacity_kg={"ambient": 60.0})  # need 100 kg
    alloc = Allocation([assignment(50.0)], {})
    assert need_met_shares([ben], PARAMS, alloc) == [0.5]
    # φ(s) = 2√s at the breakpoint 0.5, times the need, minus λ·km·kg.
    expected = 100 * 2 * 0.5**0.5 - PARAMS.km_cost * KM * 50.0
    assert objective_value([LOT], [ben], PARAMS, alloc) == pytest.approx(expected)


def test_what_was_already_received_counts_in_the_shares_and_the_objective():
    # Target 100 kg, 20 already received: 30 more bring the share of the target to 0.5.
    ben = Beneficiary("b", 50.48, 4.8675, 40, received_kg=20.0, capacity_kg={"ambient": 60.0})
    alloc = Allocation([assignment(30.0)], {})
    assert need_met_shares([ben], PARAMS, alloc) == [pytest.approx(0.5)]
    expected = 100 * 2 * (0.5**0.5 - 0.2**0.5) - PARAMS.km_cost * KM * 30.0
    assert objective_value([LOT], [ben], PARAMS, alloc) == pytest.approx(expected)
