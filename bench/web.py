"""Web load benchmark: the lot list and a claim, served by gunicorn, on SQLite and PostgreSQL.

    .venv/bin/python bench/web.py                  # scale 100 (>= 10,000 open lots), both databases
    .venv/bin/python bench/web.py --quick          # smoke run: scale 4, 3 s per scenario
    .venv/bin/python bench/web.py --db postgres --workers 3 --threads 2 --clients 8,32

For each database (``--db``), start to end (everything it creates is removed at the end,
also on Ctrl-C, ``kill`` or a failure):

1. Creates a fresh database: a SQLite file in a temporary folder, or ``maillon_bench_<pid>``
   on the PostgreSQL server ``--pg``; migrates it (``flask db upgrade``), seeds it
   (``flask demo seed --scale N``), runs ANALYZE and counts the open lots.
2. Serves ``wsgi:app`` with gunicorn on a free loopback port (``--workers`` x ``--threads``,
   default 2 x 4, the gthread worker) and waits for ``/healthz``. Throttling is off
   (``RATELIMIT_ENABLED=0``): 8 clients claiming without pause are over the per-user
   claim limit within seconds, and the list is not throttled anyway.
3. Runs each scenario with locust (bench/web_locust.py, headless, as a library): one user
   per client, each a different beneficiary user (CPAS and associations spread over the
   region) signed in as a real client of its kind does; closed loop without think time;
   a warm-up, then ``--duration`` seconds measured:

   - healthz   GET /healthz (JSON, one ``SELECT 1``): the ceiling of the stack.
   - api       GET /api/v1/lots with a bearer token from POST /api/v1/token (no filter).
   - fragment  GET /lots with ``HX-Request: true`` and varied filters (session cookie).
   - page      GET /lots, the full page, no filter.
   - claim     htmx POST /lots/<id>/claim (``X-CSRFToken``) of a small part of a divisible
               lot the client sees; 201 and 409 are both valid answers.

4. Reads /proc around each window: CPU of the gunicorn master and workers (app), of the
   PostgreSQL backends of the bench database (db), of this process (the locust client)
   and of the rest of the machine (others).
5. Prints one table per database and the verdicts of issue #17's targets: for api and
   fragment at 8 clients, p95 <= 100 ms and req/s >= healthz's req/s / 6 (same run).

The load generator shares the machine with gunicorn and the database: the latencies are
those of the whole box; the CPU per request is the server's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# locust patches the standard library for gevent when it is imported: before anything
# imports ssl (urllib.request is imported where it is used, below).
import gevent
import locust
import sqlalchemy as sa
import web_locust

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SECRET_KEY = "maillon-bench-not-secret"
MIN_OPEN_LOTS = 10_000
TARGET_P95_MS = 100.0
TARGET_HEALTHZ_SHARE = 6  # req/s at least healthz's / 6
TARGET_CLIENTS = 8
TARGET_SCENARIOS = ("api", "fragment")
SCENARIOS = tuple(web_locust.SCENARIOS)
DATABASES = ("sqlite", "postgres")


def _bin(name: str) -> str:
    for folder in (ROOT / ".venv" / "bin", Path(sys.executable).parent):
        if (folder / name).exists():
            return str(folder / name)
    raise SystemExit(f"{name} not found in .venv/bin: run `make install` first")


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- databases --------------------------------------------------------------------------


class Database:
    """One bench database: ``create`` makes it empty (``bench_database`` migrates and seeds
    it), ``drop`` removes it; ``query`` reads it."""

    name = ""

    def __init__(self, folder: Path):
        self.folder = folder
        self.url = ""
        self.engine: sa.Engine | None = None

    def connect(self) -> sa.Connection:
        if self.engine is None:
            self.engine = sa.create_engine(self.url, poolclass=sa.NullPool)
        return self.engine.connect()

    def query(self, sql: str, **params) -> list[tuple]:
        with self.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params)]

    def create(self) -> None:
        raise NotImplementedError

    def analyze(self) -> None:
        with self.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()

    def version(self) -> str:
        raise NotImplementedError

    def backend_pids(self) -> list[int]:
        """Processes that run this database's queries outside gunicorn (none for SQLite)."""
        return []

    def drop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def now(self) -> datetime:
        return datetime.now(UTC)

    def open_lots(self) -> int:
        return self.query(
            "SELECT count(*) FROM lot WHERE status = 'open' AND remaining_g > 0 "
            "AND pickup_until > :now AND (expires_at IS NULL OR expires_at > :now)",
            now=self.now(),
        )[0][0]

    def beneficiary_emails(self, count: int) -> list[str]:
        """Users who may sign in without a second factor, of verified CPAS and associations
        with an active convention: the demo's two named ones first, then one per
        organisation, spread over the region (every n-th)."""
        rows = self.query(
            "SELECT min(u.email) FROM user_account u "
            "JOIN organisation o ON o.id = u.organisation_id "
            "WHERE o.kind IN ('cpas', 'association') AND o.verification = 'verified' "
            "AND u.active AND u.mfa_enabled_at IS NULL "
            "AND u.role NOT IN ('coordinator', 'site_admin') "
            "AND EXISTS (SELECT 1 FROM convention c WHERE c.beneficiary_id = o.id "
            "AND c.status = 'active') GROUP BY o.id ORDER BY o.id"
        )
        emails = [r[0] for r in rows]
        named = [e for e in ("cpas@demo.maillon.be", "asbl@demo.maillon.be") if e in emails]
        others = [e for e in emails if e not in named]
        step = max(1, len(others) // max(1, count))
        chosen = (named + others[::step])[:count]
        if not chosen:
            raise SystemExit("no beneficiary user to sign in with")
        return chosen


class Sqlite(Database):
    name = "sqlite"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.url = f"sqlite:///{folder / 'bench.db'}"

    def create(self) -> None:
        _log(f"sqlite: {self.url}")  # the file is created by the migration

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC

    def version(self) -> str:
        return "SQLite " + self.query("SELECT sqlite_version()")[0][0]


class Postgres(Database):
    name = "postgres"

    def __init__(self, folder: Path, server: str):
        super().__init__(folder)
        self.db_name = f"maillon_bench_{os.getpid()}"
        self.admin_url = f"{server.rstrip('/')}/postgres"
        self.created = False
        self.url = f"{server.rstrip('/')}/{self.db_name}".replace(
            "postgresql://", "postgresql+psycopg://", 1
        )

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        _log(f"postgres: creating database {self.db_name}")
        self._admin(f'CREATE DATABASE "{self.db_name}"')
        self.created = True

    def version(self) -> str:
        return "PostgreSQL " + self.query("SHOW server_version")[0][0]

    def backend_pids(self) -> list[int]:
        try:
            rows = self.query(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()",
                name=self.db_name,
            )
        except Exception:
            return []
        return [r[0] for r in rows]

    def drop(self) -> None:
        super().drop()
        if self.created:
            _log(f"postgres: dropping database {self.db_name}")
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self.created = False


# -- the server -------------------------------------------------------------------------


class Server:
    """gunicorn serving ``wsgi:app`` on a free loopback port, in its own session."""

    def __init__(self, env: dict[str, str], folder: Path, workers: int, threads: int):
        self.env, self.workers, self.threads = env, workers, threads
        self.log = folder / "gunicorn.log"
        self.proc: subprocess.Popen | None = None
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            self.port = sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        from urllib.request import urlopen

        argv = [
            _bin("gunicorn"),
            "wsgi:app",
            f"--workers={self.workers}",
            f"--threads={self.threads}",  # > 1: the gthread worker
            f"--bind={HOST}:{self.port}",
            "--timeout=120",
            f"--error-logfile={self.log}",
            "--log-level=warning",
        ]
        helptext = subprocess.run([argv[0], "--help"], capture_output=True, text=True).stdout
        if "--no-control-socket" in helptext:
            # gunicorn >= 24 listens on ~/.gunicorn/gunicorn.ctl by default, one path
            # shared by every gunicorn of the user: this server needs none.
            argv.append("--no-control-socket")
        _log("gunicorn " + " ".join(argv[1:]))
        self.proc = subprocess.Popen(  # its own session: Ctrl-C reaches only the bench
            argv, cwd=ROOT, env=self.env, start_new_session=True, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                with urlopen(f"{self.url}/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise SystemExit(f"gunicorn did not answer /healthz within 90 s:\n{self.tail()}")

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.proc is None:
            return []
        return [self.proc.pid] + _children(self.proc.pid)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        _log("stopping gunicorn")
        proc.send_signal(signal.SIGINT)  # quick shutdown: the measurements are over
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group it leads: its workers
            proc.wait(timeout=10)


# -- CPU from /proc ---------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _pid_cpu(pid: int) -> float:
    try:
        fields = _stat(pid)
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _children(ppid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == ppid:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def _machine_busy() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    guest = sum(values[8:10])  # already counted in user and nice
    return (sum(values) - idle - guest) / TICK


class CpuMeter:
    """CPU seconds of the server, the database backends, this process (the locust
    client) and everything else, between ``on_window(True)`` and ``on_window(False)``."""

    def __init__(self, server: Server, database: Database):
        self.server, self.database = server, database
        self.before: dict = {}
        self.used: dict[str, float] = {}

    def sample(self) -> dict:
        return {
            "app": {pid: _pid_cpu(pid) for pid in self.server.pids()},
            "db": {pid: _pid_cpu(pid) for pid in self.database.backend_pids()},
            "client": time.process_time(),
            "machine": _machine_busy(),
            "wall": time.perf_counter(),
        }

    def on_window(self, opened: bool) -> None:
        if opened:
            self.before = self.sample()
            return
        after, before = self.sample(), self.before

        def tree(key: str) -> float:
            return sum(v - before[key].get(pid, 0.0) for pid, v in after[key].items())

        app, db, client = tree("app"), tree("db"), after["client"] - before["client"]
        self.used = {
            "app": app,
            "db": db,
            "client": client,
            "other": max(0.0, after["machine"] - before["machine"] - app - db - client),
            "wall": after["wall"] - before["wall"],
        }


# -- results ----------------------------------------------------------------------------


@dataclass
class Result:
    database: str
    scenario: str
    clients: int
    requests: int
    elapsed: float
    p50: float
    p95: float
    p99: float
    errors: int
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    out_of_lots: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, database: str, scenario: str, clients: int, run: web_locust.Measured, cpu):
        w = run.window
        return cls(
            database,
            scenario,
            clients,
            requests=len(w.latencies),
            elapsed=run.elapsed,
            p50=web_locust.percentile(w.latencies, 50),
            p95=web_locust.percentile(w.latencies, 95),
            p99=web_locust.percentile(w.latencies, 99),
            errors=sum(w.failures.values()),
            statuses=dict(w.statuses),
            failures=dict(w.failures),
            out_of_lots=w.out_of_lots,
            cpu=cpu,
        )

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def ms_per_request(self, key: str) -> float:
        return self.cpu.get(key, 0.0) / self.requests * 1000 if self.requests else float("nan")

    def server_cpu_ms(self) -> float:
        """CPU of gunicorn and the database backends per request, ms."""
        return self.ms_per_request("app") + self.ms_per_request("db")

    def cores(self, key: str) -> float:
        wall = self.cpu.get("wall", 0.0)
        return self.cpu.get(key, 0.0) / wall if wall else float("nan")

    def as_json(self) -> dict:
        return {
            "scenario": self.scenario,
            "clients": self.clients,
            "requests": self.requests,
            "rps": self.rps,
            "p50_ms": self.p50,
            "p95_ms": self.p95,
            "p99_ms": self.p99,
            "errors": self.errors,
            "statuses": self.statuses,
            "failures": self.failures,
            "cpu_s": self.cpu,  # app, db, client (locust), other, wall
        }

    def note(self) -> str:
        parts = []
        if self.scenario == "claim":
            parts.append(f"201: {self.statuses.get(201, 0)}, 409: {self.statuses.get(409, 0)}")
        parts += [f"{message} x{n}" for message, n in sorted(self.failures.items())[:3]]
        if self.out_of_lots:
            parts.append(f"{self.out_of_lots} clients ran out of lots")
        return "; ".join(parts)


def table(results: list[Result]) -> str:
    head = (
        "scenario",
        "clients",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "app cpu ms/req",
        "db cpu ms/req",
        "locust cores",
        "others' cores",
        "notes",
    )
    rows = [head] + [
        (
            r.scenario,
            str(r.clients),
            str(r.requests),
            f"{r.rps:.1f}",
            f"{r.p50:.1f}",
            f"{r.p95:.1f}",
            f"{r.p99:.1f}",
            str(r.errors),
            f"{r.ms_per_request('app'):.1f}",
            f"{r.ms_per_request('db'):.1f}" if r.database == "postgres" else "-",
            f"{r.cores('client'):.2f}",
            f"{r.cores('other'):.2f}",
            r.note(),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    right = set(range(1, len(head) - 1))

    def line(row: tuple[str, ...]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(cells) + " |"

    sep = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(rows[0]), sep] + [line(r) for r in rows[1:]])


def verdicts(database: str, results: list[Result]) -> list[str]:
    """Issue #17: api and fragment at 8 clients, p95 <= 100 ms and at least a sixth of
    healthz's req/s in the same run, without errors. For a shared machine, each line
    also gives the server's CPU per request against healthz's (that ratio does not
    depend on the neighbours; the measured ones do)."""
    at = {r.scenario: r for r in results if r.clients == TARGET_CLIENTS}
    healthz = at.get("healthz")
    lines = []
    for scenario in TARGET_SCENARIOS:
        label = f"{database} {scenario} at {TARGET_CLIENTS} clients:"
        r = at.get(scenario)
        if r is None or healthz is None or not r.requests:
            lines.append(f"{label} NOT MEASURED (needs healthz and {scenario} at 8 clients)")
            continue
        floor = healthz.rps / TARGET_HEALTHZ_SHARE
        ok_p95, ok_rps = r.p95 <= TARGET_P95_MS, r.rps >= floor
        cpu, cpu_healthz = r.server_cpu_ms(), healthz.server_cpu_ms()
        parts = [
            f"p95 {r.p95:.1f} ms (<= {TARGET_P95_MS:.0f}: {'ok' if ok_p95 else 'no'})",
            f"{r.rps:.1f} req/s = 1/{healthz.rps / r.rps:.1f} of healthz's {healthz.rps:.1f} "
            f"(>= 1/{TARGET_HEALTHZ_SHARE}: {'ok' if ok_rps else 'no'})",
            f"errors {r.errors}",
            f"server CPU {cpu:.1f} ms/req = {cpu / cpu_healthz:.1f} x healthz's {cpu_healthz:.1f}",
        ]
        verdict = "PASS" if ok_p95 and ok_rps and not r.errors else "FAIL"
        lines.append(f"{label} {verdict}: " + "; ".join(parts))
    return lines


def conditions(args: argparse.Namespace, database: Database, lots: int) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} cores, load average before "
        f"the scenarios {load}; Python "
        f"{platform.python_version()}, {database.version()}, locust {locust.__version__}; "
        f"gunicorn {args.workers} workers x {args.threads} threads; scale {args.scale}: "
        f"{lots} open lots; {args.duration:g} s per scenario after {args.warmup:g} s warm-up"
    )


# -- main -------------------------------------------------------------------------------


def bench_database(args: argparse.Namespace, database: Database, folder: Path) -> dict:
    """Create, seed and serve one database, run every scenario, and undo it all."""
    env = dict(
        os.environ,
        DATABASE_URL=database.url,
        SECRET_KEY=SECRET_KEY,
        SCHEDULER_ENABLED="0",
        MAIL_ENABLED="0",
        RATELIMIT_ENABLED="0",
        PYTHONUNBUFFERED="1",
    )

    def flask(*argv: str) -> str:
        done = subprocess.run(
            [_bin("flask"), "--app", "app", *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"flask {' '.join(argv)} failed ({done.returncode})")
        return (done.stdout + done.stderr).strip()

    flask("db", "upgrade")
    started = time.perf_counter()
    out = flask("demo", "seed", "--scale", str(args.scale))
    _log(
        f"seed --scale {args.scale}: {out.splitlines()[-1]} ({time.perf_counter() - started:.0f} s)"
    )
    database.analyze()
    lots = database.open_lots()
    if lots < MIN_OPEN_LOTS:
        _log(f"note: {lots} open lots (< {MIN_OPEN_LOTS:,}; scale 100 gives more)")
    emails = database.beneficiary_emails(max(args.clients))
    server = Server(env, folder, args.workers, args.threads)
    try:
        server.start()
        _log(f"serving {database.name} on {server.url}; {len(emails)} beneficiary users")
        header = conditions(args, database, lots)
        meter = CpuMeter(server, database)
        results = []
        for scenario in args.scenarios:
            for clients in args.clients:
                _log(f"{database.name}: {scenario} x {clients} clients")
                measured = web_locust.run(
                    scenario,
                    server.url,
                    emails,
                    clients,
                    args.warmup,
                    args.duration,
                    on_window=meter.on_window,
                )
                r = Result.of(database.name, scenario, clients, measured, meter.used)
                results.append(r)
                _log(
                    f"  {r.requests} requests, {r.rps:.1f} req/s, p95 {r.p95:.1f} ms, "
                    f"errors {r.errors}; cores: app {r.cores('app'):.2f}, db {r.cores('db'):.2f}, "
                    f"locust {r.cores('client'):.2f}, others {r.cores('other'):.2f}"
                )
        log = server.tail() if any(r.errors for r in results) else ""
    except Exception:
        _log("failed; last lines of the gunicorn error log:\n" + server.tail())
        raise
    finally:
        server.stop()
    print(f"\n## {database.name}\n\n{header}\n\n{table(results)}\n")
    lines = verdicts(database.name, results)
    print("\n".join(lines))
    if log:
        print("\nlast lines of the gunicorn error log:\n" + log)
    return {
        "database": database.name,
        "conditions": header,
        "results": [r.as_json() for r in results],
        "verdicts": lines,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: scale 4, 3 s each")
    parser.add_argument("--db", default=",".join(DATABASES), help="sqlite,postgres (default both)")
    parser.add_argument("--scale", type=int, help="demo seed scale (default 100; quick 4)")
    parser.add_argument("--duration", type=float, help="seconds measured per scenario (default 15)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds (default 3; quick 1)")
    parser.add_argument(
        "--clients", default=str(TARGET_CLIENTS), help="concurrency levels (default 8)"
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="subset of the default")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server URL, no database",
    )
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    args.scale = args.scale or (4 if args.quick else 100)
    args.duration = args.duration or (3.0 if args.quick else 15.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    args.clients = sorted({int(x) for x in args.clients.split(",") if x.strip()})
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    args.db = [d.strip() for d in args.db.split(",") if d.strip()]
    for given, known, what in (
        (args.scenarios, SCENARIOS, "scenario"),
        (args.db, DATABASES, "database"),
    ):
        unknown = set(given) - set(known)
        if unknown:
            parser.error(f"unknown {what}(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not list((ROOT / "translations").glob("*/LC_MESSAGES/messages.mo")):
        _log("warning: message catalogs not compiled (make translations); pages in English")

    def on_term(signum, frame):  # stop cleanly on `kill` too
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # Raised in gevent's hub, which hands it to this code: no traceback printed there.
    gevent.get_hub().NOT_ERROR += (KeyboardInterrupt,)
    # Ctrl-C even when started as a background job (which starts with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    report = []
    with tempfile.TemporaryDirectory(prefix="maillon-bench-") as tmp:
        for name in args.db:
            folder = Path(tmp) / name
            folder.mkdir()
            database = Sqlite(folder) if name == "sqlite" else Postgres(folder, args.pg)
            try:
                database.create()
                report.append(bench_database(args, database, folder))
            except KeyboardInterrupt:
                _log("interrupted")
                return 130
            except RuntimeError as error:  # a client could not sign in, or not in time
                _log(f"failed: {error}")
                return 1
            finally:
                database.drop()
    print("\n## Targets of issue #17\n")
    print("\n".join(line for run in report for line in run["verdicts"]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
