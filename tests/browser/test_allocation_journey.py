"""The batch-allocation journey, preview → confirm: a coordinator runs the matcher over
the platform's open lots, removes one proposed line, lowers the kilograms of another,
a lot is claimed meanwhile outside the batch, and the confirmation creates the claims,
skipping and reporting the line that can no longer be claimed. The beneficiary then
finds its claim. Selectors are ids, names and classes: the UI is in French."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import AllocationLine, Claim, Lot, User
from surplus.services import claims as claim_service
from tests import factories

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Line:
    id: int
    lot_id: int
    lot_title: str
    divisible: bool
    beneficiary_id: int
    grams: int


def _seed(seed) -> dict:
    def build() -> dict:
        w = factories.world()
        lots = [
            factories.lot(w.donor, kg=40, title="Yaourts A"),
            factories.lot(
                w.donor,
                kg=60,
                storage="ambient",
                category="dry_goods",
                date_kind="best_before",
                days=30,
                title="Pâtes B",
            ),
            factories.lot(w.donor, kg=25, divisible=False, title="Palette C"),
        ]
        return {
            "coordinator": w.coordinator.email,
            "platform": w.platform.id,
            "lots": [lot.id for lot in lots],
            # beneficiary organisation id -> (user id, e-mail)
            "members": {
                w.cpas.id: (w.cpas_user.id, w.cpas_user.email),
                w.asbl.id: (w.asbl_user.id, w.asbl_user.email),
            },
        }

    return seed(build)


def _lines(live_app, batch_id: int) -> list[Line]:
    with live_app.app_context():
        try:
            rows = db.session.execute(
                select(AllocationLine, Lot)
                .join(Lot, Lot.id == AllocationLine.lot_id)
                .where(AllocationLine.batch_id == batch_id)
                .order_by(AllocationLine.id)
            ).all()
            return [
                Line(line.id, lot.id, lot.title, lot.divisible, line.beneficiary_id, line.grams)
                for line, lot in rows
            ]
        finally:
            db.session.remove()


def _claim_meanwhile(live_app, user_id: int, lot_id: int) -> None:
    """Another claim takes the whole lot through the app's service, outside the batch."""
    with live_app.app_context():
        try:
            member = db.session.get(User, user_id)
            lot = db.session.get(Lot, lot_id)
            assert member is not None and lot is not None
            claim_service.claim_lot(db.session, member, lot_id, lot.remaining_kg)
            db.session.commit()
            assert db.session.get(Lot, lot_id).remaining_g == 0
        finally:
            db.session.remove()


def _claims_of(live_app, organisation_id: int, lot_id: int) -> list[int]:
    with live_app.app_context():
        try:
            return list(
                db.session.scalars(
                    select(Claim.grams).where(
                        Claim.beneficiary_id == organisation_id, Claim.lot_id == lot_id
                    )
                )
            )
        finally:
            db.session.remove()


