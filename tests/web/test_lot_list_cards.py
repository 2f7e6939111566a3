"""The list's cards say what the lot's page says: the facts and the claim box written
inline in lots/_results.html render as lots/_facts.html and lots/_claim_result.html."""

import re

import pytest
from flask import render_template
from flask_login import login_user

from surplus.extensions import db
from surplus.models import LotPhoto
from surplus.services import claims
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def shapes(w):
    """Lots of every shape a card shows differently."""
    made = {
        "plain": factories.lot(w.donor, title="Yaourts"),
        "parts": factories.lot(w.donor, title="Fromage", kg=40, min_part_kg=5),
        "whole": factories.lot(w.donor, title="Palette", kg=12, divisible=False),
        "fse": factories.lot(
            w.platform, title="Conserves", storage="ambient", category="dry_goods", fse_plus=True
        ),
        "undated": factories.lot(w.donor, title="Eau", storage="ambient", category="drinks"),
        "held": factories.lot(w.donor, title="Pommes & <poires>", kg=50),
        "all_left": factories.lot(w.donor, title="Lait", kg=10, min_part_kg=8),
    }
    undated = made["undated"]
    undated.date_kind = undated.best_date = undated.expires_at = None
    undated.allergens = []
    made["plain"].units = 24
    made["fse"].allergens = ["gluten", "milk"]
    made["all_left"].remaining_g = 7000  # less than the 8 kg minimum: only all that is left
    db.session.add(
        LotPhoto(
            lot=made["plain"],
            key="abc123",
            content_type="image/webp",
            width=1600,
            height=900,
            bytes=1000,
        )
    )
    db.session.commit()
    claims.claim_lot(db.session, w.cpas_user, made["held"].id, 20)
    db.session.commit()
    return made


def _normal(html: str) -> str:
    html = re.sub(r'name="idempotency_key" value="[^"]*"', 'name="idempotency_key"', html)
    html = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', html)
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


@pytest.mark.parametrize("language", ["fr", "nl"])
def test_cards_render_the_shared_facts_and_claim_box(app, w, shapes, login_as, language):
    client = login_as(w.cpas_user)
    fragment = client.get("/lots", headers={**HX, "Accept-Language": language})
    assert fragment.status_code == 200
    cards = _normal(fragment.get_data(as_text=True))
    held = {shapes["held"].id: 20.0}
    for name, lot in shapes.items():
        db.session.refresh(lot)
        with app.test_request_context("/lots", headers={"Accept-Language": language}):
            login_user(w.cpas_user)
            facts = render_template("lots/_facts.html", lot=lot)
            box = render_template(
                "lots/_claim_result.html",
                lot=lot,
                held_kg=held.get(lot.id),
                claim=None,
                error=None,
                fields=None,
                kg_value=None,
                oob=False,
            )
        assert f'id="lot-{lot.id}"' in cards, name
        assert _normal(facts) in cards, name
        assert f'<div id="claim-{lot.id}" class="claim-box">{_normal(box)}</div>' in cards, name
