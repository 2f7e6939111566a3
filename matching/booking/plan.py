"""The planners behind ``insert`` and ``book``: cheapest, sequential and regret insertion,
and the improvement by taking bookings off and booking them again.

They work on a table ``val[s, r]`` holding, for shipment ``s`` and run ``r``, an
estimate of the km added by its best insertion at ``level[s, r]``: 0 and 1 are lower
bounds, 3 is exact, with its edges (see :mod:`matching.booking.kernels`; level 2 only
filters inside the exact kernel). Raising an entry keeps the larger of its bounds.
``inf`` means the shipment cannot ride that run: a run only gets later and fuller as
stops are added, so that holds until a booking is taken off the run (then its column
falls to 0, and each row bounds it anew when next used).

A row's ``k`` cheapest runs are known once its ``k`` smallest entries are exact, since
every other entry bounds its true cost from below. :meth:`Planner.settle` gets there
best first, for many rows at once: each round makes exact the smallest inexact entries
that could still enter a row's top ``k`` (coarse ones, when many, get their distance
bound first), sixteen per row, eight times more each round for rows that take long (a
shipment that fits nowhere must rule out every run; most entries tried turn out
``inf``, so a wide first round saves rounds).

Work is kept per changed run: after a booking, regret bounds only that run's column
again (its circle's bound for every row and the distance bound where that could enter
a row's top two, one matrix product each) and settles only the rows whose two cheapest runs may
have changed; the sequential planner and the improvement bound a row's changed runs
when they next look at the row.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from .arrays import Shipments, chord_km
from .fleet import Fleet
from .kernels import (
    coarse_bounds,
    coarse_column,
    distance_bounds,
    distance_column,
    exact_costs,
)

EXACT = 3
TIE = 1e-9  # km: costs this close are equal (float noise), and the first run wins
_UNIQUE = 1e12  # stands for the second-best cost of a shipment left with a single run
_MANY = 64  # beyond this many coarse entries, a distance bound first pays off
_MANY_FINE = 4096  # up to this many entries to bound again, the distance bound pays off
_FINITE = float(np.finfo(float).max)


class Planner:
    """One planner's runs (a private :class:`Fleet`) and its lazy cost table."""

    def __init__(
        self, fleet: Fleet, ships: Shipments, bounds: NDArray, level: int | NDArray
    ) -> None:
        self.fleet, self.ships = fleet, ships
        self.val = bounds.copy()
        shape = bounds.shape
        self.level = np.empty(shape, np.int8)
        self.level[...] = level
        self.edge_a = np.zeros(shape, np.int32)
        self.edge_b = np.zeros(shape, np.int32)
        self.seen = np.zeros(shape, np.int32)  # version of the run the entry was made on
        self.version = np.zeros(shape[1], np.int32)
        self.tags: dict[int, list[tuple[str, int] | None]] = {}
        self.placed: dict[int, tuple[int, float]] = {}  # shipment -> (run, km when placed)
        self.added = 0.0
        self.beaten = False  # gave up: cannot end better than a rival (see sequential)
        self.hopeless = np.zeros(shape[0], bool)  # rows that fit no run as given

    def fork(self, fleet: Fleet) -> Planner:
        """A planner on ``fleet`` (a copy of this one's runs, nothing booked yet) that
        starts from this one's table."""
        twin = Planner(fleet, self.ships, self.val, self.level)
        for name in ("edge_a", "edge_b", "seen", "version", "hopeless"):
            setattr(twin, name, getattr(self, name).copy())
        return twin

    @property
    def km(self) -> float:
        """Km added to the runs so far."""
        return self.added

    def _route_km(self, r: int) -> float:
        return float(self.fleet.el[r, : int(self.fleet.n[r]) + 1].sum())

    def coarse(self, ss: NDArray, rr: NDArray) -> None:
        """Bounds again for entries ``(ss, rr)`` whose run changed, if finite: level 1
        (km only), or level 0 (the run's circle) when they are many."""
        live = np.isfinite(self.val[ss, rr])
        ss, rr = ss[live], rr[live]
        many = len(ss) > _MANY_FINE
        kernel = coarse_bounds if many else distance_bounds
        self.val[ss, rr] = kernel(self.fleet, self.ships, ss, rr)
        self.level[ss, rr] = 0 if many else 1
        self.seen[ss, rr] = self.version[rr]

    def refresh(self, ss: NDArray) -> None:
        """Bounds again for the entries of rows ``ss`` whose run changed since."""
        i, r = np.nonzero(self.seen[ss] != self.version)
        self.coarse(ss[i], r)

    def settle(self, ss: NDArray, k: int) -> None:
        """Make the ``k`` smallest entries of each row of ``ss`` exact (best first).

        Entries within :data:`TIE` of the ``k``-th are made exact too, so that equal
        costs always go to the run listed first, whatever the order of evaluation.
        """
        r_count = self.val.shape[1]
        k = min(k, r_count)
        pending, rounds = np.asarray(ss), 0
        while pending.size and k:
            rows = self.val.take(pending, axis=0)
            inexact = self.level.take(pending, axis=0) < EXACT
            known = np.where(inexact, np.inf, rows)
            if k == 1:
                kth = known.min(axis=1, keepdims=True)
            else:
                kth = np.partition(known, k - 1, axis=1)[:, k - 1 : k]
            # Open: inexact, finite, within TIE of the k-th (capped so that ``inf`` never
            # counts, even in a row with fewer than k exact finite entries).
            open_ = rows <= np.minimum(kth + TIE, _FINITE)
            open_ &= inexact
            counts = np.count_nonzero(open_, axis=1)
            unresolved = counts > 0
            left = int(np.count_nonzero(unresolved))
            if not left:
                return
            if left < len(pending):
                pending, rows, open_ = pending[unresolved], rows[unresolved], open_[unresolved]
                counts = counts[unresolved]
            # Raise the smallest open entries of each row (more as rounds go by).
            width = min((k + 14) << (3 * rounds), r_count)
            if int(counts.max()) <= width:
                i, j = np.nonzero(open_)
            else:
                ranked = np.where(open_, rows, np.inf)
                part = np.argpartition(ranked, width - 1, axis=1)[:, :width]
                at = np.arange(len(pending))[:, None]
                i, j = np.nonzero(open_[at, part])
                j = part[i, j]
            if self._raise(pending[i], j):
                # Every open entry of a row raised made exact: the row is settled (the
                # entries left inexact lie above its old k-th, so above its new one).
                pending = pending[counts > width]
            rounds += 1

    def _raise(self, si: NDArray, ri: NDArray) -> bool:
        """Raise each entry ``(si, ri)``: level 0 to the distance bound when they are
        many (kernel calls cost more than the items they carry when the items are few),
        the others to their exact cost. True when every entry was made exact."""
        lev = self.level[si, ri]
        coarse = lev == 0
        every = True
        if np.count_nonzero(coarse) > _MANY:
            s, r = si[coarse], ri[coarse]
            finer = distance_bounds(self.fleet, self.ships, s, r)
            self.val[s, r] = np.maximum(self.val[s, r], finer)
            self.level[s, r] = 1
            si, ri = si[~coarse], ri[~coarse]
            every = False
        self.exact(si, ri)
        return every

    def exact(self, si: NDArray, ri: NDArray) -> None:
        """Make the entries ``(si, ri)`` exact (finite bounds, each once)."""
        if si.size:
            cost, a, b = exact_costs(self.fleet, self.ships, si, ri)
            self.val[si, ri], self.level[si, ri] = cost, EXACT
            self.edge_a[si, ri], self.edge_b[si, ri] = a, b

    def column(self, ss: NDArray, r: int, below: NDArray) -> NDArray:
        """Bound run ``r``'s entries of rows ``ss`` anew, finer where under ``below``;
        returns them (``inf`` where the row could not ride the run).

        The run just changed: its circle's bound for every row that could ride it, then
        the distance bound where that is under the row's ``below`` (one matrix product,
        every item being on the one run).
        """
        out = self.val[ss, r]
        live = np.isfinite(out)
        ss, below = ss[live], below[live]
        bound = coarse_column(self.fleet, self.ships, ss, r)
        self.seen[ss, r] = self.version[r]
        at = bound < below
        bound[at] = np.maximum(bound[at], distance_column(self.fleet, self.ships, ss[at], r))
        self.val[ss, r] = out[live] = bound
        self.level[ss, r] = at  # 1 where the distance bound was taken, else 0
        return out

    def top2(self, ss: NDArray) -> tuple[NDArray, NDArray, NDArray, NDArray]:
        """Best and second-best (cost, run) of each row; meaningful after ``settle(k=2)``."""
        rows = self.val.take(ss, axis=0)
        if rows.shape[1] < 2:
            none = np.zeros(len(ss), np.int64)
            first = rows[:, 0] if rows.shape[1] else np.full(len(ss), math.inf)
            return first, none, np.full(len(ss), math.inf), none
        # The least entry, then the least of the others (two passes cost less than a
        # partition of every row); among equal costs, the run listed first.
        at = np.arange(len(ss))
        run1 = rows.argmin(axis=1)
        best1 = rows[at, run1]
        rows[at, run1] = math.inf
        run2 = rows.argmin(axis=1)
        return best1, run1, rows[at, run2], run2

    def best_run(self, s: int) -> int | None:
        """The first run of the least exact cost of row ``s`` (its cheapest once settled)."""
        row = np.where(self.level[s] == EXACT, self.val[s], math.inf)
        if not row.size or not math.isfinite(least := float(row.min())):
            return None
        return int(np.argmax(row <= least + TIE))

    def place(self, s: int, r: int) -> None:
        """Book shipment ``s`` on run ``r`` at the edges of its exact entry."""
        a, b = int(self.edge_a[s, r]), int(self.edge_b[s, r])
        self.placed[s] = (r, float(self.val[s, r]))
        tags = self.tags.setdefault(r, [None] * (int(self.fleet.n[r]) + 2))
        tags.insert(b + 1, ("d", s))
        tags.insert(a + 1, ("p", s))
        before = self._route_km(r)
        self.fleet.insert_stops(r, self.ships, s, a, b)
        self.added += self._route_km(r) - before
        self.version[r] += 1

    def unplace(self, s: int) -> None:
        """Take shipment ``s`` off its run; its row keeps its entries, stale for that run."""
        r, _ = self.placed.pop(s)
        tags = self.tags[r]
        k_p, k_d = tags.index(("p", s)), tags.index(("d", s))
        before = self._route_km(r)
        self.fleet.remove_stops(r, k_p, k_d)
        self.added += self._route_km(r) - before
        del tags[k_d], tags[k_p]
        self.version[r] += 1
        # A lighter, earlier run may now take what it could not: its column falls to 0,
        # a bound that holds for every row until :meth:`refresh` bounds the row anew.
        self.val[:, r] = 0.0
        self.level[:, r] = 0

    def shares(self) -> dict[int, float]:
        """Each booked shipment's km: replaying every run's bookings in the order they
        were first placed, the km its two stops add. A run's shares add up to its new
        km minus its old km. Every leg of every path replayed is measured in one call."""
        order = {s: i for i, s in enumerate(self.placed)}
        width = self.fleet.u.shape[2]
        starts: list[int] = []  # flat node indices into fleet.u of each leg's ends
        stops: list[int] = []
        paths: list[tuple[int | None, int]] = []  # (shipment just added, end of its legs)
        for r, tags in self.tags.items():
            on = sorted({t[1] for t in tags if t is not None}, key=order.__getitem__)
            mask = [t is None for t in tags]
            for s in [None, *on]:
                if s is not None:
                    mask = [
                        m or (t is not None and t[1] == s) for m, t in zip(mask, tags, strict=True)
                    ]
                nodes = [r * width + k for k, m in enumerate(mask) if m]
                starts += nodes[:-1]
                stops += nodes[1:]
                paths.append((s, len(starts)))
        flat = self.fleet.u.reshape(3, -1)
        km = chord_km(flat[:, starts], flat[:, stops], self.fleet.circuity)
        out: dict[int, float] = {}
        lo, before = 0, 0.0
        for s, hi in paths:
            after = float(km[lo:hi].sum())
            if s is not None:
                out[s] = max(after - before, 0.0)
            before, lo = after, hi
        return out


