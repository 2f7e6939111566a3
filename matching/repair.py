"""Integer repair of the flow solution.

The flow (:func:`first_flow`) treats every lot as divisible and ignores minimum parts;
on large instances it is solved region by region, with the kilograms of the pairs that
cross a border taken from a maximum flow, so that it places as much as one flow. The
repair makes the solution feasible and then places what it freed:

1. Indivisible lots the flow gave whole to one beneficiary keep it.
2. Every other indivisible lot that the flow placed (in part), largest first, is taken
   back and given whole to the candidate that gains most (need-utility gained minus
   distance cost) among those whose capacity not yet taken by whole lots fits it;
   divisible kilograms are taken back there, farthest first, if room is short.
3. Indivisible lots the flow left unplaced go whole where room is left, if anywhere.
4. The divisible lots that steps 1-3 disturbed (kilograms taken back, or a part at a
   beneficiary whose kilograms changed) are solved again as a flow; every other part
   stays and, with the indivisible lots, fills capacities and the lowest need tiers
   first. On the benchmark instances this keeps the objective within 0.05 % of solving
   every divisible lot again, for about a third of that flow's arcs. After a first flow
   by regions, the divisible lots near a border (with a pair across it, or with a part
   at a beneficiary such a pair reaches) are solved again too, and this flow is solved
   by regions as well, about half as many, whose borders lie elsewhere
   (:func:`second_parts`).
5. A part of a divisible lot smaller than the lot's minimum is merged into another part
   of the lot, or raised to the minimum from another part, or else taken back.
6. Every lot with kilograms left (taken back, or rounding) is filled, urgent lots first,
   then largest remainder first: each step tops up one of the lot's parts or opens a new
   part of at least the minimum, on the candidate (reserve candidates included) with the
   best gain per kilogram.
7. Lots still short get more candidates (farther eligible beneficiaries with room left
   in the lot's class) and step 6 runs again for them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .candidates import CandidateGraph, Problem, widen
from .flow import cross_flows, solve_flow
from .state import EPS, State

# Share of a candidate's divisible kilograms that step 2 assumes stay there after step 4
# re-solves them; 0.5 placed whole lots best on the benchmark instances (0.25-1 within
# 0.05 % of each other in the objective at 10,000 lots, 0.15 % at 1,000).
DIVISIBLE_WEIGHT = 0.5
# Kilograms by which a beneficiary's received kilograms must change in steps 1-3 for
# step 4 to solve again the divisible lots with a part there (rounding is below it).
CHANGED_KG = 1e-6
# From ``REGIONS_FROM`` live lots, the first flow is solved region by region, one region
# per ``LOTS_PER_REGION`` live lots: OR-Tools' time grows faster than the graph (six
# regions of 1,600 lots take less than half the time of one flow on 9,600). Below, one
# flow takes under a second and the borders cost more objective (0.07-0.12 % at 5,000
# lots).
REGIONS_FROM = 6_000
LOTS_PER_REGION = 1_500


def _place_whole(state: State, lot: int, fixed: list[list[float]], resolve: bool) -> bool:
    """Give indivisible ``lot`` whole to its best candidate (steps 2 and 3).

    With ``resolve`` (step 2) a candidate qualifies when its capacity not taken by whole
    lots (``fixed``, kilograms per beneficiary and class) fits the lot, and divisible
    kilograms are evicted to make room; since step 4 re-solves the divisible lots, the
    gain counts only ``DIVISIBLE_WEIGHT`` of the divisible kilograms the candidate holds
    now. Without it (step 3) only free room counts, so that no placed kilogram is
    displaced.
    """
    kg = float(state.problem.lot_kg[lot])
    best, best_gain = -1, -np.inf
    for e in state.edges(lot):
        b, c = state.ben_class(e)
        if resolve:
            mine = fixed[b]
            if state.cap[b][c] - mine[c] < kg:
                continue
            whole = mine[0] + mine[1] + mine[2]
            gain = state.gain(e, kg, got=whole + DIVISIBLE_WEIGHT * (state.got[b] - whole))
        elif state.room(e) >= kg:
            gain = state.gain(e, kg)
        else:
            continue
        if gain > best_gain:
            best, best_gain = e, gain
    if best < 0:
        return False
    if state.room(best) < kg:
        _evict(state, best, kg - state.room(best))
    state.add(best, kg)
    b, c = state.ben_class(best)
    fixed[b][c] += kg
    return True


def _evict(state: State, e_target: int, kg: float) -> None:
    """Take back ``kg`` of divisible lots from the target's beneficiary and class."""
    g, p = state.graph, state.problem
    b, c = int(g.ben[e_target]), int(state.edge_class[e_target])
    mine = state.ben_edges[state.ben_ptr[b] : state.ben_ptr[b + 1]]
    mine = mine[(state.edge_class[mine] == c) & (state.x[mine] > 0)]
    mine = mine[p.lot_divisible[g.lot[mine]]]
    for e in mine[np.argsort(-g.km[mine], kind="stable")]:
        if kg <= EPS:
            break
        q = min(float(state.x[e]), kg)
        state.add(int(e), -q)
        kg -= q


