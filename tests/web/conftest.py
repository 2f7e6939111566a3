"""Shared by the bad-input corpus (``test_bad_input.py``) and the schemathesis run
(``test_schemathesis.py``): the seeded demo region, the demo accounts signed in, a
fingerprint of the whole database, its invariants, and the server errors a request raised.

The demo region takes seconds to seed, so it is seeded once per backend for the whole
run (``seeded_demo`` of ``tests/conftest.py``); a copy of it, per backend and session,
is the template of this directory's tests, with its first jobs run and a few more rows
the tests act on (a claim, a convention and a transport agreement waiting
for a decision, an allocation proposal, an invitation). Each test that asks for
``demo_app`` runs on its own copy: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE``
on PostgreSQL. The tests of this directory that do not ask for it are not affected.

``demo_app`` does not propagate exceptions (``PROPAGATE_EXCEPTIONS`` off): a crash is the
500 a user would get, and ``server_errors`` keeps the exception and where it was raised.
"""

from __future__ import annotations

import contextvars
import hashlib
import shutil
import sqlite3
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from flask import Flask, got_request_exception
from sqlalchemy import select, text

from surplus import demo
from surplus.database import read_only_transactions
from surplus.demo_data import DEMO_PASSWORD
from surplus.extensions import db
from surplus.models import (
    AgreementStatus,
    AllocationLine,
    ClaimStatus,
    Convention,
    ConventionStatus,
    Depot,
    Lot,
    LotStatus,
    Organisation,
    Role,
    Run,
    RunTemplate,
    Stop,
    StopKind,
    StopStatus,
    StorageClass,
    TransportAgreement,
    User,
    Vehicle,
)
from tests.conftest import DemoCopy, IsolatedClient, SeededDemo

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# The demo accounts the tests act as (README, surplus/demo_data.py).
ACCOUNTS = {
    "donor": "producteur@demo.maillon.be",
    "cpas": "cpas@demo.maillon.be",
    "coordinator": "coordination@demo.maillon.be",
    "admin": "admin@demo.maillon.be",
}
LIBRAMONT = "Coopérative Terroir & Partage — hub de Libramont"
ALIMENT = "Alimen'T — plateforme provinciale du Luxembourg"
LIEGE = "Panier solidaire de Liège"
ARLON = "CPAS d'Arlon"
NEWCOMER = "Ferme des Nouveaux Champs"
INVITED = "nouvelle.recrue@demo.maillon.be"


# Over the test settings: a crash answers 500, as in production, instead of propagating.
DEMO_SETTINGS = {"PROPAGATE_EXCEPTIONS": False}


# -- the demo region, seeded once per backend -------------------------------------------


