"""The convention journey: an association asks a platform for a convention with an FSE+
approval, the coordinator approves it without FSE+, the association is refused an FSE+
lot with the reason, the coordinator updates the terms to allow FSE+, and the
association claims the lot. Selectors are ids, names and classes: the UI is in French."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from surplus.models import Role
from surplus.services.lot_dates import local_today
from tests import factories

pytestmark = pytest.mark.browser

TITLE = "Lentilles FSE+"


def _seed(seed) -> dict:
    def build() -> dict:
        platform = factories.org("platform", name="Hub Libramont")
        platform.service_postcodes = ["6600", "6800"]
        asbl = factories.org(
            "association",
            name="Resto du Cœur Bastogne",
            postcode="6600",
            locality="Bastogne",
            mode="social_restaurant",
        )
        coordinator = factories.user(platform, Role.COORDINATOR)
        admin = factories.user(asbl, Role.ORG_ADMIN)
        lot = factories.lot(
            platform,
            fse_plus=True,
            storage="ambient",
            category="dry_goods",
            date_kind="best_before",
            days=60,
            kg=100,
            title=TITLE,
        )
        return {
            "platform": platform.id,
            "coordinator": coordinator.email,
            "admin": admin.email,
            "lot": lot.id,
        }

    return seed(build)


def _french(live_app, msgid: str) -> str:
    with live_app.test_request_context():
        return factories.translated("fr", msgid)


def test_fse_plus_convention_gates_the_claim(
    seed, new_context, sign_in, live_server, live_app, kg_text
):
    who = _seed(seed)
    lot_id = who["lot"]
    refusal = _french(live_app, "FSE+ stock: your organisation has no FSE+ approval in force.")
    expires = (local_today() + timedelta(days=100)).isoformat()

    # The association's admin requests a convention, declaring an FSE+ approval.
    association = new_context().new_page()
    sign_in(association, who["admin"])
    association.goto("/conventions/new")
    form = association.locator("main form:has(select[name=platform_id])")
    form.locator("select[name=platform_id]").select_option(str(who["platform"]))
    form.locator("input[name=persons_per_week]").fill("80")
    form.locator("input[name=chilled_capacity_kg]").fill("150")
    form.locator("input[name=fse_plus_approval_number]").fill("FSE+/BE/2024-0042")
    expires_input = form.locator("input[name=fse_plus_approval_expires]")
    expect(expires_input).to_have_attribute("type", "date")
    expires_input.fill(expires)
    form.locator("button[type=submit]").click()
    expect(association).to_have_url(re.compile(re.escape(live_server) + r"/conventions/\d+$"))
    conv_id = int(association.url.rsplit("/", 1)[1])
    expect(association.locator("main .flash-success")).to_be_visible()
    expect(association.locator("main .flash-error")).to_have_count(0)

    # The coordinator approves it from the review queue, without FSE+: htmx swaps the card.
    coordinator = new_context().new_page()
    sign_in(coordinator, who["coordinator"])
    coordinator.goto("/platform/conventions")
    card = coordinator.locator(f"#review-{conv_id}")
    expect(card).to_be_visible()
    expect(card).to_contain_text("FSE+/BE/2024-0042")
    coordinator.wait_for_function("typeof htmx === 'object'")
    approve = card.locator("form.decision-approve")
    expect(approve.locator("input[name=fse_plus]")).not_to_be_checked()
    with coordinator.expect_response(re.compile(rf"/conventions/{conv_id}/decision$")) as decided:
        approve.locator("button[type=submit]").click()
    assert decided.value.status == 200
    expect(card.locator(".flash-success")).to_be_visible()
    expect(card.locator("form")).to_have_count(0)
    expect(coordinator).to_have_url(re.compile(re.escape(live_server) + r"/platform/conventions$"))

    # The association may not receive the FSE+ lot: 403, with the reason in French.
    refused = association.goto(f"/lots/{lot_id}")
    assert refused is not None and refused.status == 403
    expect(association.locator("main")).to_contain_text(refusal)
    expect(association.locator(f"#claim-{lot_id}")).to_have_count(0)

    # The coordinator updates the terms: FSE+ is now allowed.
    coordinator.goto(f"/conventions/{conv_id}")
    terms = coordinator.locator("#decision form.decision-approve")
    fse = terms.locator("input[name=fse_plus]")
    expect(fse).not_to_be_checked()
    fse.check()
    terms.locator("button[type=submit]").click()
    expect(coordinator).to_have_url(
        re.compile(re.escape(live_server) + rf"/conventions/{conv_id}$")
    )
    expect(coordinator.locator("main .flash-success")).to_be_visible()
    expect(coordinator.locator("main .flash-error")).to_have_count(0)
    expect(
        coordinator.locator("#decision form.decision-approve input[name=fse_plus]")
    ).to_be_checked()
    expect(coordinator.locator("#convention-fse")).to_have_text(_french(live_app, "allowed"))

    # The association now gets the claim form and claims 10 kg; htmx swaps in the result.
    shown = association.goto(f"/lots/{lot_id}")
    assert shown is not None and shown.status == 200
    claim_box = association.locator(f"#claim-{lot_id}")
    expect(claim_box).to_be_visible()
    association.wait_for_function("typeof htmx === 'object'")
    claim_box.locator("input[name=kg]").fill("10")
    with association.expect_response(re.compile(rf"/lots/{lot_id}/claim$")) as claimed:
        claim_box.locator("button[type=submit]").click()
    assert claimed.value.status == 201
    success = claim_box.locator(".flash-success")
    expect(success).to_be_visible()
    expect(success).to_contain_text("10")
    expect(claim_box.locator(".flash-error")).to_have_count(0)

    # … and finds it among its claims.
    association.goto("/claims/")
    claim = association.locator("main article[id^=claim-]").filter(has_text=TITLE)
    expect(claim).to_have_count(1)
    expect(claim.locator(".claim-kg")).to_have_text(kg_text("10"))
