"""Claiming on a phone: a large claim asks first, then the card says in place what is
left and what the CPAS now holds; cancelling asks first too."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def test_a_large_claim_asks_first_and_the_card_updates_in_place(
    seed, new_context, sign_in, kg_text, mark_document, not_reloaded
):
    def build() -> dict:
        w = factories.world()
        lot = factories.lot(w.donor, kg=100, min_part_kg=5, title="Thon")
        return {"cpas": w.cpas_user.email, "lot": lot.id}

    who = seed(build)
    page = new_context(**PHONE).new_page()
    sign_in(page, who["cpas"])
    page.goto("/lots")
    mark_document(page)
    lot_id = who["lot"]
    box = page.locator(f"#claim-{lot_id}")
    # Once the page has loaded, the card says how the lot can reach them: no fleet here.
    expect(page.locator(f"#carriage-{lot_id}")).to_have_text(
        "Aucun trajet prévu ne part pendant qu’on peut l’enlever et avant sa date."
    )
    field = box.get_by_label("Quantité à réserver (kg)")
    expect(field).to_have_value("")

    field.fill("60")
    box.locator("button[type=submit]").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Réserver 60 kg ?")
    dialog.locator("button[value=cancel]").click()  # nothing is sent
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#remaining-{lot_id} strong")).to_have_text(kg_text("100"))

    box.locator("button[type=submit]").click()
    with page.expect_response(re.compile(rf"/lots/{lot_id}/claim$")) as claimed:
        dialog.locator("button[value=confirm]").click()
    assert claimed.value.status == 201
    expect(page.locator(f"#remaining-{lot_id} strong")).to_have_text(kg_text("40"))
    expect(box.locator(".claim-held")).to_contain_text("Vous avez déjà réservé 60 kg de ce lot")
    expect(box.get_by_label("Quantité à réserver (kg)")).to_have_value("")
    # The answer says so again, for these kilograms, with a way to let them go.
    expect(box.locator(".claim-carriage")).to_contain_text("Aucun trajet prévu")
    expect(box.locator("form.claim-cancel button")).to_be_visible()
    assert not_reloaded(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # A small claim goes without a question.
    box.get_by_label("Quantité à réserver (kg)").fill("10")
    with page.expect_response(re.compile(rf"/lots/{lot_id}/claim$")) as small:
        box.locator(".claim-form button[type=submit]").click()
    assert small.value.status == 201
    expect(page.locator(f"#remaining-{lot_id} strong")).to_have_text(kg_text("30"))
    expect(box.locator(".claim-held")).to_contain_text("70 kg")
