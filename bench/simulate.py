"""A simulated period of a province's surplus through the real services, under three
policies, side by side (issue 17; bench/README.md, "Simulation").

    .venv/bin/python bench/simulate.py --province namur --seed 1 --days 365
    .venv/bin/python bench/simulate.py --province luxembourg --seed 2 --quick
    .venv/bin/python bench/simulate.py --national          # Belgium's FSE+ network, a month
    .venv/bin/python bench/simulate.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

The world (bench/sim/world.py) is built once in a fresh migrated database; each policy
runs on its own copy (a copied SQLite file, or ``CREATE DATABASE ... TEMPLATE``), in
parallel processes. Prints the figures per policy, PASS/FAIL for Maillon's targets, how
long each scheduled job took, and the wall time; writes ``daily-<province>.csv`` and
``weekly-<province>.svg`` to ``--out``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_START = date(2026, 1, 5)  # a Monday
QUICK_DAYS = 28
NATIONAL_DAYS = 30
GC_THRESHOLD = 50_000  # allocations between two young collections in a policy's process
SQLITE_CACHE_KIB = 256 * 1024  # a policy's SQLite page cache


# -- databases ---------------------------------------------------------------------------


def app_config(uri: str, photos: str, **overrides: Any) -> dict[str, Any]:
    config = {
        "SECRET_KEY": "simulation",
        "SQLALCHEMY_DATABASE_URI": uri,
        "SERVER_NAME": "maillon.simulation",
        "MAIL_ENABLED": False,
        "SCHEDULER_ENABLED": False,
        "MFA_REQUIRED_ROLES": [],
        "PHOTO_STORAGE_DIR": photos,
    }
    if uri.startswith("postgresql"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"options": "-c synchronous_commit=off"}
        }
    return config | overrides


@contextmanager
def application(uri: str, photos: str, **overrides: Any):
    """An app on ``uri`` inside its app context; SQLite without waiting for the disk
    (a simulation's database is thrown away)."""
    from sqlalchemy import event

    from app import create_app
    from surplus.extensions import db

    app = create_app(app_config(uri, photos, **overrides))
    with app.app_context():
        if uri.startswith("sqlite"):

            @event.listens_for(db.engine, "connect")
            def _fast(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.execute("PRAGMA synchronous=OFF")
                # One connection to a database that grows to about 90 MB over a year;
                # SQLite's default page cache (2 MB) copies most pages it reads from the
                # operating system again. 256 MB keeps the whole database at hand, as a
                # PostgreSQL server's buffers and the system's cache would: fcfs over 182
                # Namur days, 97-101 s, then 90-94 s.
                dbapi_connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")

        try:
            yield app
        finally:
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


class Databases:
    """A template database and its copies: SQLite files in a temporary folder (in memory
    when /dev/shm exists), or databases on a PostgreSQL server."""

    def __init__(self, server_url: str | None) -> None:
        self.server = server_url
        self.tag = f"maillon_sim_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        base = "/dev/shm" if Path("/dev/shm").is_dir() else None
        self.folder = Path(tempfile.mkdtemp(prefix="maillon-sim-", dir=base))
        self.created: list[str] = []

    def _pg(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.server, autocommit=True) as admin:
            admin.execute(statement)

    def _pg_url(self, name: str) -> str:
        base = self.server.rsplit("/", 1)[0]
        return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)

    def template(self) -> str:
        if self.server:
            name = f"{self.tag}_template"
            self._pg(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            return self._pg_url(name)
        return f"sqlite:///{self.folder / 'template.db'}"

    def copy(self, label: str) -> str:
        if self.server:
            name = f"{self.tag}_{label}"
            self._pg(f'CREATE DATABASE "{name}" TEMPLATE "{self.tag}_template"')
            self.created.append(name)
            return self._pg_url(name)
        target = self.folder / f"{label}.db"
        shutil.copyfile(self.folder / "template.db", target)
        return f"sqlite:///{target}"

    def drop(self) -> None:
        for name in reversed(self.created):
            self._pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(self.folder, ignore_errors=True)


def build_world(uri: str, photos: str, spec) -> tuple[Any, list[Any], float]:
    """Migrate the empty database ``uri`` and build the world in it, the clock at the
    start; returns the world, the period's postings and the seconds it took."""
    from flask_migrate import upgrade

    from bench.sim import stream, world
    from bench.sim.engine import local_midnight
    from surplus import clock
    from surplus.extensions import db

    started = time.perf_counter()
    with application(uri, photos):
        upgrade(directory=str(ROOT / "migrations"))
        clock.set_time(local_midnight(spec.start))
        built = world.build(db.session, spec)
        db.session.commit()
        postings = stream.postings(built, spec)
        clock.set_time(None)
    return built, postings, time.perf_counter() - started


# -- one policy, in its own process ------------------------------------------------------


@dataclass(frozen=True)
class Task:
    uri: str
    photos: str
    policy: str
    spec: Any
    world: Any
    postings: list[Any]


def run_policy(task: Task) -> dict[str, Any]:
    from bench.sim import metrics
    from bench.sim.engine import Simulation, local_midnight
    from bench.sim.policies import POLICIES
    from surplus import clock
    from surplus.extensions import db

    policy = POLICIES[task.policy]
    spec = task.spec
    # The run allocates ORM objects by the million, few of them in reference cycles that
    # live on; Python's default threshold (700) starts a collection every few hundred
    # statements. 7 % of a policy's time over 56 days (greedy, Namur seed 1: 65 s, then
    # 61 s); the figures are the same.
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    with application(task.uri, task.photos, PLACEMENT_ENABLED=policy.placement) as app:
        sim = Simulation(app, task.world, task.postings, policy, spec, spec.seed)
        outcome = sim.run()
        started = time.perf_counter()
        end = local_midnight(spec.start + timedelta(days=spec.days))
        figures = metrics.compute(db.session, task.world, spec.start, spec.days, end)
        metrics_s = time.perf_counter() - started
        clock.set_time(None)
    return {
        "policy": policy.name,
        "figures": figures,
        "wall_s": outcome.wall_s,
        "metrics_s": metrics_s,
        "events": dict(outcome.events),
        "refusals": {f"{k[0]}: {k[1]}": v for k, v in outcome.refusals.most_common(12)},
        "posting_refusals": dict(outcome.posting_refusals),
        "jobs": outcome.jobs,
        "jobs_first_month": outcome.jobs_first_month,
        "snapshots": outcome.snapshots,
    }


LONGEST_FIRST = {"maillon": 0, "greedy": 1, "fcfs": 2}


def simulate(spec, policies: list[str], server: str | None, workers: int) -> dict[str, Any]:
    """Build the world once, run each policy on a copy; returns the results by policy."""
    databases = Databases(server)
    photos = str(databases.folder / "photos")
    try:
        world, postings, build_s = build_world(databases.template(), photos, spec)
        print(
            f"world {spec.province} seed {spec.seed}: {len(world.platforms)} platforms, "
            f"{len(world.beneficiaries)} beneficiaries, {len(world.donors)} donors, "
            f"{len(postings)} postings over {spec.days} days (built in {build_s:.1f} s)",
            flush=True,
        )
        # The longest first (Maillon's placement, then greedy's), so that fcfs follows
        # whichever ends first on two workers. One process per policy is slower here:
        # three processes on two cores took 181 s for 84 Namur days against 155-157 s
        # (each process slowed by a quarter: caches, switches).
        tasks = [
            Task(databases.copy(name), photos, name, spec, world, postings)
            for name in sorted(policies, key=lambda n: LONGEST_FIRST.get(n, len(LONGEST_FIRST)))
        ]
        if workers <= 1 or len(tasks) == 1:
            done = [run_policy(t) for t in tasks]
        else:
            with ProcessPoolExecutor(
                max_workers=min(workers, len(tasks)), mp_context=get_context("spawn")
            ) as pool:
                done = list(pool.map(run_policy, tasks))
        return {
            "world": world,
            "postings": len(postings),
            "results": {r["policy"]: r for r in done},
        }
    finally:
        databases.drop()


# -- output ------------------------------------------------------------------------------


def report(spec, run: dict[str, Any], out: Path) -> None:
    from bench.sim import report as rep

    results = run["results"]
    figures = {name: r["figures"] for name, r in results.items()}
    print()
    print(f"== {spec.province}, seed {spec.seed}, {spec.days} days from {spec.start} ==")
    print(rep.table(figures))
    print("(* a target of Maillon's; time to booking counts lots booked; a lot never booked is")
    print("   counted apart; share placed = placeable kg delivered / placeable kg settled)")
    for line in rep.verdicts(figures):
        print(line)
    for name, r in results.items():
        print(
            f"{name}: simulated in {r['wall_s']:.0f} s (+{r['metrics_s']:.1f} s figures); "
            f"events {json.dumps(r['events'], sort_keys=True)}"
        )
        why = r["figures"].get("unclaimed_why_kg")
        if why:
            print(f"  expired unclaimed, placement's nearest miss (kg): {json.dumps(why)}")
        if r["refusals"]:
            print(f"  services refused (top): {json.dumps(r['refusals'], ensure_ascii=False)}")
        if r["posting_refusals"]:
            print(f"  postings refused: {json.dumps(r['posting_refusals'], ensure_ascii=False)}")
    # The times depend on the interpreter's build as much as on the machine
    # (bench/README.md, "The interpreter").
    print(f"(Python {platform.python_version()} from {sys.base_prefix})")
    for name, r in results.items():
        print(rep.jobs_table(f"scheduled jobs, {name}, whole period:", r["jobs"]))
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"daily-{spec.province}-seed{spec.seed}.csv"
    svg_path = out / f"weekly-{spec.province}-seed{spec.seed}.svg"
    orgs_path = out / f"orgs-{spec.province}-seed{spec.seed}.csv"
    rep.write_csv(csv_path, figures, {n: r["snapshots"] for n, r in results.items()})
    rep.write_orgs_csv(orgs_path, figures)
    rep.write_svg(
        svg_path,
        figures,
        spec.start,
        spec.days,
        f"{spec.province}, seed {spec.seed}: kilograms per week by policy",
    )
    print(f"wrote {csv_path}, {orgs_path} and {svg_path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--province", default="namur")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--policies", default="fcfs,greedy,maillon")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("SIM_DATABASE_URL"),
        help="a PostgreSQL server (postgresql://user@host:port/db): the simulation creates "
        "and drops its own databases there; default: SQLite files in a temporary folder",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_DAYS} days, a smoke run")
    parser.add_argument(
        "--national",
        action="store_true",
        help=f"also a month ({NATIONAL_DAYS} days) of Maillon for Belgium's FSE+ network, "
        "with the scheduled jobs' times compared with the province's first month",
    )
    parser.add_argument("--national-days", type=int, default=NATIONAL_DAYS)
    parser.add_argument("--no-province", action="store_true", help="only the national month")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    from bench.sim import report as rep
    from bench.sim.policies import parse
    from bench.sim.world import Spec

    if args.start.weekday() != 0:
        parser.error("--start must be a Monday")
    policies = [p.name for p in parse(args.policies)]
    days = QUICK_DAYS if args.quick else args.days
    wall = time.perf_counter()
    province_run = None
    if not args.no_province:
        spec = Spec(args.province, args.seed, args.start, days)
        province_run = simulate(spec, policies, args.database_url, args.workers)
        report(spec, province_run, args.out)
        print(f"wall time, {args.province}: {time.perf_counter() - wall:.0f} s", flush=True)
    if args.national:
        started = time.perf_counter()
        spec = Spec("belgium", args.seed, args.start, args.national_days)
        national = simulate(spec, ["maillon"], args.database_url, 1)
        report(spec, national, args.out)
        print(
            rep.jobs_table(
                f"scheduled jobs, Maillon, Belgium, {args.national_days} days:",
                national["results"]["maillon"]["jobs"],
            )
        )
        if province_run and "maillon" in province_run["results"]:
            first = province_run["results"]["maillon"]["jobs_first_month"]
            print(
                rep.jobs_table(f"scheduled jobs, Maillon, {args.province}, first 30 days:", first)
            )
            print(rep.growth(first, national["results"]["maillon"]["jobs"]))
        print(f"wall time, national month: {time.perf_counter() - started:.0f} s")
    print(f"wall time: {time.perf_counter() - wall:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
