"""The working state of the repair and of the greedy baseline: kilograms per pair."""

from __future__ import annotations

from bisect import bisect_right

import numpy as np
from numpy.typing import NDArray

from .candidates import CandidateGraph, Problem
from .utility import breakpoints

EPS = 1e-9


class State:
    """Kilograms on every candidate pair, with the running totals that rules need.

    ``x`` (kg per pair) is a NumPy array for the vectorised steps; the running totals
    are plain lists because the repair reads and writes them one at a time.
    """

    def __init__(self, problem: Problem, graph: CandidateGraph, x: NDArray | None = None):
        self.problem, self.graph = problem, graph
        self.x = np.zeros(graph.size) if x is None else np.array(x, dtype=float)
        n_bens = len(problem.beneficiaries)
        self.edge_class = problem.lot_class[graph.lot]
        recv = np.zeros((n_bens, 3))
        np.add.at(recv, (graph.ben, self.edge_class), self.x)
        left = problem.lot_kg - np.bincount(graph.lot, self.x, minlength=len(problem.lots))
        left[~problem.lot_live] = 0.0
        self.recv: list[list[float]] = recv.tolist()
        self.got: list[float] = recv.sum(axis=1).tolist()
        self.left: list[float] = left.tolist()
        self._ben: list[int] = graph.ben.tolist()
        self._class: list[int] = self.edge_class.tolist()
        self._lot: list[int] = graph.lot.tolist()
        self._km: list[float] = graph.km.tolist()
        self._ptr: list[int] = graph.ptr.tolist()
        self.cap: list[list[float]] = np.nan_to_num(problem.ben_cap, nan=0.0).tolist()
        shares, phi = breakpoints(problem.params)
        self._shares, self._phi = shares.tolist(), phi.tolist()
        self._km_cost = problem.params.km_cost
        self._need: list[float] = problem.ben_need.tolist()
        order = np.argsort(graph.ben, kind="stable")
        self.ben_ptr = np.searchsorted(graph.ben[order], np.arange(n_bens + 1))
        self.ben_edges = order

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
        need = self._need[b]
        if need <= 0:
            return 0.0
        share = min(kg / need, 1.0)
        k = min(bisect_right(self._shares, share), len(self._shares) - 1)
        s0, s1 = self._shares[k - 1], self._shares[k]
        p0, p1 = self._phi[k - 1], self._phi[k]
        return need * (p0 + (p1 - p0) * (share - s0) / (s1 - s0))

    def gain(self, e: int, kg: float, got: float | None = None) -> float:
        """Objective change of adding ``kg`` on pair ``e`` (need-utility minus distance)."""
        b = self._ben[e]
        base = self.got[b] if got is None else got
        return self._u(b, base + kg) - self._u(b, base) - self._km_cost * self._km[e] * kg

    def ben_class(self, e: int) -> tuple[int, int]:
        return self._ben[e], self._class[e]

    def take_back(self, lot: int) -> None:
        for e in self.edges(lot):
            if self.x[e] > 0:
                self.add(e, -float(self.x[e]))
