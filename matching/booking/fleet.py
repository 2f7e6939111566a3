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

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .arrays import EPOCH, EPS, INF, MINUTE, Shipments, chord_km, to_minutes, unit

if TYPE_CHECKING:
    from .model import RunPlan

RAW = {"lat": 0, "lon": 1, "delta": 2, "ws": 3, "we": 4, "svc": 5}
STATE = {"S": 0, "A": 1, "CW": 2, "Q": 3, "AS": 4, "ASe": 5, "load": 6, "dep": 7}
_PAD = {"delta": 0.0, "ws": -INF, "we": INF, "svc": 0.0}  # padding nodes: depot copies
#: Float noise allowed on ``reach`` (km): far above the noise of minutes and km.
REACH_MARGIN_KM = 1e-3
#: Taken off the circle's bound (km), as ``kernels.MARGIN_KM`` off the distance bound.
SPREAD_MARGIN_KM = 0.05


class Fleet:
    """Padded arrays of a list of runs; rows grow when ``book`` inserts stops.

    ``raw[RAW[name]]`` holds the inputs per node (lat, lon, load delta, window start and
    end, service minutes); ``state[run, STATE[name]]`` the results of the passes (``S``,
    ``A``, ``CW``, ``Q``, ``AS``, ``ASe`` = ``AS + EPS``, ``load`` after the node,
    ``dep`` = ``S`` + service), one block per run so that a kernel gathers its runs at
    once; ``gap[run, a, b]`` and ``on_board[run, a, b]``, per pair of edges ``a < b``,
    what the exact scan checks between them (see :meth:`pair_checks`). Coordinates are read
    at once; the time state of a run is read on first use (:meth:`ensure`), so
    ``insert`` only pays for the runs it looks at. Bounds the kernels compare with are
    kept with :data:`EPS` added (``cap_e``, ``ASe``), the same floats as adding it there.
    """

    def __init__(
        self, runs: Sequence[RunPlan], circuity: float, spare: int = 0, service_min: float = 0.0
    ) -> None:
        self.runs, self.circuity, self.svc = runs, circuity, service_min
        r_count = len(runs)
        self.n = np.array([len(r.stops) for r in runs], dtype=np.int64)
        width = int(self.n.max(initial=0)) + 2 + spare
        head = np.array(
            [(r.depot_lat, r.depot_lon, r.capacity_kg, 60.0 / r.speed_kmh) for r in runs], float
        ).reshape(-1, 4)
        self.cap, self.mpk = head[:, 2].copy(), head[:, 3].copy()
        self.cap_e = self.cap + EPS
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
        self.usable = np.ones(r_count, bool)  # not known to break a rule as given
        self.top_load = np.zeros(r_count)  # the most load on board on any edge
        self.reach = np.full(r_count, INF)  # km no insertion of ``service_min`` stops exceeds
        self._carry: dict[int, tuple[Shipments, NDArray]] = {}
        self._shape_state(width)
        self._shape_geometry(width)
        self._geometry(np.arange(r_count))

    def _shape_state(self, width: int) -> None:
        r_count = len(self.runs)
        self.state = np.zeros((r_count, len(STATE), width))
        self.gap = np.zeros((r_count, width - 1, width - 1))
        self.on_board = np.zeros((r_count, width - 1, width - 1))
        self.paired = np.zeros(r_count, bool)  # gap and on_board are current

    def _shape_geometry(self, width: int) -> None:
        r_count = len(self.runs)
        self.u = np.zeros((3, r_count, width))
        self.el = np.zeros((r_count, width - 1))
        self.centre = np.zeros((3, r_count))
        self.radius = np.zeros(r_count)
        self.longest = np.zeros(r_count)
        self.spread = np.zeros(r_count)

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
        centre = np.add.reduce(u, axis=2) / u.shape[2]  # the mean, as ``u.mean``
        centre /= np.sqrt((centre * centre).sum(axis=0))
        self.centre[:, rows] = centre
        self.radius[rows] = chord_km(u, centre[:, :, None], self.circuity).max(axis=1) + 1e-6
        self.longest[rows] = el.max(axis=1, initial=0.0)
        # What the circle's bound takes off (see kernels.coarse_bounds), with room for
        # its straight lines and float noise.
        self.spread[rows] = self.radius[rows] * 2.0 + self.longest[rows] + SPREAD_MARGIN_KM

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
        self.top_load[rows] = load.max(axis=1)
        fits = (self.top_load[rows] <= self.cap[rows] + EPS) & (load.min(axis=1) >= -EPS)
        self.base_ok[rows] = self.usable[rows] = (late <= EPS) & fits
        cw_prev = np.concatenate([np.zeros((len(rows), 1)), cw[:, :-1]], axis=1)
        slack = q_tail - cw_prev
        self.state[rows] = np.stack(
            (serve, arrive, cw, q, slack, slack + EPS, load, serve + svc), axis=1
        )
        self.paired[rows] = False
        # A stop on edge e delays node e + 1 by at least its service and its detour's
        # minutes; both stops of an insertion fit that way (see pair_checks), so it adds
        # at most twice the largest detour some edge can absorb.
        inside = (_edges(slack.shape[1]) >= 1) & (_edges(slack.shape[1]) <= self.n[rows, None] + 1)
        most = np.where(inside, slack, -INF).max(axis=1)
        self.reach[rows] = 2.0 * (most + (EPS - self.svc)) / self.mpk[rows] + REACH_MARGIN_KM

    def _derive_row(self, row: int) -> None:
        """:meth:`_derive` for one row, on Python floats: the same operations in the same
        order, so the same results, without the fixed cost of many small NumPy calls
        (``book`` changes one run at a time).

        When the padding nodes are copies of the return (as :meth:`insert_stops` and
        :meth:`remove_stops` write them: no load, no service, 0 km legs), the pass stops
        at the return and copies its results: every padding node would repeat them.
        """
        n = int(self.n[row])
        delta, ws, we, svc = self.raw[2:, row].tolist()
        el, mpk = self.el[row].tolist(), float(self.mpk[row])
        count = len(ws)
        end = n + 2
        pad = count - end
        if pad and not (
            delta[end - 1] == 0.0
            and svc[end - 1] == 0.0
            and delta[end:] == delta[end - 1 : -1]
            and ws[end:] == ws[end - 1 : -1]
            and we[end:] == we[end - 1 : -1]
            and svc[end:] == svc[end - 1 : -1]
            and not any(el[end - 1 :])
        ):
            end, pad = count, 0
        base = float(self.start[row])
        most = ws[0] - base
        load0 = float(self.load0[row])
        serve = [base + most]
        arrive = [serve[0]]
        cw = [serve[0] - arrive[0]]
        total = cw[0]
        q = [total + we[0] - serve[0]]
        c = delta[0]
        load = [load0 + c]
        for k in range(1, end):
            step = svc[k - 1] + el[k - 1] * mpk
            base += step
            gap = ws[k] - base
            if gap > most:
                most = gap
            t = base + most
            serve.append(t)
            a = serve[k - 1] + step
            arrive.append(a)
            total = total + (t - a)
            cw.append(total)
            q.append(total + we[k] - t)
            c = c + delta[k]
            load.append(load0 + c)
        # Least Q from each node on (the padding repeats the return's), less CW before it.
        low = q[-1]
        slack = [0.0] * end
        for k in range(end - 1, 0, -1):
            if q[k] < low:
                low = q[k]
            slack[k] = low - cw[k - 1]
        slack[0] = q[0] if q[0] < low else low
        late = max(t - w for t, w in zip(serve[1:], we[1:end], strict=True))
        self.top_load[row] = top = max(load)
        fits = top <= float(self.cap[row]) + EPS and min(load) >= -EPS
        self.base_ok[row] = self.usable[row] = late <= EPS and fits
        dep = [t + x for t, x in zip(serve, svc, strict=False)]
        slack_e = [x + EPS for x in slack]
        if pad:
            last = q[-1] - cw[-1]
            serve += [serve[-1]] * pad
            arrive += [serve[-1]] * pad
            cw += [cw[-1]] * pad
            q += [q[-1]] * pad
            slack += [last] * pad
            slack_e += [last + EPS] * pad
            load += [load[-1]] * pad
            dep += [dep[-1]] * pad
        self.state[row] = (serve, arrive, cw, q, slack, slack_e, load, dep)
        self.paired[row] = False
        most = max(slack[1 : n + 2])
        self.reach[row] = 2.0 * (most + (EPS - self.svc)) / mpk + REACH_MARGIN_KM

    def pair_checks(self, ri: NDArray) -> None:
        """Make ``gap`` and ``on_board`` current for the runs ``ri``: per pair of edges
        ``a < b``, a delay on arrival at node ``a + 1`` breaks no window of nodes
        ``a + 1..b`` iff it is at most ``gap[a, b]`` (``min(Q_(a+1)..Q_b) - CW_a``, plus
        EPS; inf unless ``b > a``), and ``on_board[a, b]`` is the most load on board on
        edges ``a..b`` (made on first use after each change of the run)."""
        rows = ri[~self.paired[ri]]
        if not rows.size:
            return
        if rows.size > 1:
            rows = np.unique(rows)
        block = self.state[rows]
        q, cw, load = block[:, STATE["Q"]], block[:, STATE["CW"]], block[:, STATE["load"]]
        later, not_after = _pair_masks(q.shape[1] - 1)
        between = np.minimum.accumulate(np.where(later, q[:, None, :-1], INF), axis=2)
        between -= cw[:, :-1, None]
        between += EPS
        self.gap[rows] = between
        self.on_board[rows] = np.maximum.accumulate(
            np.where(not_after, load[:, None, :-1], -INF), axis=2
        )
        self.paired[rows] = True

    def serve(self, row: int) -> NDArray:
        """Planned service start of every node of a run (minutes)."""
        return self.state[row, STATE["S"]]

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
            "spread",
            "usable",
            "reach",
            "top_load",
            "gap",
            "on_board",
            "paired",
        )
        for name in names:
            setattr(twin, name, getattr(self, name).copy())
        return twin

    def insert_stops(self, row: int, ships: Shipments, s: int, a: int, b: int) -> None:
        """Put shipment ``s``'s pickup on edge ``a`` and its drop-off on edge ``b >= a``."""
        n = int(self.n[row])
        if n + 4 > self.raw.shape[2]:
            self._widen(n + 12)
        pad = self.raw.shape[2] - n - 4  # depot copies after the return
        old = self.raw[:, row, : n + 2]
        stops = ships.stops[:, :, s, None]
        self.raw[:, row] = np.concatenate(
            (
                old[:, : a + 1],
                stops[0],
                old[:, a + 1 : b + 1],
                stops[1],
                old[:, b + 1 :],
                np.broadcast_to(old[:, -1:], (len(old), pad)),
            ),
            axis=1,
        )
        old = self.u[:, row, : n + 2]
        ends = ships.both[:, :, s, None]
        u = np.concatenate(
            (
                old[:, : a + 1],
                ends[:, 0],
                old[:, a + 1 : b + 1],
                ends[:, 1],
                old[:, b + 1 :],
                np.broadcast_to(old[:, -1:], (3, pad)),
            ),
            axis=1,
        )
        self.n[row] = n + 2
        self._geometry_row(row, u)
        self._derive_row(row)

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
        self._geometry_row(row, u)
        self._derive_row(row)

    def _geometry_row(self, row: int, u: NDArray) -> None:
        """:meth:`_geometry` for one row and its new unit vectors ``u`` (3, width): the
        same operations on arrays of the same shapes, the few scalars in Python."""
        self.u[:, row] = u
        u = u[:, None]
        el = chord_km(u[:, :, :-1], u[:, :, 1:], self.circuity)
        self.el[row] = el[0]
        centre = np.add.reduce(u, axis=2) / u.shape[2]
        centre /= np.sqrt((centre * centre).sum(axis=0))
        self.centre[:, row] = centre[:, 0]
        radius = float(chord_km(u, centre[:, :, None], self.circuity).max()) + 1e-6
        longest = float(el.max(initial=0.0))
        self.radius[row], self.longest[row] = radius, longest
        self.spread[row] = radius * 2.0 + longest + SPREAD_MARGIN_KM

    def _widen(self, width: int) -> None:
        extra = np.repeat(self.raw[:, :, -1:], width - self.raw.shape[2], axis=2)
        self.raw = np.concatenate([self.raw, extra], axis=2)
        self._shape_state(width)
        self._shape_geometry(width)
        everything = np.arange(len(self.runs))
        self._geometry(everything)
        self._derive(everything[self.ready])

    def carry_ok(self, ships: Shipments) -> NDArray:
        """``[shipment, run]``: storage class and weight allow the shipment on the run's
        vehicle at all (made once per set of shipments)."""
        kept = self._carry.get(id(ships))
        if kept is None or kept[0] is not ships:
            table = self.carry[ships.need[:, None], np.arange(len(self.runs))[None, :]]
            table &= ships.kg[:, None] <= self.cap_e[None, :]
            kept = self._carry[id(ships)] = (ships, table)
        return kept[1]

    def gather(self, ri: NDArray) -> dict[str, Any]:
        """Rows ``ri`` of the state, trimmed to the widest of them (``E`` edges):
        each name of :data:`STATE` per node (``dep`` per edge), ``u``, ``el``, ``mpk``,
        ``valid`` (the edge is one of the run's).

        When every item is on the same run, that row is returned once, to broadcast.
        """
        if len(ri) > 1 and (ri == ri[0]).all():
            ri = ri[:1]
        e_count = int(self.n[ri].max(initial=0)) + 1
        block = self.state.take(ri, axis=0)[:, :, : e_count + 1]
        g: dict[str, Any] = {name: block[:, k] for name, k in STATE.items()}
        g["dep"] = g["dep"][:, :-1]
        g["u"] = self.u[:, ri, : e_count + 1]
        g["el"] = self.el[ri, :e_count]
        g["E"], g["mpk"] = e_count, self.mpk[ri, None]
        g["valid"] = _edges(e_count)[None, :] <= self.n[ri, None]
        return g


@functools.cache
def _pair_masks(e_count: int) -> tuple[NDArray, NDArray]:
    """``later[a, b]``: edge ``b`` comes after edge ``a``; ``not_after[a, b]``: ``b >= a``."""
    idx = np.arange(e_count)
    later = idx[None, :] > idx[:, None]
    return later, ~later.T


@functools.cache
def _edges(e_count: int) -> NDArray:
    return np.arange(e_count)


def _stops(runs: Sequence[RunPlan]) -> list[Any]:
    return [s for r in runs for s in r.stops]