def sequential(planner: Planner, rival: Planner | None = None, block: int = 32) -> Planner:
    """Each shipment in turn takes its cheapest insertion on the runs as they are then.

    To share the work, a block of shipments is settled at once on the runs as they are
    at the start of the block; each shipment then bounds again the runs changed since
    and settles again, so the result is the one-by-one result. With a ``rival``, stop
    (and set ``beaten``) as soon as this result can no longer be :func:`better`: a
    shipment that fits nowhere now never will, and km only grow.
    """
    s_count = planner.val.shape[0]
    for lo in range(0, s_count, block):
        rows = np.arange(lo, min(lo + block, s_count))
        planner.refresh(rows)
        planner.settle(rows, 1)
        for s in rows.tolist():
            one = np.array([s])
            planner.refresh(one)
            planner.settle(one, 1)
            r = planner.best_run(s)
            if r is not None:
                planner.place(s, r)
            if rival is not None:
                # Shipments that fit nowhere on the runs as given never fit later either.
                hopeless = int(np.count_nonzero(rival.hopeless[s + 1 :]))
                most = len(planner.placed) + s_count - 1 - s - hopeless
                ahead = len(rival.placed)
                if most < ahead or (most == ahead and planner.km >= rival.km):
                    planner.beaten = True
                    return planner
    return planner


