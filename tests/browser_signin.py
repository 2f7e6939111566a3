"""Signing a browser page in through the login form, for the browser tests' fixture and
for the crawl of every page (which serves the demo site on its own server)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    """Sign ``page`` (its context's base URL is ``base``) in and wait until the dashboard
    has loaded."""
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(base) + r"/(\?.*)?$"))
    # The URL changes when the dashboard's response arrives, before its deferred scripts
    # have run: wait for them, so that a test's first click has its handlers.
    page.wait_for_load_state("load")
