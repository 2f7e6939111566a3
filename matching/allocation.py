"""Allocation: who gets which kilograms of which lot, fairly, near, and explained.

Objective
---------
For candidate pairs (lot ``l``, beneficiary ``b``) let ``x_lb >= 0`` be the kilograms
of ``l`` given to ``b``, ``x_b = Σ_l x_lb``, ``T_b = persons_b · kg_per_person`` its target,
``m_b = min(received_b, T_b)`` what it already received of it, ``need_b = T_b − m_b`` and
``km_lb`` the road estimate (great-circle × circuity). Subject to

    (1) x_lb > 0 only if eligibility(l, b).ok       (DESIGN.md §3 rules 1-3, categories,
                                                     max_km, capacity)
    (2) Σ_b x_lb <= kg_l                            (kilograms are conserved)
    (3) Σ_{l of class c} x_lb <= cap_bc             (per storage class)
    (4) indivisible l: x_lb ∈ {0, kg_l} and at most one b gets it
    (5) divisible l: x_lb = 0 or x_lb >= min(min_part_l, kg_l)

the allocation is lexicographic:

    first  maximise  P(x) = Σ_lb x_lb                        (food not placed is wasted)
    then   maximise  F(x) = Σ_b T_b · [φ̂(min(1, (m_b + x_b) / T_b)) − φ̂(m_b / T_b)]
                          + μ · Σ_{l urgent} Σ_b x_lb
                          − λ · Σ_lb km_lb · x_lb
                          − δ · Σ_lb d_lb · x_lb / u_lb

where ``φ̂`` is the piecewise-linear interpolation of the concave ``φ(s) = s^(1−α)/(1−α)``
at the shares ``params.need_tiers`` (:mod:`matching.utility`), ``λ = params.km_cost``,
``μ = params.urgency_value`` and a lot is urgent when its use-by falls within
``params.urgent_within``. The last term is there only when the caller gives ``detour_km``:
``d_lb`` the road km that carrying the pair adds to the runs (placement gives what
inserting its pickup and drop-off into a planned run adds), paid once per delivery and
spread over ``u_lb``, the most the pair can take (``kg_l``, or ``need_b`` when smaller
and positive), with ``δ = params.detour_cost``: the linear relaxation of a fixed cost,
which steers food to the organisations a van passes by. ``objective_value`` and
``Allocation.objective`` report ``F`` without it.

Because ``φ̂`` is concave, the first kilograms of a target are worth most: spreading
food over many needy organisations beats filling one, and an organisation that already
received much of its target is worth less per kilogram than one that received little,
whether the food comes in one proposal or in many small ones (:mod:`matching.utility`).
Kilograms beyond a beneficiary's need are worth 0 in ``F`` but still count in ``P``.

Zero need: a beneficiary whose need is 0 (its target already met, or 0 persons) stays
eligible, but its kilograms add nothing to ``F``. It therefore receives food only when
placing that food elsewhere is impossible (``P`` comes first), or when every needy
candidate is more than ``v_K / λ`` km farther (about 100 km with the defaults); among
such beneficiaries the nearest wins.

Algorithm
---------
1. Check the inputs and turn them into arrays (:class:`matching.candidates.Problem`).
2. Build the candidate graph: the ``params.candidates_per_lot`` nearest eligible
   beneficiaries of each lot, found with a cKDTree (:mod:`matching.candidates`).
3. Solve the continuous relaxation (all lots divisible, no minimum part) on that graph
   as a min-cost maximum flow with OR-Tools (:mod:`matching.flow`); from 6,000 lots,
   region by region (the solver's time grows faster than the graph), the pairs across a
   border carrying what a maximum flow needs there.
4. Repair (:mod:`matching.repair`): give each indivisible lot whole to one beneficiary,
   solve the flow again for the divisible lots this disturbed and those near a border,
   mend parts below the minimum, and place what was freed, farther if needed.
5. Explain each assignment and give the reason for each kilogram left unallocated
   (:mod:`matching.explain`).

Step 3 is exact for the relaxation on the candidate graph below 6,000 lots; above, it
places as many kilograms and its objective trails one flow's by 0.4-0.5 %, which the
second flow of step 4 (itself by regions whose borders lie elsewhere) recovers to within
0.15 % on the benchmark's 10,000 lots. Step 4
is a heuristic for constraints (4)-(5), which make the problem a MIP that HiGHS cannot
solve at Maillon's sizes. ``bench/matching.py`` measures the gap to the exact optimum
where it can.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .baseline import greedy
from .candidates import CandidateGraph, Detours, Problem, candidate_graph
from .eligibility import REASONS
from .explain import Explanation, explain
from .metrics import objective_value
from .model import Beneficiary, Lot
from .params import Params
from .repair import first_flow, repair
from .state import EPS, State


# Not frozen, as Explanation (one per assignment).
@dataclass(slots=True)
class Assignment:
    """``kg`` of lot ``lot_id`` go to ``beneficiary_id``, ``km`` road km away."""

    lot_id: Hashable
    beneficiary_id: Hashable
    kg: float
    km: float
    explanation: Explanation


@dataclass(frozen=True)
class Unallocated:
    """Kilograms of a lot left unallocated, and a key of :data:`REASONS` saying why."""

    kg: float
    reason: str

    @property
    def message(self) -> str:
        return REASONS[self.reason]


@dataclass
class Allocation:
    """The result: assignments (by lot, in input order), what is left, and figures.

    ``objective`` is ``F`` of the module docstring; ``stats`` holds timings in seconds
    and sizes (candidate pairs) for monitoring.
    """

    assignments: list[Assignment]
    unallocated: dict[Hashable, Unallocated]
    objective: float = 0.0
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def kg_placed(self) -> float:
        return sum(a.kg for a in self.assignments)


def _unallocated(state: State) -> dict[Hashable, Unallocated]:
    p, g = state.problem, state.graph
    out: dict[Hashable, Unallocated] = {}
    for i, lot in enumerate(p.lots):
        if not p.lot_live[i]:
            if lot.kg > 0:
                out[lot.id] = Unallocated(lot.kg, "past_use_by")
            continue
        left = state.left[i]
        if left <= 1e-6:
            continue
        if i in g.refusal:
            reason = g.refusal[i]
        elif not p.lot_divisible[i]:
            reason = "no_room_for_whole_lot"
        elif any(state.room(e) >= left - EPS for e in state.edges(i)):
            reason = "below_min_part"
        else:
            reason = "capacity_exhausted"
        out[lot.id] = Unallocated(left, reason)
    return out


def _result(state: State, stats: dict[str, float]) -> Allocation:
    t0 = time.perf_counter()
    g, p = state.graph, state.problem
    edges = np.flatnonzero(state.x > EPS)  # sorted by lot, then km
    explanations = explain(state, edges)
    lot_ids, ben_ids = [x.id for x in p.lots], [b.id for b in p.beneficiaries]
    rows = zip(g.lot[edges].tolist(), g.ben[edges].tolist(), state.x[edges].tolist(),
               g.km[edges].tolist(), explanations, strict=True)  # fmt: skip
    assignments = [Assignment(lot_ids[i], ben_ids[b], kg, km, why) for i, b, kg, km, why in rows]
    result = Allocation(assignments, _unallocated(state), stats=stats)
    result.objective = objective_value(p.lots, p.beneficiaries, p.params, result)
    stats["explain_s"] = time.perf_counter() - t0
    stats["candidate_pairs"] = float(g.size)
    return result


def _prepare(
    lots: Sequence[Lot],
    beneficiaries: Sequence[Beneficiary],
    params: Params,
    detour_km: Detours | None = None,
) -> tuple[Problem, CandidateGraph, dict[str, float]]:
    t0 = time.perf_counter()
    problem = Problem.build(lots, beneficiaries, params, detour_km)
    t1 = time.perf_counter()
    graph = candidate_graph(problem)
    t2 = time.perf_counter()
    return problem, graph, {"inputs_s": t1 - t0, "candidates_s": t2 - t1}


def allocate(
    lots: Sequence[Lot],
    beneficiaries: Sequence[Beneficiary],
    params: Params,
    *,
    detour_km: Detours | None = None,
) -> Allocation:
    """Allocate ``lots`` to ``beneficiaries`` (steps 1-5 of the module docstring).

    ``detour_km``: for a lot id, for a beneficiary id, the road km carrying that pair
    adds to the runs (a pair missing adds none); weighed with ``params.detour_cost``.

    Raises :class:`matching.errors.InvalidInputError` on invalid input and
    :class:`matching.errors.SolverError` if the flow solver fails.
    """
    problem, graph, stats = _prepare(lots, beneficiaries, params, detour_km)
    t0 = time.perf_counter()
    state, near = first_flow(problem, graph)
    t1 = time.perf_counter()
    state = repair(state, near)
    stats |= {"flow_s": t1 - t0, "repair_s": time.perf_counter() - t1}
    return _result(state, stats)


def greedy_allocate(
    lots: Sequence[Lot],
    beneficiaries: Sequence[Beneficiary],
    params: Params,
    *,
    detour_km: Detours | None = None,
) -> Allocation:
    """Baseline: each lot, soonest use-by first, to its nearest eligible beneficiaries.

    Same candidate graph and rules as :func:`allocate`, no optimisation; used by the
    benchmark as the figure to beat. Nearest means by road distance: ``detour_km`` is
    accepted, so that both allocators take the same arguments, and not used.
    """
    problem, graph, stats = _prepare(lots, beneficiaries, params)
    t0 = time.perf_counter()
    state = greedy(State(problem, graph))
    stats["greedy_s"] = time.perf_counter() - t0
    return _result(state, stats)