def regret(planner: Planner) -> Planner:
    """Regret-2 insertion: book first the shipment that would lose most by waiting."""
    pool = np.arange(planner.val.shape[0])
    planner.settle(pool, 2)
    best1, run1, best2, run2 = planner.top2(pool)
    planner.hopeless = ~np.isfinite(best1)
    # Each row's regret, -inf once booked or fitting nowhere: the pool (kept in row
    # order) holds the others, and the first row of the largest regret goes first.
    gain = _regret(best1, best2)
    pool = pool[~planner.hopeless]
    while pool.size:
        s = int(np.argmax(gain))
        r = planner.best_run(s)
        assert r is not None  # best1[s] is finite and exact
        planner.place(s, r)
        gain[s] = -math.inf
        pool = pool[pool != s]
        # Rows whose two best runs may change: r was one of them, or may now be.
        near = best2[pool]
        was = run1[pool] == r
        was |= run2[pool] == r
        column = planner.column(pool, r, np.where(was, np.inf, near))
        was |= column < near
        moved = pool[was]
        planner.settle(moved, 2)
        b1, best1_run, b2, best2_run = planner.top2(moved)
        best1[moved], run1[moved], best2[moved], run2[moved] = b1, best1_run, b2, best2_run
        gain[moved] = _regret(b1, b2)
        if not np.isfinite(b1).all():
            pool = pool[np.isfinite(best1[pool])]
    return planner


