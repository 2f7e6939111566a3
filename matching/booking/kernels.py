"""The estimates of a shipment's cost on a run, from cheapest to exact.

Level 0, :func:`coarse_bounds` (:func:`coarse_column` for many shipments on one run):
from a circle around the run (no per-node work).

Level 1, :func:`distance_bounds` (:func:`distance_column` for many shipments on one
run, :func:`near_grid` and :func:`distance_grid` for a whole table): km only. For each
edge, the pickup's detour and the drop-off's detour; the cheapest pickup edge before
each drop-off edge (or both stops on one edge) bounds the added km from below. Needs no
time state.

Every bound is ``inf`` beyond the run's ``reach`` (:class:`~matching.booking.fleet.Fleet`):
each stop of an insertion delays the node after its edge by at least its service and
its detour's minutes, which must fit in that node's slack, so an insertion adds at most
twice the largest detour one edge can absorb. Once runs fill up, that rules out many
runs without looking at their edges.

Level 2, :func:`_fits`: each stop alone on each edge (:func:`edge_terms`): its window,
room on board, and its detour time against the slack behind the edge (the edge's
detour ellipse). A feasible pair passes both checks, because putting the other stop in
only delays and loads the run more. :func:`exact_costs` uses it as a filter (a shipment
with no such edges fits nowhere on the run: most of the runs a shipment is tried on,
once runs fill up) and to choose the pairs it scans.

Level 3, :func:`exact_costs` and :func:`scan`: pairs of edges ``a <= b`` at once
(:func:`scan` every pair; :func:`exact_costs` the pairs level 2 leaves, a few per
shipment instead of hundreds, with the same checks on the same floats, so the same
result). The pickup on edge ``a`` delays node ``a + 1`` by ``delay1``; the delay left at
node ``b`` is ``max(0, delay1 - waiting between them)``, which gives the drop-off's
exact time; the nodes in between, the drop-off, the nodes after it and the load on every
edge from ``a`` to ``b`` are all checked against the arrays of
:mod:`matching.booking.fleet`.

Each function takes shipment indices ``si`` and run indices ``ri``; ``inf`` means the
shipment cannot ride that run.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..distance import EARTH_RADIUS_KM
from .arrays import EPS, INF, Shipments, chord_km
from .fleet import Fleet, _edges

#: Level-1 bounds measure the new legs as straight lines through the Earth (the chord
#: of two unit vectors, read off one dot product), shorter than the great circle by
#: 1 m at 100 km; they give up 50 m more so that float noise keeps them below the exact
#: cost.
MARGIN_KM = 0.05
#: From this many shipments on one run, the level-1 bound scans the edges one by one.
_BY_EDGE = 192


def _keep(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray, lb: NDArray) -> NDArray:
    """The bounds ``lb`` of items ``(si, ri)``, ``inf`` where the run cannot take the
    shipment at all: its vehicle, a rule the run breaks as given, or a bound beyond the
    run's ``reach`` (the most an insertion can add, from the slack of its edges)."""
    ok = fleet.carry_ok(ships)[si, ri] & fleet.usable[ri]
    ok &= lb <= fleet.reach[ri]
    return np.where(ok, lb, INF)


