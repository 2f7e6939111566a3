"""Web load benchmark: the lot list and a claim, served by gunicorn on PostgreSQL.

    .venv/bin/python bench/web.py                  # scale 80 (>= 10,000 open lots), 10 s each
    .venv/bin/python bench/web.py --quick          # smoke run: scale 8, 3 s each
    .venv/bin/python bench/web.py --workers 5 --threads 2 --duration 20 --clients 8,50

What it does, start to end (everything it creates is removed at the end, also on
Ctrl-C or failure):

1. Creates a fresh PostgreSQL database ``maillon_bench_<pid>`` on ``--pg`` (default the
   local server, user postgres, trust auth), migrates it (``flask db upgrade``), seeds
   it (``flask demo seed --scale N``), runs ANALYZE, and checks the open-lot count.
2. Serves ``wsgi:app`` with gunicorn on a free loopback port (``--workers``, default
   2 x cores + 1; ``--threads`` > 1 switches to the gthread worker) and waits for
   ``/healthz``.
3. Signs in one client per concurrent slot, each as a different beneficiary user
   (org_admin of a CPAS or association, spread over the region), with the demo
   password: GET /login for the CSRF token, POST /login, keep the session cookie.
   The htmx CSRF token (``X-CSRFToken``) is read from the ``hx-headers`` of a page.
4. Runs each scenario at each concurrency for a fixed duration after a short warm-up.
   Every client is a thread with one persistent ``http.client`` connection (gunicorn's
   sync worker closes it after each response; the client then reconnects, as a browser
   would):

   - healthz   GET /healthz (JSON, one ``SELECT 1``): the ceiling of the stack.
   - page      GET /lots, the full page, no filter (every eligible lot is ranked).
   - fragment  GET /lots with ``HX-Request: true`` and varied filters (storage,
               max_km, category, sometimes page 2): the results fragment htmx swaps in.
   - claim     POST /lots/<id>/claim (htmx, ``X-CSRFToken``) of a small part of a
               random divisible lot that this client saw in its own fragment. 201
               (claimed) and 409 (someone was faster / not enough left) are both valid
               outcomes and counted separately; anything else is an error.

   Latency is wall time per request as seen by the client (connect included when the
   server closed the previous one). req/s = completed requests / elapsed time.
5. Prints a table (scenario, clients, requests, req/s, p50, p95, p99 in ms, errors) and
   the target check of issue #3: fragment p95 <= 100 ms at 8 clients.

The load generator shares the machine (and its cores) with gunicorn and PostgreSQL;
numbers are for the whole box, not for the server alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SECRET_KEY = "maillon-bench-not-secret"
DEMO_PASSWORD = "maillon-demo"
USER_AGENT = "maillon-bench/1"
MIN_OPEN_LOTS = 10_000
TARGET_P95_MS = 100.0
SCENARIOS = ("healthz", "page", "fragment", "claim")
CATEGORIES = (
    "fruit_veg",
    "bakery",
    "dairy",
    "meat_fish",
    "ready_meals",
    "dry_goods",
    "drinks",
    "frozen",
    "baby",
)
STORAGES = ("chilled", "ambient", "frozen")

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE_ATTR = re.compile(r'value="([^"]*)"')
HX_CSRF = re.compile(r'"X-CSRFToken":\s*"([^"]+)"')
CARD = re.compile(r'<article id="lot-(\d+)"(.*?)</article>', re.S)
KG_INPUT = re.compile(r'<input type="text" name="kg" value="([0-9.eE+-]+)"')
MIN_PART = re.compile(r"min\.\s*([0-9][0-9.,\s\u00a0\u202f]*)\s*kg")


def _bin(name: str) -> str:
    for folder in (ROOT / ".venv" / "bin", Path(sys.executable).parent):
        if (folder / name).exists():
            return str(folder / name)
    raise SystemExit(f"{name} not found in .venv/bin: run `make install` first")


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class CpuMeter:
    """CPU seconds used by the server (gunicorn master and workers), by the PostgreSQL
    backends serving the bench database, by this process (the load generator) and by
    everything else on the machine, from /proc. On a shared machine these say how much
    of the box the stack really got, and the per-request costs do not depend on it."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, stack: Stack):
        self.stack = stack

    @classmethod
    def _pid_cpu(cls, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / cls.TICK  # utime + stime

    @staticmethod
    def _children(ppid: int) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == ppid:
                        pids.append(int(entry.name))
                except (OSError, IndexError, ValueError):
                    continue
        return pids

    @classmethod
    def _machine_busy(cls) -> float:
        try:
            cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except OSError:
            return 0.0
        values = [int(v) for v in cpu]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        guest = sum(values[8:10]) if len(values) > 9 else 0  # already in user/nice
        return (sum(values) - idle - guest) / cls.TICK

    def sample(self) -> dict[str, object]:
        server = self.stack.server
        app = {}
        if server is not None:
            for pid in [server.pid] + self._children(server.pid):
                app[pid] = self._pid_cpu(pid)
        db = {pid: self._pid_cpu(pid) for pid in self.stack.backend_pids()}
        return {
            "app": app,
            "db": db,
            "gen": time.process_time(),
            "machine": self._machine_busy(),
            "wall": time.perf_counter(),
        }

    @staticmethod
    def delta(before: dict, after: dict) -> dict[str, float]:
        def tree(key: str) -> float:
            return sum(v - before[key].get(pid, 0.0) for pid, v in after[key].items())

        app, db, gen = tree("app"), tree("db"), after["gen"] - before["gen"]
        machine = after["machine"] - before["machine"]
        return {
            "app": app,
            "db": db,
            "gen": gen,
            "other": max(0.0, machine - app - db - gen),
            "wall": after["wall"] - before["wall"],
        }


# -- database and server ----------------------------------------------------------------


class Stack:
    """The database and the gunicorn server of one run; ``close`` undoes both."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.db_name = f"maillon_bench_{os.getpid()}"
        self.admin_url = f"{args.pg.rstrip('/')}/postgres"
        self.db_url = f"{args.pg.rstrip('/')}/{self.db_name}"
        self.db_created = False
        self.server: subprocess.Popen | None = None
        self.port = 0
        self.tmp = tempfile.TemporaryDirectory(prefix="maillon-bench-")
        self.error_log = Path(self.tmp.name) / "gunicorn.log"
        self.env = dict(
            os.environ,
            DATABASE_URL=self.db_url,
            SECRET_KEY=SECRET_KEY,
            FLASK_APP="app",
            SCHEDULER_ENABLED="0",
            MAIL_ENABLED="0",
            PYTHONUNBUFFERED="1",
        )

    # database
    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def _flask(self, *argv: str) -> str:
        done = subprocess.run(
            [_bin("flask"), "--app", "app", *argv],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"flask {' '.join(argv)} failed ({done.returncode})")
        return (done.stdout + done.stderr).strip()

    def create_database(self) -> None:
        _log(f"creating database {self.db_name}")
        self._admin(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True
        self._flask("db", "upgrade")
        started = time.perf_counter()
        out = self._flask("demo", "seed", "--scale", str(self.args.scale))
        _log(
            f"seed --scale {self.args.scale}: {out.splitlines()[-1]} "
            f"({time.perf_counter() - started:.0f} s)"
        )
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as conn:
            conn.execute("ANALYZE")

    def open_lots(self) -> int:
        return self.query(
            "SELECT count(*) FROM lot WHERE status = 'open' AND remaining_g > 0 "
            "AND pickup_until > now() AND (expires_at IS NULL OR expires_at > now())"
        )[0][0]

    def beneficiary_emails(self, count: int, seed: int) -> list[str]:
        rows = self.query(
            "SELECT u.email FROM user_account u JOIN organisation o ON o.id = u.organisation_id "
            "WHERE o.kind IN ('cpas', 'association') AND o.verification = 'verified' "
            "AND u.active AND EXISTS (SELECT 1 FROM convention c WHERE c.beneficiary_id = o.id "
            "AND c.status = 'active') ORDER BY u.id"
        )
        emails = [r[0] for r in rows]
        named = [e for e in ("cpas@demo.maillon.be", "asbl@demo.maillon.be") if e in emails]
        others = [e for e in emails if e not in named]
        random.Random(seed).shuffle(others)
        chosen = (named + others)[:count]
        if len(chosen) < count:  # a tiny region: clients share accounts
            chosen = [chosen[i % len(chosen)] for i in range(count)]
        return chosen

    def backend_pids(self) -> list[int]:
        """PostgreSQL backends connected to the bench database (not this query's own)."""
        if not self.db_created or not Path("/proc").is_dir():
            return []
        try:
            rows = self.query(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.db_name,),
            )
        except Exception:
            return []
        return [r[0] for r in rows]

    def drop_database(self) -> None:
        if self.db_created:
            _log(f"dropping database {self.db_name}")
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self.db_created = False

    # server
    def start_server(self) -> None:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            self.port = sock.getsockname()[1]
        argv = [
            _bin("gunicorn"),
            "wsgi:app",
            "-w",
            str(self.args.workers),
            "-b",
            f"{HOST}:{self.port}",
            "--timeout",
            "120",
            "--error-logfile",
            str(self.error_log),
            "--log-level",
            "warning",
        ]
        if self.args.threads > 1:
            argv += ["--threads", str(self.args.threads)]
        helptext = subprocess.run([argv[0], "--help"], capture_output=True, text=True).stdout
        if "--no-control-socket" in helptext:
            # gunicorn >= 24 listens on ~/.gunicorn/gunicorn.ctl by default, one path
            # shared by every gunicorn of the user: this server needs none.
            argv.append("--no-control-socket")
        _log(f"gunicorn: {' '.join(argv[1:])}")
        # Its own session: Ctrl-C reaches only this script, which then stops it cleanly.
        self.server = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise SystemExit(
                    f"gunicorn exited ({self.server.returncode}):\n" + self.server_log()
                )
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.25)
        raise SystemExit("gunicorn did not answer /healthz within 90 s:\n" + self.server_log())

    def server_log(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.error_log.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop_server(self) -> None:
        proc, self.server = self.server, None
        if proc is None or proc.poll() is not None:
            return
        _log("stopping gunicorn")
        proc.send_signal(signal.SIGINT)  # quick shutdown: the measurements are over
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group it leads: its workers
            proc.wait(timeout=10)

    def close(self) -> None:
        try:
            self.stop_server()
        finally:
            try:
                self.drop_database()
            finally:
                self.tmp.cleanup()


# -- HTTP clients -----------------------------------------------------------------------


class Client:
    """One signed-in browser: a cookie jar and one persistent connection."""

    def __init__(self, port: int, email: str, seed: int):
        self.port = port
        self.email = email
        self.rng = random.Random(seed)
        self.conn = http.client.HTTPConnection(HOST, port, timeout=120)
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.pool: list[tuple[int, float]] = []  # (lot id, kg to claim)

    def request(
        self, method: str, path: str, form: dict | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        head = {
            "User-Agent": USER_AGENT,
            "Accept": "text/html,application/json",
            "Accept-Language": "fr",
            "Accept-Encoding": "identity",
        }
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            head["Content-Type"] = "application/x-www-form-urlencoded"
        head.update(headers or {})
        for attempt in (1, 2):
            reused = self.conn.sock is not None
            try:
                self.conn.request(method, path, body, head)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed while idle: reconnect once.
                # (A repeated claim is safe: it carries its idempotency key.)
                self.conn.close()
                if attempt == 2 or not reused:
                    raise
        for raw in resp.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if resp.will_close:
            self.conn.close()
        return resp.status, data

    def sign_in(self) -> None:
        status, body = self.request("GET", "/login")
        match = CSRF_INPUT.search(body.decode())
        if status != 200 or not match:
            raise RuntimeError(f"GET /login: {status}, no CSRF field")
        token = VALUE_ATTR.search(match.group(0)).group(1)
        status, body = self.request(
            "POST",
            "/login",
            form={"email": self.email, "password": DEMO_PASSWORD, "csrf_token": token},
        )
        if status != 302:
            raise RuntimeError(f"POST /login as {self.email}: {status}")
        status, body = self.request("GET", "/lots")
        match = HX_CSRF.search(body.decode())
        if status != 200 or not match:
            raise RuntimeError(f"GET /lots as {self.email}: {status}, no X-CSRFToken")
        self.csrf = match.group(1)

    def fill_pool(self, pages: int = 3) -> None:
        """Divisible lots this client sees, with a small part to claim of each."""
        self.pool = []
        for page in range(1, pages + 1):
            status, body = self.request("GET", f"/lots?page={page}", headers={"HX-Request": "true"})
            if status != 200:
                raise RuntimeError(f"GET /lots?page={page} as {self.email}: {status}")
            for lot_id, card in CARD.findall(body.decode()):
                kg = KG_INPUT.search(card)
                if not kg:  # whole lot only
                    continue
                remaining = float(kg.group(1))
                found = MIN_PART.search(card)
                min_part = _number(found.group(1)) if found else 0.0
                part = max(min_part, float(self.rng.randint(1, 5)))
                if remaining >= 2 * part:
                    self.pool.append((int(lot_id), part))

    def close(self) -> None:
        self.conn.close()


def _number(text: str) -> float:
    text = re.sub(r"[\s\u00a0\u202f]", "", text)
    if "," in text:  # French: 1.234,5 or 12,5
        text = text.replace(".", "").replace(",", ".")
    return float(text)


def fragment_query(rng: random.Random) -> str:
    args: dict[str, str] = {}
    storage = rng.choice(STORAGES + ("",))
    if storage:
        args["storage"] = storage
    args["max_km"] = str(rng.choice((30, 45, 60, 80)))
    if rng.random() < 0.7:
        args["category"] = rng.choice(CATEGORIES)
    if rng.random() < 0.15:
        args["expiring_days"] = str(rng.choice((2, 5)))
    if rng.random() < 0.2:
        args["page"] = "2"
    return "/lots?" + urlencode(args)


def one_request(scenario: str, client: Client) -> tuple[int, bytes]:
    """One request of the scenario: (HTTP status, body); status 0: nothing left to do."""
    if scenario == "healthz":
        return client.request("GET", "/healthz")
    if scenario == "page":
        return client.request("GET", "/lots")
    if scenario == "fragment":
        return client.request("GET", fragment_query(client.rng), headers={"HX-Request": "true"})
    if not client.pool:
        return 0, b""
    index = client.rng.randrange(len(client.pool))
    lot_id, kg = client.pool[index]
    status, body = client.request(
        "POST",
        f"/lots/{lot_id}/claim",
        form={"kg": f"{kg:g}", "idempotency_key": uuid.uuid4().hex},
        headers={"HX-Request": "true", "X-CSRFToken": client.csrf, "HX-Target": f"claim-{lot_id}"},
    )
    if status not in (200, 201):
        client.pool.pop(index)  # as a person would: try another lot
    return status, body


def _message(body: bytes) -> str:
    """The first words of an HTML or JSON answer, for the notes."""
    text = re.sub(r"<[^>]+>", " ", body.decode(errors="replace"))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:70]


# -- measurement ------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    clients: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    exceptions: int = 0
    idle_clients: int = 0
    messages: dict[int, str] = field(default_factory=dict)  # first body per odd status
    cpu: dict[str, float] = field(default_factory=dict)  # CpuMeter.delta of the phase

    def per_request_ms(self, key: str) -> float:
        return self.cpu.get(key, 0.0) / self.requests * 1000 if self.requests else float("nan")

    def cores(self, key: str) -> float:
        wall = self.cpu.get("wall", 0.0)
        return self.cpu.get(key, 0.0) / wall if wall else float("nan")

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
        return ordered[rank] * 1000

    @property
    def valid(self) -> set[int]:
        return {201, 409} if self.scenario == "claim" else {200}

    @property
    def errors(self) -> int:
        return self.exceptions + sum(n for s, n in self.statuses.items() if s not in self.valid)

    def note(self) -> str:
        parts = []
        if self.scenario == "claim":
            parts.append(f"201: {self.statuses.get(201, 0)}, 409: {self.statuses.get(409, 0)}")
        odd = {s: n for s, n in self.statuses.items() if s not in self.valid}
        if odd:
            parts.append(
                "other: "
                + ", ".join(
                    f"{s}x{n}" + (f" ({self.messages[s]})" if self.messages.get(s) else "")
                    for s, n in sorted(odd.items())
                )
            )
        if self.exceptions:
            parts.append(f"exceptions: {self.exceptions}")
        if self.idle_clients:
            parts.append(f"{self.idle_clients} clients ran out of lots")
        return "; ".join(parts)


def run_scenario(
    scenario: str,
    clients: list[Client],
    duration: float,
    warmup: float,
    meter: CpuMeter | None = None,
) -> Result:
    result = Result(scenario, len(clients))
    lock = threading.Lock()
    phase = {"warm_stop": 0.0, "start": 0.0, "stop": 0.0}
    last_end = [0.0]
    cpu_before: list[dict] = []

    def begin_warmup() -> None:
        phase["warm_stop"] = time.perf_counter() + warmup

    def begin_measure() -> None:
        if meter is not None:
            cpu_before.append(meter.sample())
        phase["start"] = time.perf_counter()
        phase["stop"] = phase["start"] + duration

    # Barrier actions run before any client is released: every client sees the times.
    warm = threading.Barrier(len(clients), action=begin_warmup, timeout=600)
    measure = threading.Barrier(len(clients), action=begin_measure, timeout=600)

    def worker(client: Client) -> None:
        lat: list[float] = []
        statuses: dict[int, int] = {}
        exceptions = 0
        warm.wait()
        while time.perf_counter() < phase["warm_stop"]:
            try:
                if one_request(scenario, client)[0] == 0:
                    break
            except Exception:  # counted in the measured phase, not here
                client.conn.close()
        measure.wait()
        end = 0.0
        while True:
            began = time.perf_counter()
            if began >= phase["stop"]:
                break
            try:
                status, body = one_request(scenario, client)
            except Exception:  # connection failures, timeouts, bad responses
                client.conn.close()
                status, body = -1, b""
            end = time.perf_counter()
            if status == 0:
                with lock:
                    result.idle_clients += 1
                break
            lat.append(end - began)
            if status < 0:
                exceptions += 1
            else:
                statuses[status] = statuses.get(status, 0) + 1
                if status not in result.valid and status not in result.messages:
                    result.messages[status] = _message(body)
        with lock:
            result.latencies.extend(lat)
            result.exceptions += exceptions
            for s, n in statuses.items():
                result.statuses[s] = result.statuses.get(s, 0) + n
            last_end[0] = max(last_end[0], end)

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if meter is not None and cpu_before:
        result.cpu = CpuMeter.delta(cpu_before[0], meter.sample())
    result.elapsed = max(last_end[0], phase["stop"]) - phase["start"]
    return result


def sign_in_all(port: int, emails: list[str]) -> list[Client]:
    clients = [Client(port, email, seed=1000 + i) for i, email in enumerate(emails)]
    errors: list[BaseException] = []

    def go(chunk: list[Client]) -> None:
        try:
            for client in chunk:
                client.sign_in()
        except BaseException as error:  # reported below
            errors.append(error)

    width = 4  # parallel sign-ins: scrypt is slow on purpose
    threads = [
        threading.Thread(target=go, args=(clients[i::width],), daemon=True) for i in range(width)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"sign-in failed: {errors[0]}")
    return clients


# -- report -----------------------------------------------------------------------------


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
        "others' cores",
        "notes",
    )
    rows = [head] + [
        (
            r.scenario,
            str(r.clients),
            str(r.requests),
            f"{r.rps:.1f}",
            f"{r.pct(50):.1f}",
            f"{r.pct(95):.1f}",
            f"{r.pct(99):.1f}",
            str(r.errors),
            f"{r.per_request_ms('app'):.1f}",
            f"{r.per_request_ms('db'):.1f}",
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
            ("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(rows[0]), sep] + [line(r) for r in rows[1:]])


def target_check(results: list[Result]) -> str:
    frag = [r for r in results if r.scenario == "fragment" and r.clients == 8]
    if not frag:
        return "target fragment p95 <= 100 ms at 8 clients: NOT MEASURED"
    p95 = frag[0].pct(95)
    verdict = "PASS" if p95 <= TARGET_P95_MS and frag[0].errors == 0 else "FAIL"
    return f"target fragment p95 <= {TARGET_P95_MS:.0f} ms at 8 clients: {verdict} ({p95:.1f} ms)"


def conditions(args: argparse.Namespace, lots: int, stack: Stack) -> str:
    pg = stack.query("SHOW server_version")[0][0]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    kind = f"gthread x{args.threads}" if args.threads > 1 else "sync"
    return (
        f"{os.cpu_count()} cores, load average before the run {load}; Python "
        f"{platform.python_version()}, PostgreSQL {pg}; gunicorn {args.workers} workers "
        f"({kind}); scale {args.scale}: {lots} open lots; {args.duration:g} s per "
        f"scenario after {args.warmup:g} s warm-up"
    )


# -- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: scale 8, 3 s per scenario, 1 s warm-up"
    )
    parser.add_argument("--scale", type=int, help="demo seed scale (default 80; quick 8)")
    parser.add_argument("--duration", type=float, help="seconds per scenario (default 10)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds (default 2; quick 1)")
    parser.add_argument("--clients", default="8,50", help="concurrency levels (default 8,50)")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"subset of {','.join(SCENARIOS)}"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1) + 1,
        help="gunicorn workers (default 2 x cores + 1)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker (default 1: sync worker)",
    )
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server URL without database",
    )
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    args.scale = args.scale or (8 if args.quick else 80)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.clients = sorted({int(x) for x in args.clients.split(",") if x.strip()})
    args.scenarios = [s for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not list((ROOT / "translations").glob("*/LC_MESSAGES/messages.mo")):
        _log("warning: message catalogs not compiled (make translations); pages in English")

    def on_term(signum, frame):  # stop cleanly on `kill` too
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C even when started as a background job (which starts with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = Stack(args)
    clients: list[Client] = []
    try:
        stack.create_database()
        lots = stack.open_lots()
        if lots < MIN_OPEN_LOTS:
            _log(f"note: {lots} open lots (< {MIN_OPEN_LOTS}; use --scale 80 for the real run)")
        stack.start_server()
        _log(f"serving on {HOST}:{stack.port}")
        emails = stack.beneficiary_emails(max(args.clients), seed=7)
        _log(f"signing in {len(emails)} beneficiary users")
        clients = sign_in_all(stack.port, emails)
        meter = CpuMeter(stack)
        header = conditions(args, lots, stack)
        results: list[Result] = []
        for scenario in args.scenarios:
            if scenario == "claim":
                for client in clients:
                    client.fill_pool()
                pools = [len(c.pool) for c in clients]
                _log(f"claim pools: {min(pools)}-{max(pools)} divisible lots per client")
            for n in args.clients:
                _log(f"{scenario} x {n} clients")
                result = run_scenario(scenario, clients[:n], args.duration, args.warmup, meter)
                results.append(result)
                _log(
                    f"  {result.requests} requests, {result.rps:.1f} req/s, "
                    f"p95 {result.pct(95):.1f} ms, errors {result.errors}; cores used: "
                    f"app {result.cores('app'):.2f}, db {result.cores('db'):.2f}, load "
                    f"generator {result.cores('gen'):.2f}, others {result.cores('other'):.2f}"
                )
        print()
        print(header)
        print()
        print(table(results))
        print()
        print(target_check(results))
        if any(r.errors for r in results):
            log = stack.server_log()
            if log:
                print("\nlast lines of the gunicorn error log:\n" + log)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "conditions": header,
                        "results": [
                            {
                                "scenario": r.scenario,
                                "clients": r.clients,
                                "requests": r.requests,
                                "rps": r.rps,
                                "p50_ms": r.pct(50),
                                "p95_ms": r.pct(95),
                                "p99_ms": r.pct(99),
                                "errors": r.errors,
                                "statuses": r.statuses,
                                "exceptions": r.exceptions,
                                "messages": r.messages,
                                "cpu_s": r.cpu,
                            }
                            for r in results
                        ],
                        "target": target_check(results),
                    },
                    indent=2,
                )
            )
        return 0
    except KeyboardInterrupt:
        _log("interrupted")
        return 130
    finally:
        for client in clients:
            client.close()
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
