"""Recording a self-collection on a 360 px phone: sent incomplete, the form comes back
with the field marked and the entry kept, nothing wider than the screen; completed, the
claim is delivered."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surplus.extensions import db
from surplus.models import ProductKind
from surplus.services import booking, claims
from tests import factories

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def test_the_collection_form_on_a_phone(seed, new_context, sign_in):
    def build() -> dict:
        w = factories.world()
        lot = factories.lot(w.donor, kg=40, category="meat_fish", title="Filets de poulet")
        lot.product_kind = ProductKind.POULTRY
        claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
        booking.self_collect(db.session, w.cpas_user, claim)
        return {"cpas": w.cpas_user.email, "claim": claim.id}

    who = seed(build)
    page = new_context(**PHONE).new_page()
    sign_in(page, who["cpas"])
    page.goto(f"/claims/{who['claim']}")
    form = page.locator("#collection")
    expect(form).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    form.locator("input[name=temperature_c]").fill("3,5")
    # The browser's own check would stop an empty name: send it as a script would.
    form.locator("input[name=receiver]").evaluate("e => e.removeAttribute('required')")
    form.locator("button[type=submit]").click()
    receiver = page.locator("#collection input[name=receiver]")
    expect(receiver).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#collection-receiver-msg")).to_be_visible()
    expect(page.locator("#collection input[name=temperature_c]")).to_have_value("3,5")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    receiver.fill("Marie")
    page.locator("#collection button[type=submit]").click()
    expect(page.locator(".claim-status")).to_have_text("Livré")
    expect(page.locator("#collection")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
