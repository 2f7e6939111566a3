"""The FSE+ register: one row per delivered claim of an FSE+ lot, equal to the claim
(kilograms, its share of the units, the Brussels day of the drop-off, the convention's
approval number); totals per product and per month; who reads which rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from surplus import access
from surplus.errors import Forbidden, Invalid, NotFound
from surplus.extensions import db
from surplus.models import DistributionMode, Role, StopKind
from surplus.schemas.base import load
from surplus.schemas.fse_register import FseRegisterQuerySchema
from surplus.services import booking, claims, stops
from surplus.services.lot_dates import BRUSSELS, local_today
from surplus.services.reports import fse_register
from surplus.services.reports.period import Period, local_day
from tests import factories


def _fse_lot(platform, kg: float, title: str, units: int | None, number: str):
    lot = factories.lot(
        platform,
        kg=kg,
        fse_plus=True,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=60,
        title=title,
        hours_open=60,
    )
    lot.units, lot.lot_number = units, number
    return lot


def _claim_and_book(w, user, lot, kg):
    claim, _created = claims.claim_lot(db.session, user, lot.id, kg)
    booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    return claim


def pick_up(w, claim):
    pickup = next(s for s in booking.booked_stops(db.session, claim) if s.kind == StopKind.PICKUP)
    assert stops.confirm(db.session, w.driver, pickup).ok
    db.session.commit()


def deliver(w, claim):
    """Confirm the drop-off (the pickup first if not done): the claim is delivered."""
    if claim.status.value == "active":
        pick_up(w, claim)
    drop = next(s for s in booking.booked_stops(db.session, claim) if s.kind == StopKind.DROPOFF)
    assert stops.confirm(db.session, w.driver, drop, None, "Marie").ok
    db.session.commit()
    assert claim.status.value == "delivered"
    return drop


def register_world(w, deliveries: bool = True):
    """``daily_rounds``' world where the CPAS (approval FSE+/BE/1234) and the association
    (FSE+/BE/5678) are approved for FSE+, and the platform posted two FSE+ lots: ``milk``
    (60 kg, 120 units): the CPAS claims 30 kg (``cpas_claim``) and 5 kg more
    (``undelivered``: picked up only), the association 15.125 kg (``asbl_claim``); ``peas``
    (20 kg, counted by weight only): the CPAS claims it all (``peas_claim``). A producer's
    ``pasta`` lot (not FSE+): the CPAS claims 10 kg (``pasta_claim``). Every claim is
    booked on the platform's runs; with ``deliveries``, all but ``undelivered`` are
    delivered now."""
    w.cpas_convention.distribution_mode = DistributionMode.FREE_PARCELS
    w.asbl_convention.distribution_mode = DistributionMode.SOCIAL_RESTAURANT
    w.asbl_convention.fse_plus_allowed = True
    w.asbl_convention.fse_plus_approval_number = "FSE+/BE/5678"
    w.asbl_convention.fse_plus_approval_expires = local_today() + timedelta(days=200)
    w.milk = _fse_lot(w.platform, 60, "Lait UHT demi-écrémé", 120, "FSE-2026-001")
    w.peas = _fse_lot(w.platform, 20, "Petits pois en conserve", None, "FSE-2026-002")
    w.pasta = factories.lot(
        w.donor,
        kg=20,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=60,
        title="Pâtes",
        hours_open=60,
    )
    db.session.commit()
    w.cpas_claim = _claim_and_book(w, w.cpas_user, w.milk, 30)
    w.asbl_claim = _claim_and_book(w, w.asbl_user, w.milk, 15.125)
    w.undelivered = _claim_and_book(w, w.cpas_user, w.milk, 5)
    w.peas_claim = _claim_and_book(w, w.cpas_user, w.peas, 20)
    w.pasta_claim = _claim_and_book(w, w.cpas_user, w.pasta, 10)
    pick_up(w, w.undelivered)
    if deliveries:
        for claim in (w.cpas_claim, w.asbl_claim, w.peas_claim, w.pasta_claim):
            deliver(w, claim)
    return w


@pytest.fixture
def r(daily_rounds):
    return register_world(daily_rounds)


def _rows(user, period=None, organisation_id=None):
    scope = access.fse_register_claims(user, organisation_id)
    return fse_register.register_rows(db.session, scope, period or factories.today_period())


def test_each_delivered_fse_claim_is_a_row_equal_to_the_claim(r):
    rows = _rows(r.coordinator)
    by_claim = {row.claim_id: row for row in rows}
    # Not the pasta (not FSE+), not the 5 kg only picked up.
    assert set(by_claim) == {r.cpas_claim.id, r.asbl_claim.id, r.peas_claim.id}
    milk = by_claim[r.cpas_claim.id]
    drop = next(
        s for s in booking.booked_stops(db.session, r.cpas_claim) if s.kind == StopKind.DROPOFF
    )
    assert (milk.product, milk.lot_number, milk.kg, milk.units) == (
        "Lait UHT demi-écrémé",
        "FSE-2026-001",
        r.cpas_claim.kg,
        60,  # 30 kg of a 60 kg lot of 120 units
    )
    assert milk.received_on == local_day(drop.confirmed_at) == local_today()
    assert milk.organisation_id == r.cpas.id and milk.platform_id == r.platform.id
    assert milk.approval_number == "FSE+/BE/1234"
    asbl = by_claim[r.asbl_claim.id]
    assert (asbl.kg, asbl.units) == (15.125, 30)  # to the gram; 30.25 units rounded
    assert by_claim[r.asbl_claim.id].approval_number == "FSE+/BE/5678"
    assert by_claim[r.peas_claim.id].units is None and by_claim[r.peas_claim.id].kg == 20
    assert sum(row.grams for row in rows) == sum(
        c.grams for c in (r.cpas_claim, r.asbl_claim, r.peas_claim)
    )
    # Ordered by received day, then organisation.
    assert [row.organisation_name for row in rows] == sorted(row.organisation_name for row in rows)


def test_totals_per_product_and_per_month_add_up_the_rows(r):
    rows = _rows(r.coordinator)
    products = fse_register.totals_by_product(rows)
    assert [(t.key, t.kg, t.units, t.deliveries) for t in products] == [
        ("Lait UHT demi-écrémé", 45.125, 90, 2),
        ("Petits pois en conserve", 20, None, 1),
    ]
    months = fse_register.totals_by_month(rows)
    assert [(t.key, t.kg, t.units) for t in months] == [(local_today().replace(day=1), 65.125, 90)]
    groups = fse_register.by_organisation(rows)
    assert [(g.organisation_id, g.kg) for g in groups] == [(r.asbl.id, 15.125), (r.cpas.id, 50)]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def test_received_on_is_the_brussels_day_of_the_drop_off(daily_rounds, monkeypatch):
    """Delivered at 23:30 UTC on the last day of last month, the CPAS received its milk
    on the 1st of this month in Brussels; the association's, at noon that last day."""
    w = register_world(daily_rounds, deliveries=False)
    last = local_today().replace(day=1) - timedelta(days=1)
    first = last + timedelta(days=1)
    moment = {"at": _at(last, 12)}
    monkeypatch.setattr(stops, "utcnow", lambda: moment["at"])
    deliver(w, w.asbl_claim)
    moment["at"] = _at(last, 23, 30)
    deliver(w, w.cpas_claim)
    cpas_drop = next(
        s for s in booking.booked_stops(db.session, w.cpas_claim) if s.kind == StopKind.DROPOFF
    )
    assert cpas_drop.confirmed_at.astimezone(BRUSSELS).date() == first
    assert [row.claim_id for row in _rows(w.coordinator, Period(last, last))] == [w.asbl_claim.id]
    assert [row.claim_id for row in _rows(w.coordinator, Period(first, first))] == [w.cpas_claim.id]
    both = _rows(w.coordinator, Period(last, first))
    assert [row.received_on for row in both] == [last, first]
    months = fse_register.totals_by_month(both)
    assert [(t.key, t.kg) for t in months] == [(last.replace(day=1), 15.125), (first, 30)]
    assert _rows(w.coordinator, Period(last - timedelta(days=3), last - timedelta(days=1))) == []


