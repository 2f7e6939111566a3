"""Eligibility: may this beneficiary receive (part of) this lot at all?

The hard rules of DESIGN.md §3 (1 use-by, 2 FSE+, 3 cold chain), the beneficiary's
accepted categories, its maximum distance and its capacity. Rule 4 (claims go through a
convention in force) is the adapter's job: it builds a ``Beneficiary`` only for
organisations with such a convention, and sets ``fse_plus`` only when that convention
allows FSE+ and the approval is in force.

Every refusal is a stable key of :data:`REASONS` that the application translates; the
English sentence in :data:`REASONS` is the source text.

Steps of :func:`eligibility`, all evaluated so that every reason is reported:

1. ``past_use_by``: ``params.now > lot.use_by``.
2. ``fse_plus_not_approved``: the lot is FSE+ and the beneficiary holds no approval.
3. ``no_<class>_storage``: the beneficiary lists no capacity for the lot's storage class.
4. ``category_not_accepted``: the beneficiary lists categories and not this one.
5. ``too_far``: road km (great-circle × ``params.circuity``) ``> beneficiary.max_km``.
6. ``no_capacity``: its capacity for the class is below the smallest valid part
   (the whole lot if indivisible, else ``min(min_part_kg, kg)``, and always > 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .distance import RoadEstimate
from .errors import InvalidInputError
from .model import Beneficiary, Lot
from .params import Params

#: Stable reason keys and their English source sentences. Eligibility reasons first,
#: then the reasons a lot (or part of it) stays unallocated.
REASONS: dict[str, str] = {
    "past_use_by": "The lot is past its use-by date (or best-before date plus grace period).",
    "fse_plus_not_approved": "FSE+ food goes only to organisations with an FSE+ approval "
    "through a convention that allows it.",
    "no_ambient_storage": "The organisation cannot take in ambient (dry) goods.",
    "no_chilled_storage": "The organisation has no chilled storage for this lot.",
    "no_freezer_storage": "The organisation has no freezer storage for this lot.",
    "category_not_accepted": "The organisation does not accept this category of food.",
    "too_far": "The organisation is farther than the distance it accepts.",
    "no_capacity": "The organisation has no room left for this lot in that storage class.",
    # Reasons for kilograms left unallocated by allocate().
    "no_eligible_beneficiary": "No organisation may receive this lot.",
    "capacity_exhausted": "Every organisation that may receive this lot is full.",
    "no_room_for_whole_lot": "The lot is indivisible and no organisation that may receive "
    "it has room for all of it.",
    "below_min_part": "What is left is smaller than the donor's minimum part.",
    "empty_lot": "The lot has no kilograms left.",
    "no_run_in_time": "No planned run leaves while this lot can be picked up and before its date.",
    "no_cold_run": "The planned runs before this lot's date have no refrigerated van or "
    "freezer for it.",
    "no_run_nearby": "No planned run before this lot's date passes near enough its donor and "
    "an organisation that may receive it.",
    "no_run_reaches": "No planned run can carry this lot to an organisation that may receive "
    "it before its date.",
}

STORAGE_REASON: dict[str, str] = {
    "ambient": "no_ambient_storage",
    "chilled": "no_chilled_storage",
    "frozen": "no_freezer_storage",
}


@dataclass(frozen=True)
class Eligibility:
    """Verdict for one (lot, beneficiary) pair: ``ok``, the refusal keys, the road km."""

    ok: bool
    reasons: tuple[str, ...]
    km: float

    @property
    def messages(self) -> list[str]:
        """The refusal reasons as English sentences (translate the keys instead in the UI)."""
        return [REASONS[key] for key in self.reasons]


def smallest_part_kg(lot: Lot) -> float:
    """Smallest part of ``lot`` a beneficiary may receive: the whole lot if indivisible."""
    if not lot.divisible:
        return lot.kg
    return min(lot.min_part_kg, lot.kg)


def check_params(params: Params) -> None:
    """Raise :class:`InvalidInputError` when parameters cannot be used for matching."""
    if params.now.utcoffset() is None:
        raise InvalidInputError("params.now must be timezone-aware")
    tiers = params.need_tiers
    increasing = all(a < b for a, b in zip(tiers, tiers[1:], strict=False))
    if not tiers or abs(tiers[-1] - 1.0) > 1e-12 or not increasing:
        raise InvalidInputError("params.need_tiers must increase strictly and end at 1.0")
    if tiers[0] <= 0:
        raise InvalidInputError("params.need_tiers must be positive")
    if not 0.0 <= params.fairness_alpha < 1.0:
        raise InvalidInputError("params.fairness_alpha must be in [0, 1)")
    if params.km_cost < 0 or params.urgency_value < 0 or params.circuity <= 0:
        raise InvalidInputError("km_cost and urgency_value must be >= 0, circuity > 0")
    if not (math.isfinite(params.detour_cost) and params.detour_cost >= 0):
        raise InvalidInputError("params.detour_cost must be a finite number >= 0")
    if min(params.reserve_candidates, params.extra_candidates) < 0:
        raise InvalidInputError("reserve_candidates and extra_candidates must be >= 0")
    if params.candidates_per_lot < 1 or params.kg_step <= 0:
        raise InvalidInputError("candidates_per_lot must be >= 1 and kg_step > 0")


def eligibility(lot: Lot, beneficiary: Beneficiary, params: Params) -> Eligibility:
    """Tell whether ``beneficiary`` may receive part of ``lot``, and if not, why.

    The allocation's vectorised candidate search applies the same rules; this function
    is their reference, used for single pairs and by :func:`check_feasible`.
    """
    reasons: list[str] = []
    if lot.use_by is not None and params.now > lot.use_by:
        reasons.append("past_use_by")
    if lot.fse_plus and not beneficiary.fse_plus:
        reasons.append("fse_plus_not_approved")
    capacity = beneficiary.capacity_kg.get(lot.storage)
    if capacity is None:
        reasons.append(STORAGE_REASON[lot.storage])
    if beneficiary.categories is not None and lot.category not in beneficiary.categories:
        reasons.append("category_not_accepted")
    km = RoadEstimate(params.circuity).km(lot.lat, lot.lon, beneficiary.lat, beneficiary.lon)
    if km > beneficiary.max_km:
        reasons.append("too_far")
    if capacity is not None and (capacity <= 0 or capacity < smallest_part_kg(lot)):
        reasons.append("no_capacity")
    return Eligibility(ok=not reasons, reasons=tuple(reasons), km=km)
