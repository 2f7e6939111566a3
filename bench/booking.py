"""Benchmark of the booking planner (``matching/booking.py``) on Walloon geography.

    .venv/bin/python bench/booking.py                      # every size
    .venv/bin/python bench/booking.py --sizes 50x100       # a subset (runs x shipments)
    .venv/bin/python bench/booking.py --quick              # 50x100, short OR-Tools limit
    .venv/bin/python bench/booking.py --sizes 500x1000 --repeat 3   # issue 17's ratio

Instances are seeded and lie on real localities of the postcode gazetteer (Wallonia:
postcodes 1300-1499 and 4000-7999). Runs leave one of 30 depots on a weekday morning
and visit 10-20 localities within 35 km in nearest-neighbour order, most with opening
hours that the run meets, some forcing a wait; vehicles are ambient, refrigerated or
freezer. Shipments go from a random locality to another within 25 km, with optional
pickup and drop-off windows and use-by deadlines. Figures, per size and planner:

- wall s, cpu s: wall and process CPU seconds of the call (``book``, ``book_sequential``;
  for OR-Tools, building its model and the search). The machine is shared: CPU seconds
  depend less on the other sessions' load than wall seconds.
- booked, added km: shipments placed and the km they add to the runs (depot legs too).
- infeasible: rule violations found by the independent validator
  (``matching.booking.check``, a plain walk of every final route); must be 0.
- vs seq / vs OR-Tools: added km over the reference's when both book as many shipments,
  else both counts.

OR-Tools gets the same model: existing stops pinned to their run and kept in order by a
rank dimension (node precedences), capacity, windows, use-by, maximum duration, cold
chain, a penalty of 10,000 km per unbooked shipment (booking always comes first, as in
``book``), integer seconds rounded up; parallel cheapest insertion then guided local
search until the time limit ("cold"), or guided local search from ``book``'s answer
("from book": how much a long search still finds). It runs only up to
``--ortools-nodes`` nodes: its matrices are Python lists. ``insert`` latency is timed on
the 500-run fleet, each call from plain ``RunPlan`` objects (nothing cached between
calls). The brute-force check tries every pair of positions on 5 runs with the
validator.

After the table, each size's ``book`` wall time is divided by the wall time of a
reference run in the same way (and CPU by CPU: on a loaded machine the wall ratio says
more about the other sessions than about ``book``): ``book`` from plain ``RunPlan`` and
``Shipment`` objects to its insertions, and the reference (``run_reference`` of
``bench/matching.py``: one OR-Tools min-cost maximum flow on the 25-nearest candidate
graph of its 10,000 lots × 5,000 beneficiaries instance, inputs, k-d tree and graph
included), each the median of ``--repeat`` runs in fresh processes, taken in this run.
Issue 17's target: at most 1.5 for 500 runs × 1,000 shipments.
"""

from __future__ import annotations

import argparse
import csv
import math
import multiprocessing
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from bench.matching import _median_run, run_reference  # noqa: E402
from matching.booking import (  # noqa: E402
    RunPlan,
    Shipment,
    StopPlan,
    book,
    book_sequential,
    insert,
    validate_booking,
)
from matching.booking.check import check_route  # noqa: E402
from matching.distance import great_circle_km  # noqa: E402
from matching.params import Params  # noqa: E402

GAZETTEER = ROOT / "surplus" / "data" / "be_postcodes.csv"
SIZES = [(50, 100), (200, 500), (500, 1000)]
DAY = datetime(2025, 6, 3, tzinfo=ZoneInfo("Europe/Brussels"))
PARAMS = Params(now=DAY + timedelta(hours=6))
MIN = timedelta(minutes=1)


def walloon_places() -> np.ndarray:
    """(lat, lon) of every Walloon locality in the gazetteer."""
    with GAZETTEER.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["lat"] and r["lon"]]
    keep = [
        r for r in rows if 1300 <= int(r["postcode"]) <= 1499 or 4000 <= int(r["postcode"]) <= 7999
    ]
    return np.array([(float(r["lat"]), float(r["lon"])) for r in keep])


def _near(places: np.ndarray, point: np.ndarray, km: float) -> np.ndarray:
    d = great_circle_km(point[0], point[1], places[:, 0], places[:, 1])
    return np.nonzero((d < km) & (d > 0.5))[0]