def test_preview_adjust_confirm_skips_lot_claimed_meanwhile(
    seed, new_context, sign_in, live_server, live_app, kg_text, has_class
):
    who = _seed(seed)
    members: dict[int, tuple[int, str]] = who["members"]

    # The coordinator runs the matcher and lands on the proposal.
    coordinator = new_context().new_page()
    sign_in(coordinator, who["coordinator"])
    shown = coordinator.goto("/platform/allocation/")
    assert shown is not None and shown.status == 200
    coordinator.locator("#run-matcher").click()
    expect(coordinator).to_have_url(
        re.compile(re.escape(live_server) + r"/platform/allocation/\d+$")
    )
    batch_id = int(coordinator.url.rsplit("/", 1)[1])
    rows = coordinator.locator("#lines tbody tr[id^=line-]")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 2, rows.count()
    expect(coordinator.locator("#confirm-batch")).to_be_visible()
    expect(coordinator.locator("#batch-result")).to_have_count(0)
    # The proposal came from a redirect, not goto: wait until htmx has processed it.
    coordinator.wait_for_load_state("load")

    # Which row is about which lot and beneficiary: the batch's lines, as stored.
    lines = _lines(live_app, batch_id)
    # Every line is shown once (grouped by beneficiary, so not in the stored order).
    assert sorted(f"line-{line.id}" for line in lines) == sorted(
        rows.nth(i).get_attribute("id") for i in range(rows.count())
    )
    assert {line.lot_id for line in lines} <= set(who["lots"])
    assert {line.beneficiary_id for line in lines} <= set(members)
    # A divisible line to lower; a line of another lot to lose to a claim meanwhile (the
    # lot split over the fewest lines, so that most lines still go through); a third line
    # to remove, preferably of yet another lot.
    per_lot = {
        lot_id: sum(line.lot_id == lot_id for line in lines)
        for lot_id in {line.lot_id for line in lines}
    }
    adjusted = next((line for line in lines if line.divisible and line.grams >= 2000), None)
    assert adjusted is not None, f"no divisible line of 2 kg or more: {lines}"
    others = [line for line in lines if line.lot_id != adjusted.lot_id]
    assert others, f"the matcher proposed a single lot: {lines}"
    sabotaged = min(others, key=lambda line: per_lot[line.lot_id])
    removable = [line for line in lines if line not in (adjusted, sabotaged)]
    assert removable, f"the matcher proposed too few lines to exercise the journey: {lines}"
    removed = next((line for line in removable if line.lot_id != sabotaged.lot_id), removable[0])

    # Remove a line: htmx swaps the row, which is now marked removed.
    removed_row = coordinator.locator(f"#line-{removed.id}")
    with coordinator.expect_response(
        re.compile(rf"/platform/allocation/{batch_id}/lines/{removed.id}$")
    ) as toggled:
        removed_row.locator(".line-toggle").click()
    assert toggled.value.status == 200
    expect(removed_row).to_have_class(has_class("line-removed"))
    expect(removed_row.locator("input[name=kg]")).to_have_count(0)
    expect(removed_row.locator(".line-toggle")).to_be_visible()

    # Lower the kilograms of a divisible line: htmx swaps the row with the new value.
    new_kg = str(adjusted.grams // 2000)
    adjusted_row = coordinator.locator(f"#line-{adjusted.id}")
    kg_form = adjusted_row.locator("form:has(input[name=kg])")
    kg_form.locator("input[name=kg]").fill(new_kg)
    with coordinator.expect_response(
        re.compile(rf"/platform/allocation/{batch_id}/lines/{adjusted.id}$")
    ) as changed:
        kg_form.locator("button[type=submit]").click()
    assert changed.value.status == 200
    expect(adjusted_row).to_have_class(has_class("line-proposed"))
    expect(adjusted_row.locator("input[name=kg]")).to_have_value(new_kg)
    expect(adjusted_row.locator(".error")).to_have_count(0)

    # Meanwhile, a beneficiary claims the whole of another proposed lot, outside the batch.
    saboteur_user_id = members[sabotaged.beneficiary_id][0]
    _claim_meanwhile(live_app, saboteur_user_id, sabotaged.lot_id)

    # The coordinator confirms: the claims are created, the lost lot's lines are skipped.
    coordinator.locator("#confirm-batch").click()
    expect(coordinator).to_have_url(
        re.compile(re.escape(live_server) + rf"/platform/allocation/{batch_id}$")
    )
    result = coordinator.locator("#batch-result")
    expect(result).to_be_visible()
    expect(result).to_have_class(has_class("flash-success"))
    expect(coordinator.locator("main .flash-error")).to_have_count(0)
    expect(coordinator.locator("#confirm-batch")).to_have_count(0)
    expect(coordinator.locator("#lines input[name=kg]")).to_have_count(0)

    expected: dict[int, str] = {}
    for line in lines:
        if line == removed:
            expected[line.id] = "removed"
        elif line.lot_id == sabotaged.lot_id:
            expected[line.id] = "skipped"
        else:
            expected[line.id] = "claimed"
    assert expected[adjusted.id] == "claimed" and expected[sabotaged.id] == "skipped"
    for line_id, status in expected.items():
        row = coordinator.locator(f"#line-{line_id}")
        expect(row.locator(".line-status")).to_have_attribute("data-status", status)
        expect(row).to_have_class(has_class(f"line-{status}"))
        if status == "skipped":
            expect(row.locator("small.error")).to_be_visible()
            expect(row.locator("small.error")).not_to_have_text("")
        else:
            expect(row.locator("small.error")).to_have_count(0)
    expect(coordinator.locator(f"#line-{adjusted.id} .line-kg")).to_have_text(kg_text(new_kg))
    claimed = sum(status == "claimed" for status in expected.values())
    skipped = sum(status == "skipped" for status in expected.values())
    # "… %(claimed)s … %(skipped)s …", in whatever words the language uses.
    expect(result).to_have_text(re.compile(rf"^\D*\b{claimed}\b\D+\b{skipped}\b\D*$"))

    # The beneficiary of the lowered line finds its claim, with the new kilograms.
    grams = _claims_of(live_app, adjusted.beneficiary_id, adjusted.lot_id)
    assert int(new_kg) * 1000 in grams, grams
    beneficiary = new_context().new_page()
    sign_in(beneficiary, members[adjusted.beneficiary_id][1])
    beneficiary.goto("/claims/")
    articles = beneficiary.locator("main article[id^=claim-]").filter(
        has=beneficiary.locator("header strong", has_text=adjusted.lot_title)
    )
    expect(articles).to_have_count(len(grams))
    expect(articles.locator(".claim-kg", has_text=kg_text(new_kg))).to_have_count(1)