def coarse_bounds(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> NDArray:
    """Level 0 for aligned items (or broadcasting index arrays): from the run's circle.

    Every node lies within ``radius`` of the run's centre ``C`` and every edge is at
    most ``longest`` long, so by the triangle inequality a stop at ``X`` detours at least
    ``2 (d(C, X) - radius) - longest`` on any edge, and a shipment costs at least the
    larger of its two stops' detours (``d`` read as a straight line, as in level 1).
    """
    dot = (ships.both[:, :, si] * fleet.centre[:, None, ri]).sum(axis=0)
    return _coarse(fleet, ships, si, ri, dot)


def _coarse(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray, dot: NDArray) -> NDArray:
    """:func:`coarse_bounds` from the dot products of both stops with the centres."""
    far = _chords(dot, EARTH_RADIUS_KM * fleet.circuity).max(axis=0)
    far *= 2.0
    far -= fleet.spread[ri]
    return _keep(fleet, ships, si, ri, np.maximum(far, 0.0))


def _chords(dot: NDArray, scale: float) -> NDArray:
    """Straight-line km from dot products of unit vectors (in place): ``|a - b|`` times
    ``scale``, never more than the great-circle km times the same scale."""
    np.multiply(dot, -2.0, out=dot)
    dot += 2.0
    np.maximum(dot, 0.0, out=dot)
    np.sqrt(dot, out=dot)
    dot *= scale
    return dot


def _detours(dist: NDArray, el: NDArray, pd_km: NDArray, valid: NDArray | None = None) -> NDArray:
    """The level-1 bound from each stop's km to the nodes (``dist``: pickup and drop-off
    on a first axis of 2, nodes on the last) and the edges' km."""
    det = dist[..., :-1] + dist[..., 1:]
    det -= el
    same = dist[0, ..., :-1] + pd_km + dist[1, ..., 1:] - el
    if valid is not None:
        det = np.where(valid, det, INF)
        same = np.where(valid, same, INF)
    # The cheapest pickup edge before each drop-off edge (none before edge 0).
    pair = np.minimum.accumulate(det[0, ..., :-1], axis=-1)
    pair += det[1, ..., 1:]
    pair = pair.min(axis=-1, initial=INF)
    return np.minimum(pair, same.min(axis=-1)) - MARGIN_KM


def _detours_by_edge(dist: NDArray, el: NDArray, pd_km: NDArray) -> NDArray:
    """:func:`_detours` for many items on one run (no ``valid``), with the edges first in
    memory: NumPy's scans and reductions along a short last axis cost much per item, so
    the prefix minimum runs edge by edge over contiguous rows of items instead. The
    same operations on the same floats, so the same bounds."""
    d = np.ascontiguousarray(dist.transpose(0, 2, 1))  # (2, nodes, items)
    el = el[:, None]
    det = d[:, :-1] + d[:, 1:]
    det -= el
    same = d[0, :-1] + pd_km.T
    same += d[1, 1:]
    same -= el
    pair = det[0, :-1]
    for e in range(1, len(pair)):
        np.minimum(pair[e], pair[e - 1], out=pair[e])
    pair += det[1, 1:]
    pair = pair.min(axis=0, initial=INF)
    return np.minimum(pair, same.min(axis=0)) - MARGIN_KM


def distance_bounds(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> NDArray:
    """Level 1 for aligned items ``(si[i], ri[i])``."""
    if len(ri) and (ri == ri[0]).all():
        return distance_column(fleet, ships, si, int(ri[0]))
    e_count = int(fleet.n[ri].max(initial=0)) + 1
    u, el = fleet.u[:, ri, : e_count + 1], fleet.el[ri, :e_count]
    valid = np.arange(e_count)[None, :] <= fleet.n[ri, None]
    scale = EARTH_RADIUS_KM * fleet.circuity
    ends = ships.both[:, :, si, None]
    dist = _chords(ends[0] * u[0] + ends[1] * u[1] + ends[2] * u[2], scale)
    lb = _detours(dist, el, ships.pd_km[si, None], valid)
    return _keep(fleet, ships, si, ri, lb)


def distance_column(fleet: Fleet, ships: Shipments, si: NDArray, r: int) -> NDArray:
    """Level 1 for shipments ``si`` on the one run ``r``: one matrix product."""
    nodes = int(fleet.n[r]) + 2
    u, el = fleet.u[:, r, :nodes], fleet.el[r, : nodes - 1]
    scale = EARTH_RADIUS_KM * fleet.circuity
    dot = ships.both[:, :, si].reshape(3, -1).T @ u
    dist = _chords(dot, scale).reshape(2, len(si), nodes)
    detours = _detours_by_edge if len(si) >= _BY_EDGE else _detours
    lb = detours(dist, el, ships.pd_km[si, None])
    return _keep_column(fleet, ships, si, r, lb)


def coarse_column(fleet: Fleet, ships: Shipments, si: NDArray, r: int) -> NDArray:
    """Level 0 for shipments ``si`` on the one run ``r``: one matrix product."""
    dot = (fleet.centre[:, r] @ ships.both[:, :, si].reshape(3, -1)).reshape(2, -1)
    far = _chords(dot, EARTH_RADIUS_KM * fleet.circuity).max(axis=0)
    far *= 2.0
    far -= fleet.spread[r]
    return _keep_column(fleet, ships, si, r, np.maximum(far, 0.0))


def _keep_column(fleet: Fleet, ships: Shipments, si: NDArray, r: int, lb: NDArray) -> NDArray:
    """:func:`_keep` for items all on the run ``r``."""
    if not fleet.usable[r]:
        return np.full(len(si), INF)
    ok = fleet.carry_ok(ships)[si, r]
    ok &= lb <= fleet.reach[r]
    return np.where(ok, lb, INF)


def near_grid(
    fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray, near_km: float
) -> tuple[NDArray, NDArray]:
    """Bounds for every pair of ``si`` (rows) and ``ri`` (columns), and their levels:
    level 1 where the level-0 bound is under ``near_km``, level 0 elsewhere.

    A shipment's cheapest runs are near it, so the km-only bound is spent on the pairs
    the run's circle leaves close; the planner raises the others if it ever needs them.
    """
    dot = np.tensordot(ships.both[:, :, si], fleet.centre[:, ri], axes=(0, 0))
    val = _coarse(fleet, ships, si[:, None], ri[None, :], dot)
    level = np.zeros(val.shape, np.int8)
    near = val < near_km
    for c in np.nonzero(near.any(axis=0))[0].tolist():
        rows = np.nonzero(near[:, c])[0]
        val[rows, c] = np.maximum(val[rows, c], distance_column(fleet, ships, si[rows], int(ri[c])))
        level[rows, c] = 1
    return val, level


def distance_grid(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> NDArray:
    """Level 1 for every pair of ``si`` (rows) and ``ri`` (columns).

    Each storage class is measured only against the runs whose vehicle can carry it;
    the other entries are ``inf``.
    """
    out = np.full((len(si), len(ri)), INF)
    scale = EARTH_RADIUS_KM * fleet.circuity
    for need in np.unique(ships.need[si]).tolist():
        rows = np.nonzero(ships.need[si] == need)[0]
        cols = np.nonzero(fleet.carry[need, ri])[0]
        if not cols.size:
            continue
        rc = ri[cols]
        e_count = int(fleet.n[rc].max(initial=0)) + 1
        u = np.ascontiguousarray(fleet.u[:, rc, : e_count + 1])
        el = fleet.el[rc, :e_count]
        valid = np.arange(e_count)[None, :] <= fleet.n[rc, None]
        chunk = max(1, 200_000 // (len(rc) * (e_count + 1)))
        for lo in range(0, len(rows), chunk):
            at = rows[lo : lo + chunk]
            s = si[at]
            dist = _chords(np.tensordot(ships.both[:, :, s], u, axes=(0, 0)), scale)
            lb = _detours(dist, el, ships.pd_km[s, None, None], valid)
            out[at[:, None], cols[None, :]] = _keep(fleet, ships, s[:, None], rc[None, :], lb)
    return out


def edge_terms(
    fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray, alone: bool = True
) -> dict[str, Any]:
    """Per (item, edge): each stop alone on the edge. Rows ``ri`` must be ready.

    ``alone`` adds the masks of stops admissible alone (``d_ok``, ``alone_ok``).
    """
    g = fleet.gather(ri)
    mpk, el = g["mpk"], g["el"]
    # Pickup and drop-off side by side on a first axis of 2, as in ``ships.both``.
    dist = chord_km(g["u"][:, None], ships.both[:, :, si, None], fleet.circuity)
    dp, dd = dist
    kg, _, _, ewd, lwd_e, pd_km = ships.table[si].T[:, :, None]
    early, late_e = ships.windows[:, :, si, None]
    svc = ships.svc
    dep, arr1, as1_e = g["dep"], g["A"][:, 1:], g["ASe"][:, 1:]
    ok_run = fleet.base_ok[ri] & fleet.carry_ok(ships)[si, ri]
    valid = g["valid"] & ok_run[:, None]
    room = valid & (g["load"][:, :-1] + kg <= fleet.cap_e[ri, None])
    dist_m = dist * mpk
    begin = np.maximum(dep + dist_m[:, :, :-1], early)  # service start of each stop alone
    fine = room & (begin <= late_e)
    begin_svc = begin + svc
    late = begin_svc + dist_m[:, :, 1:]
    late -= arr1  # delay each stop alone brings to the next node
    sp, p_ok, delay1 = begin[0], fine[0], late[0]
    sd_same = np.maximum(begin_svc[0] + pd_km * mpk, ewd)
    same_ok = p_ok & (sd_same <= lwd_e)
    same_ok &= sd_same + svc + dist_m[1, :, 1:] - arr1 <= as1_e
    det = dist[:, :, :-1] + dist[:, :, 1:]
    det -= el
    t = {
        "g": g,
        "kg": kg,
        "ewd": ewd,
        "lwd_e": lwd_e,
        "dd": dd,
        "ddm": dist_m[1],
        "sp": sp,
        "sd_same": sd_same,
        "delay1": delay1,
        "valid": valid,
        "p_ok": p_ok,
        "same_ok": same_ok,
        "p_det": det[0],
        "d_det": det[1],
        "same_cost": dp[:, :-1] + pd_km + dd[:, 1:] - el,
    }
    if alone:
        t["d_ok"] = fine[1] & (late[1] <= as1_e)
        # The pickup alone; a feasible pair passes this check too, up to float noise on
        # the way, which the doubled tolerance absorbs.
        t["alone_ok"] = p_ok & (delay1 <= as1_e + EPS)
        t["sd0"] = begin[1]
    return t


def _fits(t: dict[str, Any]) -> NDArray:
    """Level 2 as a filter: some pickup edge and some drop-off edge admit their stop
    alone, or both fit on one edge (else the item fits nowhere on its run)."""
    return (t["alone_ok"].any(axis=1) & t["d_ok"].any(axis=1)) | t["same_ok"].any(axis=1)


def exact_costs(
    fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray
) -> tuple[NDArray, NDArray, NDArray]:
    """Level 3 for aligned items, the level-2 filter first from the same edge terms:
    (added km, pickup edge, drop-off edge). Equal to :func:`scan`'s, ties included."""
    fleet.ensure(ri)
    cost = np.full(len(si), INF)
    a, b = np.zeros(len(si), np.int64), np.zeros(len(si), np.int64)
    for lo in range(0, len(si), 256):
        r = ri[lo : lo + 256]
        t = edge_terms(fleet, ships, si[lo : lo + 256], r)
        fits = np.nonzero(_fits(t))[0]
        if fits.size:
            at = lo + fits
            cost[at], a[at], b[at] = _scan_pairs(fleet, ships, r[fits], t, fits)
    return cost, a, b


def _scan_pairs(
    fleet: Fleet, ships: Shipments, ri: NDArray, t: dict[str, Any], f: NDArray
) -> tuple[NDArray, NDArray, NDArray]:
    """:func:`_scan_terms` for the items ``f`` of the edge terms ``t`` (on runs ``ri``),
    over the pairs of edges that can hold a feasible insertion: a pickup edge where the
    pickup fits alone before a drop-off edge where the drop-off does (a feasible pair
    passes both checks), and the same-edge pairs. Every check is the scan's, on the
    same floats, and ties go to the same pair (the first in edge order).

    The pairs are checked flat, one entry per (item, pickup edge, drop-off edge), so
    that an item with many candidate edges does not widen the arrays of the others."""
    g, e_count, m = t["g"], t["g"]["E"], len(f)
    at = np.arange(m)
    same = np.where(t["same_ok"][f], t["same_cost"][f], INF)
    j = same.argmin(axis=1)
    cost_d = same[at, j]
    pick, drop = t["alone_ok"][f], t["d_ok"][f]
    n_p, n_d = pick.sum(axis=1), drop.sum(axis=1)
    mp, md = int(n_p.max()), int(n_d.max())
    if not (mp and md):
        return cost_d, j, j
    # Candidate edges first, in edge order; then padding, past each item's own count.
    pa = np.argsort(~pick, axis=1, kind="stable")[:, :mp]
    pb = np.argsort(~drop, axis=1, kind="stable")[:, :md]
    some = (_edges(mp) < n_p[:, None])[:, :, None] & (_edges(md) < n_d[:, None])[:, None, :]
    some &= pa[:, :, None] < pb[:, None, :]
    # Flat, item by item, each item's pairs in edge order (pickup edge, drop-off edge).
    k, ip, ib = np.nonzero(some)
    if not k.size:
        return cost_d, j, j
    a, b = pa[k, ip], pb[k, ib]
    item = f[k]  # the pair's row of the edge terms
    gr = item if g["mpk"].shape[0] > 1 else np.zeros_like(item)  # its run's row
    cw = g["CW"]
    delay1 = t["delay1"][item, a]
    lag = np.maximum(delay1 - (cw[gr, b] - cw[gr, a]), 0.0)
    ddm = t["ddm"]
    sd = g["dep"][gr, b] + lag
    sd += ddm[item, b]
    np.maximum(sd, t["ewd"][item, 0], out=sd)
    ok = sd <= t["lwd_e"][item, 0]
    nxt = b + 1
    sd += ships.svc
    sd += ddm[item, nxt]
    sd -= g["A"][gr, nxt]
    ok &= sd <= g["ASe"][gr, nxt]
    # The checks between the two edges, skipped where they cannot fail: every candidate
    # pickup's delay fits the slack of every node after it (not only up to the drop-off's
    # edge), and a shipment fits on top of the run's heaviest load.
    kg = t["kg"][f, 0]
    gaps = bool((delay1 > g["ASe"][gr, a + 1]).any())
    loads = not (fleet.top_load[ri] + kg <= fleet.cap_e[ri]).all()
    if gaps or loads:
        fleet.pair_checks(ri)
        w = fleet.gap.shape[1]
        run = ri[k]
        pair = (run * w + a) * w + b  # (run, a, b)
        if gaps:
            ok &= delay1 <= fleet.gap.reshape(-1).take(pair)
        if loads:
            ok &= fleet.on_board.reshape(-1).take(pair) + kg[k] <= fleet.cap_e[run]
    cost = np.where(ok, t["p_det"][item, a] + t["d_det"][item, b], INF)
    # Each item's least cost, at its first pair that has it.
    counts = np.bincount(k, minlength=m)
    has = counts > 0
    starts = (np.cumsum(counts) - counts)[has]
    cost_o = np.full(m, INF)
    cost_o[has] = np.minimum.reduceat(cost, starts)
    hit = np.flatnonzero(cost == cost_o[k])
    hit = hit[np.searchsorted(hit, starts)]
    a_o, b_o = np.zeros(m, np.int64), np.zeros(m, np.int64)
    a_o[has], b_o[has] = a[hit], b[hit]
    # The scan's order: the least cost, then the first pair (pickup edge, drop-off edge).
    first = (cost_d < cost_o) | ((cost_d == cost_o) & (j * (e_count + 1) < a_o * e_count + b_o))
    return np.where(first, cost_d, cost_o), np.where(first, j, a_o), np.where(first, j, b_o)


def scan(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> tuple[NDArray, ...]:
    """Level 3 for aligned items: (added km, pickup edge, drop-off edge, both start times)."""
    fleet.ensure(ri)
    out = [np.empty(len(si)) for _ in range(5)]
    for lo in range(0, len(si), 256):
        part = slice(lo, lo + 256)
        t = edge_terms(fleet, ships, si[part], ri[part], alone=False)
        for k, v in enumerate(_scan_terms(fleet, ships, ri[part], t)):
            out[k][part] = v
    km, a, b, sp, sd = out
    return km, a.astype(np.int64), b.astype(np.int64), sp, sd


@functools.cache
def _pairs(e_count: int) -> tuple[NDArray, NDArray, NDArray]:
    """Edge indices, ``later[a, b]`` (the drop-off edge ``b`` comes after the pickup's
    ``a``) and its transpose's complement (edge ``b`` is not after ``a``)."""
    idx = np.arange(e_count)
    later = idx[None, :] > idx[:, None]
    return idx, later, ~later.T


def _scan_terms(
    fleet: Fleet, ships: Shipments, ri: NDArray, t: dict[str, Any]
) -> tuple[NDArray, ...]:
    g, dd, delay1 = t["g"], t["dd"], t["delay1"][:, :, None]
    e_count, mpk = g["E"], g["mpk"][:, :, None]
    idx, later, not_after = _pairs(e_count)
    cw = g["CW"][:, :-1]
    lag = np.maximum(delay1 - (cw[:, None, :] - cw[:, :, None]), 0.0)
    sd = np.maximum(g["dep"][:, None, :] + lag + dd[:, None, :-1] * mpk, t["ewd"][:, :, None])
    ok = later & t["p_ok"][:, :, None] & t["valid"][:, None, :]
    ok &= sd <= t["lwd_e"][:, :, None]
    after = sd + ships.svc + dd[:, None, 1:] * mpk - g["A"][:, None, 1:]
    ok &= after <= g["ASe"][:, None, 1:]
    between = np.minimum.accumulate(np.where(later, g["Q"][:, None, :-1], INF), axis=2)
    ok &= delay1 <= between - cw[:, :, None] + EPS
    on_board = np.maximum.accumulate(np.where(not_after, g["load"][:, None, :-1], -INF), axis=2)
    ok &= on_board + t["kg"][:, :, None] <= fleet.cap_e[ri, None, None]
    cost = np.where(ok, t["p_det"][:, :, None] + t["d_det"][:, None, :], INF)
    cost[:, idx, idx] = np.where(t["same_ok"], t["same_cost"], INF)
    sd[:, idx, idx] = t["sd_same"]
    rows = np.arange(len(ri))
    flat = cost.reshape(len(ri), -1).argmin(axis=1)
    a, b = np.divmod(flat, e_count)
    return cost.reshape(len(ri), -1)[rows, flat], a, b, t["sp"][rows, a], sd[rows, a, b]