def make_runs(rng: np.random.Generator, places: np.ndarray, count: int) -> list[RunPlan]:
    depots = places[rng.choice(len(places), 30, replace=False)]
    runs = []
    for i in range(count):
        depot = depots[rng.integers(len(depots))]
        near = _near(places, depot, 35.0)
        todo = list(rng.choice(near, int(rng.integers(10, 21)), replace=len(near) < 20))
        here, order = depot, []
        while todo:  # nearest-neighbour order, as a planner of regular rounds might draw
            d = great_circle_km(here[0], here[1], places[todo, 0], places[todo, 1])
            here = places[todo.pop(int(np.argmin(d)))]
            order.append(here)
        start = DAY + timedelta(hours=7, minutes=15 * int(rng.integers(0, 9)))
        t, prev, stops, load, peak = start, depot, [], 0.0, 0.0
        deltas = np.where(
            rng.random(len(order)) < 0.8,
            -rng.uniform(10, 80, len(order)),
            rng.uniform(10, 60, len(order)),
        )
        first = -deltas[deltas < 0].sum()
        for point, delta in zip(order, deltas, strict=True):
            t += great_circle_km(*prev, *point) * PARAMS.circuity / 50.0 * 60.0 * MIN
            opens = closes = None
            if rng.random() < 0.75:
                lead = -rng.uniform(5, 30) if rng.random() < 0.15 else rng.uniform(0, 90)
                opens = (t - lead * MIN).replace(second=0, microsecond=0)
                closes = max(t, opens) + rng.uniform(20, 180) * MIN
                closes = closes.replace(second=0, microsecond=0)
            t = max(t, opens or t)
            service = float(rng.choice([5, 10, 15]))
            stops.append(
                StopPlan(
                    float(point[0]), float(point[1]), round(float(delta), 1), opens, closes, service
                )
            )
            t += service * MIN
            load += delta
            peak = max(peak, first + load)
            prev = point
        t += great_circle_km(*prev, *depot) * PARAMS.circuity / 50.0 * 60.0 * MIN
        cap = float(min(c for c in (600, 900, 1200, 1500, 2000, 3000) if c >= 1.15 * peak))
        cold = rng.random()
        runs.append(
            RunPlan(
                f"run{i}",
                cap,
                cold < 0.6,
                cold < 0.25,
                float(depot[0]),
                float(depot[1]),
                start,
                stops,
                max_duration_min=(t - start) / MIN + float(rng.uniform(45, 180)),
            )
        )
    return runs


def make_shipments(rng: np.random.Generator, places: np.ndarray, count: int) -> list[Shipment]:
    out = []
    for j in range(count):
        pick = places[rng.integers(len(places))]
        drop = places[rng.choice(_near(places, pick, 25.0))]
        pw = dw = deadline = None
        if rng.random() < 0.6:
            opens = DAY + timedelta(hours=float(rng.integers(8, 13)))
            pw = (opens, opens + timedelta(hours=float(rng.integers(2, 7))))
        if rng.random() < 0.5:
            opens = DAY + timedelta(hours=float(rng.integers(9, 13)))
            dw = (opens, opens + timedelta(hours=float(rng.integers(3, 7))))
        if rng.random() < 0.25:
            deadline = DAY + timedelta(hours=float(rng.integers(12, 21)))
        storage = str(rng.choice(["ambient", "chilled", "frozen"], p=[0.6, 0.3, 0.1]))
        kg = float(np.clip(round(rng.lognormal(3.2, 0.8)), 2, 400))
        out.append(
            Shipment(
                f"lot{j}",
                kg,
                storage,
                float(pick[0]),
                float(pick[1]),
                float(drop[0]),
                float(drop[1]),
                pw,
                dw,
                deadline,
            )
        )
    return out


def added_km(
    runs: list[RunPlan],
    placed: dict[int, list[tuple[Shipment, int, int]]],
) -> tuple[float, int]:
    """Total km added to the runs and rule violations, by the independent validator."""
    km, bad = 0.0, 0
    for r, items in placed.items():
        after = check_route(runs[r], items, PARAMS)
        km += after.km - check_route(runs[r], [], PARAMS).km
        bad += len(after.violations)
    return km, bad


Placed = dict[int, list[tuple[Shipment, int, int]]]  # run -> (shipment, final positions)


