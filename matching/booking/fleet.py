"""NumPy state of a set of runs for the booking planner.

The time model and the algorithm are described in :mod:`matching.booking.insertion`.
Here they are arrays: one row per run, one column per node (node 0 is the depot the run
leaves, nodes ``1..n`` its stops, node ``n + 1`` the depot it returns to; shorter rows
are padded with copies of their depot, so padded legs are 0 km long). Edge ``e`` is the
leg from node ``e`` to node ``e + 1``. Units: :mod:`matching.booking.arrays`.

Per node, the forward pass gives the arrival ``A``, the service start ``S`` and the
waiting ``w = S - A``; with the cumulative waiting ``CW`` and ``Q_k = CW_k + L_k - S_k``
(``L`` the latest service start), a delay ``d`` on arrival at node ``k`` breaks no
window of nodes ``k..m`` iff ``d <= min(Q_k..Q_m) - CW_(k-1)``. ``AS_k`` is that bound
for ``m = n + 1`` (the return, whose latest time is ``start + max_duration_min``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .arrays import EPOCH, EPS, INF, MINUTE, Shipments, chord_km, to_minutes, unit

if TYPE_CHECKING:
    from .model import RunPlan

RAW = {"lat": 0, "lon": 1, "delta": 2, "ws": 3, "we": 4, "svc": 5}
STATE = {"S": 0, "A": 1, "CW": 2, "Q": 3, "AS": 4, "load": 5, "dep": 6}
_PAD = {"delta": 0.0, "ws": -INF, "we": INF, "svc": 0.0}  # padding nodes: depot copies


class Fleet:
    """Padded arrays of a list of runs; rows grow when ``book`` inserts stops.

    ``raw[RAW[name]]`` holds the inputs per node (lat, lon, load delta, window start and
    end, service minutes); ``state[STATE[name]]`` the results of the passes (``S``,
    ``A``, ``CW``, ``Q``, ``AS``, ``load`` after the node, ``dep`` = ``S`` + service).
    Coordinates are read at once; the time state of a run is read on first use
    (:meth:`ensure`), so ``insert`` only pays for the runs it looks at.
    """

    def __init__(self, runs: Sequence[RunPlan], circuity: float, spare: int = 0) -> None:
        self.runs, self.circuity = runs, circuity
        r_count = len(runs)
        self.n = np.array([len(r.stops) for r in runs], dtype=np.int64)
        width = int(self.n.max(initial=0)) + 2 + spare
        head = np.array(
            [(r.depot_lat, r.depot_lon, r.capacity_kg, 60.0 / r.speed_kmh) for r in runs], float
        ).reshape(-1, 4)
        self.cap, self.mpk = head[:, 2].copy(), head[:, 3].copy()
        self.start = np.array([to_minutes(r.start, 0.0) for r in runs], float)
        duration = [INF if r.max_duration_min is None else r.max_duration_min for r in runs]
        self.end_l = self.start + np.array(duration, float)
        cold = [(True, r.refrigerated, r.freezer) for r in runs]
        self.carry = np.array(cold, bool).reshape(-1, 3).T.copy()  # [need, run]
        self.raw = np.empty((len(RAW), r_count, width))
        for name, pad in _PAD.items():
            self.raw[RAW[name]] = pad
        rows, cols = self._slots(np.arange(r_count))
        for j, name in enumerate(("lat", "lon")):
            self.raw[j] = head[:, j, None]
            self.raw[j, rows, cols] = np.array([getattr(s, name) for s in _stops(runs)], float)
        self.raw[RAW["ws"], :, 0] = self.start
        self.raw[RAW["we"], np.arange(r_count), self.n + 1] = self.end_l
        self.load0 = np.zeros(r_count)
        self.ready = np.zeros(r_count, bool)
        self.all_ready = r_count == 0
        self.base_ok = np.zeros(r_count, bool)
        self.state = np.zeros((len(STATE), r_count, width))
        self._shape_geometry(width)
        self._geometry(np.arange(r_count))

    def _shape_geometry(self, width: int) -> None:
        r_count = len(self.runs)
        self.u = np.zeros((3, r_count, width))
        self.el = np.zeros((r_count, width - 1))
        self.centre = np.zeros((3, r_count))
        self.radius = np.zeros(r_count)
        self.longest = np.zeros(r_count)

    def _slots(self, rows: NDArray) -> tuple[NDArray, NDArray]:
        """Row and column of every regular stop of the given runs, in order."""
        n = self.n[rows]
        first = np.repeat(np.cumsum(n) - n, n)
        return np.repeat(rows, n), np.arange(int(n.sum())) - first + 1

    def _geometry(self, rows: NDArray, u: NDArray | None = None) -> None:
        """Unit vectors, leg km and the enclosing circle (centre, radius, longest leg)."""
        if u is None:
            u = unit(self.raw[0, rows], self.raw[1, rows])
        self.u[:, rows] = u
        el = chord_km(u[:, :, :-1], u[:, :, 1:], self.circuity)
        self.el[rows] = el
        centre = u.mean(axis=2)
        centre /= np.sqrt((centre * centre).sum(axis=0))
        self.centre[:, rows] = centre
        self.radius[rows] = chord_km(u, centre[:, :, None], self.circuity).max(axis=1) + 1e-6
        self.longest[rows] = el.max(axis=1, initial=0.0)

    def ensure(self, rows: NDArray) -> None:
        """Read the time state of the given runs, if not read yet."""
        if self.all_ready:
            return
        rows = np.unique(rows[~self.ready[rows]])
        if not rows.size:
            return
        rr, cc = self._slots(rows)
        flat = np.array(
            [
                (
                    s.load_delta_kg,
                    -INF if s.window_start is None else (s.window_start - EPOCH) / MINUTE,
                    INF if s.window_end is None else (s.window_end - EPOCH) / MINUTE,
                    s.service_min,
                )
                for s in _stops([self.runs[r] for r in rows.tolist()])
            ],
            float,
        ).reshape(-1, 4)
        self.raw[2:, rr, cc] = flat.T
        given = [self.runs[r].start_load_kg for r in rows.tolist()]
        deliveries = -np.minimum(self.raw[RAW["delta"], rows], 0.0).sum(axis=1)
        self.load0[rows] = [d if g is None else g for g, d in zip(given, deliveries, strict=True)]
        self.ready[rows] = True
        self.all_ready = bool(self.ready.all())
        self._derive(rows)

    def _derive(self, rows: NDArray) -> None:
        """Forward and backward pass (see the module docstring) for the given rows."""
        _, _, delta, ws, we, svc = self.raw[:, rows]
        step = svc[:, :-1] + self.el[rows] * self.mpk[rows, None]
        base = np.concatenate([self.start[rows, None], step], axis=1).cumsum(axis=1)
        serve = base + np.maximum.accumulate(ws - base, axis=1)
        arrive = np.concatenate([serve[:, :1], serve[:, :-1] + step], axis=1)
        cw = np.cumsum(serve - arrive, axis=1)
        q = cw + we - serve
        q_tail = np.minimum.accumulate(q[:, ::-1], axis=1)[:, ::-1]
        load = self.load0[rows, None] + np.cumsum(delta, axis=1)
        late = (serve - we)[:, 1:].max(axis=1)
        fits = (load.max(axis=1) <= self.cap[rows] + EPS) & (load.min(axis=1) >= -EPS)
        self.base_ok[rows] = (late <= EPS) & fits
        cw_prev = np.concatenate([np.zeros((len(rows), 1)), cw[:, :-1]], axis=1)
        self.state[:, rows] = (serve, arrive, cw, q, q_tail - cw_prev, load, serve + svc)

    def serve(self, row: int) -> NDArray:
        """Planned service start of every node of a run (minutes)."""
        return self.state[STATE["S"], row]

    def copy(self) -> Fleet:
        """An independent copy (``book`` runs two planners on the same runs)."""
        twin = object.__new__(Fleet)
        twin.__dict__.update(self.__dict__)
        names = (
            "n",
            "base_ok",
            "ready",
            "load0",
            "raw",
            "state",
            "u",
            "el",
            "centre",
            "radius",
            "longest",
        )
        for name in names:
            setattr(twin, name, getattr(self, name).copy())
        return twin

    def insert_stops(self, row: int, ships: Shipments, s: int, a: int, b: int) -> None:
        """Put shipment ``s``'s pickup on edge ``a`` and its drop-off on edge ``b >= a``."""
        n = int(self.n[row])
        if n + 4 > self.raw.shape[2]:
            self._widen(n + 12)
        p = (ships.plat[s], ships.plon[s], ships.kg[s], ships.ewp[s], ships.lwp[s], ships.svc)
        d = (ships.dlat[s], ships.dlon[s], -ships.kg[s], ships.ewd[s], ships.lwd[s], ships.svc)
        old = self.raw[:, row, : n + 2]
        pieces = (
            old[:, : a + 1],
            np.array(p)[:, None],
            old[:, a + 1 : b + 1],
            np.array(d)[:, None],
            old[:, b + 1 :],
        )
        self.raw[:, row, : n + 4] = np.concatenate(pieces, axis=1)
        self.raw[:, row, n + 4 :] = self.raw[:, row, n + 3, None]  # depot copies
        old = self.u[:, row, : n + 2]
        pieces = (
            old[:, : a + 1],
            ships.pu[:, s, None],
            old[:, a + 1 : b + 1],
            ships.du[:, s, None],
            old[:, b + 1 :],
        )
        u = np.concatenate(pieces, axis=1)
        u = np.concatenate([u, np.repeat(u[:, -1:], self.u.shape[2] - n - 4, axis=1)], axis=1)
        self.n[row] = n + 2
        self._geometry(np.array([row]), u[:, None])
        self._derive(np.array([row]))

    def remove_stops(self, row: int, k_p: int, k_d: int) -> None:
        """Take out the nodes ``k_p`` and ``k_d`` (a shipment's pickup and drop-off)."""
        n = int(self.n[row])
        keep = np.ones(n + 2, bool)
        keep[[k_p, k_d]] = False
        self.raw[:, row, :n] = self.raw[:, row, : n + 2][:, keep]
        self.raw[:, row, n:] = self.raw[:, row, n - 1, None]  # depot copies
        u = self.u[:, row, : n + 2][:, keep]
        u = np.concatenate([u, np.repeat(u[:, -1:], self.u.shape[2] - n, axis=1)], axis=1)
        self.n[row] = n - 2
        self._geometry(np.array([row]), u[:, None])
        self._derive(np.array([row]))

    def _widen(self, width: int) -> None:
        extra = np.repeat(self.raw[:, :, -1:], width - self.raw.shape[2], axis=2)
        self.raw = np.concatenate([self.raw, extra], axis=2)
        self.state = np.zeros((len(STATE),) + self.raw.shape[1:])
        self._shape_geometry(width)
        everything = np.arange(len(self.runs))
        self._geometry(everything)
        self._derive(everything[self.ready])

    def can_carry(self, ships: Shipments, si: NDArray, ri: NDArray) -> NDArray:
        """Storage class and weight allow the shipment on the run's vehicle at all."""
        return self.carry[ships.need[si], ri] & (ships.kg[si] <= self.cap[ri] + EPS)

    def gather(self, ri: NDArray) -> dict[str, Any]:
        """Rows ``ri`` of the state, trimmed to the widest of them.

        When every item is on the same run, that row is returned once, to broadcast.
        """
        if len(ri) > 1 and (ri == ri[0]).all():
            ri = ri[:1]
        e_count = int(self.n[ri].max(initial=0)) + 1
        block = self.state[:, ri, : e_count + 1]
        g: dict[str, Any] = {name: block[k] for name, k in STATE.items()}
        g["dep"] = g["dep"][:, :-1]
        g["u"] = self.u[:, ri, : e_count + 1]
        g["el"] = self.el[ri, :e_count]
        g["E"], g["mpk"] = e_count, self.mpk[ri, None]
        g["valid"] = np.arange(e_count)[None, :] <= self.n[ri, None]
        return g


def _stops(runs: Sequence[RunPlan]) -> list[Any]:
    return [s for r in runs for s in r.stops]
