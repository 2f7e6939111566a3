"""A donor corrects or extends a posted lot: the rules of the window, the kilograms
against the claims, who may, what the claimants are told; and kilograms conserved when
edits and claims run at the same instant, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from surplus.errors import Conflict, Forbidden, Invalid, NotFound
from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Event,
    Lot,
    LotStatus,
    Notification,
    NotificationKind,
    Role,
)
from surplus.services import claims, lot_edit, lots
from surplus.services.notifications import text
from tests import factories
from tests.races import race


def _events(lot: Lot) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event).where(
                Event.subject_type == "lot", Event.subject_id == lot.id, Event.action == "edited"
            )
        )
    )


def _changed_notices() -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.LOT_CHANGED)
        )
    )


def test_more_kilograms_a_new_window_and_description_reach_the_claimants(app, w):
    lot = factories.lot(w.donor, kg=100)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
    old_until = lot.pickup_until
    new_until = old_until + timedelta(hours=2)

    changed = lot_edit.edit_lot(
        db.session,
        w.donor_user,
        lot,
        {"weight_kg": 150.0, "pickup_until": new_until, "description": "Cartons de 12"},
    )

    assert (lot.weight_g, lot.remaining_g) == (150_000, 110_000)
    assert lot.pickup_until == new_until and lot.description == "Cartons de 12"
    assert changed["weight_g"] == (100_000, 150_000)
    assert changed["remaining_g"] == (60_000, 110_000)
    (event,) = _events(lot)
    assert event.before["weight_g"] == 100_000 and event.after["weight_g"] == 150_000
    assert event.after["description"] == "Cartons de 12"
    assert event.organisation_id == w.donor.id
    notices = _changed_notices()
    # The CPAS claimed twice: each of its members is told once; the donor is not told.
    assert {n.user_id for n in notices} == {w.cpas_user.id}
    with force_locale("en"):
        sentence = text.text(notices[0])
        old, new = text.when(old_until), text.when(new_until)
    assert "Cartons de 12" in sentence
    assert "100 kg" in sentence and "150 kg" in sentence
    assert f"→ {old} is now" in sentence and f"→ {new}." in sentence


def test_the_weight_never_goes_below_what_is_claimed(app, w):
    lot = factories.lot(w.donor, kg=100)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 40)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        lot_edit.edit_lot(db.session, w.donor_user, lot, {"weight_kg": 39.9})
    assert "weight_kg" in refused.value.fields
    assert refused.value.extra["claimed_kg"] == 40
    db.session.rollback()
    assert (lot.weight_g, lot.remaining_g) == (100_000, 60_000)

    lot_edit.edit_lot(db.session, w.donor_user, lot, {"weight_kg": 40.0})
    assert (lot.weight_g, lot.remaining_g, lot.status) == (40_000, 0, LotStatus.CLAIMED)
    lot_edit.edit_lot(db.session, w.donor_user, lot, {"weight_kg": 45.0})
    assert (lot.weight_g, lot.remaining_g, lot.status) == (45_000, 5_000, LotStatus.OPEN)


def test_the_window_keeps_the_food_safety_rules_of_posting(app, w):
    lot = factories.lot(w.donor, kg=100, days=2)
    now = datetime.now(UTC)
    refused_windows = [
        ({"pickup_until": lot.pickup_from - timedelta(minutes=5)}, "pickup_until"),
        ({"pickup_until": now - timedelta(minutes=1)}, "pickup_until"),
        ({"pickup_until": lot.expires_at + timedelta(hours=1)}, "pickup_until"),
        (
            {"pickup_from": lot.expires_at - timedelta(hours=1), "pickup_until": lot.expires_at},
            "pickup_from",
        ),
    ]
    for values, field in refused_windows:
        with pytest.raises(Invalid) as refused:
            lot_edit.edit_lot(db.session, w.donor_user, lot, values)
        assert field in refused.value.fields, values
    assert _events(lot) == []
    lot_edit.edit_lot(db.session, w.donor_user, lot, {"pickup_until": lot.expires_at})
    assert lot.pickup_until == lot.expires_at


def test_only_the_donor_changes_an_open_lot(app, w):
    lot = factories.lot(w.donor, kg=100)
    colleague = factories.user(w.donor, Role.MEMBER)
    lot_edit.edit_lot(db.session, colleague, lot, {"units": 12})
    assert lot.units == 12
    with pytest.raises(Forbidden):  # sees the lot (it is offered to it), may not change it
        lot_edit.edit_lot(db.session, w.cpas_user, lot, {"units": 1})
    with pytest.raises(NotFound):  # another donor does not even see it
        lot_edit.edit_lot(db.session, w.other_donor_user, lot, {"units": 1})
    lots.withdraw_lot(db.session, w.donor_user, lot, "")
    with pytest.raises(Conflict):
        lot_edit.edit_lot(db.session, w.donor_user, lot, {"description": "x"})


def test_nothing_changed_records_and_tells_nothing(app, w):
    lot = factories.lot(w.donor, kg=100)
    claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
    same = {"weight_kg": 100.0, "pickup_until": lot.pickup_until, "description": ""}
    assert lot_edit.edit_lot(db.session, w.donor_user, lot, same) == {}
    assert _events(lot) == [] and _changed_notices() == []


def test_a_whole_lot_keeps_its_weight_once_claimed_and_stock_lots_keep_theirs(app, w):
    whole = factories.lot(w.donor, kg=50, divisible=False)
    claims.claim_lot(db.session, w.cpas_user, whole.id, 50)
    db.session.commit()
    with pytest.raises(Conflict):
        lot_edit.edit_lot(db.session, w.donor_user, whole, {"weight_kg": 60.0})
    db.session.rollback()
    fresh = factories.lot(w.donor, kg=50, divisible=False)
    lot_edit.edit_lot(db.session, w.donor_user, fresh, {"weight_kg": 60.0})
    assert (fresh.weight_g, fresh.remaining_g) == (60_000, 60_000)
    part = factories.lot(w.donor, kg=50, min_part_kg=20)
    with pytest.raises(Invalid) as refused:
        lot_edit.edit_lot(db.session, w.donor_user, part, {"weight_kg": 10.0})
    assert "weight_kg" in refused.value.fields


THREADS = 24


def test_parallel_edits_and_claims_keep_the_kilograms(app, backend):
    """Half the threads claim 7 kg, half set a new weight (100 to 122 kg), at once:
    whatever wins, what remains is the weight minus the live claims, never negative."""
    w = factories.world()
    people = [factories.user(w.cpas if i % 2 else w.asbl, Role.MEMBER) for i in range(THREADS)]
    editors = [factories.user(w.donor, Role.MEMBER) for _ in range(THREADS)]
    lot = factories.lot(w.donor, kg=100, min_part_kg=1)
    db.session.commit()
    lot_id = lot.id
    jobs = [("claim", p.id, 7.0) for p in people]
    jobs += [("edit", e.id, 100.0 + i) for i, e in enumerate(editors)]

    def act(session, actor, i: int) -> str:
        kind, _user, kg = jobs[i]
        if kind == "claim":
            claims.claim_lot(session, actor, lot_id, kg)
        else:
            lot_edit.edit_lot(session, actor, session.get(Lot, lot_id), {"weight_kg": kg})
        return f"{kind} won"

    outcomes = race(app, [user_id for _kind, user_id, _kg in jobs], act)
    claimed = db.session.scalar(
        select(func.coalesce(func.sum(Claim.grams), 0)).where(
            Claim.lot_id == lot_id, Claim.status == ClaimStatus.ACTIVE
        )
    )
    weight, remaining = db.session.execute(
        select(Lot.weight_g, Lot.remaining_g).where(Lot.id == lot_id)
    ).one()
    print(f"\n[{backend}] {sorted(outcomes)}; weight {weight}, claimed {claimed}")
    assert claimed == outcomes.count("claim won") * 7000
    assert remaining == weight - claimed >= 0
    assert 100_000 <= weight <= 100_000 + (THREADS - 1) * 1000
    assert outcomes.count("edit won") >= 1
    edited = db.session.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.subject_id == lot_id, Event.action == "edited")
    )
    assert edited <= outcomes.count("edit won")
