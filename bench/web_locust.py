"""The load of bench/web.py: one locust user class per scenario, run headless as a library.

Each user is one signed-in client (a beneficiary user of its own CPAS or association)
that sends its scenario's request again as soon as the previous answer arrived (closed
loop, no think time). Latencies, statuses and failures are taken from locust's
``request`` event while the measuring window is open: the event carries each request's
exact time (locust's own statistics round times above 100 ms to 10 ms, too coarse for a
100 ms target).

The users are ``FastHttpUser``s (geventhttpclient: a fraction of a millisecond of CPU per
request, which the bench reports as ``locust cores``). Import ``locust`` before anything
in the process imports ``ssl``: it patches the standard library for gevent on import.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

import gevent
import gevent.event
import gevent.lock
from locust import FastHttpUser, constant, task
from locust.env import Environment
from locust.exception import StopUser

DEMO_PASSWORD = "maillon-demo"
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
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]*)"')
HX_CSRF = re.compile(r'"X-CSRFToken":\s*"([^"]+)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HTMX = {"HX-Request": "true"}


def fragment_query(rng: random.Random) -> str:
    """The filters a social worker sets in the list: storage, distance, often a category,
    sometimes "expiring soon", sometimes page 2."""
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


# -- what one scenario run shares with its users ---------------------------------------


@dataclass
class Window:
    """What the users of one run share: their accounts, who is ready, and what was
    recorded while the measuring window was open."""

    emails: list[str]
    seats: itertools.count = field(default_factory=itertools.count)
    ready: int = 0
    setup_errors: list[str] = field(default_factory=list)
    recording: bool = False
    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)  # message -> count
    out_of_lots: int = 0
    one_at_a_time: gevent.lock.Semaphore = field(default_factory=gevent.lock.Semaphore)
    go: gevent.event.Event = field(default_factory=gevent.event.Event)  # all signed in

    def on_request(self, response_time, response, exception, **_kw) -> None:
        if not self.recording:
            return
        self.latencies.append(response_time / 1000)
        status = getattr(response, "status_code", None) or 0
        self.statuses[status] += 1
        if exception is not None:
            self.failures[_short(exception, status)] += 1


def _short(exception: BaseException, status: int) -> str:
    text = re.sub(r"<[^>]+>", " ", str(exception))
    text = re.sub(r"\s+", " ", text).strip()[:70]
    return f"{status}: {text}" if status else f"{type(exception).__name__}: {text}"


# -- users ------------------------------------------------------------------------------


class BenchUser(FastHttpUser):
    """One client: takes the next account of the run and signs in as a real client of
    its kind would; then sends its scenario's request without pause."""

    abstract = True
    wait_time = constant(0)
    network_timeout = 120.0
    connection_timeout = 30.0
    sign_in: str | None = "web"  # "web" (session cookie), "token" (bearer) or None

    def on_start(self) -> None:
        window: Window = self.environment.window
        seat = next(window.seats)
        self.email = window.emails[seat % len(window.emails)]
        self.rng = random.Random(1000 + seat)
        try:
            with window.one_at_a_time:  # sign-ins do not compete with each other's writes
                self.prepare()
        except Exception as error:  # reported by the bench, which then stops
            window.setup_errors.append(f"{self.email}: {error}")
            raise StopUser() from None
        window.ready += 1
        window.go.wait()  # no load while the others sign in

    def prepare(self) -> None:
        if self.sign_in == "web":
            self.web_sign_in()
        elif self.sign_in == "token":
            self.client.auth_header = f"Bearer {self.api_token()}"

    def setup(self, method: str, path: str, expect: int, **kwargs):
        """A request of the sign-in (not measured) that must answer ``expect``."""
        answer = self.client.request(method, path, name="sign-in", **kwargs)
        if answer.status_code != expect:
            raise RuntimeError(f"{method} {path}: {answer.status_code}")
        return answer

    def web_sign_in(self) -> None:
        """GET /login for the CSRF token of the form, POST /login (the session cookie is
        kept by the client's cookie jar)."""
        found = CSRF_INPUT.search(self.setup("GET", "/login", 200).text or "")
        if not found:
            raise RuntimeError("GET /login: no CSRF field")
        form = {"email": self.email, "password": DEMO_PASSWORD, "csrf_token": found.group(1)}
        self.setup("POST", "/login", 302, data=urlencode(form), headers=FORM, allow_redirects=False)

    def api_token(self) -> str:
        """POST /api/v1/token with the e-mail address and password: a bearer token."""
        json = {"email": self.email, "password": DEMO_PASSWORD, "name": "bench"}
        return self.setup("POST", "/api/v1/token", 200, json=json).json()["token"]