def _extra_rows(app: Flask) -> dict:
    """Rows the tests act on, made through the services, and the ids they need
    (plain values: the same in every copy of the template)."""
    from surplus.errors import DomainError
    from surplus.services import accounts, allocation, booking, claims
    from surplus.services.eligibility import conventions_for
    from surplus.services.lot_dates import local_today

    s = db.session

    def _fitting_run(s, claim) -> int:
        proposal = booking.propose(s, claim)
        assert proposal.run is not None, f"the claim fits on a run: {proposal.reasons}"
        return proposal.run.id

    def user(email: str) -> User:
        found = s.scalar(select(User).where(User.email == email))
        assert found is not None, email
        return found

    def org_id(name: str) -> int:
        found = s.scalar(select(Organisation.id).where(Organisation.name == name))
        assert found is not None, name
        return found

    donor, cpas, coordinator = (user(ACCOUNTS[k]) for k in ("donor", "cpas", "coordinator"))
    libramont, aliment, liege = org_id(LIBRAMONT), org_id(ALIMENT), org_id(LIEGE)
    assert coordinator.organisation_id == libramont
    now = datetime.now(UTC)

    lot_donor = s.scalar(
        select(Lot.id)
        .where(Lot.donor_id == donor.organisation_id, Lot.status == LotStatus.OPEN)
        .order_by(Lot.id)
    )
    assert lot_donor is not None, "the producer has an open lot"
    # Open, divisible lots offered to the CPAS of Libramont-Chevigny, with room for 2 parts.
    offered = [
        lot
        for lot in s.scalars(
            select(Lot)
            .where(
                Lot.status == LotStatus.OPEN,
                Lot.divisible.is_(True),
                Lot.fse_plus.is_(False),
                Lot.id != lot_donor,
                Lot.pickup_until > now + timedelta(hours=6),
            )
            .order_by(Lot.id)
        )
        if lot.remaining_g >= max(2 * lot.min_part_g, 10_000)
        and any(c.platform_id == libramont for c in conventions_for(s, cpas.organisation, lot))
    ]
    assert len(offered) >= 2, "two lots are offered to the CPAS of Libramont-Chevigny"
    claimed_lot, claimable = offered[0], offered[1]
    claim, _created = claims.claim_lot(
        s, cpas, claimed_lot.id, claimed_lot.min_part_kg or 5, platform_id=libramont
    )
    # A claim of a chilled lot booked on a Libramont run and picked up: its drop-off waits
    # for the driver's temperature and receiver.
    dropoff = None
    for lot in s.scalars(
        select(Lot)
        .where(
            Lot.status == LotStatus.OPEN,
            Lot.storage == StorageClass.CHILLED,
            Lot.id.not_in([lot_donor, claimed_lot.id, claimable.id]),
        )
        .order_by(Lot.id)
    ):
        if not any(c.platform_id == libramont for c in conventions_for(s, cpas.organisation, lot)):
            continue
        try:
            with s.begin_nested():
                carried, _created = claims.claim_lot(
                    s, cpas, lot.id, lot.remaining_kg, platform_id=libramont
                )
                booking.book(s, coordinator, carried)
        except DomainError:
            continue
        stops = s.scalars(
            select(Stop).where(Stop.claim_id == carried.id).order_by(Stop.position)
        ).all()
        pickup = next(stop for stop in stops if stop.kind == StopKind.PICKUP)
        dropoff = next(stop for stop in stops if stop.kind == StopKind.DROPOFF)
        pickup.status, pickup.temperature_c = StopStatus.DONE, 4.0
        pickup.confirmed_at, pickup.confirmed_by_id = now, coordinator.id
        carried.status = ClaimStatus.COLLECTED
        s.flush()
        break
    assert dropoff is not None, "a chilled lot claimed by the CPAS is booked on a run"

    conv_cpas = s.scalar(
        select(Convention.id).where(
            Convention.beneficiary_id == cpas.organisation_id,
            Convention.platform_id == libramont,
            Convention.status == ConventionStatus.ACTIVE,
        )
    )
    assert conv_cpas is not None
    # A convention and a transport agreement waiting for Libramont's decision (rows as
    # the request forms leave them).
    arlon = org_id(ARLON)
    requested = Convention(
        platform_id=libramont,
        beneficiary_id=arlon,
        status=ConventionStatus.REQUESTED,
        persons_per_week=120,
        chilled_capacity_kg=80.0,
        frozen_capacity_kg=0.0,
        accepted_categories=[],
        opening_hours={"mon": [["09:00", "12:00"]]},
        contact_name="Service social",
        contact_phone="+32 63 00 00 00",
    )
    namur_coordinator = user("coordination.namur@demo.maillon.be")
    agreement = TransportAgreement(
        carrier_id=namur_coordinator.organisation_id,
        client_id=libramont,
        status=AgreementStatus.REQUESTED,
        valid_from=local_today(),
        valid_until=None,
        note="Tournées du jeudi",
        requested_by_org_id=namur_coordinator.organisation_id,
        requested_by_id=namur_coordinator.id,
    )
    s.add_all([requested, agreement])
    s.flush()
    batch = allocation.propose(s, coordinator)
    line = s.scalar(
        select(AllocationLine.id)
        .where(AllocationLine.batch_id == batch.id)
        .order_by(AllocationLine.id)
    )
    assert line is not None, "the matcher proposes at least one line to Libramont"
    _invitation, invitation_token = accounts.invite(s, cpas, INVITED, Role.MEMBER)

    run_id, stop_id = s.execute(
        select(Run.id, Stop.id)
        .join(Stop, Stop.run_id == Run.id)
        .where(Run.platform_id == libramont, Run.start_at > now, Stop.status == StopStatus.PLANNED)
        .order_by(Run.start_at, Stop.position)
    ).first()
    facts = {
        "today": local_today().isoformat(),
        "libramont": libramont,
        "aliment": aliment,
        "liege": liege,
        "cpas_org": cpas.organisation_id,
        "lot_donor": lot_donor,
        "lot_claimable": claimable.id,
        "claim_kg": f"{max(claimable.min_part_kg, 1):g}",
        "claim": claim.id,
        "conv_cpas": conv_cpas,
        "conv_requested": requested.id,
        "agreement": agreement.id,
        "batch": batch.id,
        "line": line,
        "invitation_token": invitation_token,
        "template": s.scalar(
            select(RunTemplate.id)
            .where(RunTemplate.platform_id == libramont)
            .order_by(RunTemplate.id)
        ),
        "vehicle": s.scalar(
            select(Vehicle.id).where(Vehicle.platform_id == libramont).order_by(Vehicle.id)
        ),
        "depot": s.scalar(select(Depot.id).where(Depot.platform_id == libramont)),
        "run": run_id,
        # The run the claim above fits on (its pickup window, its date, the van's room).
        "booking_run": _fitting_run(s, claim),
        "stop_regular": stop_id,
        "stop": dropoff.id,
        "newcomer": org_id(NEWCOMER),
    }
    s.commit()
    return facts


