"""The lot list ranks and pages in SQL in the matcher's order (``matching.score``)."""

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from flask import current_app

from matching.distance import great_circle_km
from matching.score import scores
from surplus.extensions import db
from surplus.models import LotOffer
from surplus.services import matching_adapter
from surplus.services.browse import Filters, browse
from tests import factories


@pytest.fixture
def scattered(w):
    """40 lots around the CPAS at random places and dates: some near their date
    (urgent), some without one, several at the same place (ties on distance)."""
    rng = random.Random(17)
    now = datetime.now(UTC)
    spots = [
        (w.cpas.lat + rng.uniform(-0.6, 0.6), w.cpas.lon + rng.uniform(-0.9, 0.9))
        for _ in range(25)
    ]
    made = []
    for i in range(40):
        lot = factories.lot(w.donor, title=f"Lot {i}", storage="ambient", category="dry_goods")
        lot.pickup_lat, lot.pickup_lon = spots[i % len(spots)]
        roll = rng.random()
        if roll < 0.2:
            lot.expires_at = None
        elif roll < 0.5:
            lot.expires_at = now + timedelta(hours=rng.choice([6, 30, 60]))  # urgent
        else:
            lot.expires_at = now + timedelta(days=rng.choice([4, 9, 30]))
        made.append(lot)
    db.session.commit()
    return made


def _expected(org, lots, now, max_km=None):
    """The order the matcher's score gives: best score, then the nearer date, then id."""
    params = matching_adapter.params(now)
    ids = np.array([lot.id for lot in lots])
    km = (
        great_circle_km(
            org.lat,
            org.lon,
            np.array([lot.pickup_lat for lot in lots]),
            np.array([lot.pickup_lon for lot in lots]),
        )
        * current_app.config["ROAD_CIRCUITY"]
    )
    days = np.array(
        [
            (lot.expires_at - now).total_seconds() / 86400 if lot.expires_at else np.inf
            for lot in lots
        ]
    )
    urgent = days <= params.urgent_within.total_seconds() / 86400
    keep = km <= max_km if max_km else np.ones(len(lots), dtype=bool)
    score = scores(km[keep], urgent[keep], 10.0, params)
    order = np.lexsort((ids[keep], days[keep], -score))
    return [int(i) for i in ids[keep][order]], dict(zip(ids.tolist(), km.tolist(), strict=True))


@pytest.mark.parametrize("max_km", [None, 60.0])
def test_pages_follow_the_matchers_score(w, scattered, max_km):
    now = datetime.now(UTC)
    expected, km = _expected(w.cpas, scattered, now, max_km)
    assert 5 < len(expected) <= 40
    shown, per_page = [], 7
    pages = -(-len(expected) // per_page)
    for number in range(1, pages + 1):
        page = browse(
            db.session, w.cpas, Filters(max_km=max_km), page=number, per_page=per_page, now=now
        )
        assert (page.total, page.page, page.pages) == (len(expected), number, pages)
        for card in page.cards:
            assert card.km == pytest.approx(km[card.lot.id], rel=1e-9)
            assert card.urgent == (card.days_left is not None and card.days_left <= 3)
        shown += [card.lot.id for card in page.cards]
    assert shown == expected


def test_a_page_past_the_end_shows_the_last_one(w, scattered):
    now = datetime.now(UTC)
    expected, _km = _expected(w.cpas, scattered, now)
    page = browse(db.session, w.cpas, Filters(), page=99, per_page=15, now=now)
    assert (page.page, page.pages, page.total) == (3, 3, 40)
    assert [card.lot.id for card in page.cards] == expected[30:]


def test_nothing_offered_gives_an_empty_first_page(w):
    page = browse(db.session, w.cpas, Filters(), page=4)
    assert (page.cards, page.total, page.page, page.pages) == ([], 0, 1, 1)


def test_two_conventions_list_what_either_platform_is_offered(w):
    """A CPAS of two platforms (SQLite adds an index-friendly form of the offer rule):
    the list holds the lots whose wave reaches either platform, and no other."""
    factories.convention(w.other_platform, w.cpas)
    for name, wave, offered_to in [
        ("first", 1, [w.platform]),
        ("second", 1, [w.other_platform]),
        ("both", 2, [w.platform, w.other_platform]),
        ("elsewhere", 1, []),
        ("everyone", 3, []),
    ]:
        lot = factories.lot(w.donor, title=name, storage="ambient", category="dry_goods")
        lot.wave = wave
        db.session.flush()
        for platform in offered_to:
            db.session.add(LotOffer(lot_id=lot.id, platform_id=platform.id, wave=wave))
    db.session.commit()
    page = browse(db.session, w.cpas, Filters(), per_page=10)
    assert page.total == 4
    assert {card.lot.title for card in page.cards} == {"first", "second", "both", "everyone"}
