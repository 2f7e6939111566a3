"""The fairness utility: a concave, piecewise-linear value of each beneficiary's need met.

A beneficiary's target is ``T_b`` kilograms over the window its figures cover; it has
already received ``m_b`` of them (``met``, at most ``T_b``) and needs ``need_b = T_b −
m_b`` more. With ``s = (m_b + x_b) / T_b`` the share of its target met once ``x_b``
more kilograms come, the value of those kilograms is

    U_b(x_b) = T_b · φ̂(min(s, 1)) − T_b · φ̂(m_b / T_b)

where ``φ̂`` interpolates the α-fair ``φ(s) = s^(1-α) / (1-α)`` linearly between the
breakpoints ``params.need_tiers``. Tier ``k`` (shares ``s_{k-1}..s_k``) is worth ``v_k =
(φ(s_k) - φ(s_{k-1})) / (s_k - s_{k-1})`` per kilogram; ``v_1 > v_2 > ...`` so the first
kilograms of a target are worth most, and what a beneficiary already received counts:
one that got little of its target lately is worth more per kilogram than one that got
much, however the food is cut into proposals (continuous placement proposes a few lots
every quarter of an hour). Kilograms beyond the need are worth 0 (they are still
placed: see the allocation). With ``met = 0`` this is ``need · φ̂(min(x / need, 1))``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

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


def _arrays(x: ArrayLike, need: ArrayLike, met: ArrayLike) -> tuple[NDArray, ...]:
    x, need, met = (np.asarray(a, dtype=float) for a in (x, need, met))
    target = need + met
    return x, need, met, np.where(target > 0, target, 1.0)


def utility(x: ArrayLike, need: ArrayLike, params: Params, met: ArrayLike = 0.0) -> NDArray:
    """``U_b(x)`` element-wise (module docstring); 0 where the need is 0."""
    shares, phi = breakpoints(params)
    x, need, met, target = _arrays(x, need, met)
    after = np.interp(np.minimum((met + x) / target, 1.0), shares, phi)
    before = np.interp(np.minimum(met / target, 1.0), shares, phi)
    return np.where(need > 0, target * (after - before), 0.0)


def marginal_value(x: ArrayLike, need: ArrayLike, params: Params, met: ArrayLike = 0.0) -> NDArray:
    """Value of the next kilogram for a beneficiary given ``x`` more than the ``met`` it
    already had (the slope of the tier it is in)."""
    shares = np.asarray(params.need_tiers, dtype=float)
    values = np.append(tier_values(params), 0.0)
    x, need, met, target = _arrays(x, need, met)
    tier = np.searchsorted(shares, (met + x) / target, side="right")
    return np.where(need > 0, values[np.minimum(tier, len(shares))], 0.0)


def tier_bounds(need: ArrayLike, params: Params, met: ArrayLike = 0.0) -> NDArray:
    """Per beneficiary (rows), the kilograms given at which each tier begins and ends
    (``len(need_tiers) + 1`` columns): tier ``k`` covers ``[b[:, k], b[:, k+1]]`` of what
    it is given; the tiers its ``met`` already covers are empty."""
    shares = breakpoints(params)[0]
    need, met = np.asarray(need, dtype=float), np.asarray(met, dtype=float)
    target = need + met
    return np.maximum(0.0, shares[None, :] * target[:, None] - met[:, None])
