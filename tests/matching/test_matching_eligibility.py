"""Every eligibility rule, one at a time, and their combination."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from matching import REASONS, Beneficiary, Lot, Params, eligibility
from matching.distance import great_circle_km
from tests.matching.strategies import NOW

PARAMS = Params(now=NOW)
NAMUR = (50.4669, 4.8675)


def lot(**kw) -> Lot:
    base = dict(id="l", kg=40.0, lat=NAMUR[0], lon=NAMUR[1], storage="ambient",
                category="bakery")  # fmt: skip
    return Lot(**(base | kw))


def ben(**kw) -> Beneficiary:
    base = dict(id="b", lat=NAMUR[0] + 0.05, lon=NAMUR[1], persons_per_week=40,
                capacity_kg={"ambient": 500.0, "chilled": 100.0, "frozen": 50.0})  # fmt: skip
    return Beneficiary(**(base | kw))


def test_an_ordinary_pair_is_eligible_and_reports_road_km():
    verdict = eligibility(lot(), ben(), PARAMS)
    assert verdict.ok and verdict.reasons == ()
    gc = float(great_circle_km(NAMUR[0], NAMUR[1], NAMUR[0] + 0.05, NAMUR[1]))
    assert verdict.km == pytest.approx(gc * 1.3)


@pytest.mark.parametrize(
    ("lot_kw", "ben_kw", "reason"),
    [
        ({"use_by": NOW - timedelta(seconds=1)}, {}, "past_use_by"),
        ({"fse_plus": True}, {"fse_plus": False}, "fse_plus_not_approved"),
        ({"storage": "chilled"}, {"capacity_kg": {"ambient": 10.0}}, "no_chilled_storage"),
        ({"storage": "frozen"}, {"capacity_kg": {"ambient": 10.0}}, "no_freezer_storage"),
        ({"storage": "ambient"}, {"capacity_kg": {"chilled": 10.0}}, "no_ambient_storage"),
        ({"category": "dairy"}, {"categories": {"bakery"}}, "category_not_accepted"),
        ({}, {"max_km": 5.0}, "too_far"),
        ({}, {"capacity_kg": {"ambient": 0.0}}, "no_capacity"),
        ({"divisible": False, "kg": 40.0}, {"capacity_kg": {"ambient": 39.9}}, "no_capacity"),
        ({"min_part_kg": 20.0}, {"capacity_kg": {"ambient": 19.0}}, "no_capacity"),
    ],
)
def test_each_rule_refuses_with_its_key(lot_kw, ben_kw, reason):
    verdict = eligibility(lot(**lot_kw), ben(**ben_kw), PARAMS)
    assert not verdict.ok
    assert verdict.reasons == (reason,)
    assert verdict.messages == [REASONS[reason]]


@pytest.mark.parametrize(
    ("lot_kw", "ben_kw"),
    [
        ({"use_by": NOW}, {}),  # use-by is the last moment: still fine at that moment
        ({"use_by": None}, {}),
        ({"fse_plus": True}, {"fse_plus": True}),
        ({"category": "dairy"}, {"categories": None}),
        ({"category": "dairy"}, {"categories": {"dairy", "bakery"}}),
        ({"divisible": False, "kg": 40.0}, {"capacity_kg": {"ambient": 40.0}}),
        # A lot smaller than its minimum part may go whole.
        ({"kg": 8.0, "min_part_kg": 20.0}, {"capacity_kg": {"ambient": 8.0}}),
        ({"min_part_kg": 20.0}, {"capacity_kg": {"ambient": 20.0}}),
    ],
)
def test_allowed_edge_cases(lot_kw, ben_kw):
    assert eligibility(lot(**lot_kw), ben(**ben_kw), PARAMS).ok


def test_max_km_is_compared_with_the_road_estimate_not_the_great_circle():
    b = ben()
    gc = float(great_circle_km(NAMUR[0], NAMUR[1], b.lat, b.lon))  # about 5.6 km
    b = replace(b, max_km=gc * 1.15)
    assert eligibility(lot(), b, PARAMS).reasons == ("too_far",)
    assert eligibility(lot(), b, replace(PARAMS, circuity=1.1)).ok


def test_every_failing_rule_is_reported():
    verdict = eligibility(
        lot(storage="frozen", fse_plus=True, category="dairy", use_by=NOW - timedelta(days=1)),
        ben(capacity_kg={"ambient": 1.0}, categories={"bakery"}, max_km=1.0),
        PARAMS,
    )
    assert set(verdict.reasons) == {
        "past_use_by", "fse_plus_not_approved", "no_freezer_storage",
        "category_not_accepted", "too_far",
    }  # fmt: skip


def test_reason_sentences_are_english_sentences():
    for key, sentence in REASONS.items():
        assert key.islower() and " " not in key
        assert sentence[0].isupper() and sentence.endswith(".")