class Healthz(BenchUser):
    """GET /healthz (JSON, one SELECT 1): the ceiling of the stack."""

    sign_in = None

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="healthz")


class Api(BenchUser):
    """GET /api/v1/lots with a bearer token: the first page of every lot the
    organisation may receive, best placed first (no filter: all of them are ranked)."""

    sign_in = "token"

    @task
    def api(self) -> None:
        self.client.get("/api/v1/lots", name="api")


class Fragment(BenchUser):
    """GET /lots with HX-Request and varied filters: the results fragment htmx swaps in."""

    @task
    def fragment(self) -> None:
        self.client.get(fragment_query(self.rng), headers=HTMX, name="fragment")


class Page(BenchUser):
    """GET /lots: the full page, no filter (every eligible lot is ranked)."""

    @task
    def page(self) -> None:
        self.client.get("/lots", name="page")


class Claim(BenchUser):
    """htmx POST /lots/<id>/claim of a small part of a divisible lot this client sees
    (taken from the first 3 pages of the API list). 201 (claimed) and 409 (someone was
    faster, or not enough left) are both valid answers."""

    def prepare(self) -> None:
        self.web_sign_in()
        page = self.setup("GET", "/lots?max_km=1", 200)  # any page: its hx-headers
        found = HX_CSRF.search(page.text or "")
        if not found:
            raise RuntimeError("GET /lots: no X-CSRFToken")
        self.csrf = found.group(1)
        bearer = {"Authorization": f"Bearer {self.api_token()}"}
        self.pool: list[tuple[int, float]] = []  # (lot id, kg to claim)
        for number in (1, 2, 3):
            answer = self.setup("GET", f"/api/v1/lots?page={number}", 200, headers=bearer)
            for lot in answer.json()["items"]:
                part = max(lot["min_part_kg"] or 0.0, float(self.rng.randint(1, 5)))
                if lot["divisible"] and lot["remaining_kg"] >= 2 * part:
                    self.pool.append((lot["id"], part))

    @task
    def claim(self) -> None:
        if not self.pool:
            self.environment.window.out_of_lots += 1
            raise StopUser()
        index = self.rng.randrange(len(self.pool))
        lot_id, kg = self.pool[index]
        form = {"kg": f"{kg:g}", "idempotency_key": uuid.uuid4().hex}
        headers = {**FORM, **HTMX, "X-CSRFToken": self.csrf, "HX-Target": f"claim-{lot_id}"}
        with self.client.post(
            f"/lots/{lot_id}/claim",
            data=urlencode(form),
            headers=headers,
            name="claim",
            catch_response=True,
        ) as answer:
            if answer.status_code in (201, 409):
                answer.success()
            if answer.status_code != 201:
                self.pool.pop(index)  # as a person would: try another lot


SCENARIOS: dict[str, type[BenchUser]] = {
    "healthz": Healthz,
    "api": Api,
    "fragment": Fragment,
    "page": Page,
    "claim": Claim,
}


# -- one run ----------------------------------------------------------------------------


@dataclass
class Measured:
    """What a run recorded in its window, with the window's length."""

    window: Window
    elapsed: float


def run(
    scenario: str,
    host: str,
    emails: list[str],
    clients: int,
    warmup: float,
    duration: float,
    on_window=None,
) -> Measured:
    """Start ``clients`` users of the scenario, wait until they are all signed in, let them
    warm up, then record ``duration`` seconds. ``on_window(opened: bool)`` is called right
    when the window opens and closes (the CPU meter's samples)."""
    user_class = SCENARIOS[scenario]
    env = Environment(user_classes=[user_class], host=host, catch_exceptions=True)
    window = env.window = Window(emails)  # type: ignore[attr-defined]
    env.events.request.add_listener(window.on_request)
    runner = env.create_local_runner()
    try:
        runner.start(clients, spawn_rate=clients)
        deadline = time.monotonic() + 60 + 10 * clients  # sign-ins hash passwords: slow
        while window.ready + len(window.setup_errors) < clients:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{scenario}: {window.ready} of {clients} clients ready")
            gevent.sleep(0.05)
        if window.setup_errors:
            raise RuntimeError(f"{scenario}: sign-in failed: {window.setup_errors[0]}")
        window.go.set()
        gevent.sleep(warmup)
        if on_window:
            on_window(True)
        window.recording = True
        started = time.perf_counter()
        gevent.sleep(duration)
        window.recording = False
        elapsed = time.perf_counter() - started
        if on_window:
            on_window(False)
        return Measured(window, elapsed)
    finally:
        runner.quit()


def percentile(latencies: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) in milliseconds."""
    if not latencies:
        return math.nan
    ordered = sorted(latencies)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank] * 1000
