"""A run's pick list, on SQLite and PostgreSQL: the depot team sees, zone by zone and
first expired first out, what to take from stock for each stop of the run, and the run
page links to it; other organisations find neither."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from surplus.errors import NotFound
from surplus.extensions import db
from surplus.models import Run, StopKind
from surplus.schemas.base import load
from surplus.schemas.depot import GoodsReceiptSchema
from surplus.services import booking, claims
from surplus.services.depots import receipts, stock
from surplus.services.depots.picklist import has_picks, picklist
from surplus.services.lot_dates import local_today


@pytest.fixture
def w(daily_rounds):
    w = daily_rounds
    w.team = w.driver  # a member of the platform: the depot team
    w.run = db.session.scalar(
        select(Run).where(
            Run.platform_id == w.platform.id, Run.run_date == local_today() + timedelta(days=1)
        )
    )
    db.session.commit()
    return w


def _receive(w, title, kg, days, storage="chilled", units=None, number=""):
    values = {
        "source": "outside",
        "supplier": "Grossiste",
        "title": title,
        "category": "dairy" if storage == "chilled" else "dry_goods",
        "weight_kg": kg,
        "lot_number": number,
        "date_kind": "use_by" if storage == "chilled" else "best_before",
        "date": (local_today() + timedelta(days=days)).isoformat(),
        "storage": storage,
        **({"temperature": 3} if storage == "chilled" else {}),
        **({"units": units} if units else {}),
    }
    got = receipts.receive_goods(db.session, w.team, w.depot, load(GoodsReceiptSchema(), values))
    assert got.item is not None, got.reason
    return got.item


def _from_stock(w, item, user, kg):
    """Offer the whole item, let ``user``'s organisation claim ``kg``, book it on w.run."""
    lot = stock.offer(db.session, w.coordinator, item, {})
    db.session.commit()
    claim, _ = claims.claim_lot(db.session, user, lot.id, kg)
    db.session.commit()
    booking.book(db.session, w.coordinator, claim, run_id=w.run.id)
    db.session.commit()
    return claim


@pytest.fixture
def booked(w):
    """Two chilled items (yoghurts in 6 days, cheese in 3) and dry pasta, offered from
    stock; the CPAS takes 20 kg of yoghurts and 15 kg of pasta, the association 10 kg
    of cheese, all on tomorrow's run."""
    yoghurt = _receive(w, "Yaourts", 40, 6, units=160, number="Y-1")
    cheese = _receive(w, "Fromage", 30, 3, number="F-1")
    pasta = _receive(w, "Pâtes", 50, 90, storage="ambient", number="P-1")
    db.session.commit()
    return {
        "yoghurt": (yoghurt, _from_stock(w, yoghurt, w.cpas_user, 20)),
        "cheese": (cheese, _from_stock(w, cheese, w.asbl_user, 10)),
        "pasta": (pasta, _from_stock(w, pasta, w.cpas_user, 15)),
    }


def _drop_position(run, claim):
    stop = next(s for s in run.stops if s.claim_id == claim.id and s.kind == StopKind.DROPOFF)
    return run.stops.index(stop) + 1


def test_lines_are_grouped_per_zone_first_expired_first_with_their_stops(w, booked):
    db.session.expire_all()
    zones = picklist(db.session, w.team, w.run)
    assert [(z.zone.name, z.kg) for z in zones] == [("Réserve", 15), ("Chambre froide", 30)]
    pasta, chilled = zones
    (yoghurt, y_claim), (cheese, c_claim) = booked["yoghurt"], booked["cheese"]
    assert [(line.item_id, line.product, line.kg) for line in chilled.lines] == [
        (cheese.id, "Fromage", 10),  # three days left: first out
        (yoghurt.id, "Yaourts", 20),
    ]
    first, second = chilled.lines
    assert (first.beneficiary, first.claim_id, first.lot_number) == ("ASBL Test", c_claim.id, "F-1")
    assert (second.beneficiary, second.claim_id, second.units) == ("CPAS Test", y_claim.id, 80)
    assert first.to_position == _drop_position(w.run, c_claim)
    assert second.to_position == _drop_position(w.run, y_claim)
    assert first.to_eta is not None and first.best_date == local_today() + timedelta(days=3)
    assert chilled.units == 80  # only the yoghurts are counted in units
    (line,) = pasta.lines
    assert (line.item_id, line.kg, line.beneficiary) == (booked["pasta"][0].id, 15, "CPAS Test")
    assert has_picks(db.session, w.run)


def test_a_run_without_stock_pickups_has_an_empty_pick_list(w):
    assert picklist(db.session, w.team, w.run) == []
    assert not has_picks(db.session, w.run)


def test_only_the_run_s_platform_reads_its_pick_list(w, booked):
    for outsider in (w.other_coordinator, w.cpas_user):
        with pytest.raises(NotFound):
            picklist(db.session, outsider, w.run)


def test_the_page_lists_the_picks_and_the_run_page_links_to_it(w, booked, login_as):
    team = login_as(w.team)
    page = team.get(f"/runs/{w.run.id}/picklist")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index("Fromage") < html.index("Yaourts")  # first expired first
    assert "Chambre froide" in html and "Réserve" in html and "ASBL Test" in html
    assert f"/runs/{w.run.id}/picklist" in team.get(f"/runs/{w.run.id}").get_data(as_text=True)


def test_the_page_is_not_found_for_other_organisations(w, booked, login_as):
    other = login_as(w.other_coordinator)
    assert other.get(f"/runs/{w.run.id}/picklist").status_code == 404
    assert login_as(w.cpas_user).get(f"/runs/{w.run.id}/picklist").status_code == 404


def test_no_link_when_the_run_takes_nothing_from_stock(w, login_as):
    coordinator = login_as(w.coordinator)
    assert "/picklist" not in coordinator.get(f"/runs/{w.run.id}").get_data(as_text=True)
