"""Foundation: sign in through the form and land on a working dashboard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded_region() -> None:
    """Asked by the tests whose live server runs on the seeded demo region."""


@pytest.fixture
def database_uri(database_uri: str, request, backend: str, seeded_demo, tmp_path) -> Iterator[str]:
    """The empty database, or for the tests that ask for ``seeded_region`` their own copy
    of the run's seeded demo region (``seeded_demo`` of ``tests/conftest.py``)."""
    if "seeded_region" not in request.fixturenames:
        yield database_uri
        return
    copy = seeded_demo.copy(backend, tmp_path)
    try:
        yield copy.uri
    finally:
        copy.drop()


def test_sign_in_shows_dashboard_without_csp_violations(seed, new_context, sign_in):
    def build() -> dict[str, str]:
        w = factories.world()
        return {"email": w.cpas_user.email, "org": w.cpas.name, "name": w.cpas_user.name}

    who = seed(build)

    page = new_context().new_page()
    # Violations as the page itself sees them, besides Chromium's console report.
    page.add_init_script("""
        window.__cspViolations = [];
        document.addEventListener("securitypolicyviolation", (e) =>
            window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));
    """)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    sign_in(page, who["email"])

    heading = page.locator("main h1")
    expect(heading).to_be_visible()
    expect(heading).to_contain_text(who["name"])
    expect(page.locator("main hgroup p")).to_contain_text(who["org"])
    # The page's scripts ran: htmx is there, nothing was refused by the CSP, no JS error.
    page.wait_for_function("typeof htmx === 'object'")
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    csp = [m for m in console if "Content Security Policy" in m]
    assert not csp, csp
    assert page.evaluate("window.__cspViolations") == []
    assert not errors, errors


def test_demo_coordinator_signs_in_to_the_seeded_region(seeded_region, new_context, sign_in):
    from surplus.demo_data import DEMO_PASSWORD

    page = new_context().new_page()
    sign_in(page, "coordination@demo.maillon.be", DEMO_PASSWORD)
    expect(page.locator("main hgroup p")).to_contain_text("Libramont")
    # Two donors of the demo region wait for verification; the dashboard links to them.
    page.locator("a[href='/organisations/pending']").first.click()
    expect(page.locator("main article")).to_have_count(2)
    # The platform's network map draws its markers even though no tile can load here.
    page.goto("/platform/")
    markers = page.locator("#network-map path.leaflet-interactive")
    expect(markers.first).to_be_visible()
    assert markers.count() >= 5
