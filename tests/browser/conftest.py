"""Browser fixtures: a live Maillon server per backend, and Debian's Chromium.

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

from app import create_app
from surplus.extensions import db
from tests.conftest import _base_config, _dispose, _truncate
from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Playwright's auto-waiting bound: generous for a loaded CI machine, far below pytest's.
expect.set_options(timeout=10_000)


def _live_config(uri: str) -> dict:
    config = _base_config(uri)
    config.pop("SERVER_NAME")
    config["WTF_CSRF_ENABLED"] = True
    return config


@pytest.fixture
def live_app(database_uri: str, backend: str) -> Iterator[Flask]:
    """The application the live server runs (not inside an app context: push your own)."""
    app = create_app(_live_config(database_uri))
    if backend == "postgresql":
        _truncate(app)
    yield app
    _dispose(app)


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
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
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
        context = browser.new_context(**{"base_url": live_server, "locale": "fr-BE",
                                         "timezone_id": "Europe/Brussels", **options})
        context.on("console",
                   lambda m: "Content Security Policy" in m.text and csp.append(m.text))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not csp, f"the Content-Security-Policy blocked something: {csp}"


@pytest.fixture
def sign_in(live_server: str) -> Callable[..., None]:
    """Sign ``page`` in through the login form and wait for the dashboard."""

    def run(page: Page, email: str, password: str = PASSWORD) -> None:
        page.goto("/login")
        form = page.locator("main form:has(input[name=password])")
        form.locator("input[name=email]").fill(email)
        form.locator("input[name=password]").fill(password)
        form.locator("button[type=submit]").click()
        expect(page).to_have_url(re.compile(re.escape(live_server) + r"/(\?.*)?$"))

    return run