def round_indivisible(state: State) -> NDArray:
    """Steps 1-3: every indivisible lot ends whole at one beneficiary, or unplaced.

    Returns the kilograms of indivisible lots per beneficiary and storage class.
    """
    p, g, x = state.problem, state.graph, state.x
    fixed = [[0.0, 0.0, 0.0] for _ in range(len(p.beneficiaries))]
    lots = np.flatnonzero(~p.lot_divisible & p.lot_live & (np.diff(g.ptr) > 0))
    placed = np.bincount(g.lot, x, minlength=len(p.lots))
    split: list[int] = []
    for lot in lots.tolist():
        sl = slice(g.ptr[lot], g.ptr[lot + 1])
        if placed[lot] > EPS and x[sl].max() >= p.lot_kg[lot] - EPS:
            e = int(g.ptr[lot] + np.argmax(x[sl]))
            state.add(e, float(p.lot_kg[lot] - x[e]))  # exact kilograms
            fixed[int(g.ben[e])][int(p.lot_class[lot])] += float(p.lot_kg[lot])
        elif placed[lot] > EPS:
            split.append(lot)
    for lot in split:
        state.take_back(lot)
    for lot in sorted(split, key=lambda i: -p.lot_kg[i]):
        _place_whole(state, lot, fixed, resolve=True)
    unplaced = [i for i in lots.tolist() if placed[i] <= EPS]
    for lot in sorted(unplaced, key=lambda i: -p.lot_kg[i]):
        _place_whole(state, lot, fixed, resolve=False)
    return np.array(fixed).reshape(-1, 3)


def resolve_divisible(
    state: State, before: NDArray, also: NDArray | None = None, parts: int = 1
) -> None:
    """Step 4: solve again, as a flow, the divisible lots that the rounding disturbed.

    ``before`` holds the kilograms per beneficiary and storage class before steps 1-3.
    The lots solved again are the divisible lots with kilograms left (taken back in
    step 2), those with a part at a beneficiary whose kilograms steps 1-3 changed, and
    the divisible lots ``also`` marks; every other part stays, and with the indivisible
    lots fills capacities and the lowest need tiers first.

    With ``parts`` ≥ 2 (after a first flow by regions: :func:`second_parts`), the flow is
    solved region by region too, over ``parts`` regions whose borders lie elsewhere than
    the first flow's, so that what the first flow's borders cut is inside a region now;
    the pairs across the new borders keep their kilograms.
    """
    p, g = state.problem, state.graph
    recv = state.recv_array()
    changed = (np.abs(recv - before) > CHANGED_KG).any(axis=1)
    lots = np.zeros(len(p.lots), dtype=bool)
    lots[g.lot[(state.x > EPS) & changed[g.ben]]] = True
    lots |= state.left_array() > EPS
    if also is not None:
        lots |= also
    lots &= p.lot_divisible & p.lot_live
    use = g.in_flow & lots[g.lot]
    if parts >= 2:
        ben_region, lot_region = _regions(p, g, parts)
        use &= lot_region[g.lot] == ben_region[g.ben]  # the pairs across keep their kg
    mine = np.flatnonzero(use)
    if len(mine) == 0:
        return
    fixed = recv.copy()
    np.subtract.at(fixed, (g.ben[mine], state.edge_class[mine]), state.x[mine])
    fixed = np.maximum(fixed, 0.0)
    if parts < 2:
        x = solve_flow(p, g, use=use, fixed=fixed)
    else:
        # kilograms of each lot on the pairs that keep theirs (across, or not in the flow)
        kept = np.bincount(g.lot, state.x, minlength=len(p.lots))
        kept -= np.bincount(g.lot[mine], state.x[mine], minlength=len(p.lots))
        x = np.zeros(g.size)
        for r in range(parts):
            x += solve_flow(
                p, g, use=use & (lot_region[g.lot] == r), fixed=fixed, taken=np.maximum(kept, 0)
            )
    state.set_parts(mine, x[mine])


