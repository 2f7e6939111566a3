"""The driver's sheet on a phone: a platform member opens tomorrow's run, finds the stop
cards in the run's order, confirms a chilled lot's pickup and delivery in range, picks
up a second chilled lot and has its delivery refused for a too-warm reading (422, the
card swapped by htmx shows the refusal). The database then holds the claims' statuses
(the refused one ends refused) and the refusal's event. Selectors are ids, names and
classes: the UI is in French."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Event,
    Stop,
    StopStatus,
)
from surplus.services import booking, claims
from tests import factories

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _seed(seed) -> dict:
    def build() -> dict:
        w = factories.world()
        _depot, _van, driver = factories.fleet_every_day(w)
        db.session.commit()

        first_lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Yaourts nature")
        second_lot = factories.lot(w.donor, kg=40, days=5, hours_open=60, title="Fromage blanc")
        first, _ = claims.claim_lot(db.session, w.cpas_user, first_lot.id, 30)
        second, _ = claims.claim_lot(db.session, w.asbl_user, second_lot.id, 20)
        db.session.commit()
        run = booking.book(db.session, w.coordinator, first).run
        assert run is not None
        booking.book(db.session, w.coordinator, second, run_id=run.id)
        db.session.commit()

        ordered = db.session.scalars(
            select(Stop).where(Stop.run_id == run.id).order_by(Stop.position)
        ).all()
        assert [s.position for s in ordered] == list(range(len(ordered)))

        def legs(claim: Claim) -> tuple[int, int]:
            pickup, drop = [s for s in ordered if s.claim_id == claim.id]
            assert pickup.kind.value == "pickup" and drop.kind.value == "dropoff"
            return pickup.id, drop.id

        return {
            "run": run.id,
            "driver": driver.email,
            "stops": [s.id for s in ordered],
            "first": (first.id, *legs(first)),
            "second": (second.id, *legs(second)),
        }

    return seed(build)


def _confirm(
    page: Page, stop_id: int, temperature: str, receiver: str | None = None
) -> tuple[int, Locator]:
    """Fill the stop's card and submit it; returns the response status and the card."""
    card = page.locator(f"#stop-{stop_id}")
    card.locator("input[name=temperature]").fill(temperature)
    if receiver is not None:
        card.locator("input[name=receiver]").fill(receiver)
    else:
        expect(card.locator("input[name=receiver]")).to_have_count(0)
    with page.expect_response(re.compile(rf"/runs/stops/{stop_id}/confirm$")) as answered:
        card.locator("button.confirm").click()
    return answered.value.status, card


def _expect_done(card: Locator, has_class) -> None:
    expect(card).to_have_class(has_class("status-done"))
    expect(card.locator(".stop-done")).to_be_visible()
    expect(card.locator(".stop-done")).to_have_class(has_class("flash-success"))
    expect(card.locator("form")).to_have_count(0)
    expect(card.locator(".flash-error")).to_have_count(0)


def test_driver_confirms_stops_on_a_phone_and_a_too_warm_delivery_is_refused(
    seed, new_context, sign_in, live_app, has_class
):
    who = _seed(seed)
    first_claim, first_pickup, first_drop = who["first"]
    second_claim, second_pickup, second_drop = who["second"]

    page = new_context(**PHONE).new_page()
    sign_in(page, who["driver"])
    shown = page.goto(f"/runs/{who['run']}/sheet")
    assert shown is not None and shown.status == 200
    page.wait_for_function("typeof htmx === 'object'")
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")

    # One card per stop, in the run's order; every stop still to be confirmed.
    cards = page.locator("article.stop-card")
    expect(cards).to_have_count(len(who["stops"]))
    assert [cards.nth(i).get_attribute("id") for i in range(cards.count())] == [
        f"stop-{stop_id}" for stop_id in who["stops"]
    ]
    for stop_id in who["stops"]:
        expect(page.locator(f"#stop-{stop_id}")).to_have_class(has_class("status-planned"))
    for stop_id in (first_pickup, second_pickup):
        expect(page.locator(f"#stop-{stop_id}")).to_have_class(has_class("stop-pickup"))
    for stop_id in (first_drop, second_drop):
        expect(page.locator(f"#stop-{stop_id}")).to_have_class(has_class("stop-dropoff"))
    # Phone-sized: the sheet does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # (1) The first lot is picked up at 4 °C.
    status, card = _confirm(page, first_pickup, "4")
    assert status == 200
    _expect_done(card, has_class)

    # (2) ... and delivered at 5 °C, received by Marie Dupont.
    status, card = _confirm(page, first_drop, "5", "Marie Dupont")
    assert status == 200
    _expect_done(card, has_class)
    expect(card.locator(".stop-done")).to_contain_text("Marie Dupont")

    # (3) The second lot is picked up at 3 °C, then arrives at 9 °C: refused.
    status, card = _confirm(page, second_pickup, "3")
    assert status == 200
    _expect_done(card, has_class)
    status, card = _confirm(page, second_drop, "9", "Jean Martin")
    assert status == 422
    expect(card).to_have_class(has_class("status-rejected"))
    expect(card.locator("[role=alert].flash-error")).to_be_visible()
    expect(card.locator("[role=alert].flash-error")).to_contain_text(re.compile(r"(^|\D)9(\D|$)"))
    expect(card.locator(".stop-done")).to_have_class(has_class("flash-error"))
    expect(card.locator("form")).to_have_count(0)

    # The other cards were left alone by the swaps.
    expect(cards).to_have_count(len(who["stops"]))
    for stop_id in (first_pickup, first_drop, second_pickup):
        expect(page.locator(f"#stop-{stop_id}")).to_have_class(has_class("status-done"))

    with live_app.app_context():
        try:
            assert db.session.get(Claim, first_claim).status == ClaimStatus.DELIVERED
            assert db.session.get(Claim, second_claim).status == ClaimStatus.REFUSED
            delivered = db.session.get(Stop, first_drop)
            assert delivered.status == StopStatus.DONE
            assert delivered.receiver_name == "Marie Dupont"
            assert delivered.temperature_c == 5
            refused = db.session.get(Stop, second_drop)
            assert refused.status == StopStatus.REJECTED and refused.temperature_c == 9
            assert db.session.scalars(
                select(Event.id).where(
                    Event.subject_type == "stop",
                    Event.subject_id == second_drop,
                    Event.action == "rejected",
                )
            ).all()
        finally:
            db.session.remove()
