"""The working state of the repair and of the greedy baseline: kilograms per pair."""

from __future__ import annotations

from bisect import bisect_right
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from .candidates import CandidateGraph, Problem
from .utility import breakpoints

EPS = 1e-9


def _splice(old: list, at: NDArray, values: list) -> list:
    """``old`` with ``values[j]`` inserted before ``old[at[j]]`` (``at`` sorted)."""
    out: list = []
    start = 0
    bounds = np.flatnonzero(np.diff(at)) + 1
    for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(at)], strict=True):
        pos = int(at[lo])
        out += old[start:pos]
        out += values[lo:hi]
        start = pos
    out += old[start:]
    return out


class State:
    """Kilograms on every candidate pair, with the running totals that rules need.

    ``x`` (kg per pair) is a NumPy array for the vectorised steps; the running totals
    are plain lists because the repair reads and writes them one at a time.
    """

    def __init__(self, problem: Problem, graph: CandidateGraph, x: NDArray | None = None):
        self.problem, self.graph = problem, graph
        self.x = np.zeros(graph.size) if x is None else np.array(x, dtype=float)
        self.edge_class = problem.lot_class[graph.lot]
        self._totals()
        self._ben: list[int] = graph.ben.tolist()
        self._class: list[int] = self.edge_class.tolist()
        self._lot: list[int] = graph.lot.tolist()
        self._cost: list[float] = graph.cost.tolist()
        self._ptr: list[int] = graph.ptr.tolist()
        self.cap: list[list[float]] = np.nan_to_num(problem.ben_cap, nan=0.0).tolist()
        shares, phi = breakpoints(problem.params)
        self._shares, self._phi = shares.tolist(), phi.tolist()
        self._need: list[float] = problem.ben_need.tolist()
        self._met: list[float] = problem.ben_met.tolist()
        self._target: list[float] = (problem.ben_need + problem.ben_met).tolist()

    def _totals(self) -> None:
        p, g = self.problem, self.graph
        recv = np.zeros((len(p.beneficiaries), 3))
        np.add.at(recv, (g.ben, self.edge_class), self.x)
        left = p.lot_kg - np.bincount(g.lot, self.x, minlength=len(p.lots))
        left[~p.lot_live] = 0.0
        self.recv: list[list[float]] = recv.tolist()
        self.got: list[float] = recv.sum(axis=1).tolist()
        self.left: list[float] = left.tolist()

    @cached_property
    def ben_edges(self) -> NDArray:
        """Pairs sorted by beneficiary (stable); ``ben_ptr`` delimits each one's."""
        return np.argsort(self.graph.ben, kind="stable")

    @cached_property
    def ben_ptr(self) -> NDArray:
        n_bens = len(self.problem.beneficiaries)
        return np.searchsorted(self.graph.ben[self.ben_edges], np.arange(n_bens + 1))

    def widened(self, graph: CandidateGraph, at: NDArray) -> State:
        """This state on ``graph``: this state's graph with new pairs (no kilograms)
        inserted before this graph's pairs ``at`` (as ``np.insert``).

        Same as ``State(problem, graph, x)`` with ``x`` carried over, but the per-pair
        lists are spliced instead of rebuilt from the arrays.
        """
        new = State.__new__(State)
        new.__dict__.update({k: v for k, v in self.__dict__.items()
                             if k not in ("ben_edges", "ben_ptr")})  # fmt: skip
        new.graph = graph
        new.x = np.insert(self.x, at, 0.0)
        new.edge_class = self.problem.lot_class[graph.lot]
        new._totals()
        added = np.arange(len(at)) + at  # positions of the new pairs in ``graph``
        for name, column in (("_ben", graph.ben), ("_class", new.edge_class),
                             ("_lot", graph.lot), ("_cost", graph.cost)):  # fmt: skip
            setattr(new, name, _splice(getattr(self, name), at, column[added].tolist()))
        new._ptr = graph.ptr.tolist()
        return new

    def recv_array(self) -> NDArray:
        return np.array(self.recv, dtype=float).reshape(-1, 3)

    def room_array(self) -> NDArray:
        """Kilograms of room left per beneficiary and storage class (0 where none)."""
        return np.array(self.cap, dtype=float).reshape(-1, 3) - self.recv_array()

    def got_array(self) -> NDArray:
        return np.array(self.got, dtype=float)

    def left_array(self) -> NDArray:
        return np.array(self.left, dtype=float)

    def edges(self, lot: int) -> range:
        return range(self._ptr[lot], self._ptr[lot + 1])

    def add(self, e: int, kg: float) -> None:
        b = self._ben[e]
        self.x[e] += kg
        self.recv[b][self._class[e]] += kg
        self.got[b] += kg
        self.left[self._lot[e]] -= kg

    def set_parts(self, edges: NDArray, kg: NDArray) -> None:
        """Set the kilograms of pairs ``edges`` to ``kg`` at once (totals follow)."""
        p, g = self.problem, self.graph
        delta = kg - self.x[edges]
        self.x[edges] = kg
        recv = np.array(self.recv, dtype=float)
        np.add.at(recv, (g.ben[edges], self.edge_class[edges]), delta)
        left = np.array(self.left, dtype=float)
        left -= np.bincount(g.lot[edges], delta, minlength=len(p.lots))
        self.recv, self.got, self.left = recv.tolist(), recv.sum(axis=1).tolist(), left.tolist()

    def room(self, e: int) -> float:
        b, c = self._ben[e], self._class[e]
        return self.cap[b][c] - self.recv[b][c]

    def _u(self, b: int, kg: float) -> float:
        """The need-utility of ``kg`` given, up to a constant (matching.utility)."""
        need = self._need[b]
        if need <= 0:
            return 0.0
        target = self._target[b]
        share = min((self._met[b] + kg) / target, 1.0)
        k = min(bisect_right(self._shares, share), len(self._shares) - 1)
        s0, s1 = self._shares[k - 1], self._shares[k]
        p0, p1 = self._phi[k - 1], self._phi[k]
        return target * (p0 + (p1 - p0) * (share - s0) / (s1 - s0))

    def gain(self, e: int, kg: float, got: float | None = None) -> float:
        """Objective change of adding ``kg`` on pair ``e`` (need-utility minus the pair's
        cost: distance, and detour when given)."""
        b = self._ben[e]
        base = self.got[b] if got is None else got
        return self._u(b, base + kg) - self._u(b, base) - self._cost[e] * kg

    def ben_class(self, e: int) -> tuple[int, int]:
        return self._ben[e], self._class[e]

    def take_back(self, lot: int) -> None:
        for e in self.edges(lot):
            if self.x[e] > 0:
                self.add(e, -float(self.x[e]))