def _api_tokens() -> dict[str, str]:
    """A bearer token per demo account, stored in the template so that it is valid on
    every copy. Its last use is put a year ahead: a request then never writes it (the
    service notes a use at most once a minute), so a request that is refused leaves
    every row as it was and the corpus can check exactly that."""
    from surplus.services import api_tokens

    secrets = {}
    for role, email in ACCOUNTS.items():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None, email
        token, secrets[role] = api_tokens.issue(db.session, user, "tests", 30 * 24 * 3600)
        token.last_used_at = datetime.now(UTC) + timedelta(days=365)
    db.session.commit()
    return secrets


def _seed_demo(app: Flask) -> dict:
    """The first jobs and the extra rows, on a copy of the run's seeded demo region."""
    with app.app_context():
        demo.first_jobs(app)  # as `flask demo seed` does
        facts = _extra_rows(app)
        facts["tokens"] = _api_tokens()
        problems = integrity_problems()
        assert not problems, f"the seeded demo region breaks the invariants: {problems}"
        db.session.remove()
    return facts


class DemoRegion:
    """The demo region with the extra rows per backend (built on first use from a copy of
    the run's seeded region, ``seeded_demo``) and its facts."""

    def __init__(self, directory: Path, seeded: SeededDemo, make_app: Callable):
        self.directory = directory
        self.seeded = seeded
        self.make_app = make_app
        self.sqlite_path: Path | None = None
        self.pg_name: str | None = None
        self.facts: dict[str, dict] = {}
        self._drops: list[Callable[[], None]] = []

    def _build(self, backend: str) -> DemoCopy:
        copy = self.seeded.copy(backend, self.directory)
        self._drops.append(copy.drop)  # dropped at the end of the session even if it fails
        with self.make_app(copy.uri, **DEMO_SETTINGS) as app:  # disposed: a template
            self.facts[backend] = _seed_demo(app)
        return copy

    def sqlite(self) -> Path:
        if self.sqlite_path is None:
            self.sqlite_path = Path(self._build("sqlite").uri.removeprefix("sqlite:///"))
        return self.sqlite_path

    def postgresql(self) -> str:
        if self.pg_name is None:
            self.pg_name = self._build("postgresql").name
        return self.pg_name

    def close(self) -> None:
        for drop in self._drops:
            drop()


