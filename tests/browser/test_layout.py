"""The frame of every page on a 360 px phone: the collapsed menu, tables as cards, the
error summary after a failed post, and the confirmation asked by ``data-confirm``."""

from __future__ import annotations

import pytest
from playwright.sync_api import Route, expect

from surplus.extensions import db
from surplus.services import claims
from tests import factories

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}}


def _donor_with_a_claimed_lot() -> str:
    w = factories.world()
    lot = factories.lot(w.donor, kg=50, title="Carottes")
    claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
    return w.donor_user.email


def test_phone_menu_tables_and_threshold_confirmation(seed, new_context, sign_in):
    email = seed(_donor_with_a_claimed_lot)
    page = new_context(**PHONE).new_page()
    sign_in(page, email)

    toggle = page.locator("button.menu-toggle")
    menu = page.locator("#site-menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_attribute("aria-controls", "site-menu")
    expect(menu).to_be_hidden()
    expect(page.locator("a.bell")).to_be_visible()  # on the brand's row
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("link", name="Mes lots")).to_be_visible()
    menu.get_by_role("link", name="Mes lots").click()

    table = page.locator("#main table").first
    expect(table.locator("thead")).to_have_css("position", "absolute")
    cell = table.locator("tbody td").nth(1)
    expect(cell).to_have_attribute("data-label", "Kilogrammes")
    assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"Kilogrammes"'
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    expect(toggle).to_have_attribute("aria-expanded", "false")  # a new page starts closed

    # data-confirm-over on a plain form: the language switcher, given a number field.
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    page.locator("form.languages").evaluate(
        """f => { Object.assign(f.dataset, {confirmOver: "50", confirmField: "kg",
                   confirmTemplate: "Réserver %s kg ?"});
                 f.insertAdjacentHTML("beforeend", '<input name="kg" value="60,5">'); }"""
    )
    dialog = page.locator("dialog.confirm-dialog")
    page.locator("form.languages button[lang=nl]").click()
    expect(dialog).to_contain_text("Réserver 60,5 kg ?")
    dialog.get_by_role("button", name="Annuler").click()
    expect(dialog).to_be_hidden()
    assert posts == []  # the click was held for the question, then dropped
    page.locator("form.languages button[lang=nl]").click()
    dialog.get_by_role("button", name="Confirmer").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")  # the button's value sent

    page.locator("form.languages").evaluate(
        """f => { Object.assign(f.dataset, {confirmOver: "50", confirmField: "kg"});
                 f.insertAdjacentHTML("beforeend", '<input name="kg" value="12,5">'); }"""
    )
    page.locator("form.languages button[lang=fr]").click()  # under the threshold: no question
    expect(page.locator("html")).to_have_attribute("lang", "fr")


def test_the_phone_menu_opens_before_the_deferred_script_has_run(seed, new_context, sign_in):
    # A tap on "Menu" while app.js is still on its way (a slow phone connection) must not be
    # lost: the menu's listeners are in early.js. Here app.js never arrives at all.
    email = seed(_donor_with_a_claimed_lot)
    page = new_context(**PHONE).new_page()
    blocked: list[str] = []

    def block(route: Route) -> None:
        blocked.append(route.request.url)
        route.abort()

    page.route("**/static/app.js*", block)
    sign_in(page, email)

    toggle = page.locator("button.menu-toggle")
    menu = page.locator("#site-menu")
    expect(menu).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("link", name="Mes lots")).to_be_visible()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
    assert blocked  # the page did ask for app.js, and got nothing


def test_error_summary_after_a_failed_htmx_post_and_data_confirm(
    seed, new_context, sign_in, live_app
):
    email = seed(lambda: factories.world().donor_user.email)
    page = new_context(**PHONE).new_page()
    sign_in(page, email)
    page.goto("/lots/new")
    page.wait_for_function("typeof htmx === 'object'")
    form = page.locator("#lot-form form")
    form.evaluate("f => f.dataset.confirm = 'Publier ce lot ?'")
    dialog = page.locator("dialog.confirm-dialog")
    summary = page.locator(".error-summary")
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))

    form.locator("button[type=submit]").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Publier ce lot ?")
    dialog.get_by_role("button", name="Annuler").click()
    expect(dialog).to_be_hidden()
    assert posts == [] and summary.count() == 0  # nothing was sent

    form.locator("button[type=submit]").click()
    dialog.get_by_role("button", name="Confirmer").click()
    expect(summary).to_be_focused()
    with live_app.test_request_context():
        heading = factories.translated("fr", "There is a problem")
    expect(summary.get_by_role("heading")).to_have_text(heading)
    summary.locator("a[href='#title']").click()
    expect(page.locator("#title")).to_be_focused()
