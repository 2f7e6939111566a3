"""Browser fixtures: a live Maillon server per backend, Debian's Chromium, and helpers
to read pages.

The server is the real application with CSRF switched on, served by Werkzeug in a
background thread on a free port of 127.0.0.1. It runs on the backend's database
(the migrated SQLite copy, or the run's PostgreSQL database truncated first), so every
browser test runs on both backends. Tests seed data with the factories inside
``live_app.app_context()`` and commit it before the browser opens a page.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from werkzeug.serving import make_server

from surplus.extensions import db
from tests import browser_signin
from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's auto-waiting bound: generous for a loaded CI machine, far below pytest's.
expect.set_options(timeout=10_000)


@pytest.fixture
def live_app(database_uri: str, make_app) -> Iterator[Flask]:
    """The application the live server runs (not inside an app context: push your own)."""
    with make_app(database_uri, SERVER_NAME=None, WTF_CSRF_ENABLED=True) as app:
        yield app


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[str]:
    """Serves ``live_app`` on a free port; yields the base URL (no trailing slash)."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def seed(live_app: Flask) -> Callable:
    """Run ``build()`` in an app context, commit, and return what it returns.

    ``build`` should return plain values (ids, e-mails, names): ORM rows are detached
    once the context ends.
    """

    def run(build: Callable):
        with live_app.app_context():
            try:
                result = build()
                db.session.commit()
                return result
            finally:
                db.session.remove()

    return run


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser: Browser, live_server: str) -> Iterator[Callable[..., BrowserContext]]:
    """Opens isolated browser contexts (one per user); all are closed after the test.
    Keyword arguments go to ``browser.new_context`` (a phone's viewport, say). Every page
    of every context is watched: a Content-Security-Policy report in the console fails
    the test."""
    contexts: list[BrowserContext] = []
    csp: list[str] = []

    def make(**options) -> BrowserContext:
        context = browser.new_context(
            **{
                "base_url": live_server,
                "locale": "fr-BE",
                "timezone_id": "Europe/Brussels",
                **options,
            }
        )
        context.on("console", lambda m: "Content Security Policy" in m.text and csp.append(m.text))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not csp, f"the Content-Security-Policy blocked something: {csp}"


@pytest.fixture
def sign_in(live_server: str) -> Callable[..., None]:
    """Sign ``page`` in through the login form and wait for the dashboard to have loaded."""

    def run(page: Page, email: str, password: str = PASSWORD) -> None:
        browser_signin.sign_in(page, live_server, email, password)

    return run


# -- reading pages ------------------------------------------------------------------------


@pytest.fixture
def kg_text() -> Callable[[str], re.Pattern[str]]:
    """``kg_text("30")``: matches an element's whole text "30 kg" (spaces around allowed)."""

    def pattern(value: str) -> re.Pattern[str]:
        return re.compile(rf"^\s*{re.escape(value)}\s*kg\s*$")

    return pattern


@pytest.fixture
def has_class() -> Callable[[str], re.Pattern[str]]:
    """``has_class("name")``: matches a class attribute holding the class ``name``."""

    def pattern(name: str) -> re.Pattern[str]:
        return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")

    return pattern


@pytest.fixture
def mark_document() -> Callable[[Page], None]:
    """``mark_document(page)``: tag the document once htmx runs; the tag survives htmx
    swaps, not a page load (see ``not_reloaded``)."""

    def mark(page: Page) -> None:
        # The load event: htmx has processed the page (it does so at DOMContentLoaded; its
        # global exists before) and app.js has run.
        page.wait_for_load_state("load")
        page.evaluate("window.__noReload = true")

    return mark


@pytest.fixture
def not_reloaded() -> Callable[[Page], bool]:
    """``not_reloaded(page)``: the document tagged by ``mark_document`` is still there."""

    def check(page: Page) -> bool:
        return page.evaluate("window.__noReload === true")

    return check