def fix_small_parts(state: State) -> None:
    """Step 5: no part of a divisible lot below its minimum part.

    A small part is merged into another part of the same lot, or raised to the minimum
    with kilograms from another part that stays valid, whichever gains more (both keep
    the kilograms placed); when neither fits, it is taken back for step 6.
    """
    p, g, x = state.problem, state.graph, state.x
    small = (x > EPS) & (x < p.lot_min_part[g.lot] - EPS) & p.lot_divisible[g.lot]
    for e in np.flatnonzero(small).tolist():
        lot, part = int(g.lot[e]), float(x[e])
        min_part = float(p.lot_min_part[lot])
        if not EPS < part < min_part - EPS:
            continue  # changed by an earlier merge
        best, best_gain, best_kg = -1, -np.inf, 0.0
        for f in state.edges(lot):
            if f == e or x[f] <= EPS:
                continue
            if state.room(f) >= part:  # merge e into f
                gain = state.gain(e, -part) + state.gain(f, part)
                if gain > best_gain:
                    best, best_gain, best_kg = f, gain, -part
            short = min_part - part
            if x[f] - short >= min_part - EPS and state.room(e) >= short:  # raise e from f
                gain = state.gain(e, short) + state.gain(f, -short)
                if gain > best_gain:
                    best, best_gain, best_kg = f, gain, short
        if best < 0:
            state.add(e, -part)
        else:
            state.add(e, best_kg)
            state.add(best, -best_kg)


def fill(state: State, lots: NDArray | list[int]) -> None:
    """Step 6: place what is left of ``lots`` on their best candidates with room.

    A step that would strand a remainder (smaller than the minimum part, so only
    top-ups could place it) is taken only when no other step is possible, and then the
    one placing most is taken: placed kilograms come first.
    """
    p, x = state.problem, state.x
    for lot in lots:
        lot = int(lot)
        min_part = float(p.lot_min_part[lot])
        while state.left[lot] > EPS:
            left = state.left[lot]
            best, best_key, best_q = -1, (-np.inf, -np.inf, -np.inf), 0.0
            for e in state.edges(lot):
                q = min(left, state.room(e))
                if q <= EPS or (x[e] <= 0 and q < min_part - EPS):
                    continue
                rest = left - q
                safe = rest <= EPS or rest >= min_part - EPS
                score = state.gain(e, q) / q
                key = (1.0, score, q) if safe else (0.0, q, score)
                if key > best_key:
                    best, best_key, best_q = e, key, q
            if best < 0:
                break
            state.add(best, best_q)


def fill_order(state: State) -> list[int]:
    """Lots with kilograms left, urgent first, then largest remainder first."""
    p = state.problem
    left = state.left_array()
    lots = np.flatnonzero((left > EPS) & (np.diff(state.graph.ptr) > 0))
    order = np.lexsort((-left[lots], ~p.lot_urgent[lots]))
    return [int(i) for i in lots[order]]


def widen_and_fill(state: State) -> State:
    """Step 7: lots still short get ``params.extra_candidates`` more candidates, filled."""
    p = state.problem
    short = np.flatnonzero((state.left_array() > 1e-6) & (np.diff(state.graph.ptr) > 0))
    if len(short) == 0 or p.params.extra_candidates == 0:
        return state
    room = state.room_array() > EPS
    widened = widen(p, state.graph, short, p.params.extra_candidates, room)
    if widened is None:
        return state
    graph, old = widened
    added = np.flatnonzero(old < 0)
    state = state.widened(graph, added - np.arange(len(added)))
    fill(state, fill_order(state))
    return state


