"""The demo region's past (surplus/demo_history.py): months of lots, claims and runs that
keep every rule the services keep, so the reports have true figures to show.

The tests read the region seeded once per backend for the whole run (``seeded_demo`` of
``tests/conftest.py``), on a pinned date so that a run crossing midnight still compares
like with like; the determinism test seeds it again on that date.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from sqlalchemy import and_, func, or_, select

from surplus import demo
from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Convention,
    Event,
    Lot,
    LotStatus,
    Organisation,
    Run,
    Stop,
    StopKind,
    StorageClass,
)
from surplus.services import eligibility, food_safety
from surplus.services.reports.ledger import delivered_at, moments, picked_up_at
from surplus.services.reports.period import local_day, month_key
from surplus.services.runs import local_time
from tests.conftest import DemoCopy


@pytest.fixture
def today(backend: str, seeded_demo) -> date:
    """The date the region was seeded on."""
    return seeded_demo.today(backend)


def _seed(app, today: date) -> None:
    with pytest.MonkeyPatch.context() as mp, app.app_context():
        mp.setattr(demo, "local_today", lambda: today)
        demo.seed(db.session)
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, seeded_demo) -> Iterator[Callable[[str], str]]:
    """``seeded(backend)``: the URI of the module's copy of the run's seeded demo region
    (``seeded_demo`` of ``tests/conftest.py``) on that backend, made on first use."""
    copies: dict[str, DemoCopy] = {}

    def build(backend: str) -> str:
        if backend not in copies:
            copies[backend] = seeded_demo.copy(backend, tmp_path_factory.mktemp("history"))
        return copies[backend].uri

    yield build
    for copy in copies.values():
        copy.drop()


@pytest.fixture
def database_uri(backend: str, seeded) -> str:
    """The module's seeded region (read only) instead of an empty database."""
    return seeded(backend)


def _past_lots(today: date) -> list[Lot]:
    """The history's lots: their pickup windows closed before today."""
    return list(
        db.session.scalars(
            select(Lot).where(Lot.pickup_until < local_time(today, "00:00")).order_by(Lot.id)
        )
    )


def _delivered(session):
    """Delivered claims of the history with their lot and the moment of their drop-off
    (today's demo depots hold claims received at the door, without a pickup stop)."""
    done = delivered_at()
    return session.execute(
        select(Claim, Lot, done.c.at)
        .join(Lot, Lot.id == Claim.lot_id)
        .join(done, done.c.claim_id == Claim.id)
        .where(Claim.status == ClaimStatus.DELIVERED, Claim.depot_id.is_(None))
        .order_by(Claim.id)
    ).all()


def test_each_lot_conserves_its_kilograms(app, today):
    lots = _past_lots(today)
    assert len(lots) >= 200
    for lot in db.session.scalars(select(Lot)):
        live = sum(c.grams for c in lot.claims if c.is_live)
        # A cancelled claim gives its grams back; a withdrawn one does not (claims.py).
        taken = sum(c.grams for c in lot.claims if c.status != ClaimStatus.CANCELLED)
        assert live <= lot.weight_g, lot.id
        assert lot.remaining_g == lot.weight_g - taken, lot.id
        if lot.status == LotStatus.CLAIMED:
            assert lot.remaining_g == 0, lot.id
    assert {lot.status for lot in lots} == {
        LotStatus.CLAIMED,
        LotStatus.EXPIRED,
        LotStatus.WITHDRAWN,
    }
    past_claims = {c.status for lot in lots for c in lot.claims}
    assert past_claims == {ClaimStatus.DELIVERED, ClaimStatus.CANCELLED, ClaimStatus.WITHDRAWN}


def test_no_claim_is_delivered_after_its_use_by(app, today):
    rows = _delivered(db.session)
    assert len(rows) >= 200
    pickups = picked_up_at()
    picked = dict(db.session.execute(select(pickups.c.claim_id, pickups.c.at)).all())
    for claim, lot, dropped in rows:
        assert dropped < lot.expires_at, claim.id
        assert lot.pickup_from <= picked[claim.id] <= lot.pickup_until, claim.id
        assert claim.created_at < picked[claim.id] < dropped, claim.id
        assert local_day(picked[claim.id]) == local_day(dropped), "dropped off the same day"


def test_each_delivery_was_booked_then_picked_up_then_delivered(app, today):
    rows = _delivered(db.session)
    seen = moments(db.session, [claim.id for claim, _, _ in rows])
    for claim, _, _ in rows:
        m = seen[claim.id]
        assert claim.created_at < m.booked_at < m.picked_up_at < m.delivered_at, claim.id
        assert m.added_km > 0 and m.carriers == {claim.platform_id}
    lot = rows[0][1]
    actions = db.session.scalars(
        select(Event.action)
        .where(Event.subject_type == "lot", Event.subject_id == lot.id)
        .order_by(Event.at, Event.id)
    ).all()
    assert actions[:2] == ["posted", "claimed"] and "delivered" in actions