def _regret(best1: NDArray, best2: NDArray) -> NDArray:
    """What each row loses by waiting (``-inf`` where it fits nowhere)."""
    gain = np.where(np.isfinite(best2), best2, _UNIQUE) - best1
    gain[~np.isfinite(best1)] = -math.inf
    return gain


def improve(planner: Planner, limit: int, sweeps: int = 2) -> Planner:
    """Take off and book again the ``limit`` dearest shipments, ``sweeps`` times.

    A booking made early may have a cheaper place once others were added; each one goes
    to its cheapest insertion on the runs as they are without it, which is never dearer
    than where it was (it can go back), so the km only fall.
    """
    for _ in range(sweeps):
        before = planner.km
        shares = planner.shares()
        for s in sorted(shares, key=lambda s: -shares[s])[:limit]:
            planner.unplace(s)
            one = np.array([s])
            planner.refresh(one)
            planner.settle(one, 1)
            r = planner.best_run(s)
            assert r is not None  # it fits where it was
            planner.place(s, r)
        if before - planner.km < 1e-6:
            break
    return planner


def better(one: Planner, other: Planner) -> bool:
    """More shipments booked, or as many for fewer km."""
    if one.beaten or other.beaten:
        return other.beaten and not one.beaten
    if len(one.placed) != len(other.placed):
        return len(one.placed) > len(other.placed)
    return one.km < other.km - 1e-9
