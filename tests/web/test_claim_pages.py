"""Claiming on a phone: an empty, labelled quantity; what the organisation already
holds; too much or someone was faster (page and API); allocated claims labelled on
every page; a booked claim's planned delivery."""

import re

from flask_babel import force_locale

from surplus.extensions import db
from surplus.services import booking, claim_facts, claims
from surplus.templating import when
from tests import factories
from tests.factories import translated

HX = {"HX-Request": "true"}


def _kg_input(html: str, lot_id: int) -> str:
    match = re.search(rf'<input[^>]*id="claim-{lot_id}-kg"[^>]*>', html, re.S)
    assert match, html
    return match.group(0)


def _refused_as_too_much(response, lot) -> str:
    """50 kg asked of a 40 kg lot nobody else touched: 409, "only 40 kg are left", the
    entry kept and marked. Returns the page."""
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    too_much = translated(
        "fr", "Only %(left)s are left; you asked for %(asked)s.", left="40 kg", asked="50 kg"
    )
    assert too_much in html
    field = _kg_input(html, lot.id)
    assert 'value="50"' in field and 'aria-invalid="true"' in field
    return html


def test_the_quantity_starts_empty_with_a_label_and_a_hint(w, login_as):
    lot = factories.lot(w.donor, kg=358, min_part_kg=5)
    db.session.commit()
    client = login_as(w.cpas_user)
    hint = translated("fr", "At least %(min)s, at most %(left)s.", min="5 kg", left="358 kg")
    for page in (client.get("/lots"), client.get(f"/lots/{lot.id}")):
        html = page.get_data(as_text=True)
        field = _kg_input(html, lot.id)
        assert 'value=""' in field and "required" in field
        label = translated("fr", "Quantity to claim (kg)")
        assert f'<label for="claim-{lot.id}-kg">{label}</label>' in html
        assert hint in html
        assert 'data-confirm-over="50"' in html and 'data-confirm-field="kg"' in html
    empty = client.post(
        f"/lots/{lot.id}/claim", data={"kg": "", "remaining_g": "358000"}, headers=HX
    )
    assert empty.status_code == 422 and lot.remaining_g == 358_000


def test_a_claim_updates_the_card_in_place_and_the_lot_says_what_is_held(w, login_as):
    lot = factories.lot(w.donor, kg=40)
    db.session.commit()
    client = login_as(w.cpas_user)
    done = client.post(
        f"/lots/{lot.id}/claim", data={"kg": "10", "remaining_g": "40000"}, headers=HX
    )
    html = done.get_data(as_text=True)
    assert done.status_code == 201
    held = translated("fr", "You already hold %(kg)s of this lot.", kg="10 kg")
    assert held in html
    left_of = translated("fr", "left of")
    oob = re.search(rf'<span id="remaining-{lot.id}" hx-swap-oob="true">(.*?)</span>', html)
    assert oob and "30 kg" in oob.group(1) and f"{left_of} 40 kg" in oob.group(1)
    assert 'name="remaining_g" value="30000"' in html  # the next claim compares with 30 kg
    assert held in client.get("/lots").get_data(as_text=True)
    assert held in client.get(f"/lots/{lot.id}").get_data(as_text=True)
    other = login_as(w.asbl_user).get("/lots").get_data(as_text=True)
    assert translated("fr", "You already hold %(kg)s of this lot.", kg="10 kg") not in other


def test_too_much_keeps_the_entry_and_a_race_says_so(w, login_as, api_token):
    lot = factories.lot(w.donor, kg=40, min_part_kg=5)
    db.session.commit()
    cpas = login_as(w.cpas_user)
    too_much = cpas.post(
        f"/lots/{lot.id}/claim", data={"kg": "50", "remaining_g": "40000"}, headers=HX
    )
    html = _refused_as_too_much(too_much, lot)
    claims.claim_lot(db.session, w.asbl_user, lot.id, 25)
    db.session.commit()
    raced = cpas.post(
        f"/lots/{lot.id}/claim", data={"kg": "20", "remaining_g": "40000"}, headers=HX
    )
    html = raced.get_data(as_text=True)
    assert raced.status_code == 409
    assert (
        translated(
            "fr",
            "Someone claimed part of this lot meanwhile: %(left)s are left now.",
            left="15 kg",
        )
        in html
    )
    assert 'value=""' in _kg_input(html, lot.id)
    token = api_token(w.cpas_user)
    api = f"/api/v1/lots/{lot.id}/claims"
    seen_race = cpas.post(api, json={"kg": 20, "remaining_g": 40000}, headers=token)
    assert seen_race.status_code == 409
    assert seen_race.get_json()["code"] == "claimed_meanwhile"
    assert seen_race.get_json()["available_kg"] == 15
    asked_too_much = cpas.post(api, json={"kg": 20, "remaining_g": 15000}, headers=token)
    assert asked_too_much.status_code == 409
    assert (
        asked_too_much.get_json()["code"] == "too_much"
        and "kg" in asked_too_much.get_json()["fields"]
    )
    assert cpas.post(api, json={"kg": 20}, headers=token).get_json()["code"] == "too_much"


def test_allocated_claims_say_so_on_every_page(w, login_as):
    lot = factories.lot(w.donor, kg=336, title="Thon")
    claim = factories.allocated_claim(w.coordinator, lot, 336, w.cpas)
    label = translated("fr", "Allocated by %(platform)s", platform="Hub Libramont")
    cpas = login_as(w.cpas_user)
    assert label in cpas.get("/claims/").get_data(as_text=True)
    assert label in cpas.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert label in login_as(w.coordinator).get("/platform/claims").get_data(as_text=True)
    donor = login_as(w.donor_user)
    assert label in donor.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert label in donor.get("/lots/mine").get_data(as_text=True)
    by_hand = factories.lot(w.donor, kg=10, title="Pommes")
    db.session.commit()
    mine, _ = claims.claim_lot(db.session, w.cpas_user, by_hand.id, 10)
    db.session.commit()
    assert claim_facts.allocated_by(db.session, [claim.id, mine.id]) == {claim.id: w.platform}


def test_cancelling_a_claim_asks_first(w, login_as):
    lot = factories.lot(w.donor, kg=40, title="Yaourts")
    claims.claim_lot(db.session, w.cpas_user, lot.id, 10)
    db.session.commit()
    html = login_as(w.cpas_user).get("/claims/").get_data(as_text=True)
    question = translated(
        "fr", "Cancel your claim of %(kg)s of “%(title)s”?", kg="10 kg", title="Yaourts"
    )
    assert f'data-confirm="{question}"' in html


def test_a_booked_claim_shows_its_planned_delivery(daily_rounds, login_as):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()
    booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    planned = claim_facts.planned_delivery(db.session, claim)
    html = login_as(w.cpas_user).get(f"/claims/{claim.id}").get_data(as_text=True)
    with force_locale("fr"):
        shown = when(planned)
    assert translated("fr", "planned on %(time)s", time=shown) in html


def test_without_htmx_a_refused_claim_comes_back_on_the_lot_page_with_the_entry(w, login_as):
    lot = factories.lot(w.donor, kg=40, min_part_kg=5)
    db.session.commit()
    cpas = login_as(w.cpas_user)
    refused = cpas.post(f"/lots/{lot.id}/claim", data={"kg": "50", "remaining_g": "40000"})
    html = _refused_as_too_much(refused, lot)
    assert lot.title in html  # the lot's own page, not a bare message
    assert lot.remaining_g == 40_000