def ortools_book(
    runs: list[RunPlan], ships: list[Shipment], seconds: float, warm: Placed | None = None
) -> Placed | None:
    """Book with OR-Tools routing: same rules, existing order held by a rank dimension.

    Without ``warm``, OR-Tools builds its own first solution (parallel cheapest
    insertion); with it, it starts from those bookings. Guided local search follows.
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    nodes: list[tuple] = [(r.depot_lat, r.depot_lon, 0.0, None, None, 0.0, r) for r in runs]
    for r in runs:
        for s in r.stops:
            nodes.append(
                (s.lat, s.lon, s.load_delta_kg, s.window_start, s.window_end, s.service_min, r)
            )
    first_ship = len(nodes)
    for s in ships:
        pw, dw = s.pickup_window or (None, None), s.drop_window or (None, None)
        late = dw[1]
        if s.deadline is not None:
            end = s.deadline - PARAMS.service_min * MIN
            late = end if late is None else min(late, end)
        nodes.append((s.pickup_lat, s.pickup_lon, s.kg, pw[0], pw[1], PARAMS.service_min, s))
        nodes.append((s.drop_lat, s.drop_lon, -s.kg, dw[0], late, PARAMS.service_min, s))
    lat = np.array([n[0] for n in nodes])
    lon = np.array([n[1] for n in nodes])
    km = great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :]) * PARAMS.circuity
    origin = min(r.start for r in runs)
    seconds_of = lambda t: (t - origin).total_seconds()  # noqa: E731
    service = np.array([n[5] * 60.0 for n in nodes])
    manager = pywrapcp.RoutingIndexManager(
        len(nodes), len(runs), list(range(len(runs))), list(range(len(runs)))
    )
    routing = pywrapcp.RoutingModel(manager)
    dist = routing.RegisterTransitMatrix(np.rint(km * 1000).astype(int).tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist)
    speeds = sorted({r.speed_kmh for r in runs})
    times = {
        v: routing.RegisterTransitMatrix(
            np.ceil(service[:, None] + km / v * 3600.0 - 1e-6).astype(int).tolist()
        )
        for v in speeds
    }
    horizon = int(max(seconds_of(r.start) + 24 * 3600 for r in runs))
    routing.AddDimensionWithVehicleTransits(
        [times[r.speed_kmh] for r in runs], horizon, horizon, False, "time"
    )
    time_dim = routing.GetDimensionOrDie("time")
    load = [int(round(n[2] * 10)) for n in nodes]
    for i, r in enumerate(runs):
        load[i] = int(round(r.initial_load_kg * 10))
    demand = routing.RegisterUnaryTransitVector(load)
    routing.AddDimensionWithVehicleCapacity(
        demand, 0, [int(r.capacity_kg * 10) for r in runs], True, "load"
    )
    routing.AddConstantDimension(1, len(nodes) + 1, True, "rank")
    rank = routing.GetDimensionOrDie("rank")
    solver = routing.solver()
    for v, r in enumerate(runs):
        start = int(seconds_of(r.start))
        time_dim.CumulVar(routing.Start(v)).SetRange(start, start)
        if r.max_duration_min is not None:
            time_dim.CumulVar(routing.End(v)).SetMax(start + int(r.max_duration_min * 60))
    for i in range(len(runs), len(nodes)):
        idx = manager.NodeToIndex(i)
        opens, closes = nodes[i][3], nodes[i][4]
        lo = int(math.ceil(seconds_of(opens))) if opens is not None else 0
        hi = int(math.floor(seconds_of(closes))) if closes is not None else horizon
        if lo > hi or hi < 0:
            routing.ActiveVar(idx).SetValue(0)  # an empty window: never booked
        else:
            time_dim.CumulVar(idx).SetRange(max(lo, 0), hi)
    i = len(runs)
    for v, r in enumerate(runs):
        prev = None
        for _ in r.stops:
            idx = manager.NodeToIndex(i)
            routing.VehicleVar(idx).SetValue(v)
            if prev is not None:
                rank.AddNodePrecedence(prev, idx, 1)
            prev, i = idx, i + 1
    penalty = 10_000_000  # m: booking a shipment always beats saving km
    for j, s in enumerate(ships):
        p = manager.NodeToIndex(first_ship + 2 * j)
        d = manager.NodeToIndex(first_ship + 2 * j + 1)
        allowed = [
            v
            for v, r in enumerate(runs)
            if s.storage == "ambient"
            or (s.storage == "chilled" and r.refrigerated)
            or (s.storage == "frozen" and r.freezer)
        ]
        for idx in (p, d):
            routing.VehicleVar(idx).SetValues([-1, *allowed])
        routing.AddPickupAndDelivery(p, d)
        solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
        solver.Add(routing.ActiveVar(p) == routing.ActiveVar(d))
        routing.AddDisjunction([p], penalty)
        routing.AddDisjunction([d], penalty)
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    search.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    search.time_limit.FromMilliseconds(int(seconds * 1000))
    if warm is None:
        solution = routing.SolveWithParameters(search)
    else:
        routes, i, index = [], len(runs), {id(s): j for j, s in enumerate(ships)}
        for v, r in enumerate(runs):
            route = list(range(i, i + len(r.stops)))
            i += len(r.stops)
            new = [(i_p, first_ship + 2 * index[id(ship)]) for ship, i_p, _ in warm.get(v, [])]
            new += [(i_d, first_ship + 2 * index[id(ship)] + 1) for ship, _, i_d in warm.get(v, [])]
            for pos, node in sorted(new):  # in increasing final position
                route.insert(pos, node)
            routes.append(route)
        routing.CloseModelWithParameters(search)
        initial = routing.ReadAssignmentFromRoutes(routes, True)
        if initial is None:
            return None
        solution = routing.SolveFromAssignmentWithParameters(initial, search)
    if solution is None:
        return None
    placed: dict[int, list[tuple[Shipment, int, int]]] = {}
    for v in range(len(runs)):
        index, pos, where = routing.Start(v), 0, {}
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            if node >= first_ship:
                where.setdefault((node - first_ship) // 2, []).append(pos)
            pos += 1
            index = solution.Value(routing.NextVar(index))
        placed[v] = [(ships[j], p[0], p[1]) for j, p in where.items()]
    return {v: items for v, items in placed.items() if items}


def _planner_row(name: str, runs: list[RunPlan], ships: list[Shipment], fn) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    result = fn(runs, ships, PARAMS)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    bad = len(validate_booking(runs, ships, result, PARAMS))
    run_of = {r.id: v for v, r in enumerate(runs)}
    ship_of = {s.id: s for s in ships}
    placed: Placed = {}
    for ins in result:
        placed.setdefault(run_of[ins.run_id], []).append(
            (ship_of[ins.shipment_id], ins.pickup_index, ins.drop_index)
        )
    return {
        "planner": name,
        "wall": wall,
        "cpu": cpu,
        "booked": len(result),
        "placed": placed,
        "km": sum(i.added_km for i in result),
        "bad": bad,
    }


def _ortools_row(
    name: str, runs: list[RunPlan], ships: list[Shipment], seconds: float, start: Placed | None
) -> dict:
    began, cpu = time.perf_counter(), time.process_time()
    placed = ortools_book(runs, ships, seconds, start)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    if placed is None:
        return {"planner": name, "wall": wall, "cpu": cpu, "booked": 0, "km": math.nan, "bad": 0}
    km, bad = added_km(runs, placed)
    booked = sum(len(v) for v in placed.values())
    return {"planner": name, "wall": wall, "cpu": cpu, "booked": booked, "km": km, "bad": bad}


def insert_latency(runs: list[RunPlan], ships: list[Shipment]) -> np.ndarray:
    """Milliseconds of each ``insert`` call over all ``runs``, from plain RunPlans."""
    out = []
    for s in ships:
        start = time.perf_counter()
        insert(runs, s, PARAMS)
        out.append((time.perf_counter() - start) * 1000)
    return np.array(out)


def brute_force_check(rng: np.random.Generator, places: np.ndarray, count: int) -> int:
    """Instances (5 runs, 1 shipment) where ``insert`` differs from trying every position."""
    wrong = 0
    for _ in range(count):
        runs, ship = make_runs(rng, places, 5), make_shipments(rng, places, 1)[0]
        best = None
        for run in runs:
            before = check_route(run, [], PARAMS).km
            size = len(run.stops) + 2
            for i in range(size - 1):
                for j in range(i + 1, size):
                    after = check_route(run, [(ship, i, j)], PARAMS)
                    if not after.violations and (best is None or after.km - before < best):
                        best = after.km - before
        found = insert(runs, ship, PARAMS)
        if (found is None) != (best is None) or (
            found is not None and abs(found.added_km - max(best, 0.0)) > 1e-6
        ):
            wrong += 1
    return wrong


def run_book(r_count: int, s_count: int, seed: int) -> dict:
    """In a fresh process: build the instance, time one ``book`` call."""
    places = walloon_places()
    rng = np.random.default_rng([seed, r_count, s_count])
    runs = make_runs(rng, places, r_count)
    ships = make_shipments(rng, places, s_count)
    start, cpu = time.perf_counter(), time.process_time()
    result = book(runs, ships, PARAMS)
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "booked": len(result),
        "km": sum(i.added_km for i in result),
    }


#: The reference flow's size and seed: those of issue 17 (bench/matching.py's default).
REFERENCE = (10_000, 5_000, 1)
# One line per size: book's median time over the reference flow's (printed last).
RATIOS: list[str] = []


def _ratio(row: dict, ref: dict | None) -> str:
    if ref is None or ref["booked"] != row["booked"] or not ref["km"] > 0:
        return "n/a" if ref is None else f"({row['booked']} vs {ref['booked']} booked)"
    return f"{row['km'] / ref['km']:.3f}"


def _size(
    args: argparse.Namespace,
    places: np.ndarray,
    r_count: int,
    s_count: int,
    reference: dict | None,
) -> None:
    rng = np.random.default_rng([args.seed, r_count, s_count])
    runs = make_runs(rng, places, r_count)
    ships = make_shipments(rng, places, s_count)
    best = _planner_row("book (regret)", runs, ships, book)
    if reference is not None:
        spawn = multiprocessing.get_context("spawn")
        fresh = _median_run(spawn, run_book, (r_count, s_count, args.seed), args.repeat)
        assert fresh["booked"] == best["booked"], "book differs between processes"
        best["wall"], best["cpu"] = fresh["seconds"], fresh["cpu"]
        best["planner"] = f"book (regret), median of {args.repeat} fresh"
        ref = reference["seconds"]
        RATIOS.append(
            f"  {r_count} × {s_count}: book {fresh['seconds']:.2f} s ({fresh['cpu']:.2f} s cpu"
            f", fastest {fresh['fastest']:.2f} s), reference flow {ref:.2f} s "
            f"({reference['cpu']:.2f} s cpu): {fresh['seconds'] / ref:.2f} ×"
            + (" (target ≤ 1.5)" if (r_count, s_count) == (500, 1000) else "")
            + f"; cpu {fresh['cpu'] / reference['cpu']:.2f} ×"
        )
    seq = _planner_row("sequential", runs, ships, book_sequential)
    refs = []
    nodes = r_count + sum(len(r.stops) for r in runs) + 2 * s_count
    if nodes <= args.ortools_nodes:
        t = args.ortools_seconds
        refs.append(_ortools_row(f"OR-Tools ({t:.0f} s)", runs, ships, t, None))
        warm = _ortools_row(f"OR-Tools from book ({t:.0f} s)", runs, ships, t, best["placed"])
        refs.append(warm)
    for row in [best, seq, *refs]:
        vs_seq = _ratio(row, seq) if row is not seq else ""
        if not refs:
            vs_ort = f"not run ({nodes} nodes)"
        else:
            vs_ort = " / ".join(_ratio(row, ref) for ref in refs if ref is not row)
        print(
            f"| {r_count} × {s_count} | {row['planner']} | {row['wall']:.2f} | {row['cpu']:.2f} "
            f"| {row['booked']} "
            f"| {row['km']:.1f} | {row['bad']} | {vs_seq} | {vs_ort} |"
        )
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="*", default=None, help="RUNSxSHIPMENTS, e.g. 50x100")
    parser.add_argument("--quick", action="store_true", help="50x100 only, OR-Tools for 10 s")
    parser.add_argument("--ortools-seconds", type=float, default=60.0)
    parser.add_argument("--ortools-nodes", type=int, default=1500, help="largest model to try")
    parser.add_argument("--latency", type=int, default=300, help="insert calls on 500 runs")
    parser.add_argument("--brute", type=int, default=100, help="instances checked by brute force")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="time book and the reference flow this many times each in fresh processes "
        "(median); 0: no reference, book timed once in this process",
    )
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes] if args.sizes else SIZES
    if args.quick:
        sizes, args.ortools_seconds, args.latency, args.brute = [(50, 100)], 10.0, 100, 20
    places = walloon_places()
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)\n")
    reference = None
    if args.repeat > 0:
        spawn = multiprocessing.get_context("spawn")
        reference = _median_run(spawn, run_reference, REFERENCE, args.repeat)
    print(
        "| runs × shipments | planner | wall s | cpu s | booked | added km | infeasible "
        "| vs seq | vs OR-Tools (cold / from book) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    for r_count, s_count in sizes:
        _size(args, places, r_count, s_count, reference)
    if RATIOS:
        lots, bens, _ = REFERENCE
        print(
            f"\nbook / reference min-cost flow ({lots:,} × {bens:,}, 25 nearest; median of "
            f"{args.repeat} fresh processes each; load average now "
            f"{os.getloadavg()[0]:.2f}):"
        )
        print("\n".join(RATIOS))
    if args.latency:
        rng = np.random.default_rng([args.seed, 500, 1000])
        runs = make_runs(rng, places, 500)
        ms = insert_latency(runs, make_shipments(rng, places, args.latency))
        print(
            f"\ninsert over 500 runs ({len(ms)} calls): p50 {np.percentile(ms, 50):.1f} ms, "
            f"p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms"
        )
    if args.brute:
        wrong = brute_force_check(np.random.default_rng([args.seed, 5]), places, args.brute)
        print(f"insert vs brute force on {args.brute} instances of 5 runs: {wrong} differ")


if __name__ == "__main__":
    main()