def test_claims_go_through_a_convention_that_may_carry_the_lot(app, today):
    claims = db.session.scalars(
        select(Claim).join(Lot).where(Lot.pickup_until < local_time(today, "00:00"))
    ).all()
    for claim in claims:
        conv = db.session.get(Convention, claim.convention_id)
        assert (conv.beneficiary_id, conv.platform_id) == (claim.beneficiary_id, claim.platform_id)
        day = local_day(claim.created_at)
        channel = next(
            ch
            for ch in eligibility.channels(db.session, claim.beneficiary, day)
            if ch.convention.id == conv.id
        )
        assert eligibility.channel_accepts(channel, claim.lot), claim.id


def test_fse_plus_is_delivered_only_through_conventions_allowing_it(app, today):
    fse = [(c, lot, at) for c, lot, at in _delivered(db.session) if lot.fse_plus]
    assert len(fse) >= 5
    for claim, lot, dropped in fse:
        assert lot.donor.is_platform
        conv = db.session.get(Convention, claim.convention_id)
        assert conv.allows_fse_plus(local_day(claim.created_at))
        assert conv.allows_fse_plus(local_day(dropped))
        assert db.session.get(Organisation, claim.beneficiary_id).distribution_mode.is_free


def test_chilled_and_frozen_hand_overs_are_within_their_limits(app, today):
    rows = db.session.execute(
        select(Stop, Lot, Run)
        .join(Claim, Claim.id == Stop.claim_id)
        .join(Lot, Lot.id == Claim.lot_id)
        .join(Run, Run.id == Stop.run_id)
        .where(Lot.storage != StorageClass.AMBIENT, Run.start_at < local_time(today, "00:00"))
    ).all()
    kinds = {(lot.storage, stop.kind) for stop, lot, _ in rows}
    assert (StorageClass.FROZEN, StopKind.DROPOFF) in kinds
    assert (StorageClass.CHILLED, StopKind.DROPOFF) in kinds
    for stop, lot, run in rows:
        assert stop.temperature_c is not None
        assert stop.temperature_c <= food_safety.limit_for(lot), stop.id
        assert run.vehicle.refrigerated
        assert run.vehicle.freezer or lot.storage != StorageClass.FROZEN


def test_history_fills_past_months_and_ends_yesterday(app, today):
    midnight = local_time(today, "00:00")
    months = {month_key(at) for _, _, at in _delivered(db.session)}
    assert len(months) >= 5
    assert db.session.scalar(select(func.max(Stop.confirmed_at))) < midnight
    lots = _past_lots(today)
    assert max(c.created_at for lot in lots for c in lot.claims) < midnight
    assert max(lot.created_at for lot in lots) < midnight
    last_event = db.session.scalar(
        select(func.max(Event.at)).where(
            Event.subject_type == "lot", Event.subject_id.in_([lot.id for lot in lots])
        )
    )
    assert last_event < midnight
    past_runs = db.session.scalars(select(Run).where(Run.start_at < midnight)).all()
    assert past_runs and all(r.status.value == "done" for r in past_runs)
    # Nothing is left for the expiry job: the past ends as expire_lots would leave it.
    due = db.session.scalar(
        select(func.count(Lot.id)).where(
            Lot.status.in_([LotStatus.OPEN, LotStatus.CLAIMED]),
            or_(
                Lot.expires_at <= midnight,
                and_(Lot.status == LotStatus.OPEN, Lot.pickup_until <= midnight),
            ),
        )
    )
    assert due == 0


def _fingerprint(today: date) -> list[tuple]:
    return [
        (lot.title, lot.weight_g, lot.remaining_g, lot.status.value, lot.created_at)
        + tuple((c.grams, c.status.value) for c in lot.claims)
        for lot in _past_lots(today)
    ]


def test_seeding_is_deterministic(app, backend, make_app, migrate, postgres, request, today):
    first = _fingerprint(today)
    if backend == "sqlite":
        path = request.getfixturevalue("tmp_path") / "again.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        uri, name = f"sqlite:///{path}", None
    else:
        name = f"maillon_again_{uuid.uuid4().hex[:8]}"
        uri = postgres.create(name)
        migrate(uri)
    try:
        with make_app(uri) as again:
            _seed(again, today)
            with again.app_context():
                second = _fingerprint(today)
                db.session.remove()
    finally:
        if name:
            postgres.drop(name)
    assert first and first == second
