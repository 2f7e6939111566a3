"""Nobody at a drop-off, on a 360 px phone: the driver opens the run sheet, the lot's
pickup already confirmed, opens "Personne sur place ?" on the drop-off's card, types a
note and records it. htmx swaps that card alone (no page load): it says "Personne sur
place" with the time and the note, and has nothing left to submit. The database holds
the stop missed and the claim returned. The UI is in French."""

from __future__ import annotations

import re
from datetime import UTC

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Stop,
    StopStatus,
)
from surplus.services import booking, claims, stops
from surplus.services.lot_dates import BRUSSELS
from tests import factories

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
NOTE = "Porte fermée, appelé à 10:40, pas de réponse"


def _seed(seed) -> dict:
    """The platform drives every day; the CPAS's claim is booked on a run whose pickup
    the driver (a member of the platform) has confirmed at 3 °C."""

    def build() -> dict:
        w = factories.world()
        _depot, _van, driver = factories.fleet_every_day(w)
        db.session.commit()

        lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts nature")
        claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
        db.session.commit()
        run = booking.book(db.session, w.coordinator, claim).run
        assert run is not None
        db.session.commit()
        pickup, drop = booking.booked_stops(db.session, claim)
        assert pickup.kind.value == "pickup" and drop.kind.value == "dropoff"
        assert pickup.run_id == drop.run_id == run.id
        assert stops.confirm(db.session, driver, pickup, 3).ok
        cards = db.session.scalar(select(db.func.count(Stop.id)).where(Stop.run_id == run.id))
        return {
            "run": run.id,
            "driver": driver.email,
            "claim": claim.id,
            "pickup": pickup.id,
            "drop": drop.id,
            "cards": cards,
        }

    return seed(build)


def test_the_driver_records_nobody_there_on_a_phone(
    seed, new_context, sign_in, live_app, has_class, mark_document, not_reloaded
):
    who = _seed(seed)
    drop_id = who["drop"]

    page = new_context(**PHONE).new_page()
    sign_in(page, who["driver"])
    shown = page.goto(f"/runs/{who['run']}/sheet")
    assert shown is not None and shown.status == 200
    mark_document(page)

    cards = page.locator("article.stop-card")
    expect(cards).to_have_count(who["cards"])
    pickup = page.locator(f"#stop-{who['pickup']}")
    expect(pickup).to_have_class(has_class("status-done"))
    expect(pickup.locator("details.nobody-there")).to_have_count(0)  # drop-offs only

    card = page.locator(f"#stop-{drop_id}")
    expect(card).to_have_class(has_class("status-planned"))
    details = card.locator("details.nobody-there")
    summary = details.locator("summary")
    expect(summary).to_have_text("Personne sur place ?")
    note = details.locator("input[name=note]")
    expect(note).to_be_hidden()  # closed until asked for

    summary.click()
    expect(details).to_have_attribute("open", "")
    expect(note).to_be_visible()
    button = details.get_by_role("button", name="Noter : personne sur place")
    expect(button).to_be_visible()
    # Phone-sized: the opened card does not make the sheet scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    note.fill(NOTE)
    with page.expect_response(re.compile(rf"/runs/stops/{drop_id}/nobody-there$")) as answered:
        button.click()
    assert answered.value.status == 200

    # The card was swapped in place: missed, with the time and the note, no form left.
    expect(card).to_have_class(has_class("status-missed"))
    expect(page.locator(f"#stop-{drop_id}")).to_have_count(1)  # replaced, not nested
    done = card.locator(".stop-done")
    expect(done).to_be_visible()
    expect(done).to_have_class(has_class("flash-error"))
    expect(done).to_contain_text("Personne sur place")
    expect(done).to_contain_text(NOTE)
    expect(card.locator("details.nobody-there")).to_have_count(0)
    expect(card.locator("form")).to_have_count(0)
    expect(card.locator("[role=alert]")).to_have_count(0)
    # The other cards were left alone, and the page was not loaded again.
    expect(cards).to_have_count(who["cards"])
    expect(pickup).to_have_class(has_class("status-done"))
    assert not_reloaded(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    with live_app.app_context():
        try:
            stop = db.session.get(Stop, drop_id)
            assert stop.status == StopStatus.MISSED
            assert stop.note == NOTE and stop.confirmed_at is not None
            assert db.session.get(Claim, who["claim"]).status == ClaimStatus.RETURNED
            confirmed_at = stop.confirmed_at
        finally:
            db.session.remove()
    if confirmed_at.tzinfo is None:  # SQLite gives the UTC time back naive
        confirmed_at = confirmed_at.replace(tzinfo=UTC)
    expect(done).to_contain_text(confirmed_at.astimezone(BRUSSELS).strftime("%H:%M"))
