"""The four estimates of a shipment's cost on a run, from cheapest to exact.

Level 0, :func:`coarse_bounds`: from a circle around the run (no per-node work).

Level 1, :func:`distance_bounds`: km only. For each edge, the pickup's detour and the
drop-off's detour; the cheapest pickup edge before each drop-off edge (or both stops
on one edge) bounds the added km from below. Needs no time state.

Level 2, :func:`slack_bounds`: the same bound over the edges where each stop fits on
its own: its window, room on board, and its detour time against the slack behind the
edge (the edge's detour ellipse). A feasible pair passes both checks, because putting
the other stop in only delays and loads the run more. Same-edge pairs are exact here.

Level 3, :func:`scan`: every pair of edges ``a <= b`` at once. The pickup on edge ``a``
delays node ``a + 1`` by ``delay1``; the delay left at node ``b`` is
``max(0, delay1 - waiting between them)``, which gives the drop-off's exact time; the
nodes in between, the drop-off, the nodes after it and the load on every edge from
``a`` to ``b`` are all checked against the arrays of :mod:`matching.booking.fleet`.

Each function takes shipment indices ``si`` and run indices ``ri``; ``inf`` means the
shipment cannot ride that run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .arrays import EPS, INF, Shipments, chord_km
from .fleet import Fleet

#: Single-precision distances err by about 2 m each; level-1 bounds give up 50 m to
#: stay below the exact cost.
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


def _detours(
    u: NDArray,
    el: NDArray,
    valid: NDArray,
    pu: NDArray,
    du: NDArray,
    pd_km: NDArray,
    circuity: float,
) -> NDArray:
    dp = chord_km(u, pu, circuity)
    dd = chord_km(u, du, circuity)
    p_det = np.where(valid, dp[..., :-1] + dp[..., 1:] - el, INF)
    d_det = np.where(valid, dd[..., :-1] + dd[..., 1:] - el, INF)
    pair = (_exclusive_prefix_min(p_det) + d_det).min(axis=-1)
    same = np.where(valid, dp[..., :-1] + pd_km + dd[..., 1:] - el, INF).min(axis=-1)
    return np.minimum(pair, same) - MARGIN_KM


def distance_bounds(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> NDArray:
    """Level 1 for aligned items ``(si[i], ri[i])``, in single precision (see MARGIN_KM)."""
    e_count = int(fleet.n[ri].max(initial=0)) + 1
    u, el = fleet.u32[:, ri, : e_count + 1], fleet.el32[ri, :e_count]
    valid = np.arange(e_count)[None, :] <= fleet.n[ri, None]
    lb = _detours(
        u,
        el,
        valid,
        ships.pu32[:, si, None],
        ships.du32[:, si, None],
        ships.pd_km[si, None].astype(np.float32),
        fleet.circuity,
    )
    return np.where(_carry_ok(fleet, ships, si, ri), lb, INF)


def distance_grid(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> NDArray:
    """Level 1 for every pair of ``si`` (rows) and ``ri`` (columns)."""
    e_count = int(fleet.n[ri].max(initial=0)) + 1
    u = fleet.u32[:, None, ri, : e_count + 1]
    el = fleet.el32[ri, :e_count]
    valid = np.arange(e_count)[None, :] <= fleet.n[ri, None]
    out = np.empty((len(si), len(ri)))
    chunk = max(1, 150_000 // max(1, len(ri) * (e_count + 1)))
    for lo in range(0, len(si), chunk):
        s = si[lo : lo + chunk]
        lb = _detours(
            u,
            el,
            valid,
            ships.pu32[:, s, None, None],
            ships.du32[:, s, None, None],
            ships.pd_km[s, None, None].astype(np.float32),
            fleet.circuity,
        )
        out[lo : lo + chunk] = np.where(_carry_ok(fleet, ships, s[:, None], ri[None, :]), lb, INF)
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


def slack_bounds(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> NDArray:
    """Level 2 for aligned items ``(si[i], ri[i])``."""
    if len(si) == 0:
        return np.zeros(0)
    fleet.ensure(ri)
    t = edge_terms(fleet, ships, si, ri)
    pickups = _exclusive_prefix_min(np.where(t["alone_ok"], t["p_det"], INF))
    pair = (pickups + np.where(t["d_ok"], t["d_det"], INF)).min(axis=1)
    return np.minimum(pair, np.where(t["same_ok"], t["same_cost"], INF).min(axis=1))


def scan(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> tuple[NDArray, ...]:
    """Level 3 for aligned items: (added km, pickup edge, drop-off edge, both start times)."""
    fleet.ensure(ri)
    out = [np.empty(len(si)) for _ in range(5)]
    for lo in range(0, len(si), 256):
        part = slice(lo, lo + 256)
        for k, v in enumerate(_scan(fleet, ships, si[part], ri[part])):
            out[k][part] = v
    km, a, b, sp, sd = out
    return km, a.astype(np.int64), b.astype(np.int64), sp, sd


def _scan(fleet: Fleet, ships: Shipments, si: NDArray, ri: NDArray) -> tuple[NDArray, ...]:
    t = edge_terms(fleet, ships, si, ri, alone=False)
    g, dd, delay1 = t["g"], t["dd"], t["delay1"][:, :, None]
    e_count, mpk = g["E"], g["mpk"][:, :, None]
    idx = np.arange(e_count)
    later = idx[None, :] > idx[:, None]  # [a, b]: the drop-off edge comes after the pickup's
    cw = g["CW"][:, :-1]
    lag = np.maximum(delay1 - (cw[:, None, :] - cw[:, :, None]), 0.0)
    sd = np.maximum(g["dep"][:, None, :] + lag + dd[:, None, :-1] * mpk, t["ewd"][:, :, None])
    ok = later & t["p_ok"][:, :, None] & t["valid"][:, None, :]
    ok &= sd <= t["lwd"][:, :, None] + EPS
    after = sd + ships.svc + dd[:, None, 1:] * mpk - g["A"][:, None, 1:]
    ok &= after <= g["AS"][:, None, 1:] + EPS
    between = np.minimum.accumulate(np.where(later, g["Q"][:, None, :-1], INF), axis=2)
    ok &= delay1 <= between - cw[:, :, None] + EPS
    on_board = np.maximum.accumulate(np.where(~later.T, g["load"][:, None, :-1], -INF), axis=2)
    ok &= on_board + t["kg"][:, :, None] <= fleet.cap[ri, None, None] + EPS
    cost = np.where(ok, t["p_det"][:, :, None] + t["d_det"][:, None, :], INF)
    cost[:, idx, idx] = np.where(t["same_ok"], t["same_cost"], INF)
    sd[:, idx, idx] = t["sd_same"]
    rows = np.arange(len(si))
    flat = cost.reshape(len(si), -1).argmin(axis=1)
    a, b = np.divmod(flat, e_count)
    return cost.reshape(len(si), -1)[rows, flat], a, b, t["sp"][rows, a], sd[rows, a, b]
