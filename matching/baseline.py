"""The greedy baseline the benchmark compares Maillon's allocator with."""

from __future__ import annotations

import numpy as np

from .state import EPS, State


def greedy(state: State) -> State:
    """Nearest-first baseline: lots by use-by (soonest first), each to its nearest
    candidates with room, in valid parts, until it is placed or none is left."""
    p = state.problem
    far = p.params.now.timestamp() + 1e12
    due = [lot.use_by.timestamp() if lot.use_by else far for lot in p.lots]
    for lot in sorted(np.flatnonzero(p.lot_live), key=lambda i: (due[i], i)):
        min_part, divisible = float(p.lot_min_part[lot]), bool(p.lot_divisible[lot])
        for e in state.edges(int(lot)):
            left = state.left[lot]
            if left <= EPS:
                break
            q = min(left, state.room(e))
            if q >= min_part - EPS and q > EPS and (divisible or q >= left):
                state.add(e, q)
    return state