@pytest.fixture(scope="session")
def demo_region(
    tmp_path_factory: pytest.TempPathFactory, seeded_demo: SeededDemo, make_app
) -> Iterator[DemoRegion]:
    region = DemoRegion(tmp_path_factory.mktemp("webdemo"), seeded_demo, make_app)
    yield region
    region.close()


def _copy(
    region: DemoRegion, backend: str, request: pytest.FixtureRequest, postgres, directory: Path
) -> tuple[str, Callable[[], None], Callable[[], None]]:
    """A new copy of the backend's demo region: its URL, how to copy the template over
    it again (nobody connected), and how to drop it."""
    if backend == "sqlite":
        template = region.sqlite()
        path = directory / f"demo-{uuid.uuid4().hex[:6]}.db"

        def recopy() -> None:
            for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
            shutil.copy(template, path)

        recopy()
        return f"sqlite:///{path}", recopy, lambda: None
    template_name = region.postgresql()
    name = f"{template_name}_{uuid.uuid4().hex[:6]}"

    def recreate() -> None:
        postgres.drop(name)
        postgres.create(name, template=template_name)

    url = postgres.create(name, template=template_name)
    return url, recreate, lambda: postgres.drop(name)


@contextmanager
def _inside(app: Flask) -> Iterator[Flask]:
    """The test's own context on ``app``, whose reads never take SQLite's write lock."""
    read_only_transactions(True)
    with app.app_context():
        yield app
        db.session.remove()
    read_only_transactions(False)


@pytest.fixture
def demo_app(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    demo_region: DemoRegion,
    postgres,
    make_app,
) -> Iterator[Flask]:
    """The application on this test's own copy of the demo region (inside an app
    context, like ``app``)."""
    uri, _recopy, drop = _copy(demo_region, backend, request, postgres, tmp_path)
    try:
        with make_app(uri, **DEMO_SETTINGS) as app:
            app.test_client_class = IsolatedClient
            with _inside(app):
                yield app
    finally:
        drop()


# -- a copy shared while untouched ------------------------------------------------------