def test_each_reader_sees_its_own_part(r):
    admin = factories.user(r.donor, Role.SITE_ADMIN)
    db.session.commit()
    assert {row.claim_id for row in _rows(admin)} == {
        r.cpas_claim.id,
        r.asbl_claim.id,
        r.peas_claim.id,
    }
    # Another platform's coordinator: none of these went through it.
    assert _rows(r.other_coordinator) == []
    # A beneficiary: its own deliveries only.
    assert {row.claim_id for row in _rows(r.cpas_user)} == {r.cpas_claim.id, r.peas_claim.id}
    assert {row.claim_id for row in _rows(r.asbl_user)} == {r.asbl_claim.id}
    # A coordinator narrows to one beneficiary of its network.
    only = _rows(r.coordinator, organisation_id=r.asbl.id)
    assert [row.claim_id for row in only] == [r.asbl_claim.id]


def test_donors_and_other_members_keep_no_register(r):
    for user in (r.donor_user, r.driver):  # a donor; a platform's driver (member)
        with pytest.raises(Forbidden):
            access.fse_register_claims(user)
        assert not access.may_read_fse_register(user)


def test_an_organisation_outside_the_readers_is_not_found(r):
    elsewhere = factories.org("cpas", name="CPAS Ailleurs", mode="free_parcels")
    factories.convention(r.other_platform, elsewhere, fse=True)
    admin = factories.user(r.donor, Role.SITE_ADMIN)
    db.session.commit()
    for user, org_id in (
        (r.coordinator, elsewhere.id),  # not in its network
        (r.other_coordinator, r.cpas.id),
        (r.cpas_user, r.asbl.id),  # another beneficiary
        (admin, 2_000_000_000),  # no such organisation
    ):
        with pytest.raises(NotFound):
            access.fse_register_claims(user, org_id)
    network = access.fse_register_organisations(r.coordinator)
    assert [o.name for o in network] == ["ASBL Test", "CPAS Test"]
    assert access.fse_register_organisations(r.cpas_user) == []


def test_the_query_is_a_bounded_period_and_an_id(app):
    values = load(FseRegisterQuerySchema(), {"from": "2026-01-01", "to": "2026-01-31"})
    assert (values["start"], values["end"], values["organisation_id"]) == (
        date(2026, 1, 1),
        date(2026, 1, 31),
        None,
    )
    for bad in (
        {"organisation_id": "abc"},
        {"organisation_id": "0"},
        {"from": "2026-02-01", "to": "2026-01-01"},
        {"from": "01/02/2026"},
    ):
        with pytest.raises(Invalid):
            load(FseRegisterQuerySchema(), bad)
