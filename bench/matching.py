"""Benchmark of Maillon's allocator against the greedy baseline and an exact solver.

    .venv/bin/python bench/matching.py                     # all sizes
    .venv/bin/python bench/matching.py --sizes 1000x500    # a subset

Instances are reproducible (seeded) and lie on real Walloon geography: every lot and
beneficiary sits near a locality of the postcode gazetteer (Wallonia: postcodes
1300-1499 and 4000-7999). Each allocator runs in a fresh process, so the wall time and
peak memory are its own. Figures, per size and allocator:

- time: wall seconds of ``allocate`` (or ``greedy_allocate``), inputs to explanations,
  with the process's CPU seconds in brackets (the machine may be shared); the median of
  ``--repeat`` runs, each in a fresh process, and the fastest.
- peak MB: peak resident memory of that process during the call (Python, libraries,
  instance and all: Linux VmHWM, reset just before the call), with the growth over the
  resident memory before the call in brackets.
- violations: ``check_feasible`` lines (must be 0).
- placed: kilograms placed / the maximum placeable, a max-flow on the *full*
  eligibility graph with every lot treated as divisible (an upper bound).
- km: kilogram-weighted mean road km.
- Jain: Jain's index of the share of need met, over beneficiaries with need that at
  least one lot may reach.
- gap: (F* − F) / F*, where F is the objective of ``matching.allocation`` and F* the
  exact optimum of the same model (MIP with HiGHS on the full eligibility graph,
  indivisible lots and minimum parts included) among allocations placing at least as
  many kilograms. Where the MIP is too large (``--mip-pairs``) or stops at its time
  limit, "≤" gives an upper bound on the gap from the LP relaxation or HiGHS's bound.

The "maillon, resolve=False" row is the faster variant (one flow, see ``Params.resolve``).
After the table, each size's time of ``allocate`` is divided by the time of a reference
run in the same way (fresh processes, median of ``--repeat``): one OR-Tools min-cost
maximum flow on the 25-nearest candidate graph, inputs, k-d tree and graph included
(``Problem.build`` + ``candidate_graph`` + ``solve_flow(fairness=False,
order_nodes=False)``: OR-Tools' plain node numbering, as the reference was defined; the
numbering ``allocate``'s flows use would make it about a fifth faster too). Issue 17's
target is a ratio of at most 2. The CPU seconds of those median runs and their ratio
follow: compare those when other work shares the machine.
The "mcmf" row is the distance-only min-cost maximum flow on the candidate graph (no
fairness, no indivisible lots or minimum parts): the shortest trips that place as much.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from ortools.graph.python import max_flow
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would
# shadow the ``matching`` package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from matching import (  # noqa: E402
    Beneficiary,
    Lot,
    Params,
    allocate,
    check_feasible,
    greedy_allocate,
    jain_index,
)
from matching.candidates import Problem, candidate_graph, unit_vectors  # noqa: E402
from matching.distance import EARTH_RADIUS_KM, great_circle_km  # noqa: E402
from matching.flow import solve_flow  # noqa: E402
from matching.utility import tier_bounds, tier_values  # noqa: E402

GAZETTEER = ROOT / "surplus" / "data" / "be_postcodes.csv"
# The four sizes, after two small ones on which the exact MIP finishes.
SIZES = [(200, 100), (400, 200), (1000, 500), (2000, 1000), (5000, 2500), (10000, 5000)]
NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
CATEGORIES = {
    "ambient": ["dry_goods", "bakery", "fruit_veg", "drinks"],
    "chilled": ["dairy", "meat_fish", "prepared", "fruit_veg"],
    "frozen": ["frozen_meals", "meat_fish"],
}
ALL_CATEGORIES = sorted({c for cats in CATEGORIES.values() for c in cats})


def walloon_places() -> np.ndarray:
    """(lat, lon) of every Walloon locality in the gazetteer."""
    with GAZETTEER.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["lat"] and r["lon"]]
    return np.array(
        [
            (float(r["lat"]), float(r["lon"]))
            for r in rows
            if 1300 <= int(r["postcode"]) <= 1499 or 4000 <= int(r["postcode"]) <= 7999
        ]
    )


def make_instance(n_lots: int, n_bens: int, seed: int = 1):
    """Lots and beneficiaries around Walloon localities (about 1-2 km of jitter).

    Beneficiaries: 10-800 persons a week (median 60), recent receipts up to 60 % of the
    target (5 % already above it: zero need), ambient capacity for all, chilled for 60 %,
    frozen for 30 %, 20 % with an FSE+ approval, 20 % accepting 5 of 8 categories,
    max_km 30-60. Lots: 1-2,000 kg (median 40), 50 % ambient, 35 % chilled, 15 % frozen,
    5 % FSE+, 15 % indivisible, 30 % of the others with a minimum part of 5-20 kg,
    chilled use-by from 12 h ago to 10 days ahead.
    """
    rng = np.random.default_rng([seed, n_lots, n_bens])
    places = walloon_places()

    def near(n: int) -> tuple[np.ndarray, np.ndarray]:
        i = rng.integers(0, len(places), n)
        return places[i, 0] + rng.normal(0, 0.01, n), places[i, 1] + rng.normal(0, 0.015, n)

    lat, lon = near(n_bens)
    bens = []
    for i in range(n_bens):
        persons = float(np.clip(round(rng.lognormal(np.log(60), 0.8)), 10, 800))
        target = persons * 2.5
        low_need = rng.random() < 0.05
        received = target * (rng.uniform(1.0, 1.2) if low_need else rng.uniform(0, 0.6))
        cap = {"ambient": round(target * rng.uniform(0.5, 1.5), 1)}
        if rng.random() < 0.6:
            cap["chilled"] = round(target * rng.uniform(0.2, 0.6), 1)
        if rng.random() < 0.3:
            cap["frozen"] = round(target * rng.uniform(0.1, 0.3), 1)
        cats = rng.choice(ALL_CATEGORIES, 5, replace=False) if rng.random() < 0.2 else None
        bens.append(
            Beneficiary(
                f"b{i}", float(lat[i]), float(lon[i]), persons, round(received, 1), cap,
                None if cats is None else frozenset(cats.tolist()),
                fse_plus=bool(rng.random() < 0.2),
                max_km=float(rng.choice([30, 40, 50, 50, 50, 60])),
            )
        )  # fmt: skip
    lat, lon = near(n_lots)
    lots = []
    for i in range(n_lots):
        storage = str(rng.choice(["ambient", "chilled", "frozen"], p=[0.5, 0.35, 0.15]))
        kg = float(np.clip(round(rng.lognormal(np.log(40), 1.0), 1), 1, 2000))
        divisible = bool(rng.random() >= 0.15)
        min_part = float(rng.choice([5, 10, 20])) if divisible and rng.random() < 0.3 else 0.0
        if storage == "chilled":
            use_by = NOW + timedelta(hours=float(rng.uniform(-12, 240)))
        elif storage == "frozen":
            use_by = NOW + timedelta(days=float(rng.uniform(20, 90)))
        else:
            use_by = None if rng.random() < 0.5 else NOW + timedelta(days=rng.uniform(2, 180))
        lots.append(
            Lot(
                f"l{i}", kg, float(lat[i]), float(lon[i]), storage,
                str(rng.choice(CATEGORIES[storage])), fse_plus=bool(rng.random() < 0.05),
                use_by=use_by, divisible=divisible, min_part_kg=min_part,
            )
        )  # fmt: skip
    return lots, bens, Params(now=NOW)


def full_graph(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every eligible (lot, beneficiary) pair and its road km, without the nearest-k limit."""
    params, bens, lots = problem.params, problem.beneficiaries, problem.lots
    b_lat, b_lon = np.array([b.lat for b in bens]), np.array([b.lon for b in bens])
    l_lat, l_lon = np.array([x.lat for x in lots]), np.array([x.lon for x in lots])
    b_tree = cKDTree(unit_vectors(b_lat, b_lon))
    fse = np.array([b.fse_plus for b in bens])
    groups: dict[tuple[int, bool, str], list[int]] = {}
    for i in np.flatnonzero(problem.lot_live).tolist():
        key = (int(problem.lot_class[i]), lots[i].fse_plus, lots[i].category)
        groups.setdefault(key, []).append(i)
    found = []
    for (c, fse_plus, category), members in groups.items():
        allowed = ~np.isnan(problem.ben_cap[:, c]) & (fse | (not fse_plus))
        allowed &= np.array([b.categories is None or category in b.categories for b in bens])
        idx = np.array(members)
        reach = problem.ben_max_km[allowed].max(initial=0.0) / params.circuity / EARTH_RADIUS_KM
        near = cKDTree(unit_vectors(l_lat[idx], l_lon[idx])).sparse_distance_matrix(
            b_tree, 2 * np.sin(reach / 2) + 1e-12, output_type="coo_matrix"
        )
        lot, ben = idx[near.row], near.col
        km = great_circle_km(l_lat[lot], l_lon[lot], b_lat[ben], b_lon[ben]) * params.circuity
        ok = allowed[ben] & (km <= problem.ben_max_km[ben] - 1e-7)
        ok &= problem.ben_cap[ben, c] >= np.maximum(problem.lot_min_part[lot], 1e-9)
        found.append((lot[ok], ben[ok], km[ok]))
    lot, ben, km = (np.concatenate([f[k] for f in found]) for k in range(3))
    order = np.lexsort((km, lot))
    return lot[order], ben[order], km[order]


