"""Allocation pages: run, review, adjust with htmx, confirm; walled per platform."""

import re

import pytest
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import AllocationBatch, AllocationLine, BatchStatus, LineStatus
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def w(app):
    w = factories.world()
    factories.lot(w.donor, kg=40, title="Yaourts")
    factories.lot(
        w.donor,
        kg=60,
        storage="ambient",
        category="dry_goods",
        date_kind="best_before",
        days=30,
        title="Pâtes",
    )
    db.session.commit()
    return w


def test_run_review_and_confirm(w, login_as):
    client = login_as(w.coordinator)
    response = client.post("/platform/allocation/")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    line_ids = [int(i) for i in re.findall(r'<tr id="line-(\d+)"', page)]
    assert line_ids
    batch_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    row = client.post(f"/platform/allocation/{batch_id}/lines/{line_ids[0]}", headers=HX)
    assert row.status_code == 200 and "line-removed" in row.get_data(as_text=True)
    bad = client.post(
        f"/platform/allocation/{batch_id}/lines/{line_ids[-1]}", data={"kg": "-1"}, headers=HX
    )
    assert bad.status_code == 422 and 'class="error"' in bad.get_data(as_text=True)
    assert client.post(f"/platform/allocation/{batch_id}/confirm").status_code == 302
    db.session.rollback()
    statuses = {
        line.id: line.status
        for line in db.session.scalars(
            select(AllocationLine).where(AllocationLine.batch_id == batch_id)
        )
    }
    assert statuses[line_ids[0]] == LineStatus.REMOVED
    assert LineStatus.CLAIMED in statuses.values()
    assert 'id="batch-result"' in client.get(f"/platform/allocation/{batch_id}").get_data(
        as_text=True
    )


def test_other_platform_and_beneficiaries_are_kept_out(w, login_as):
    login_as(w.coordinator).post("/platform/allocation/")
    db.session.rollback()
    batch = db.session.scalar(select(AllocationBatch))
    other = login_as(w.other_coordinator)
    assert other.get(f"/platform/allocation/{batch.id}").status_code == 404
    assert other.post(f"/platform/allocation/{batch.id}/confirm").status_code == 404
    assert login_as(w.cpas_user).get("/platform/allocation/").status_code == 403


def test_lot_page_shows_the_best_placed_beneficiaries(w, login_as):
    db.session.rollback()
    from surplus.models import Lot

    lot = db.session.scalar(select(Lot).where(Lot.title == "Yaourts"))
    html = login_as(w.donor_user).get(f"/lots/{lot.id}").get_data(as_text=True)
    assert 'id="best-placed"' in html and ("CPAS Test" in html or "ASBL Test" in html)


def test_the_list_tells_a_tick_that_only_booked_apart(w, login_as):
    """An unattended tick that only booked claims ran no matcher: the list says so and
    shows what it booked, rather than an empty discarded proposal."""
    db.session.add(
        AllocationBatch(
            platform_id=w.platform.id,
            unattended=True,
            status=BatchStatus.DISCARDED,
            summary={"lots": 0, "kg_offered": 0, "kg_placed": 0, "booked": 3, "unbooked": 2},
        )
    )
    db.session.commit()
    page = login_as(w.coordinator).get("/platform/allocation/").get_data(as_text=True)
    row = re.search(r"<tr><td><a [^>]*>.*?</tr>", page, re.S).group(0)
    assert "réservations seulement" in row and "3 · 2 sans tournée" in row
    assert "Rien à attribuer" not in row  # the discarded proposal's label
