"""Inputs as arrays, and the candidate graph: the nearest eligible beneficiaries per lot.

The graph applies every rule of :func:`matching.eligibility.eligibility` at once with
NumPy and a spatial index instead of one call per pair:

1. Drop lots that are empty or past their use-by date (``params.now > use_by``).
2. Group the remaining lots by (storage class, FSE+, category): within a group, the
   pair rules that do not depend on distance or kilograms are the same for every lot.
3. For each group, keep the beneficiaries those rules allow, put them in a
   ``scipy.spatial.cKDTree`` over 3-D unit vectors (chord distance grows with the
   great-circle distance, so the nearest by chord are the nearest on the sphere), and
   query the ``2(k + r)`` nearest within the group's largest ``max_km / circuity``,
   doubling the query for the lots that need more (step 4 refuses many of them).
4. Recompute the road km of each found pair with the shared haversine, keep pairs within
   the beneficiary's ``max_km`` and with room for the lot's smallest valid part, and
   keep the ``k + r`` nearest per lot: the ``k = params.candidates_per_lot`` nearest
   form the flow's graph, the next ``r = params.reserve_candidates`` are only used to
   place what the repair frees. :func:`widen` searches further, among beneficiaries
   with room left, for the few lots that remain short where the nearest are full.

A lot that ends with no candidate records the first rule, in eligibility order, that
left it without one.

Each pair also gets its cost per kilogram in the objective: ``λ · km``, plus, when the
caller gave the road km that carrying the pair adds to the runs (``detour_km``), that
detour's share per kilogram (``Params.detour_cost``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from .distance import EARTH_RADIUS_KM, great_circle_km
from .eligibility import STORAGE_REASON, check_params, smallest_part_kg
from .errors import InvalidInputError
from .model import STORAGE_CLASSES, Beneficiary, Lot
from .params import Params

# For a lot id, for a beneficiary id: the road km carrying that pair adds to the runs.
Detours = Mapping[Hashable, Mapping[Hashable, float]]

# Pairs closer to a beneficiary's max_km than this are left out, so that rounding
# differences between vectorised and scalar haversine never admit a pair that
# eligibility() refuses.
_KM_GUARD = 1e-7


def unit_vectors(lat: NDArray, lon: NDArray) -> NDArray:
    """3-D unit vectors of points on the sphere, one row (x, y, z) per point."""
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


@dataclass
class Problem:
    """Lots and beneficiaries as NumPy arrays, in input order."""

    lots: Sequence[Lot]
    beneficiaries: Sequence[Beneficiary]
    params: Params
    lot_kg: NDArray  # kilograms open
    lot_class: NDArray  # index into STORAGE_CLASSES
    lot_min_part: NDArray  # smallest valid part (whole lot when indivisible)
    lot_divisible: NDArray
    lot_live: NDArray  # not empty and not past use-by
    lot_urgent: NDArray
    ben_need: NDArray  # kg of need, >= 0
    ben_met: NDArray  # kg of the target already received (target = need + met)
    ben_cap: NDArray  # (n_ben, 3) capacity per class, NaN when the class is missing
    ben_max_km: NDArray
    lot_lat: NDArray
    lot_lon: NDArray
    ben_lat: NDArray
    ben_lon: NDArray
    # Pairs with a detour: keys ``lot index × n_bens + beneficiary index`` (sorted), the
    # detour's road km and its cost per kilogram (``detour_cost × km / most kg the pair
    # can take``).
    detour_keys: NDArray
    detour_km: NDArray
    detour_per_kg: NDArray
    detour_given: bool

    @cached_property
    def lot_xyz(self) -> NDArray:
        return unit_vectors(self.lot_lat, self.lot_lon)

    @cached_property
    def ben_xyz(self) -> NDArray:
        return unit_vectors(self.ben_lat, self.ben_lon)

    @classmethod
    def build(
        cls,
        lots: Sequence[Lot],
        bens: Sequence[Beneficiary],
        params: Params,
        detour_km: Detours | None = None,
    ) -> Problem:
        check_params(params)
        for kind, items in (("lot", lots), ("beneficiary", bens)):
            ids = [item.id for item in items]
            if len(set(ids)) != len(ids):
                raise InvalidInputError(f"duplicate {kind} ids")
        now, soon = params.now, params.now + params.urgent_within
        need = np.array([b.need_kg(params.kg_per_person) for b in bens], dtype=float)
        met = np.array([b.met_kg(params.kg_per_person) for b in bens], dtype=float)
        lot_kg = np.array([lot.kg for lot in lots], dtype=float)
        keys, detour, per_kg = _detours(lots, bens, lot_kg, need, params, detour_km or {})
        cap = np.full((len(bens), len(STORAGE_CLASSES)), np.nan)
        for i, ben in enumerate(bens):
            for c, storage in enumerate(STORAGE_CLASSES):
                if storage in ben.capacity_kg:
                    cap[i, c] = ben.capacity_kg[storage]
        return cls(
            lots=lots,
            beneficiaries=bens,
            params=params,
            lot_kg=lot_kg,
            lot_class=np.array([STORAGE_CLASSES.index(lot.storage) for lot in lots], dtype=int),
            lot_min_part=np.array([smallest_part_kg(lot) for lot in lots], dtype=float),
            lot_divisible=np.array([lot.divisible for lot in lots], dtype=bool),
            lot_live=np.array(
                [lot.kg > 0 and (lot.use_by is None or now <= lot.use_by) for lot in lots],
                dtype=bool,
            ),
            lot_urgent=np.array(
                [lot.use_by is not None and lot.use_by <= soon for lot in lots], dtype=bool
            ),
            ben_need=need,
            ben_met=met,
            ben_cap=cap,
            ben_max_km=np.array([b.max_km for b in bens], dtype=float),
            lot_lat=np.array([lot.lat for lot in lots], dtype=float),
            lot_lon=np.array([lot.lon for lot in lots], dtype=float),
            ben_lat=np.array([b.lat for b in bens], dtype=float),
            ben_lon=np.array([b.lon for b in bens], dtype=float),
            detour_keys=keys,
            detour_km=detour,
            detour_per_kg=per_kg,
            detour_given=detour_km is not None,
        )

    def _detour_of(self, lot: NDArray, ben: NDArray, column: NDArray, missing: float) -> NDArray:
        if not len(self.detour_keys):
            return np.full(len(lot), missing)
        key = lot * len(self.beneficiaries) + ben
        at = np.minimum(np.searchsorted(self.detour_keys, key), len(self.detour_keys) - 1)
        return np.where(self.detour_keys[at] == key, column[at], missing)

    def pair_cost(self, lot: NDArray, ben: NDArray, km: NDArray) -> NDArray:
        """Objective units per kilogram of pairs (``lot``, ``ben``) at ``km``."""
        cost = self.params.km_cost * km
        if len(self.detour_keys):
            cost = cost + self._detour_of(lot, ben, self.detour_per_kg, 0.0)
        return cost

    def pair_detour(self, lot: NDArray, ben: NDArray) -> NDArray:
        """Road km carrying pairs (``lot``, ``ben``) adds to the runs, as given (0 for a
        pair the caller gave none)."""
        return self._detour_of(lot, ben, self.detour_km, 0.0)


def _detours(
    lots: Sequence[Lot],
    bens: Sequence[Beneficiary],
    lot_kg: NDArray,
    need: NDArray,
    params: Params,
    detour_km: Detours,
) -> tuple[NDArray, NDArray, NDArray]:
    """Sorted pair keys, km and cost per kilogram of the given detours: a delivery's detour
    spread over the most the pair can take (the lot's kilograms, or the beneficiary's
    need when smaller and positive; at least 1 kg)."""
    ben_index = {b.id: j for j, b in enumerate(bens)}
    keys: list[int] = []
    kms: list[float] = []
    values: list[float] = []
    for i, lot in enumerate(lots):
        for ben_id, km in detour_km.get(lot.id, {}).items():
            if not (math.isfinite(km) and km >= 0):
                raise InvalidInputError(f"lot {lot.id!r}: detour to {ben_id!r} must be >= 0")
            j = ben_index.get(ben_id)
            if j is None or km == 0:
                continue
            most = lot_kg[i] if need[j] <= 0 else min(lot_kg[i], need[j])
            keys.append(i * len(bens) + j)
            kms.append(km)
            values.append(params.detour_cost * km / max(most, 1.0))
    order = np.argsort(np.array(keys, dtype=np.int64), kind="stable")
    return (
        np.array(keys, dtype=np.int64)[order],
        np.array(kms, dtype=float)[order],
        np.array(values, dtype=float)[order],
    )


@dataclass
class CandidateGraph:
    """Candidate pairs in CSR layout: lot ``i`` has pairs ``ptr[i]:ptr[i + 1]``.

    ``lot[e]``, ``ben[e]`` and ``km[e]`` describe pair ``e``, ``cost[e]`` is its cost per
    kilogram in the objective (:meth:`Problem.pair_cost`); pairs of a lot are sorted by
    distance and ``rank[e]`` is the position of pair ``e`` in its lot's list; ``in_flow``
    marks the pairs the flow uses (the nearest ``k`` of a lot).
    ``refusal`` maps a lot index without candidates to an eligibility key.
    """

    ptr: NDArray
    lot: NDArray
    ben: NDArray
    km: NDArray
    refusal: dict[int, str]
    rank: NDArray
    k: int
    cost: NDArray

    @property
    def in_flow(self) -> NDArray:
        return self.rank < self.k

    @property
    def size(self) -> int:
        return len(self.ben)


class _RuleMasks:
    """Per-beneficiary masks of the distance-free rules, computed once per key."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.fse = np.array([b.fse_plus for b in problem.beneficiaries], dtype=bool)
        self._category: dict[str, NDArray] = {}

    def category(self, category: str) -> NDArray:
        if category not in self._category:
            self._category[category] = np.array(
                [
                    b.categories is None or category in b.categories
                    for b in self.problem.beneficiaries
                ],
                dtype=bool,
            )
        return self._category[category]

    def allowed(self, storage: int, fse_plus: bool, category: str) -> tuple[NDArray, str | None]:
        """Beneficiaries the rules allow, or the first rule (in order) that leaves none."""
        mask = ~np.isnan(self.problem.ben_cap[:, storage])
        if not mask.any():
            return mask, STORAGE_REASON[STORAGE_CLASSES[storage]]
        if fse_plus:
            mask &= self.fse
            if not mask.any():
                return mask, "fse_plus_not_approved"
        mask &= self.category(category)
        if not mask.any():
            return mask, "category_not_accepted"
        return mask, None


