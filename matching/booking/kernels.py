"""The estimates of a shipment's cost on a run, from cheapest to exact.

Level 0, :func:`coarse_bounds`: from a circle around the run (no per-node work).

Level 1, :func:`distance_bounds` (:func:`distance_column` for many shipments on one
run, :func:`near_grid` and :func:`distance_grid` for a whole table): km only. For each
edge, the pickup's detour and the drop-off's detour; the cheapest pickup edge before
each drop-off edge (or both stops on one edge) bounds the added km from below. Needs no
time state.

Level 2, :func:`_slack`: the same bound over the edges where each stop fits on its own:
its window, room on board, and its detour time against the slack behind the edge (the
edge's detour ellipse). A feasible pair passes both checks, because putting the other
stop in only delays and loads the run more. :func:`exact_costs` uses it as a filter: a
shipment with no such pair fits nowhere on the run (most of the runs a shipment is
tried on, once runs fill up), and the scan below is skipped.

Level 3, :func:`exact_costs` and :func:`scan`: every pair of edges ``a <= b`` at once.
The pickup on edge ``a`` delays node ``a + 1`` by ``delay1``; the delay left at node
``b`` is ``max(0, delay1 - waiting between them)``, which gives the drop-off's exact
time; the nodes in between, the drop-off, the nodes after it and the load on every edge
from ``a`` to ``b`` are all checked against the arrays of
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
from .fleet import Fleet

#: Level-1 bounds measure the new legs as straight lines through the Earth (the chord
#: of two unit vectors, read off one dot product), shorter than the great circle by
#: 1 m at 100 km; they give up 50 m more so that float noise keeps them below the exact
#: cost.
MARGIN_KM = 0.05


def _exclusive_prefix_min(x: NDArray) -> NDArray:
    before = np.minimum.accumulate(x, axis=-1)
    return np.concatenate([np.full(x.shape[:-1] + (1,), INF), before[..., :-1]], axis=-1)


def _carry_ok(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> NDArray:
    known_bad = fleet.ready[ri] & ~fleet.base_ok[ri]
    return fleet.can_carry(ships, si, ri) & ~known_bad


def coarse_bounds(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> NDArray:
    """Level 0 for aligned items (or broadcasting index arrays): from the run's circle.

    Every node lies within ``radius`` of the run's centre ``C`` and every edge is at
    most ``longest`` long, so by the triangle inequality a stop at ``X`` detours at least
    ``2 (d(C, X) - radius) - longest`` on any edge, and a shipment costs at least the
    larger of its two stops' detours.
    """
    centre = fleet.centre[:, ri]
    reach = fleet.radius[ri] * 2.0 + fleet.longest[ri]
    p = 2.0 * chord_km(centre, ships.pu[:, si], fleet.circuity) - reach
    d = 2.0 * chord_km(centre, ships.du[:, si], fleet.circuity) - reach
    lb = np.maximum(np.maximum(p, d), 0.0)
    return np.where(_carry_ok(fleet, ships, si, ri), lb, INF)


def _chords(dot: NDArray, scale: float) -> NDArray:
    """Straight-line km from dot products of unit vectors (in place): ``|a - b|`` times
    ``scale``, never more than the great-circle km times the same scale."""
    np.multiply(dot, -2.0, out=dot)
    dot += 2.0
    np.maximum(dot, 0.0, out=dot)
    np.sqrt(dot, out=dot)
    dot *= scale
    return dot


def _detours(
    dp: NDArray, dd: NDArray, el: NDArray, valid: NDArray | None, pd_km: NDArray
) -> NDArray:
    """The level-1 bound from each stop's km to the nodes (last axis) and the edges' km."""
    p_det = dp[..., :-1] + dp[..., 1:] - el
    d_det = dd[..., :-1] + dd[..., 1:] - el
    same = dp[..., :-1] + pd_km + dd[..., 1:] - el
    if valid is not None:
        p_det = np.where(valid, p_det, INF)
        d_det = np.where(valid, d_det, INF)
        same = np.where(valid, same, INF)
    pair = (_exclusive_prefix_min(p_det) + d_det).min(axis=-1)
    return np.minimum(pair, same.min(axis=-1)) - MARGIN_KM


def distance_bounds(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> NDArray:
    """Level 1 for aligned items ``(si[i], ri[i])``."""
    if len(ri) and (ri == ri[0]).all():
        return distance_column(fleet, ships, si, int(ri[0]))
    e_count = int(fleet.n[ri].max(initial=0)) + 1
    u, el = fleet.u[:, ri, : e_count + 1], fleet.el[ri, :e_count]
    valid = np.arange(e_count)[None, :] <= fleet.n[ri, None]
    scale = EARTH_RADIUS_KM * fleet.circuity
    pu, du = ships.pu[:, si, None], ships.du[:, si, None]
    dp = _chords(pu[0] * u[0] + pu[1] * u[1] + pu[2] * u[2], scale)
    dd = _chords(du[0] * u[0] + du[1] * u[1] + du[2] * u[2], scale)
    lb = _detours(dp, dd, el, valid, ships.pd_km[si, None])
    return np.where(_carry_ok(fleet, ships, si, ri), lb, INF)


def distance_column(fleet: Fleet, ships: Shipments, si: NDArray, r: int) -> NDArray:
    """Level 1 for shipments ``si`` on the one run ``r``: two matrix products."""
    nodes = int(fleet.n[r]) + 2
    u, el = fleet.u[:, r, :nodes], fleet.el[r, : nodes - 1]
    scale = EARTH_RADIUS_KM * fleet.circuity
    dp = _chords(ships.pu[:, si].T @ u, scale)
    dd = _chords(ships.du[:, si].T @ u, scale)
    lb = _detours(dp, dd, el, None, ships.pd_km[si, None])
    return np.where(_carry_ok(fleet, ships, si, np.full(len(si), r)), lb, INF)


def near_grid(
    fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray, near_km: float
) -> tuple[NDArray, NDArray]:
    """Bounds for every pair of ``si`` (rows) and ``ri`` (columns), and their levels:
    level 1 where the level-0 bound is under ``near_km``, level 0 elsewhere.

    A shipment's cheapest runs are near it, so the km-only bound is spent on the pairs
    the run's circle leaves close; the planner raises the others if it ever needs them.
    """
    val = coarse_bounds(fleet, ships, si[:, None], ri[None, :])
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
            dp = _chords(np.tensordot(ships.pu[:, s].T, u, axes=1), scale)
            dd = _chords(np.tensordot(ships.du[:, s].T, u, axes=1), scale)
            lb = _detours(dp, dd, el, valid, ships.pd_km[s, None, None])
            ok = _carry_ok(fleet, ships, s[:, None], rc[None, :])
            out[at[:, None], cols[None, :]] = np.where(ok, lb, INF)
    return out


def edge_terms(
    fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray, alone: bool = True
) -> dict[str, Any]:
    """Per (item, edge): each stop alone on the edge. Rows ``ri`` must be ready.

    ``alone`` adds the masks of stops admissible alone (``d_ok``, ``alone_ok``).
    """
    g = fleet.gather(ri)
    mpk = g["mpk"]
    dp, dd = chord_km(g["u"][:, None], ships.both[:, :, si, None], fleet.circuity)
    kg, ewp, lwp, ewd, lwd, pd_km = ships.table[si].T[:, :, None]
    svc = ships.svc
    dep, arr1, as1 = g["dep"], g["A"][:, 1:], g["AS"][:, 1:]
    ok_run = fleet.base_ok[ri] & fleet.can_carry(ships, si, ri)
    valid = g["valid"] & ok_run[:, None]
    room = g["load"][:, :-1] + kg <= fleet.cap[ri, None] + EPS
    sp = np.maximum(dep + dp[:, :-1] * mpk, ewp)
    p_ok = valid & room & (sp <= lwp + EPS)
    delay1 = sp + svc + dp[:, 1:] * mpk - arr1
    sd_same = np.maximum(sp + svc + pd_km * mpk, ewd)
    same_ok = p_ok & (sd_same <= lwd + EPS)
    same_ok &= sd_same + svc + dd[:, 1:] * mpk - arr1 <= as1 + EPS
    t = {
        "g": g,
        "kg": kg,
        "ewd": ewd,
        "lwd": lwd,
        "dd": dd,
        "sp": sp,
        "sd_same": sd_same,
        "delay1": delay1,
        "valid": valid,
        "p_ok": p_ok,
        "same_ok": same_ok,
        "p_det": dp[:, :-1] + dp[:, 1:] - g["el"],
        "d_det": dd[:, :-1] + dd[:, 1:] - g["el"],
        "same_cost": dp[:, :-1] + pd_km + dd[:, 1:] - g["el"],
    }
    if alone:
        sd0 = np.maximum(dep + dd[:, :-1] * mpk, ewd)
        d_ok = valid & room & (sd0 <= lwd + EPS)
        t["d_ok"] = d_ok & (sd0 + svc + dd[:, 1:] * mpk - arr1 <= as1 + EPS)
        t["alone_ok"] = p_ok & (delay1 <= as1 + EPS)
        t["sd0"] = sd0
    return t


def _slack(t: dict[str, Any]) -> NDArray:
    pickups = _exclusive_prefix_min(np.where(t["alone_ok"], t["p_det"], INF))
    pair = (pickups + np.where(t["d_ok"], t["d_det"], INF)).min(axis=1)
    return np.minimum(pair, np.where(t["same_ok"], t["same_cost"], INF).min(axis=1))


def exact_costs(
    fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray
) -> tuple[NDArray, NDArray, NDArray]:
    """Level 3 for aligned items, the level-2 bound first as a filter from the same edge
    terms (an item whose level 2 is ``inf`` fits nowhere on the run): (added km, pickup
    edge, drop-off edge)."""
    fleet.ensure(ri)
    cost = np.empty(len(si))
    a, b = np.zeros(len(si), np.int64), np.zeros(len(si), np.int64)
    for lo in range(0, len(si), 256):
        part = slice(lo, lo + 256)
        r = ri[part]
        t = edge_terms(fleet, ships, si[part], r)
        bound = _slack(t)
        fits = np.isfinite(bound)
        if fits.all():
            bound, a[part], b[part] = _scan_terms(fleet, ships, r, t)[:3]
        elif fits.any():
            km, a_fits, b_fits = _scan_terms(fleet, ships, r[fits], _subset(t, fits))[:3]
            bound[fits] = km
            a[part][fits], b[part][fits] = a_fits, b_fits
        cost[part] = bound
    return cost, a, b


#: The edge terms and run rows that :func:`_scan_terms` reads.
_SCAN_TERMS = (
    "kg", "ewd", "lwd", "dd", "sp", "sd_same", "delay1", "valid", "p_ok", "same_ok",
    "p_det", "d_det", "same_cost",
)  # fmt: skip
_SCAN_ROWS = ("CW", "dep", "A", "AS", "Q", "load", "mpk")


def _subset(t: dict[str, Any], keep: NDArray) -> dict[str, Any]:
    """The edge terms of the items ``keep`` (run rows shared by every item stay shared)."""
    g = t["g"]
    shared = g["mpk"].shape[0] != len(keep)
    out = {k: t[k][keep] for k in _SCAN_TERMS}
    out["g"] = {k: g[k] if shared else g[k][keep] for k in _SCAN_ROWS}
    out["g"]["E"] = g["E"]
    return out


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
    ok &= sd <= t["lwd"][:, :, None] + EPS
    after = sd + ships.svc + dd[:, None, 1:] * mpk - g["A"][:, None, 1:]
    ok &= after <= g["AS"][:, None, 1:] + EPS
    between = np.minimum.accumulate(np.where(later, g["Q"][:, None, :-1], INF), axis=2)
    ok &= delay1 <= between - cw[:, :, None] + EPS
    on_board = np.maximum.accumulate(np.where(not_after, g["load"][:, None, :-1], -INF), axis=2)
    ok &= on_board + t["kg"][:, :, None] <= fleet.cap[ri, None, None] + EPS
    cost = np.where(ok, t["p_det"][:, :, None] + t["d_det"][:, None, :], INF)
    cost[:, idx, idx] = np.where(t["same_ok"], t["same_cost"], INF)
    sd[:, idx, idx] = t["sd_same"]
    rows = np.arange(len(ri))
    flat = cost.reshape(len(ri), -1).argmin(axis=1)
    a, b = np.divmod(flat, e_count)
    return cost.reshape(len(ri), -1)[rows, flat], a, b, t["sp"][rows, a], sd[rows, a, b]
