"""A social worker on a phone (360×740) filters the lot list, goes to the map with the
same filters, sees the lots' markers (two lots at one farm share one) and opens a lot
from a popup; the page holds at 360 px, with no tile loaded here."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def test_the_map_keeps_the_lists_filters_on_a_phone(seed, new_context, sign_in):
    def build() -> dict:
        w = factories.world()
        yoghurt = factories.lot(w.donor, title="Yaourts", storage="chilled")
        factories.lot(w.donor, title="Fromage frais", storage="chilled", days=2)
        factories.lot(w.other_donor, title="Pâtes", storage="ambient", category="dry_goods")
        return {"email": w.cpas_user.email, "yoghurt": yoghurt.id}

    who = seed(build)
    page = new_context(**PHONE).new_page()
    sign_in(page, who["email"])

    # A filter chosen on the list (through htmx) goes with the link to the map.
    page.goto("/lots")
    page.wait_for_function("typeof htmx === 'object'")
    with page.expect_response(re.compile(r"/lots\?.*storage=chilled")):
        page.locator("select[name=storage]").select_option("chilled")
    page.locator("main a[href^='/lots/map']").click()
    expect(page).to_have_url(re.compile(r"/lots/map\?storage=chilled$"))
    expect(page.locator("select[name=storage]")).to_have_value("chilled")

    # Both chilled lots are at the farm: one marker for two; the CPAS is marked too.
    expect(page.locator("#lot-map .org-pin")).to_have_count(1)
    pins = page.locator("#lot-map .lot-pin")
    expect(pins).to_have_count(1)
    expect(pins).to_have_text("2")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    pins.click()
    link = page.locator(f".leaflet-popup a[href='/lots/{who['yoghurt']}']")
    expect(link).to_be_visible()
    # The popup opens upwards and the map pans to show it whole (Leaflet's autoPan, a
    # quarter-second animation): a tap during the pan can land on the map, which closes
    # the popup instead of following the link. Tap once the pane has stopped moving.
    expect(page.locator("#lot-map .leaflet-pan-anim")).to_have_count(0)
    link.click()
    expect(page).to_have_url(re.compile(rf"/lots/{who['yoghurt']}$"))
