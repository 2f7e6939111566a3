"""A holder answers a recall on a phone (390×844, and the page holds at 360 px): the
CPAS, which received 30 kg of the recalled chilled poultry, opens the recall from its
notification, sees its own figures, sends too many kilograms (422, the field is marked,
its entries kept), then 29,5 kg destroyed; its answer shows on the page, and the recall
stays open while the association, with 20 kg still in transit, has not answered."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from surplus.extensions import db
from surplus.models import ClaimStatus, ProductKind, Recall, RecallAction
from surplus.services import claims, recalls
from tests import factories

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _seed(seed) -> dict:
    def build() -> dict:
        w = factories.world()
        lot = factories.lot(
            w.donor, kg=60, days=5, hours_open=60, category="meat_fish", title="Filets de poulet"
        )
        lot.product_kind = ProductKind.POULTRY
        lot.lot_number = "L-4711"
        delivered, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
        in_transit, _ = claims.claim_lot(db.session, w.asbl_user, lot.id, 20)
        delivered.status = ClaimStatus.DELIVERED
        in_transit.status = ClaimStatus.COLLECTED
        db.session.flush()
        recall = recalls.open_recall(db.session, w.donor_user, lot, "Listeria monocytogenes")
        return {"recall": recall.id, "lot": lot.id, "cpas": w.cpas_user.email}

    return seed(build)


def test_a_holder_acknowledges_a_recall_on_a_phone(seed, new_context, sign_in, live_app):
    who = _seed(seed)
    page = new_context(**PHONE).new_page()
    sign_in(page, who["cpas"])

    # The notification leads to the recall page.
    page.goto("/notifications")
    link = page.locator(f"a[href$='/recalls/{who['recall']}']").first
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(f"{page.url.split('/recalls/')[0]}/recalls/{who['recall']}")
    expect(page.locator("#recall-state")).to_have_class("flash flash-error")  # open
    mine = page.locator(".recall-holder").filter(has=page.locator("#acknowledge"))
    expect(mine).to_contain_text("CPAS Test")
    expect(mine.locator("dd").first).to_contain_text("30")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Too many kilograms: 422, the field is marked and keeps what was typed.
    form = page.locator("#acknowledge")
    form.locator("input[value=destroyed]").check()
    form.locator("input[name=kg]").fill("31")
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        form.locator("button[type=submit]").click()
    assert answered.value.status == 422
    kg = page.locator("#acknowledge input[name=kg]")
    expect(kg).to_have_attribute("aria-invalid", "true")
    expect(kg).to_have_value("31")
    expect(page.locator("#ack-kg-msg")).to_be_visible()
    expect(page.locator("#acknowledge input[value=destroyed]")).to_be_checked()

    # 29,5 kg destroyed: recorded; the recall waits for the association.
    page.locator("#acknowledge input[name=kg]").fill("29,5")
    page.locator("#acknowledge button[type=submit]").click()
    expect(page.locator("#acknowledge")).to_have_count(0)
    expect(page.locator(".flash-success").first).to_be_visible()
    holders = page.locator(".recall-holder")
    expect(holders.filter(has_text="CPAS Test")).to_contain_text(re.compile(r"29[,.]5"))
    expect(holders.filter(has_text="ASBL Test")).to_contain_text("20")
    expect(page.locator("#recall-state")).to_have_class("flash flash-error")  # still open

    page.set_viewport_size({"width": 360, "height": 780})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    with live_app.app_context():
        try:
            recall = db.session.get(Recall, who["recall"])
            [cpas] = [h for h in recall.holders if h.ack_at is not None]
            assert cpas.ack_action == RecallAction.DESTROYED and cpas.ack_g == 29_500
            assert recall.is_open
        finally:
            db.session.remove()
