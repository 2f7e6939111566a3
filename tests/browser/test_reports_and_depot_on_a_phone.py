"""The pages of the reports, the FSE+ register, the donation documents and the depots,
on a 360 px phone over the seeded demo region (six months of history, the Libramont
hub's cold room, FSE+ stock): each reader's pages fit the screen, the charts load as
images, and nothing is blocked by the Content-Security-Policy (``new_context``)."""

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from surplus.demo_data import DEMO_PASSWORD
from surplus.extensions import db
from surplus.models import Depot, StockItem, User

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def database_uri(backend: str, seeded_demo, tmp_path) -> Iterator[str]:
    """The live server runs on this test's own copy of the run's seeded demo region
    (``seeded_demo`` of ``tests/conftest.py``: as ``demo.seed`` leaves it)."""
    copy = seeded_demo.copy(backend, tmp_path)
    try:
        yield copy.uri
    finally:
        copy.drop()


def _fits(page, url: str) -> None:
    page.goto(url)
    assert page.locator("main").count() == 1, url
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{url} is {width} px wide on a {PHONE['width']} px phone"


def test_each_reader_s_pages_fit_a_phone(seed, new_context, sign_in):
    def build():
        hub = db.session.scalar(
            select(User.organisation_id).where(User.email == "coordination@demo.maillon.be")
        )
        depot = db.session.scalar(
            select(Depot.id).where(Depot.platform_id == hub).order_by(Depot.id)
        )
        item = db.session.scalar(
            select(StockItem.id).where(StockItem.depot_id == depot, StockItem.grams > 0)
        )
        return {"depot": depot, "item": item}

    ids = seed(build)
    assert ids["item"] is not None, "the demo hub holds stock"
    pages = {
        "coordination@demo.maillon.be": [
            "/reports",
            "/fse-register",
            "/donations",
            f"/depots/{ids['depot']}",
            f"/depots/{ids['depot']}/receive",
            f"/depots/{ids['depot']}/zones",
            f"/stock/{ids['item']}",
        ],
        "producteur@demo.maillon.be": ["/donations", "/reports"],
        "cpas@demo.maillon.be": ["/reports", "/fse-register"],
    }
    for email, urls in pages.items():
        page = new_context(viewport=PHONE).new_page()
        sign_in(page, email, DEMO_PASSWORD)
        for url in urls:
            _fits(page, url)
        page.goto("/reports")
        charts = page.locator("main img[src*='/reports/chart/']")
        assert charts.count() >= 1
        for chart in charts.all():
            chart.scroll_into_view_if_needed()
            assert chart.evaluate("img => img.complete && img.naturalWidth > 0"), email
