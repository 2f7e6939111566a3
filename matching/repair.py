"""Integer repair of the flow solution.

The flow treats every lot as divisible and ignores minimum parts. When there are
indivisible lots, a first, coarser flow (:func:`first_flow`) guides where they go. The
repair makes the solution feasible and then places what it freed:

1. Indivisible lots the flow gave whole to one beneficiary keep it.
2. Every other indivisible lot that the flow placed (in part), largest first, is taken
   back and given whole to the candidate that gains most (need-utility gained minus
   distance cost) among those whose capacity not yet taken by whole lots fits it;
   divisible kilograms are taken back there, farthest first, if room is short.
3. Indivisible lots the flow left unplaced go whole where room is left, if anywhere.
4. The divisible lots are solved again as a flow around the indivisible lots now fixed
   (their kilograms fill capacities and the lowest need tiers first).
5. A part of a divisible lot smaller than the lot's minimum is merged into another part
   of the lot, or raised to the minimum from another part, or else taken back.
6. Every lot with kilograms left (taken back, or rounding) is filled, urgent lots first,
   then largest remainder first: each step tops up one of the lot's parts or opens a new
   part of at least the minimum, on the candidate (reserve candidates included) with the
   best gain per kilogram.
7. Lots still short get more candidates (farther eligible beneficiaries) and step 6
   runs again for them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from .candidates import CandidateGraph, Problem, widen
from .flow import solve_flow
from .state import EPS, State

# Share of a candidate's divisible kilograms that step 2 assumes stay there after step 4
# re-solves them; 0.5 placed whole lots best on the benchmark instances (0.3-0.7 within
# 0.1 % of each other in the objective, 0 and 1 0.3-0.6 % worse).
DIVISIBLE_WEIGHT = 0.5
# The first pass, when there are indivisible lots, uses the 15 nearest candidates only:
# on the benchmark instances it is about 1.4 times faster than 25 on 10,000 lots and the
# final objective stays within 0.15 % (10 nearest lost up to 0.3 %).
COARSE_K = 15
COARSE_STEP_KG = 0.1


def _place_whole(state: State, lot: int, fixed: NDArray, resolve: bool) -> bool:
    """Give indivisible ``lot`` whole to its best candidate (steps 2 and 3).

    With ``resolve`` (step 2) a candidate qualifies when its capacity not taken by whole
    lots fits the lot, and divisible kilograms are evicted to make room; since step 4
    re-solves the divisible lots, the gain counts only ``DIVISIBLE_WEIGHT`` of the
    divisible kilograms the candidate holds now. Without it (step 3) only free room
    counts, so that no placed kilogram is displaced.
    """
    kg = float(state.problem.lot_kg[lot])
    best, best_gain = -1, -np.inf
    for e in state.edges(lot):
        b, c = state.ben_class(e)
        if resolve:
            if state.cap[b][c] - fixed[b, c] < kg:
                continue
            whole = float(fixed[b].sum())
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
    fixed[state.ben_class(best)] += kg
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
    fixed = np.zeros((len(p.beneficiaries), 3))
    lots = np.flatnonzero(~p.lot_divisible & p.lot_live & (np.diff(g.ptr) > 0))
    placed = np.bincount(g.lot, x, minlength=len(p.lots))
    split: list[int] = []
    for lot in lots.tolist():
        sl = slice(g.ptr[lot], g.ptr[lot + 1])
        if placed[lot] > EPS and x[sl].max() >= p.lot_kg[lot] - EPS:
            e = int(g.ptr[lot] + np.argmax(x[sl]))
            state.add(e, float(p.lot_kg[lot] - x[e]))  # exact kilograms
            fixed[int(g.ben[e]), int(p.lot_class[lot])] += p.lot_kg[lot]
        elif placed[lot] > EPS:
            split.append(lot)
    for lot in split:
        state.take_back(lot)
    for lot in sorted(split, key=lambda i: -p.lot_kg[i]):
        _place_whole(state, lot, fixed, resolve=True)
    unplaced = [i for i in lots.tolist() if placed[i] <= EPS]
    for lot in sorted(unplaced, key=lambda i: -p.lot_kg[i]):
        _place_whole(state, lot, fixed, resolve=False)
    return fixed


def resolve_divisible(state: State, fixed: NDArray) -> State:
    """Step 4: a new state with the divisible lots re-solved around ``fixed``."""
    p, g = state.problem, state.graph
    whole = ~p.lot_divisible[g.lot]
    x = solve_flow(p, g, use=g.in_flow & ~whole, fixed=fixed)
    x[whole] = state.x[whole]
    return State(p, g, x)


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
    graph, old = widen(p, state.graph, short, p.params.extra_candidates)
    x = np.where(old >= 0, state.x[np.maximum(old, 0)], 0.0)
    state = State(p, graph, x)
    fill(state, fill_order(state))
    return state


def first_flow(problem: Problem, graph: CandidateGraph) -> tuple[State, bool]:
    """The flow the repair starts from, and whether it was the coarse first pass.

    Without indivisible lots this is the final flow. With them, the flow only guides
    where they go before step 4 solves the divisible lots again, so it runs on a coarser
    network (``COARSE_K`` nearest, at least ``COARSE_STEP_KG`` resolution).
    """
    if not problem.params.resolve or not (~problem.lot_divisible[graph.lot]).any():
        return State(problem, graph, solve_flow(problem, graph)), False
    params = replace(problem.params, kg_step=max(COARSE_STEP_KG, problem.params.kg_step))
    use = graph.rank < min(COARSE_K, graph.k)
    return State(problem, graph, solve_flow(replace(problem, params=params), graph, use=use)), True


def repair(state: State, coarse: bool) -> State:
    """Steps 1-7 in order; returns the repaired state (a new one after steps 4 and 7).

    ``coarse`` says the state comes from the coarse first pass (see :func:`first_flow`).
    """
    fixed = round_indivisible(state)
    if state.problem.params.resolve and (coarse or fixed.any()):
        state = resolve_divisible(state, fixed)
    fix_small_parts(state)
    fill(state, fill_order(state))
    return widen_and_fill(state)
