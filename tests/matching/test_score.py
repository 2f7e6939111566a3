"""The ranking score is the allocation objective's value of a first kilogram."""

from datetime import UTC, datetime

import numpy as np

from matching.params import Params
from matching.score import scores, urgent_equivalent_km
from matching.utility import tier_values

P = Params(now=datetime(2026, 11, 23, tzinfo=UTC))


def test_nearer_ranks_higher_and_urgency_is_worth_its_km():
    s = scores([10.0, 30.0, 60.0], [False, False, True], 100.0, P)
    assert s[0] > s[1]
    assert np.isclose(s[2], s[1] + P.urgency_value - P.km_cost * 30)
    assert urgent_equivalent_km(P) == P.urgency_value / P.km_cost


def test_need_adds_the_first_tier_value():
    s = scores([10.0, 10.0], [False, False], [50.0, 0.0], P)
    assert np.isclose(s[0] - s[1], tier_values(P)[0])