def candidate_graph(
    problem: Problem,
    k: int | None = None,
    reserve: int | None = None,
    only: NDArray | None = None,
    room: NDArray | None = None,
) -> CandidateGraph:
    """Graph of the ``k + reserve`` nearest eligible beneficiaries of every live lot.

    Defaults: ``params.candidates_per_lot`` and ``params.reserve_candidates``; pairs with
    ``rank < k`` are the flow's, the others only serve the repair. ``only`` restricts
    the search to some lot indices, ``room`` (beneficiaries × storage classes, boolean)
    to the beneficiaries with room left in the lot's class.
    """
    params = problem.params
    k = params.candidates_per_lot if k is None else k
    wide = k + (params.reserve_candidates if reserve is None else reserve)
    n_lots = len(problem.lots)
    live = problem.lot_live.copy()
    if only is not None:
        live &= np.isin(np.arange(n_lots), only)
    groups: dict[tuple[int, bool, str], list[int]] = {}
    for i in np.flatnonzero(live).tolist():
        lot = problem.lots[i]
        groups.setdefault((int(problem.lot_class[i]), lot.fse_plus, lot.category), []).append(i)
    rules = _RuleMasks(problem)
    refusal: dict[int, str] = {}
    parts: list[tuple[NDArray, ...]] = []
    for (storage, fse_plus, category), members in groups.items():
        mask, reason = rules.allowed(storage, fse_plus, category)
        if reason is not None:
            refusal.update(dict.fromkeys(members, reason))
            continue
        if room is not None:
            mask = mask & room[:, storage]
            if not mask.any():
                refusal.update(dict.fromkeys(members, "no_capacity"))
                continue
        search = _GroupSearch(problem, np.flatnonzero(mask), storage)
        rows = np.array(members, dtype=int)
        kq = min(2 * wide, len(search.sub))
        while len(rows):
            lot_rep, ben, km, ok, in_reach, more = search.query(rows, kq, wide)
            rank = np.cumsum(ok, axis=1) - 1
            done = ~more | (kq >= len(search.sub))
            keep = ok & (rank < wide) & done[:, None]
            parts.append((lot_rep[keep], ben[keep], km[keep], rank[keep]))
            for row in np.flatnonzero(done & ~ok.any(axis=1)):
                refusal[int(rows[row])] = "no_capacity" if in_reach[row] else "too_far"
            rows, kq = rows[~done], min(2 * kq, len(search.sub))
    cols = [np.concatenate([p[j] for p in parts]) for j in range(4)] if parts else []
    if not cols:
        cols = [np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros(0), np.zeros(0, dtype=int)]
    return _assemble(problem, cols, refusal, k)


