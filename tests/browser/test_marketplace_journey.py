"""The marketplace journey: a producer posts a chilled lot, a CPAS finds it with the
storage filter, claims part of it, the producer sees the claim, the CPAS cancels and
the kilograms come back. Selectors are ids, names and classes: the UI is in French."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from surplus.services.lot_dates import local_today
from tests import factories

pytestmark = pytest.mark.browser


def _world(seed, *, ambient_lot: bool = False) -> dict:
    def build() -> dict:
        w = factories.world()
        info = {
            "donor": w.donor_user.email,
            "donor_org": w.donor.name,
            "cpas": w.cpas_user.email,
            "cpas_org": w.cpas.name,
        }
        if ambient_lot:
            info["ambient_lot"] = factories.lot(
                w.donor, storage="ambient", category="dry_goods", title="Pâtes"
            ).id
        return info

    return seed(build)


def test_post_filter_claim_see_cancel(
    seed, new_context, sign_in, live_server, kg_text, mark_document, not_reloaded
):
    who = _world(seed, ambient_lot=True)
    title = "Yaourts aux fruits"
    best = (local_today() + timedelta(days=5)).isoformat()

    # The producer posts a chilled, divisible lot of 120 kg.
    producer = new_context().new_page()
    sign_in(producer, who["donor"])
    producer.goto("/lots/new")
    form = producer.locator("#lot-form form")
    form.locator("#title").fill(title)
    form.locator("#category").select_option("dairy")
    form.locator("#storage").select_option("chilled")
    form.locator("#weight_kg").fill("120")
    form.locator("#date_kind").select_option("use_by")
    form.locator("#date").fill(best)
    # The page pre-fills a valid pickup window; keep it.
    expect(form.locator("#pickup_from")).to_have_value(re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d$"))
    expect(form.locator("#pickup_until")).to_have_value(re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d$"))
    form.locator("#divisible").check()
    expect(form.locator("#min_part_kg")).to_be_visible()
    form.locator("#min_part_kg").fill("10")
    form.locator("button[type=submit]").click()
    # htmx follows HX-Redirect to the new lot's page.
    expect(producer).to_have_url(re.compile(re.escape(live_server) + r"/lots/\d+$"))
    lot_id = int(producer.url.rsplit("/", 1)[1])
    expect(producer.locator("main")).to_contain_text(title)

    # The CPAS social worker filters on chilled storage: htmx swaps #results in place.
    worker = new_context().new_page()
    sign_in(worker, who["cpas"])
    worker.goto("/lots")
    card = worker.locator(f"#results #lot-{lot_id}")
    expect(card).to_be_visible()
    expect(worker.locator(f"#results #lot-{who['ambient_lot']}")).to_be_visible()
    mark_document(worker)
    with worker.expect_response(re.compile(r"/lots\?.*storage=chilled")) as listing:
        worker.locator("#filters select[name=storage]").select_option("chilled")
    assert listing.value.status == 200
    expect(worker).to_have_url(re.compile(r"[?&]storage=chilled(&|$)"))
    expect(worker.locator(f"#results #lot-{who['ambient_lot']}")).to_have_count(0)
    expect(card).to_be_visible()
    expect(card).to_contain_text(title)
    assert not_reloaded(worker)

    # … and claims 30 kg on the card.
    claim_box = worker.locator(f"#claim-{lot_id}")
    claim_box.locator("input[name=kg]").fill("30")
    with worker.expect_response(re.compile(rf"/lots/{lot_id}/claim$")) as claimed:
        claim_box.locator("button[type=submit]").click()
    assert claimed.value.status == 201
    success = claim_box.locator(".flash-success")
    expect(success).to_be_visible()
    expect(success).to_contain_text("30")
    expect(claim_box.locator(".flash-error")).to_have_count(0)
    assert not_reloaded(worker)

    # The producer sees the claim: 30 kg claimed by the CPAS, 90 kg left.
    producer.goto("/lots/mine")
    mine = producer.locator(f"#lot-{lot_id}")
    expect(mine.locator(".claimed-kg")).to_have_text(kg_text("30"))
    expect(mine.locator(".remaining-kg")).to_have_text(kg_text("90"))
    row = mine.locator("table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text(who["cpas_org"])
    expect(row.locator("td").nth(1)).to_have_text(kg_text("30"))

    # The social worker cancels the claim.
    worker.goto("/claims/")
    claim = worker.locator("main article[id^=claim-]").filter(has_text=title)
    expect(claim).to_have_count(1)
    expect(claim.locator(".claim-kg")).to_have_text(kg_text("30"))
    status_before = claim.locator(".claim-status").inner_text()
    claim.locator("form[action$='/cancel'] button[type=submit]").click()
    worker.locator("dialog.confirm-dialog button[value=confirm]").click()  # it asks first
    expect(worker.locator("main .flash-success")).to_be_visible()
    expect(worker.locator("main .flash-success")).to_contain_text("30")
    expect(claim.locator("form[action$='/cancel']")).to_have_count(0)
    expect(claim.locator(".claim-status")).not_to_have_text(status_before)

    # The producer reloads: the 30 kg are offered again.
    producer.reload()
    mine = producer.locator(f"#lot-{lot_id}")
    expect(mine.locator(".remaining-kg")).to_have_text(kg_text("120"))
    expect(mine.locator(".claimed-kg")).to_have_text(kg_text("0"))
    expect(mine.locator("table tbody tr")).to_have_count(1)  # the cancelled claim stays listed


def test_failed_post_keeps_what_was_typed(
    seed, new_context, sign_in, live_server, mark_document, not_reloaded
):
    who = _world(seed)
    page = new_context().new_page()
    sign_in(page, who["donor"])
    page.goto("/lots/new")
    mark_document(page)

    form = page.locator("#lot-form form")
    form.locator("#title").fill("Carottes bio")
    form.locator("#weight_kg").fill("0")
    with page.expect_response(re.compile(r"/lots/new$")) as posted:
        form.locator("button[type=submit]").click()
    assert posted.value.status == 422

    weight = page.locator("#lot-form #weight_kg")
    message = page.locator("#lot-form small.error#weight_kg-msg")
    expect(message).to_be_visible()
    expect(message).not_to_be_empty()
    expect(weight).to_have_attribute("aria-invalid", "true")
    expect(weight).to_have_attribute("aria-describedby", "weight_kg-msg")
    # The message sits next to the weight field, in the same grid cell.
    expect(page.locator("#lot-form div:has(> label > #weight_kg) > small.error")).to_have_count(1)
    expect(page.locator("#lot-form #title")).to_have_value("Carottes bio")
    expect(weight).to_have_value("0")
    expect(page).to_have_url(re.compile(re.escape(live_server) + r"/lots/new$"))
    assert not_reloaded(page)