def max_placeable(problem: Problem, lot: np.ndarray, ben: np.ndarray) -> float:
    """Max-flow kilograms on the eligibility graph, every lot divisible (an upper bound)."""
    n_lots, step = len(problem.lots), 0.01
    bc, bc_of = np.unique(ben * 3 + problem.lot_class[lot], return_inverse=True)
    cap = np.floor(np.nan_to_num(problem.ben_cap[bc // 3, bc % 3]) / step + 1e-9)
    kg = np.floor(problem.lot_kg / step + 1e-9)
    src, sink = n_lots + len(bc), n_lots + len(bc) + 1
    solver = max_flow.SimpleMaxFlow()
    solver.add_arcs_with_capacity(
        np.concatenate([np.full(n_lots, src), lot, n_lots + np.arange(len(bc))]),
        np.concatenate([np.arange(n_lots), n_lots + bc_of, np.full(len(bc), sink)]),
        np.concatenate([kg * problem.lot_live, kg[lot], cap]).astype(np.int64),
    )
    if solver.solve(src, sink) != solver.OPTIMAL:
        raise RuntimeError("max flow failed")
    return solver.optimal_flow() * step


def exact(
    problem, lot, ben, km, min_placed: float, time_limit: float, integral: bool = True
) -> tuple[float, float, bool]:
    """Best F (and HiGHS's bound on it) over allocations placing >= ``min_placed`` kg.

    The MIP of ``matching.allocation``'s docstring on the full eligibility graph:
    x per pair, y per (beneficiary, tier), a binary z per pair of an indivisible lot or
    of a lot with a minimum part (relaxed to [0, 1] when ``integral`` is false: the LP
    bound). Returns (F of the best solution found, upper bound on F, proven optimal?).
    """
    p = problem.params
    n_x = len(lot)
    kg, m = problem.lot_kg[lot], problem.lot_min_part[lot]
    cls = problem.lot_class[lot]
    whole = ~problem.lot_divisible[lot]
    parted = problem.lot_divisible[lot] & (m > 0)
    zi = np.flatnonzero(whole | parted)
    bens, ben_row = np.unique(ben, return_inverse=True)
    widths = np.diff(tier_bounds(problem.ben_need[bens], p, problem.ben_met[bens]), axis=1)
    yb, yk = np.nonzero(widths > 0)
    n_y, n_z = len(yb), len(zi)
    z0, y0 = n_x + n_y, n_x
    cost = np.concatenate([
        p.km_cost * km - p.urgency_value * problem.lot_urgent[lot],
        -tier_values(p)[yk],
        np.zeros(n_z),
    ])  # fmt: skip
    rows, cols, vals, lo, hi = [], [], [], [], []

    def block(r, c, v, low, high):
        base = len(lo)
        rows.append(np.asarray(r) + base)
        cols.append(np.asarray(c))
        vals.append(np.broadcast_to(np.asarray(v, dtype=float), np.shape(c)))
        lo.extend(np.broadcast_to(low, int(np.max(r, initial=-1)) + 1).tolist())
        hi.extend(np.broadcast_to(high, int(np.max(r, initial=-1)) + 1).tolist())

    lots_u, lot_row = np.unique(lot, return_inverse=True)
    block(lot_row, np.arange(n_x), 1.0, -np.inf, problem.lot_kg[lots_u])
    bc, bc_row = np.unique(ben * 3 + cls, return_inverse=True)
    block(bc_row, np.arange(n_x), 1.0, -np.inf, problem.ben_cap[bc // 3, bc % 3])
    block(np.concatenate([yb, ben_row]), np.concatenate([y0 + np.arange(n_y), np.arange(n_x)]),
          np.concatenate([np.ones(n_y), -np.ones(n_x)]), -np.inf, 0.0)  # fmt: skip
    block(np.zeros(n_x, dtype=int), np.arange(n_x), 1.0, min_placed, np.inf)
    zr = np.arange(n_z)
    # m·z <= x <= kg·z; m is the whole lot for indivisible lots, so x = kg·z there.
    block(np.concatenate([zr, zr]), np.concatenate([zi, z0 + zr]),
          np.concatenate([np.ones(n_z), -kg[zi]]), -np.inf, 0.0)  # fmt: skip
    block(np.concatenate([zr, zr]), np.concatenate([zi, z0 + zr]),
          np.concatenate([np.ones(n_z), -m[zi]]), 0.0, np.inf)  # fmt: skip
    _, whole_row = np.unique(lot[zi][whole[zi]], return_inverse=True)
    block(whole_row, z0 + zr[whole[zi]], 1.0, -np.inf, 1.0)
    matrix = coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(lo), n_x + n_y + n_z),
    ).tocsr()
    upper_x = np.minimum(kg, np.nan_to_num(problem.ben_cap[ben, cls]))
    res = milp(
        cost,
        integrality=np.concatenate([np.zeros(n_x + n_y), np.full(n_z, float(integral))]),
        bounds=Bounds(np.zeros(n_x + n_y + n_z),
                      np.concatenate([upper_x, widths[yb, yk], np.ones(n_z)])),
        constraints=LinearConstraint(matrix, np.array(lo), np.array(hi)),
        options={"time_limit": time_limit, "mip_rel_gap": 1e-4},
    )  # fmt: skip
    bound = getattr(res, "mip_dual_bound", None)
    if bound is None and res.status == 0 and not integral:
        bound = res.fun
    best = -float(res.fun) if res.x is not None else float("nan")
    return best, -float(bound) if bound is not None else float("nan"), res.status == 0


def _vm_kb(field: str) -> float:
    with open("/proc/self/status") as f:
        return next(float(line.split()[1]) for line in f if line.startswith(field + ":"))


def run_allocator(name: str, n_lots: int, n_bens: int, seed: int) -> dict:
    """In a fresh process: build the instance, time one allocator, and measure its result."""
    lots, bens, params = make_instance(n_lots, n_bens, seed)
    # Reset the peak-RSS mark (VmHWM) to the current RSS, so that the peak is the call's.
    Path("/proc/self/clear_refs").write_text("5")
    rss0 = _vm_kb("VmRSS") / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    if name == "maillon, resolve=False":
        result = allocate(lots, bens, replace(params, resolve=False))
    else:
        result = (allocate if name == "maillon" else greedy_allocate)(lots, bens, params)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _vm_kb("VmHWM") / 1024
    index = {b.id: i for i, b in enumerate(bens)}
    got = np.zeros(len(bens))
    for a in result.assignments:
        got[index[a.beneficiary_id]] += a.kg
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak,
        "grew_mb": peak - rss0,
        "violations": len(check_feasible(lots, bens, params, result)),
        "placed": result.kg_placed,
        "kg_km": sum(a.kg * a.km for a in result.assignments),
        "objective": result.objective,
        "got": got,
    }


def run_reference(n_lots: int, n_bens: int, seed: int) -> dict:
    """In a fresh process: time the reference, one min-cost maximum flow (distance only)
    on the 25-nearest candidate graph, from the inputs to the flow."""
    lots, bens, params = make_instance(n_lots, n_bens, seed)
    t0, c0 = time.perf_counter(), time.process_time()
    problem = Problem.build(lots, bens, replace(params, candidates_per_lot=25))
    graph = candidate_graph(problem)
    solve_flow(problem, graph, fairness=False, order_nodes=False)  # OR-Tools' numbering
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def _median_run(spawn, target, name_args: tuple, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        with spawn.Pool(1) as pool:
            runs.append(pool.apply(target, name_args))
    runs.sort(key=lambda r: r["seconds"])
    return runs[len(runs) // 2] | {"fastest": runs[0]["seconds"]}


def row(size: str, name: str, r: dict, max_kg: float, shares_of, gap: str) -> str:
    mem = f"{r['peak_mb']:.0f} (+{r['grew_mb']:.0f})" if "peak_mb" in r else "–"
    secs = "–"
    if "seconds" in r:
        secs = f"{r['seconds']:.2f} ({r['cpu']:.2f})"
        if r["fastest"] < r["seconds"]:
            secs += f", fastest {r['fastest']:.2f}"
    viol = str(r["violations"]) if "violations" in r else "n/a"
    obj = f"{r['objective']:,.0f}" if "objective" in r else "–"
    return (
        f"| {size} | {name} | {secs} | {mem} | {viol} | {100 * r['placed'] / max_kg:.2f} % "
        f"| {r['kg_km'] / max(r['placed'], 1e-9):.2f} | {jain_index(shares_of(r['got'])):.3f} "
        f"| {obj} | {gap} |"
    )


def gap_to_exact(problem, pairs, r: dict, args: argparse.Namespace) -> str:
    """The objective gap to the exact MIP, or an upper bound on it from HiGHS."""
    n = len(pairs[0])
    if n > args.lp_pairs:
        return "not run (too large)"
    integral = n <= args.mip_pairs
    limit = args.exact_seconds if integral else args.lp_seconds
    best, bound, optimal = exact(problem, *pairs, r["placed"] - 1e-6, limit, integral)
    if integral and optimal:
        return f"{100 * (best - r['objective']) / abs(best):.2f} %"
    what = "MIP bound" if integral else "LP bound"
    if not np.isfinite(bound):
        return f"not found in {limit:.0f} s"
    return f"≤ {100 * (bound - r['objective']) / abs(bound):.2f} % ({what})"


# One line per size: allocate's median time over the reference flow's (printed last).
RATIOS: list[str] = []


def bench_size(n_lots: int, n_bens: int, args: argparse.Namespace) -> list[str]:
    size = f"{n_lots:,} × {n_bens:,}"
    spawn = multiprocessing.get_context("spawn")
    results = {}
    for name in ("maillon", "maillon, resolve=False", "greedy"):
        # Same instance, same result: only the time and memory vary; keep the median run.
        results[name] = _median_run(
            spawn, run_allocator, (name, n_lots, n_bens, args.seed), args.repeat
        )
    reference = _median_run(spawn, run_reference, (n_lots, n_bens, args.seed), args.repeat)
    ref = reference["seconds"]
    one_flow = results["maillon, resolve=False"]["seconds"] / ref
    mine = results["maillon"]
    RATIOS.append(
        f"  {size}: allocate {mine['seconds']:.2f} s ({mine['cpu']:.2f} s cpu), reference "
        f"flow {ref:.2f} s ({reference['cpu']:.2f} s cpu): {mine['seconds'] / ref:.2f} × "
        f"(resolve=False {one_flow:.2f} ×; cpu {mine['cpu'] / reference['cpu']:.2f} ×)"
    )
    lots, bens, params = make_instance(n_lots, n_bens, args.seed)
    problem = Problem.build(lots, bens, params)
    pairs = full_graph(problem)
    max_kg = max_placeable(problem, pairs[0], pairs[1])
    reachable = np.zeros(len(bens), dtype=bool)
    reachable[pairs[1]] = True
    reachable &= problem.ben_need > 0

    def shares_of(got: np.ndarray) -> np.ndarray:  # of the target (matching.utility)
        met = problem.ben_met[reachable]
        return np.minimum(1.0, (met + got[reachable]) / (met + problem.ben_need[reachable]))

    graph = candidate_graph(problem)
    x = solve_flow(problem, graph, fairness=False)
    got = np.bincount(graph.ben, x, minlength=len(bens))
    mcmf = {"placed": x.sum(), "kg_km": float(x @ graph.km), "got": got}
    lines = []
    for name, r in results.items():
        gap = gap_to_exact(problem, pairs, r, args)
        lines.append(row(size, name, r, max_kg, shares_of, gap))
    lines.append(row(size, "mcmf (relaxation)", mcmf, max_kg, shares_of, "–"))
    print(f"  {size}: {len(pairs[0]):,} eligible pairs, max placeable {max_kg:,.0f} kg, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated LOTSxBENEFICIARIES, e.g. 1000x500")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--mip-pairs",
        type=int,
        default=20_000,
        help="solve the exact MIP up to this many eligible pairs",
    )
    parser.add_argument(
        "--lp-pairs",
        type=int,
        default=2_000_000,
        help="above --mip-pairs and up to this, bound the gap with the LP",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="run each allocator this many times, report the median time",
    )
    parser.add_argument(
        "--lp-seconds", type=float, default=300.0, help="time limit of each LP relaxation"
    )
    parser.add_argument("--exact-seconds", type=float, default=60.0,
                        help="time limit of each MIP")  # fmt: skip
    args = parser.parse_args()
    sizes = SIZES
    if args.sizes:
        sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    header = [
        "| lots × beneficiaries | allocator | time s (cpu) | peak MB (growth) | violations "
        "| placed / max | mean km | Jain | objective F | gap to exact |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines = []
    for n_lots, n_bens in sizes:
        lines += bench_size(n_lots, n_bens, args)
    print("\n".join(header + lines))
    print(f"\nallocate / reference min-cost flow (median of {args.repeat}; target ≤ 2):")
    print("\n".join(RATIOS))


if __name__ == "__main__":
    main()