class _GroupSearch:
    """Nearest-neighbour queries among the beneficiaries ``sub`` allowed for one group."""

    def __init__(self, problem: Problem, sub: NDArray, storage: int) -> None:
        self.problem, self.sub, self.storage = problem, sub, storage
        self.tree = cKDTree(problem.ben_xyz[sub])
        reach_km = float(problem.ben_max_km[sub].max()) / problem.params.circuity
        self.chord = 2.0 * np.sin(min(reach_km / EARTH_RADIUS_KM, np.pi) / 2.0) + 1e-12

    def query(self, rows: NDArray, kq: int, wide: int) -> tuple[NDArray, ...]:
        """The ``kq`` nearest of lots ``rows``, which pairs pass the rules, which lots have
        someone within reach, and which lots may have more eligible pairs farther."""
        p = self.problem
        dist, pos = self.tree.query(p.lot_xyz[rows], k=kq, distance_upper_bound=self.chord)
        dist, pos = dist.reshape(len(rows), kq), pos.reshape(len(rows), kq)
        found = np.isfinite(dist)
        ben = self.sub[np.where(found, pos, 0)]
        lot_rep = np.repeat(rows[:, None], kq, axis=1)
        km = great_circle_km(p.lot_lat[lot_rep], p.lot_lon[lot_rep], p.ben_lat[ben], p.ben_lon[ben])
        km = km * p.params.circuity
        ok = found & (km <= p.ben_max_km[ben] - _KM_GUARD)
        in_reach = ok.any(axis=1)
        ok &= p.ben_cap[ben, self.storage] >= np.maximum(p.lot_min_part[lot_rep], 1e-9)
        more = (ok.sum(axis=1) < wide) & found[:, -1]
        return lot_rep, ben, km, ok, in_reach, more


