"""Checks and figures on any allocation: rule violations, objective, Jain's index.

They take the public inputs and an :class:`~matching.allocation.Allocation`, so tests
and the benchmark judge every allocator (Maillon's, the greedy baseline, an exact
solver's) by the same, independent code.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .eligibility import eligibility, smallest_part_kg
from .model import Beneficiary, Lot
from .params import Params
from .utility import utility

if TYPE_CHECKING:
    from .allocation import Allocation

TOL_KG = 1e-6


def check_feasible(
    lots: Sequence[Lot],
    beneficiaries: Sequence[Beneficiary],
    params: Params,
    allocation: Allocation,
) -> list[str]:
    """Every rule the allocation breaks, as readable lines (empty when feasible).

    Checks: eligibility of every pair (through :func:`eligibility`, the reference),
    reported km, lot kilograms, per-class capacity, indivisible lots whole and given
    once, minimum parts, and that placed plus unallocated kilograms equal each lot's kg.
    """
    lot_by = {lot.id: lot for lot in lots}
    ben_by = {ben.id: ben for ben in beneficiaries}
    out: list[str] = []
    per_lot: dict[Hashable, list[float]] = defaultdict(list)
    per_class: dict[tuple[Hashable, str], float] = defaultdict(float)
    seen: set[tuple[Hashable, Hashable]] = set()
    for a in allocation.assignments:
        lot, ben = lot_by.get(a.lot_id), ben_by.get(a.beneficiary_id)
        if lot is None or ben is None:
            out.append(f"unknown lot or beneficiary in {a.lot_id!r} -> {a.beneficiary_id!r}")
            continue
        where = f"lot {lot.id!r} -> {ben.id!r}"
        if (lot.id, ben.id) in seen:
            out.append(f"{where}: pair assigned twice")
        seen.add((lot.id, ben.id))
        if not (math.isfinite(a.kg) and a.kg > 0):
            out.append(f"{where}: kg {a.kg} is not positive")
        verdict = eligibility(lot, ben, params)
        if not verdict.ok:
            out.append(f"{where}: not eligible ({', '.join(verdict.reasons)})")
        if abs(verdict.km - a.km) > 1e-6:
            out.append(f"{where}: km {a.km} differs from the road estimate {verdict.km}")
        if a.kg < smallest_part_kg(lot) - TOL_KG:
            out.append(f"{where}: part of {a.kg} kg below the minimum {smallest_part_kg(lot)}")
        per_lot[lot.id].append(a.kg)
        per_class[(ben.id, lot.storage)] += a.kg
    for (ben_id, storage), kg in per_class.items():
        cap = ben_by[ben_id].capacity_kg.get(storage, 0.0)
        if kg > cap + TOL_KG:
            out.append(f"beneficiary {ben_id!r}: {kg} kg {storage} exceeds capacity {cap}")
    for lot in lots:
        parts = per_lot.get(lot.id, [])
        if sum(parts) > lot.kg + TOL_KG:
            out.append(f"lot {lot.id!r}: {sum(parts)} kg given out of {lot.kg}")
        if not lot.divisible and parts and (len(parts) > 1 or abs(parts[0] - lot.kg) > TOL_KG):
            out.append(f"lot {lot.id!r}: indivisible but given as parts {parts}")
        left = allocation.unallocated.get(lot.id)
        total = sum(parts) + (left.kg if left is not None else 0.0)
        if abs(total - lot.kg) > 2 * TOL_KG:
            out.append(f"lot {lot.id!r}: {total} kg accounted for, lot has {lot.kg}")
    return out


def jain_index(values: Iterable[float]) -> float:
    """Jain's fairness index ``(Σv)² / (n · Σv²)``: 1 when all equal, 1/n when one has all.

    1.0 for an empty or all-zero list (everyone is treated alike).
    """
    v = np.asarray(list(values), dtype=float)
    square = float((v * v).sum())
    return 1.0 if square == 0 else float(v.sum() ** 2 / (len(v) * square))


def received_by(allocation: Allocation) -> dict[Hashable, float]:
    """Kilograms each beneficiary receives in the allocation."""
    got: dict[Hashable, float] = defaultdict(float)
    for a in allocation.assignments:
        got[a.beneficiary_id] += a.kg
    return got


def need_met_shares(
    beneficiaries: Sequence[Beneficiary],
    params: Params,
    allocation: Allocation,
    among: set[Hashable] | None = None,
) -> list[float]:
    """Share of the target met once the allocation is delivered, ``min(1, (already
    received + allocated) / target)``, of beneficiaries with need > 0 (restricted to the
    ids in ``among`` when given); the fairness the objective weighs (matching.utility)."""
    got = received_by(allocation)
    shares = []
    for ben in beneficiaries:
        need = ben.need_kg(params.kg_per_person)
        if need > 0 and (among is None or ben.id in among):
            met = ben.met_kg(params.kg_per_person)
            shares.append(min(1.0, (met + got.get(ben.id, 0.0)) / (need + met)))
    return shares


def objective_value(
    lots: Sequence[Lot],
    beneficiaries: Sequence[Beneficiary],
    params: Params,
    allocation: Allocation,
) -> float:
    """``F`` of :mod:`matching.allocation`: need utility + urgency − λ · kg·km."""
    got = received_by(allocation)
    need = np.array([b.need_kg(params.kg_per_person) for b in beneficiaries])
    met = np.array([b.met_kg(params.kg_per_person) for b in beneficiaries])
    x = np.array([got.get(b.id, 0.0) for b in beneficiaries])
    soon = params.now + params.urgent_within
    urgent = {lot.id for lot in lots if lot.use_by is not None and lot.use_by <= soon}
    value = float(utility(x, need, params, met).sum())
    for a in allocation.assignments:
        value -= params.km_cost * a.km * a.kg
        if a.lot_id in urgent:
            value += params.urgency_value * a.kg
    return value