class Workspace:
    """One copy of a backend's demo region, its application and its demo accounts signed
    in, shared by the tests that leave the database as it was: ``reset()`` copies the
    template over it again after a test that changed it. ``pristine`` is the fingerprint
    of the untouched copy."""

    def __init__(
        self,
        backend: str,
        region: DemoRegion,
        request: pytest.FixtureRequest,
        postgres,
        make_app,
        directory: Path,
    ):
        self.backend = backend
        self.uri, self._recopy, self._drop = _copy(region, backend, request, postgres, directory)
        self.facts = region.facts[backend]
        self._stack = ExitStack()
        self._stack.callback(self._drop)
        self.app = self._stack.enter_context(make_app(self.uri, **DEMO_SETTINGS))
        self.app.test_client_class = IsolatedClient
        self.cookies = {role: sign_in(self.app, email) for role, email in ACCOUNTS.items()}
        self.tokens = self.facts["tokens"]
        self._probe: sqlite3.Connection | None = None
        self.reset()  # signing in may have written (failed logins, …)
        with _inside(self.app):
            self.pristine = fingerprint()
        self.dirty: bool | None = None  # unknown until a test looks

    def changes(self) -> list[str]:
        """The tables the test changed (compared with the untouched copy)."""
        if not self._committed():
            self.dirty = False
            return []
        after = fingerprint()
        self.dirty = after != self.pristine
        return changes(self.pristine, after)

    def mark_pristine(self) -> None:
        """Take the database as it is now (with rows a test module added and committed)
        for the untouched state."""
        self.pristine = fingerprint()
        if self._probe is not None:
            self._version = self._probe.execute("PRAGMA data_version").fetchone()[0]

    def _committed(self) -> bool:
        """Whether anything was committed since the copy was made. On SQLite a
        connection of our own, which never writes, tells it exactly: ``PRAGMA
        data_version`` changes when any other connection commits, and only then (a
        commit that left every row as it was is told apart by the fingerprint). On
        PostgreSQL: assumed."""
        if self._probe is None:
            return True
        return self._probe.execute("PRAGMA data_version").fetchone()[0] != self._version

    def client(self, role: str | None):
        """A test client signed in as that demo account (``None``: signed out)."""
        client = self.app.test_client()
        if role is not None:
            client.set_cookie("session", self.cookies[role], domain=COOKIE_DOMAIN)
        return client

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def reset(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None
        with self.app.app_context():
            for engine in db.engines.values():
                engine.dispose()
        self._recopy()
        if self.backend == "sqlite":
            self._probe = sqlite3.connect(self.uri.removeprefix("sqlite:///"))
            self._version = self._probe.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
        self._stack.close()


@pytest.fixture(scope="session")
def _workspaces() -> Iterator[dict[str, Workspace]]:
    spaces: dict[str, Workspace] = {}
    yield spaces
    for space in spaces.values():
        space.close()


@pytest.fixture
def workspace(
    backend: str,
    request: pytest.FixtureRequest,
    demo_region: DemoRegion,
    postgres,
    make_app,
    tmp_path_factory: pytest.TempPathFactory,
    _workspaces: dict[str, Workspace],
) -> Iterator[Workspace]:
    """The backend's shared copy of the demo region, untouched, inside an app context.
    A test that changes the database gets it copied again afterwards."""
    space = _workspaces.get(backend)
    if space is None:
        space = _workspaces[backend] = Workspace(
            backend, demo_region, request, postgres, make_app, tmp_path_factory.mktemp("ws")
        )
    with _inside(space.app):
        try:
            yield space
        finally:
            if space.dirty is None:
                space.changes()
            if space.dirty:
                space.reset()
            space.dirty = None


# -- signed in ----------------------------------------------------------------------------

COOKIE_DOMAIN = "maillon.test"  # SERVER_NAME of the test configuration


def sign_in(app: Flask, email: str) -> str:
    """The session cookie of the demo account ``email`` on ``app``. It is signed with the
    test SECRET_KEY and carries the user's id and session version: valid on every copy."""
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    cookie = client.get_cookie("session", domain=COOKIE_DOMAIN)
    assert cookie is not None
    return cookie.value


# -- server errors ------------------------------------------------------------------------


def where_raised(error: BaseException) -> str:
    """``file:line in function`` of the innermost frame of the project's own code."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [
        f
        for f in frames
        if f.filename.startswith(str(ROOT))
        and "/.venv/" not in f.filename
        and "/tests/" not in f.filename
    ]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    path = Path(frame.filename)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return f"{shown}:{frame.lineno} in {frame.name}"


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:300]} (at {where_raised(error)})"


@contextmanager
def server_errors(app: Flask) -> Iterator[list[BaseException]]:
    """``with server_errors(app) as errors:`` the exceptions the requests raised meanwhile
    (each answered a 500)."""
    caught: list[BaseException] = []

    def record(sender: Flask, exception: BaseException, **_extra) -> None:
        caught.append(exception)

    got_request_exception.connect(record, app)
    try:
        yield caught
    finally:
        got_request_exception.disconnect(record, app)


# -- the database: fingerprint and invariants ---------------------------------------------


def _read_only(read: Callable[[], T]) -> T:
    """Run ``read`` in a copy of this context where SQLite transactions are read-only
    (deferred), so that it never waits for, nor takes, the write lock."""

    def run() -> T:
        read_only_transactions(True)
        return read()

    return contextvars.copy_context().run(run)


def fingerprint() -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row, per table (through a connection of its own)."""
    return _read_only(_fingerprint)


def _order(table) -> str:
    return ", ".join(f'"{c.name}"' for c in table.primary_key.columns)


def _fingerprint() -> dict[str, tuple[int, str]]:
    tables = [db.metadata.tables[name] for name in sorted(db.metadata.tables)]
    with db.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        if conn.dialect.name == "postgresql":  # hashed by the server, in one round trip
            cursor.execute(
                " UNION ALL ".join(
                    f"SELECT '{table.name}', count(*), md5(coalesce(string_agg(t::text, '|' "
                    f"ORDER BY {_order(table)}), '')) FROM \"{table.name}\" t"
                    for table in tables
                )
            )
            out = {name: (count, digest) for name, count, digest in cursor.fetchall()}
        else:
            out = {}
            for table in tables:
                cursor.execute(f'SELECT * FROM "{table.name}" ORDER BY {_order(table)}')
                rows = cursor.fetchall()
                digest = hashlib.sha1(repr(rows).encode("utf-8", "backslashreplace")).hexdigest()
                out[table.name] = (len(rows), digest)
        cursor.close()
        conn.rollback()
    return out


def changes(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    """The tables whose rows changed, with their row counts before → after."""
    return [
        f"{name} ({before[name][0]} → {after[name][0]} rows)"
        for name in before
        if before[name] != after.get(name)
    ]


_LIVE_CLAIMS = "('active', 'collected', 'delivered')"
_FLOATS = {
    "convention": ["chilled_capacity_kg", "frozen_capacity_kg"],
    "vehicle": ["capacity_kg"],
    "lot": ["pickup_lat", "pickup_lon"],
    "organisation": ["lat", "lon", "service_radius_km"],
    "stop": ["lat", "lon", "load_delta_kg", "temperature_c"],
    "template_stop": ["lat", "lon", "load_delta_kg"],
    "run": ["speed_kmh"],
}


def integrity_problems() -> list[str]:
    """What is wrong with the database, beyond what its constraints refuse: the engine's
    own check, lots whose kilograms do not add up with their live claims, non-finite
    numbers, NUL characters in text."""
    return _read_only(_integrity_problems)


def _integrity_problems() -> list[str]:
    problems: list[str] = []
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            check = conn.exec_driver_sql("PRAGMA quick_check").scalar()
            if check != "ok":
                problems.append(f"PRAGMA quick_check: {check}")
            orphans = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
            if orphans:
                problems.append(f"foreign keys broken: {orphans[:5]}")
        unbalanced = conn.execute(
            text(
                "SELECT l.id, l.weight_g, l.remaining_g, COALESCE(c.g, 0) FROM lot l LEFT JOIN "
                f"(SELECT lot_id, SUM(grams) AS g FROM claim WHERE status IN {_LIVE_CLAIMS} "
                "GROUP BY lot_id) c ON c.lot_id = l.id WHERE l.status IN ('open', 'claimed') "
                "AND l.weight_g - l.remaining_g <> COALESCE(c.g, 0)"
            )
        ).all()
        if unbalanced:
            problems.append(
                "lots whose claimed kilograms do not match their live claims "
                f"(id, weight_g, remaining_g, claimed_g): {unbalanced[:5]}"
            )
        wrong_status = conn.execute(
            text(
                "SELECT id, status, remaining_g FROM lot WHERE (status = 'claimed' AND "
                "remaining_g <> 0) OR (status = 'open' AND remaining_g = 0)"
            )
        ).all()
        if wrong_status:
            problems.append(f"lots whose status does not match what remains: {wrong_status[:5]}")
        for table, columns in _FLOATS.items():
            bad = " OR ".join(
                f"{c} > 1e300 OR {c} < -1e300" + ("" if sqlite else f" OR {c} = 'NaN'")
                for c in columns
            )
            rows = conn.execute(text(f"SELECT id FROM {table} WHERE {bad}")).all()
            if rows:
                problems.append(f"non-finite numbers in {table} rows {[r[0] for r in rows[:5]]}")
        if sqlite:  # PostgreSQL refuses NUL in text itself
            for table in db.metadata.sorted_tables:
                texts = [c.name for c in table.columns if c.type.python_type is str]
                if not texts:
                    continue
                where = " OR ".join(f'instr("{c}", char(0)) > 0' for c in texts)
                if conn.execute(
                    text(f'SELECT 1 FROM "{table.name}" WHERE {where} LIMIT 1')
                ).first():
                    problems.append(f"NUL characters stored in {table.name}")
        conn.rollback()
    return problems