def _by_lot_then_km(lot: NDArray, km: NDArray) -> NDArray:
    """The order that sorts pairs by lot, then km.

    The pairs of each lot come from one query, nearest first, so a stable sort by lot
    is usually enough; the full sort runs when it is not.
    """
    order = np.argsort(lot, kind="stable")
    lot_s, km_s = lot[order], km[order]
    if np.any((lot_s[1:] == lot_s[:-1]) & (km_s[1:] < km_s[:-1])):
        order = np.lexsort((km, lot))
    return order


def _assemble(
    problem: Problem, cols: list[NDArray], refusal: dict[int, str], k: int
) -> CandidateGraph:
    n_lots = len(problem.lots)
    order = _by_lot_then_km(cols[0], cols[2])
    lot_arr, ben_arr, km_arr, rank_arr = (c[order] for c in cols)
    ptr = np.zeros(n_lots + 1, dtype=int)
    np.cumsum(np.bincount(lot_arr, minlength=n_lots), out=ptr[1:])
    return CandidateGraph(
        ptr=ptr, lot=lot_arr, ben=ben_arr, km=km_arr, refusal=refusal, rank=rank_arr, k=k,
        cost=problem.pair_cost(lot_arr, ben_arr, km_arr),
    )  # fmt: skip


def widen(
    problem: Problem, graph: CandidateGraph, lots: NDArray, extra: int, room: NDArray
) -> tuple[CandidateGraph, NDArray] | None:
    """``graph`` plus up to ``extra`` further candidates with ``room`` for each of ``lots``.

    ``room`` marks, per beneficiary and storage class, where kilograms still fit. Returns
    the new graph and, for each of its pairs, the index of the same pair in ``graph`` (-1
    for new pairs), or ``None`` when no lot gains a candidate. New pairs rank after the
    flow's (``rank >= k``).
    """
    width = np.diff(graph.ptr)
    more = candidate_graph(problem, k=0, reserve=int(width[lots].max()) + extra, only=lots,
                           room=room)  # fmt: skip
    n_bens = len(problem.beneficiaries)
    mine = np.concatenate([np.arange(graph.ptr[i], graph.ptr[i + 1]) for i in lots.tolist()])
    new = ~np.isin(more.lot * n_bens + more.ben, graph.lot[mine] * n_bens + graph.ben[mine])
    if not new.any():
        return None
    # Up to ``extra`` new pairs per lot, nearest first (``more`` is sorted by lot, then km).
    new_idx = np.flatnonzero(new)
    nth = np.arange(len(new_idx)) - np.searchsorted(more.lot[new_idx], more.lot[new_idx])
    new_idx, nth = new_idx[nth < extra], nth[nth < extra]
    lot_new, km_new = more.lot[new_idx], more.km[new_idx]
    # Insert them into the lot-then-km order of ``graph`` (after pairs at equal km).
    at = np.empty(len(new_idx), dtype=int)
    for i in np.unique(lot_new).tolist():
        sel = lot_new == i
        lo = int(graph.ptr[i])
        at[sel] = lo + np.searchsorted(graph.km[lo : int(graph.ptr[i + 1])], km_new[sel], "right")
    cols = [
        np.insert(a, at, b)
        for a, b in ((graph.lot, lot_new), (graph.ben, more.ben[new_idx]), (graph.km, km_new),
                     (graph.rank, graph.k + nth), (np.arange(graph.size), -1))
    ]  # fmt: skip
    ptr = np.zeros(len(problem.lots) + 1, dtype=int)
    np.cumsum(np.bincount(cols[0], minlength=len(problem.lots)), out=ptr[1:])
    cost = np.insert(graph.cost, at, more.cost[new_idx])
    wide = CandidateGraph(ptr=ptr, lot=cols[0], ben=cols[1], km=cols[2], refusal=graph.refusal,
                          rank=cols[3], k=graph.k, cost=cost)  # fmt: skip
    return wide, cols[4]