def _bisect(lat: NDArray, lon: NDArray, parts: int) -> NDArray:
    """Region of each point: ``parts`` groups of equal size, cut across the wider side."""
    region = np.zeros(len(lat), dtype=int)
    todo = [(np.arange(len(lat)), parts, 0)]
    while todo:
        idx, k, base = todo.pop()
        if k == 1 or len(idx) < 2:
            region[idx] = base
            continue
        y, x = lat[idx], lon[idx] * np.cos(np.radians(lat[idx].mean()))
        order = idx[np.argsort(y if np.ptp(y) >= np.ptp(x) else x, kind="stable")]
        cut = len(idx) * (k // 2) // k
        todo += [(order[:cut], k // 2, base), (order[cut:], k - k // 2, base + k // 2)]
    return region


def _parts(problem: Problem) -> int:
    """How many regions the first flow is solved in (1: one flow)."""
    live = int(problem.lot_live.sum())
    return live // LOTS_PER_REGION if live >= REGIONS_FROM else 1


def second_parts(parts: int) -> int:
    """The regions of step 4's flow after a first flow in ``parts`` regions: the odd
    number just below ``parts`` (at least 3, never ``parts`` itself). :func:`_bisect` cuts
    ``k`` regions first at ``(k // 2) / k`` of the wider side: 1/2 for an even ``k``,
    elsewhere for an odd one, and its later cuts differ too. On the benchmark's 10,000
    lots (6 regions, then 5), seeds 1-3: 3-8 % less time than 3 regions for an objective
    0.02-0.04 % lower, Jain's index and kilograms placed unchanged to 0.0003 and 0.02 %
    (bench/README.md, Matching); against one flow over every disturbed lot, 3 regions
    lost 0.1 %, 5 and 7 0.13 and 0.23 %, 6 (the same borders) 0.36 %."""
    if parts < 2:
        return 1
    second = max(3, parts - 1 if parts % 2 == 0 else parts - 2)
    return second + 2 if second == parts else second  # 3 first: 5 then


def _regions(problem: Problem, graph: CandidateGraph, parts: int) -> tuple[NDArray, NDArray]:
    """The region of each beneficiary (``parts`` of equal size) and of each lot (its
    nearest candidate's; -1 without candidates)."""
    g = graph
    ben_region = _bisect(problem.ben_lat, problem.ben_lon, parts)
    lot_region = np.full(len(problem.lots), -1)
    has = np.diff(g.ptr) > 0
    lot_region[has] = ben_region[g.ben[g.ptr[:-1][has]]]  # the nearest candidate's
    return ben_region, lot_region


def first_flow(problem: Problem, graph: CandidateGraph) -> tuple[State, NDArray]:
    """The flow the repair starts from: every lot divisible, on the whole flow graph.

    Large instances are solved region by region: beneficiaries are cut into regions of
    equal size, each lot joins the region of its nearest candidate, and the pairs that
    cross a border keep the kilograms of a maximum flow that uses them only where the
    maximum needs them (so the kilograms placed are those of one flow). Returns the state
    and the lots that the regions cut or that feed a beneficiary a border pair reaches:
    step 4 solves them again with every pair.
    """
    g, params = graph, problem.params
    parts = _parts(problem)
    near = np.zeros(len(problem.lots), dtype=bool)
    if parts < 2 or not params.resolve:
        return State(problem, graph, solve_flow(problem, graph)), near
    ben_region, lot_region = _regions(problem, graph, parts)
    use = g.in_flow
    inner = lot_region[g.lot] == ben_region[g.ben]
    x = cross_flows(problem, graph, use, inner)
    fixed = np.zeros((len(problem.beneficiaries), 3))
    np.add.at(fixed, (g.ben, problem.lot_class[g.lot]), x)
    taken = np.bincount(g.lot, x, minlength=len(problem.lots))
    for r in range(parts):
        mine = use & inner & (lot_region[g.lot] == r)
        x += solve_flow(problem, graph, use=mine, fixed=fixed, taken=taken)
    near[g.lot[use & ~inner]] = True
    border = np.zeros(len(problem.beneficiaries), dtype=bool)
    border[g.ben[use & ~inner]] = True
    near[g.lot[(x > 0) & border[g.ben]]] = True
    return State(problem, graph, x), near


def repair(state: State, also: NDArray | None = None) -> State:
    """Steps 1-7 in order; returns the repaired state (a new one after step 7).

    ``also`` marks lots that step 4 solves again in any case (see :func:`first_flow`).
    """
    before = state.recv_array()
    round_indivisible(state)
    if state.problem.params.resolve:
        resolve_divisible(state, before, also, second_parts(_parts(state.problem)))
    fix_small_parts(state)
    fill(state, fill_order(state))
    return widen_and_fill(state)
