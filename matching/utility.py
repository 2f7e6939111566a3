"""The fairness utility: a concave, piecewise-linear value of each beneficiary's need met.

With ``s_b = x_b / need_b`` the share of need met by ``x_b`` kilograms, the utility of a
beneficiary is ``need_b · φ̂(min(s_b, 1))`` where ``φ̂`` interpolates the α-fair
``φ(s) = s^(1-α) / (1-α)`` linearly between the breakpoints ``params.need_tiers``. Tier
``k`` (shares ``s_{k-1}..s_k``) is worth ``v_k = (φ(s_k) - φ(s_{k-1})) / (s_k - s_{k-1})``
per kilogram; ``v_1 > v_2 > ...`` so the first kilograms of need are worth most.
Kilograms beyond the need are worth 0 (they are still placed: see the allocation).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .params import Params


def _phi(share: NDArray, alpha: float) -> NDArray:
    return np.power(share, 1.0 - alpha) / (1.0 - alpha)


def breakpoints(params: Params) -> tuple[NDArray, NDArray]:
    """Shares ``0, s_1, ..., 1`` and ``φ`` at each of them."""
    shares = np.concatenate(([0.0], np.asarray(params.need_tiers, dtype=float)))
    return shares, _phi(shares, params.fairness_alpha)


def tier_values(params: Params) -> NDArray:
    """``v_k``: objective value of one kilogram of need met within tier ``k``."""
    shares, phi = breakpoints(params)
    return np.diff(phi) / np.diff(shares)


def utility(x: NDArray, need: NDArray, params: Params) -> NDArray:
    """``need · φ̂(min(x / need, 1))`` element-wise; 0 where the need is 0."""
    shares, phi = breakpoints(params)
    x, need = np.asarray(x, dtype=float), np.asarray(need, dtype=float)
    safe = np.where(need > 0, need, 1.0)
    value = need * np.interp(np.minimum(x / safe, 1.0), shares, phi)
    return np.where(need > 0, value, 0.0)


def marginal_value(x: NDArray, need: NDArray, params: Params) -> NDArray:
    """Value of the next kilogram for a beneficiary that has received ``x`` (tier slope)."""
    shares = np.asarray(params.need_tiers, dtype=float)
    values = np.append(tier_values(params), 0.0)
    x, need = np.asarray(x, dtype=float), np.asarray(need, dtype=float)
    safe = np.where(need > 0, need, 1.0)
    tier = np.searchsorted(shares, x / safe, side="right")
    return np.where(need > 0, values[np.minimum(tier, len(shares))], 0.0)
