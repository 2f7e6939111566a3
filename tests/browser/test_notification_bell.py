"""The bell in a real browser: htmx loads the count, marking read updates it (CSRF on)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surplus.extensions import db
from surplus.services import claims
from tests import factories

pytestmark = pytest.mark.browser


def test_bell_counts_and_marking_read_updates_it(
    seed, new_context, sign_in, mark_document, not_reloaded
):
    def build() -> str:
        w = factories.world()
        for title in ("Carottes", "Poireaux"):
            lot = factories.lot(w.donor, kg=50, title=title)
            claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
        return w.donor_user.email

    email = seed(build)
    page = new_context().new_page()
    sign_in(page, email)
    badge = page.locator("#bell-count .badge")
    expect(badge).to_have_text("2")
    page.locator("a.bell").click()
    items = page.locator("ul.notifications li.unread")
    expect(items).to_have_count(2)
    mark_document(page)  # the list came by a link: this waits until htmx has processed it
    items.first.locator("button").click()
    expect(items).to_have_count(1)
    expect(badge).to_have_text("1")  # refreshed at once by the HX-Trigger, not the poll
    page.get_by_role("button", name="Tout marquer comme lu").click()
    expect(items).to_have_count(0)
    expect(badge).to_have_count(0)
    assert not_reloaded(page)  # both were htmx swaps, not the forms' fallback
