"""The matcher's value of one kilogram of a lot for one beneficiary, for ranking.

It is the allocation's objective ``F`` (see :mod:`matching.allocation`) per kilogram
at the first kilogram:

    score(l, b) = v(0, need_b) + μ · [use_by_l ≤ now + urgent_within] − λ · km_lb

where ``v(0, need_b)`` is the value of the first kilogram of need met (the top tier
when ``need_b > 0``, else 0), ``μ = params.urgency_value`` and ``λ = params.km_cost``.
For one beneficiary, lots rank by urgency and distance; for one lot, beneficiaries rank
by need and distance. The full allocation (which also shares lots and respects every
capacity) remains the reference; this is its first-order view, cheap enough for a page.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .params import Params
from .utility import marginal_value


def scores(km: ArrayLike, urgent: ArrayLike, need_kg: ArrayLike, params: Params) -> NDArray:
    """Element-wise ``score`` for aligned arrays of road km, urgency flags and needs."""
    km_arr = np.asarray(km, dtype=float)
    need = np.broadcast_to(np.asarray(need_kg, dtype=float), km_arr.shape)
    base = marginal_value(np.zeros_like(km_arr), need, params)
    return base + params.urgency_value * np.asarray(urgent, dtype=float) - params.km_cost * km_arr


def urgent_equivalent_km(params: Params) -> float:
    """How many road km an urgent lot is worth in the ranking (``μ / λ``)."""
    return params.urgency_value / params.km_cost if params.km_cost > 0 else float("inf")
