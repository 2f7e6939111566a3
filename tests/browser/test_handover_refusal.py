"""A driver refuses hand-overs on a phone (390×844): chilled poultry, limit 4 °C (Reg.
(EC) 853/2004 Annex III). The card says the limit before the reading; a delivery at
4.5 °C is refused (422, the swapped card shows it) and the claim ends refused; a pickup
at 6 °C is refused and the claim's drop-off card leaves the sheet at once, so the driver
does not go and deliver refused food. The run page then shows each stop's status,
actual time, temperature and receiver; the beneficiary is told."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import (
    Claim,
    ClaimStatus,
    Notification,
    NotificationKind,
    ProductKind,
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
        _depot, _van, driver = factories.fleet_every_day(w, round_stop=False, van="Frigo")
        lots = []
        for title in ("Filets de poulet", "Cuisses de poulet"):
            lot = factories.lot(
                w.donor, kg=40, days=5, hours_open=60, category="meat_fish", title=title
            )
            lot.product_kind = ProductKind.POULTRY
            lots.append(lot)
        first, _ = claims.claim_lot(db.session, w.cpas_user, lots[0].id, 30)
        second, _ = claims.claim_lot(db.session, w.asbl_user, lots[1].id, 20)
        db.session.commit()
        run = booking.book(db.session, w.coordinator, first).run
        booking.book(db.session, w.coordinator, second, run_id=run.id)
        db.session.commit()

        def legs(claim: Claim) -> tuple[int, int]:
            pickup, drop = booking.booked_stops(db.session, claim)
            return pickup.id, drop.id

        return {
            "run": run.id,
            "driver": driver.email,
            "cpas_user": w.cpas_user.id,
            "first": (first.id, *legs(first)),
            "second": (second.id, *legs(second)),
        }

    return seed(build)


def _confirm(page: Page, stop_id: int, temperature: str, receiver: str | None = None):
    card = page.locator(f"#stop-{stop_id}")
    card.locator("input[name=temperature]").fill(temperature)
    if receiver is not None:
        card.locator("input[name=receiver]").fill(receiver)
    with page.expect_response(re.compile(rf"/runs/stops/{stop_id}/confirm$")) as answered:
        card.locator("button.confirm").click()
    return answered.value.status, card


def _expect_refused(card: Locator, has_class, reading: str) -> None:
    expect(card).to_have_class(has_class("status-rejected"))
    alert = card.locator("[role=alert].flash-error")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(reading)
    expect(alert).to_contain_text("4 °C")
    expect(card.locator(".stop-done")).to_have_class(has_class("flash-error"))
    expect(card.locator("form")).to_have_count(0)


def test_driver_refuses_too_warm_poultry_on_a_phone(
    seed, new_context, sign_in, live_app, has_class
):
    who = _seed(seed)
    first_claim, first_pickup, first_drop = who["first"]
    second_claim, second_pickup, second_drop = who["second"]

    page = new_context(**PHONE).new_page()
    sign_in(page, who["driver"])
    page.goto(f"/runs/{who['run']}/sheet")
    page.wait_for_function("typeof htmx === 'object'")
    cards = page.locator("article.stop-card")
    expect(cards).to_have_count(4)
    # The limit is on the card before the driver measures.
    expect(page.locator(f"#stop-{first_pickup} .limit")).to_contain_text("4 °C")

    # Picked up at 3 °C, then 4.5 °C at the beneficiary's door: refused.
    status, card = _confirm(page, first_pickup, "3")
    assert status == 200
    expect(card).to_have_class(has_class("status-done"))
    status, card = _confirm(page, first_drop, "4,5", "Marie Dupont")
    assert status == 422
    _expect_refused(card, has_class, "4,5")
    expect(card.locator(".stop-done")).to_contain_text("Marie Dupont")

    # The second lot is already too warm at the donor's: refused at the pickup, and its
    # drop-off card leaves the sheet.
    status, card = _confirm(page, second_pickup, "6")
    assert status == 422
    _expect_refused(card, has_class, "6")
    expect(page.locator(f"#stop-{second_drop}")).to_have_count(0)
    expect(cards).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The run page: status, actual time, temperature and receiver of each stop.
    page.goto(f"/runs/{who['run']}")
    row = page.locator(f"tr#stop-{first_drop} .stop-status")
    expect(row).to_have_class(has_class("status-rejected"))
    expect(row).to_contain_text("4,5 °C")  # |celsius, in French
    expect(row).to_contain_text("Marie Dupont")
    expect(page.locator(f"tr#stop-{first_pickup} .stop-status")).to_contain_text("3 °C")
    expect(page.locator(f"tr#stop-{second_drop}")).to_have_count(0)

    with live_app.app_context():
        try:
            assert db.session.get(Claim, first_claim).status == ClaimStatus.REFUSED
            assert db.session.get(Claim, second_claim).status == ClaimStatus.REFUSED
            assert db.session.get(Stop, first_drop).status == StopStatus.REJECTED
            assert db.session.get(Stop, second_drop) is None
            told = db.session.scalars(
                select(Notification.subject_id).where(
                    Notification.kind == NotificationKind.HANDOVER_REFUSED,
                    Notification.user_id == who["cpas_user"],
                )
            ).all()
            assert told == [first_claim]
        finally:
            db.session.remove()
