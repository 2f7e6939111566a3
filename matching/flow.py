"""The continuous relaxation of the allocation as a min-cost maximum flow (OR-Tools).

Network (capacities in units of ``params.kg_step`` kg, costs scaled to integers):

    source ─► lot i          capacity kg_i,               cost −μ if urgent
    lot i ─► (b, class)      capacity min(kg_i, cap_b,c), cost λ · km_ib   (candidates;
                                                           + the detour's share, if given)
    (b, class) ─► b          capacity cap_b,c,            cost 0
    b ─► sink, tier k        capacity T_b·(s_k − s_{k−1}) less what m_b covers, cost −v_k
    b ─► sink, beyond need   capacity Σ_c cap_b,c,        cost 0

``SimpleMinCostFlow.solve_max_flow_with_min_cost`` first maximises the kilograms that
reach the sink, then minimises the cost among maximum flows: that is the lexicographic
objective of :mod:`matching.allocation` with every lot divisible and no minimum part.
Because tier values decrease, a beneficiary's tiers fill in order, so the flow's value
is ``F`` exactly, up to the integer rounding of costs and tier widths.

(``T_b`` the target, ``m_b`` what it already received: :mod:`matching.utility`.)
Kilograms already given (``fixed``, per beneficiary and class) reduce capacities and
fill the lowest tiers left; the repair uses this to solve again the divisible lots that
placing indivisible lots whole disturbed, around every other part.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import max_flow, min_cost_flow
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import reverse_cuthill_mckee

from .candidates import CandidateGraph, Problem
from .errors import SolverError
from .utility import tier_bounds, tier_values

# Objective units → integer arc costs: one unit is 0.1 km of distance cost with the
# default km_cost. 10,000 gave the same objective within 0.05 % on the benchmark
# instances, for slower solves; 100 drove 1.2 % more kilogram-km.
COST_SCALE = 1_000


def _units(kg: NDArray, step: float) -> NDArray:
    return np.floor(np.asarray(kg, dtype=float) / step + 1e-9).astype(np.int64)


class _Arcs:
    def __init__(self) -> None:
        self.parts: list[tuple[NDArray, ...]] = []

    def add(self, tail: NDArray, head: NDArray | int, cap: NDArray, cost: NDArray | float) -> None:
        tail = np.asarray(tail, dtype=np.int64)
        self.parts.append(
            (
                tail,
                np.broadcast_to(np.asarray(head, dtype=np.int64), tail.shape),
                np.broadcast_to(np.asarray(cap, dtype=np.int64), tail.shape),
                np.broadcast_to(
                    np.rint(np.asarray(cost) * COST_SCALE).astype(np.int64), tail.shape
                ),
            )
        )

    def column(self, j: int) -> NDArray:
        return np.concatenate([p[j] for p in self.parts])


def _node_order(tail: NDArray, head: NDArray, n: int) -> NDArray:
    """New numbers of nodes ``0..n-1``: reverse Cuthill-McKee order of the graph.

    Nodes whose arcs lie close together get close numbers, so that OR-Tools' cost
    scaling walks its arrays in order (20-30 % faster on the allocation's flows).
    """
    adjacency = csr_matrix((np.ones(len(tail), dtype=np.int8), (tail, head)), shape=(n, n))
    order = reverse_cuthill_mckee(adjacency, symmetric_mode=False)
    new = np.empty(n, dtype=np.int64)
    new[order] = np.arange(n)
    return new


def solve_flow(
    problem: Problem,
    graph: CandidateGraph,
    fairness: bool = True,
    use: NDArray | None = None,
    fixed: NDArray | None = None,
    taken: NDArray | None = None,
    order_nodes: bool = True,
) -> NDArray:
    """Kilograms on every candidate pair in a min-cost maximum flow.

    ``use`` selects the pairs the flow may use (default: ``graph.in_flow``); ``fixed``
    holds kilograms already given per beneficiary and storage class, ``taken``
    kilograms of each lot already given on pairs outside ``use``. With
    ``fairness=False`` the tiers and urgency are left out: the result is the pure
    distance-minimising maximum flow, the benchmark's distance reference.
    ``order_nodes`` numbers the nodes in reverse Cuthill-McKee order (same optimum,
    faster solve; ties between optimal flows may be broken differently).
    """
    params = problem.params
    step = params.kg_step
    n_lots, n_bens = len(problem.lots), len(problem.beneficiaries)
    pairs = np.flatnonzero(graph.in_flow if use is None else use)
    x = np.zeros(graph.size)
    lot_units = _units(problem.lot_kg, step)
    if taken is not None:
        lot_units = np.maximum(lot_units - np.rint(taken / step).astype(np.int64), 0)
    if fixed is not None:
        # Leave out the pairs that cannot carry a unit (lot given, or no room left).
        p_lot, p_ben = graph.lot[pairs], graph.ben[pairs]
        p_class = problem.lot_class[p_lot]
        room = problem.ben_cap[p_ben, p_class] - fixed[p_ben, p_class]
        pairs = pairs[(lot_units[p_lot] > 0) & (_units(np.maximum(room, 0.0), step) > 0)]
    if len(pairs) == 0:
        return x
    fixed = np.zeros((n_bens, 3)) if fixed is None else fixed
    p_lot, p_ben = graph.lot[pairs], graph.ben[pairs]
    p_class = problem.lot_class[p_lot]
    bc_keys, bc_of_pair = np.unique(p_ben * 3 + p_class, return_inverse=True)
    bc_ben, bc_class = bc_keys // 3, bc_keys % 3
    room = np.maximum(problem.ben_cap[bc_ben, bc_class] - fixed[bc_ben, bc_class], 0.0)
    bc_units = _units(room, step)
    lots = np.unique(p_lot)
    bens = np.unique(p_ben)

    source, sink = 0, 1
    lot_node = 2 + np.arange(n_lots)
    bc_node = 2 + n_lots + np.arange(len(bc_keys))
    ben_node = 2 + n_lots + len(bc_keys) + np.arange(n_bens)
    if order_nodes:
        # Only the nodes of this flow, numbered in reverse Cuthill-McKee order.
        inner = np.concatenate([lot_node[lots], bc_node, ben_node[bens]]) - 2
        compact = np.zeros(n_lots + len(bc_keys) + n_bens, dtype=np.int64)
        compact[inner] = np.arange(len(inner))
        tail = compact[np.concatenate([lot_node[p_lot], bc_node]) - 2]
        head = compact[np.concatenate([bc_node[bc_of_pair], ben_node[bc_ben]]) - 2]
        new = 2 + _node_order(tail, head, len(inner))
        lot_node, bc_node, ben_node = (
            new[compact[nodes - 2]] for nodes in (lot_node, bc_node, ben_node)
        )
    arcs = _Arcs()
    # Pair arcs first, so that arc j carries pair pairs[j].
    arcs.add(
        lot_node[p_lot],
        bc_node[bc_of_pair],
        np.minimum(lot_units[p_lot], bc_units[bc_of_pair]),
        graph.cost[pairs],
    )
    urgent = problem.lot_urgent[lots] & fairness
    arcs.add(np.full(len(lots), source), lot_node[lots], lot_units[lots],
             -params.urgency_value * urgent)  # fmt: skip
    arcs.add(bc_node, ben_node[bc_ben], bc_units, 0.0)
    if fairness:
        bounds = tier_bounds(problem.ben_need[bens], params, problem.ben_met[bens])
        given = fixed[bens].sum(axis=1)
        for k, value in enumerate(tier_values(params)):
            # The part of tier k not yet covered by what was received or fixed kilograms.
            width = np.clip(bounds[:, k + 1], given, None) - np.clip(bounds[:, k], given, None)
            units = np.rint(width / step).astype(np.int64)
            keep = units > 0
            arcs.add(ben_node[bens[keep]], sink, units[keep], -value)
    ben_room = np.bincount(bc_ben, weights=bc_units, minlength=n_bens).astype(np.int64)
    arcs.add(ben_node[bens], sink, ben_room[bens], 0.0)

    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(*(arcs.column(j) for j in range(4)))
    total = int(lot_units[lots].sum())
    solver.set_node_supply(source, total)
    solver.set_node_supply(sink, -total)
    status = solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise SolverError(f"min-cost flow failed with status {status}")
    x[pairs] = solver.flows(np.arange(len(pairs), dtype=np.int64)) * step
    return x


def cross_flows(problem: Problem, graph: CandidateGraph, use: NDArray, inner: NDArray) -> NDArray:
    """Kilograms on the pairs ``use & ~inner`` of a maximum flow that needs few of them.

    A maximum flow on the ``inner`` pairs, then augmented through every ``use`` pair
    (distance and fairness ignored). Fixing these kilograms and solving the ``inner``
    pairs alone still places the maximum: the rest of this flow remains feasible.
    """
    step = problem.params.kg_step
    n_lots = len(problem.lots)
    pairs = np.flatnonzero(use)
    x = np.zeros(graph.size)
    if len(pairs) == 0:
        return x
    p_lot, p_ben = graph.lot[pairs], graph.ben[pairs]
    bc_keys, bc_of_pair = np.unique(p_ben * 3 + problem.lot_class[p_lot], return_inverse=True)
    bc_units = _units(np.nan_to_num(problem.ben_cap[bc_keys // 3, bc_keys % 3]), step)
    lot_units = _units(problem.lot_kg, step)
    lots = np.unique(p_lot)
    source, sink = 0, 1
    bc_node = 2 + n_lots + np.arange(len(bc_keys))
    # Arcs: source → lot, then the pairs (lot → beneficiary and class), then → sink.
    tail = np.concatenate([np.full(len(lots), source), 2 + p_lot, bc_node])
    head = np.concatenate([2 + lots, bc_node[bc_of_pair], np.full(len(bc_keys), sink)])
    pair_cap = np.minimum(lot_units[p_lot], bc_units[bc_of_pair])
    cap = np.concatenate([lot_units[lots], pair_cap, bc_units])
    on_pair = np.zeros(len(tail), dtype=bool)
    on_pair[len(lots) : len(lots) + len(pairs)] = True
    outer = on_pair.copy()
    outer[on_pair] = ~inner[pairs]
    # A maximum flow without the outer pairs...
    flow = np.zeros(len(tail), dtype=np.int64)
    flow[~outer] = _max_flow(tail[~outer], head[~outer], cap[~outer], source, sink)
    # ... then augmented in its residual graph (arcs forward, then backward, those with
    # room only), outer pairs included; they carried nothing, so what the augmentation
    # sends on them is their flow.
    res_tail, res_head = np.concatenate([tail, head]), np.concatenate([head, tail])
    res_cap = np.concatenate([cap - flow, flow])
    room = res_cap > 0
    more = np.zeros(len(res_cap), dtype=np.int64)
    more[room] = _max_flow(res_tail[room], res_head[room], res_cap[room], source, sink)
    x[pairs] = np.where(outer[on_pair], more[: len(tail)][on_pair], 0) * step
    return x


def _max_flow(tail: NDArray, head: NDArray, cap: NDArray, source: int, sink: int) -> NDArray:
    solver = max_flow.SimpleMaxFlow()
    solver.add_arcs_with_capacity(tail, head, cap)
    if solver.solve(source, sink) != solver.OPTIMAL:
        raise SolverError("max flow failed")
    return solver.flows(np.arange(len(tail), dtype=np.int64))
