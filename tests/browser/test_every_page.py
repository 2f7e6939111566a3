"""Every page of every role, on a 360 × 740 phone and a 1280 × 800 desktop, over the
seeded demo region: each page answers 200, fits the phone's width (no horizontal
scrolling) and axe-core finds no WCAG 2.1 A/AA violation at either size.

The pages are found by crawling, not listed: signed in as the role, the crawler starts
at the dashboard (every menu link is on it), follows the same-origin links breadth first
and visits one page per path pattern (numbers collapse: ``/lots/12`` and ``/lots/34`` are
one pattern), so a new page is audited without editing this test. Downloads, the API and
other sites are not followed. The demo gets what it lacks for a few pages (a recall, an
allocation proposal, published figures), the anonymous visitor starts from the links
only e-mails give (an invitation, an unsubscribe link) and the error page, and a few
forms are also audited as they come back with a message per field. A role's failures
are collected over all its pages and reported together.

Layout does not depend on the database, so this audit runs on SQLite only. Set
``AXE_REPORT_DIR`` to also write each role's findings there as JSON.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from werkzeug.serving import make_server

from surplus import demo
from surplus.demo_data import DEMO_PASSWORD
from surplus.extensions import db
from surplus.models import Claim, Lot, NotificationKind, Role, User
from surplus.services import accounts, allocation, recalls
from surplus.services.notifications.prefs import unsubscribe_token
from tests import browser_signin

# A role crawls up to MAX_PAGES pages, each audited twice: more than the default bound.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
MAX_PAGES = 50  # per role: a crawl that reaches it fails (raise it)
MAX_DEPTH = 5  # link hops from the start pages

# role → its demo account (None: not signed in) and where its crawl starts.
ROLES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "anonymous": (None, ("/login", "/signup", "/no-such-page")),
    "producer": ("producteur@demo.maillon.be", ("/",)),
    "shop": ("epicerie@demo.maillon.be", ("/",)),
    "cpas": ("cpas@demo.maillon.be", ("/",)),
    "association": ("asbl@demo.maillon.be", ("/",)),
    "hub-coordinator": ("coordination@demo.maillon.be", ("/",)),
    "food-bank-coordinator": ("coordination.charleroi@demo.maillon.be", ("/",)),
    "site-admin": ("admin@demo.maillon.be", ("/",)),
}
# The pages that answer otherwise than 200 on purpose: the error page.
STATUS = {"/no-such-page": 404}
# Forms sent empty, to audit their messages too (each answers 422 with a message per field).
SENT_EMPTY = {
    "anonymous": ("/login", "/signup"),
    "producer": ("/lots/new",),
    "cpas": ("/conventions/new",),
}
# The driver, where the demo has one.
if driver := getattr(demo, "DRIVER_EMAIL", None):
    ROLES["driver"] = (driver, ("/",))

# Not pages: files, images, the API, the health check, htmx fragments.
SKIP_PATH = re.compile(
    r"\.(csv|xlsx|pdf|svg|png|jpe?g|webp|json|txt)$"
    r"|/export|/photos/|^/static/|^/api/|^/healthz$|^/notifications/count$|^/logout$"
)
# Path segments that vary by record: ids, dates, months, tokens.
VARYING = re.compile(r"^(\d+|\d{4}-\d{2}(-\d{2})?|[A-Za-z0-9_.-]{20,})$")

# Same-origin link targets of the page, as absolute paths without query or fragment.
LINKS_JS = """() => [...document.querySelectorAll('a[href]')]
  .filter(a => !a.hasAttribute('download'))
  .map(a => a.href)"""
# htmx has loaded the parts a page fetches on load (the bell's count, say).
SETTLED_JS = """() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')"""
INVALID_JS = "() => document.querySelector('main [aria-invalid=true], main .error-summary')"
OVERFLOW_JS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def pattern_of(path: str) -> str:
    """``/lots/123/trace`` → ``/lots/{}/trace``: the pages one template renders."""
    return "/".join("{}" if VARYING.match(part) else part for part in path.split("/"))


@dataclass
class Audit:
    """What the crawl of one role found."""

    role: str
    visited: dict[str, str] = field(default_factory=dict)  # pattern → path visited
    failures: list[dict] = field(default_factory=list)

    def fail(self, path, size, rule, impact="", target="", html="", nodes=1) -> None:
        self.failures.append(
            {
                "role": self.role,
                "path": path,
                "size": size,
                "rule": rule,
                "impact": impact or "",
                "target": target,
                "html": html,
                "nodes": nodes,
            }
        )

    def report(self) -> str:
        lines = [f"{len(self.failures)} problem(s) for {self.role}:"]
        for f in self.failures:
            more = f" (+{f['nodes'] - 1} more)" if f["nodes"] > 1 else ""
            lines.append(
                f"- {f['path']} at {f['size']} px: {f['rule']} ({f['impact']}){more} "
                f"{f['target']} {f['html']}".rstrip()
            )
        return "\n".join(lines)


# -- the demo region, served once per module -----------------------------------------


def _pages_the_demo_lacks() -> tuple[str, ...]:
    """Data for the pages the demo alone has none for: a recall of one of the producer's
    claimed lots, the hub's allocation proposal and its published figures (the crawl
    finds their links); an invitation and an unsubscribe link, which only e-mails give:
    returned as the anonymous visitor's start pages."""

    def user(email: str) -> User:
        return db.session.scalars(select(User).where(User.email == email)).one()

    coordinator, producer = user(ROLES["hub-coordinator"][0]), user(ROLES["producer"][0])
    coordinator.organisation.publish_figures = True
    allocation.propose(db.session, coordinator)
    lot = db.session.scalars(
        select(Lot).join(Claim).where(Lot.donor_id == producer.organisation_id).order_by(Lot.id)
    ).first()
    assert lot is not None, "the demo producer's lots have claims"
    recalls.open_recall(db.session, producer, lot, "Listeria monocytogenes")
    _, token = accounts.invite(db.session, coordinator, "nouveau@demo.maillon.be", Role.MEMBER)
    unsubscribe = unsubscribe_token(producer.id, NotificationKind.LOT_CLAIMED)
    return (
        f"/invitations/{token}",
        f"/notifications/unsubscribe/{unsubscribe}",
        f"/platforms/{coordinator.organisation_id}/figures",
    )


@dataclass
class DemoSite:
    """The demo region's application, where it is served, and the start pages it adds."""

    app: Flask
    more_starts: dict[str, tuple[str, ...]]  # role → pages only an e-mail links to
    url: str = ""


@pytest.fixture(scope="module")
def demo_region(make_app, seeded_demo, tmp_path_factory) -> Iterator[DemoSite]:
    """The demo region (a copy of the run's seeded region, ``seeded_demo`` of
    ``tests/conftest.py``), with CSRF on as in production."""
    copy = seeded_demo.copy("sqlite", tmp_path_factory.mktemp("every-page"))
    with make_app(copy.uri, SERVER_NAME=None, WTF_CSRF_ENABLED=True) as app:
        with app.app_context():
            try:
                anonymous = _pages_the_demo_lacks()
                db.session.commit()
                emails = set(db.session.scalars(select(User.email)))
            finally:
                db.session.remove()
        missing = {email for email, _ in ROLES.values() if email} - emails
        assert not missing, f"the demo has no account {missing}"
        demo.first_jobs(app)  # as `flask demo seed` does: the job log has entries
        yield DemoSite(app, {"anonymous": anonymous})


@pytest.fixture(scope="module")
def demo_site(demo_region: DemoSite) -> Iterator[DemoSite]:
    """The demo region served on a free port of 127.0.0.1."""
    server = make_server("127.0.0.1", 0, demo_region.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="demo-server", daemon=True)
    thread.start()
    try:
        demo_region.url = f"http://127.0.0.1:{server.server_port}"
        yield demo_region
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="module")
def axe() -> Axe:
    """axe-core as the pinned axe-playwright-python bundles it."""
    return Axe()


# -- the crawl -----------------------------------------------------------------------


def _links(page: Page, base: str) -> list[str]:
    origin = urlsplit(base).netloc
    paths = []
    for href in page.evaluate(LINKS_JS):
        url = urlsplit(urljoin(page.url, href))
        if url.scheme in ("http", "https") and url.netloc == origin:
            if not SKIP_PATH.search(url.path):
                paths.append(url.path)
    return paths


def _check(page: Page, audit: Audit, path: str, axe: Axe) -> None:
    """The page fits the phone, and axe finds nothing at phone and desktop sizes."""
    page.wait_for_function(SETTLED_JS)
    scroll_width, inner_width = page.evaluate(OVERFLOW_JS)
    if scroll_width > inner_width:
        audit.fail(path, "360", "horizontal-overflow", "serious", f"{scroll_width} px wide")
    page.evaluate(axe.axe_script)  # once per page: axe-core is large
    for size, viewport in (("360", PHONE), ("1280", DESKTOP)):
        page.set_viewport_size(viewport)
        response = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
        for violation in response["violations"]:
            node = violation["nodes"][0]
            audit.fail(
                path,
                size,
                violation["id"],
                violation["impact"],
                " ".join(str(t) for t in node["target"]),
                re.sub(r"\s+", " ", node["html"])[:160],
                nodes=len(violation["nodes"]),
            )
    page.set_viewport_size(PHONE)


def crawl(page: Page, base: str, starts: tuple[str, ...], audit: Audit, axe: Axe) -> None:
    """Breadth first from ``starts``: one page per path pattern, ``MAX_PAGES`` at most."""
    queue = deque((start, 0, "") for start in starts)  # (path, depth, linked from)
    seen: set[str] = set()
    while queue and len(audit.visited) < MAX_PAGES:
        path, depth, source = queue.popleft()
        if pattern_of(path) in seen:
            continue
        seen.add(pattern_of(path))
        response = page.goto(path)
        status = response.status if response else 0
        if status != STATUS.get(path, 200):
            audit.fail(path, "-", f"HTTP {status}", "critical", html=f"linked from {source}")
            continue
        landed = urlsplit(page.url).path  # where a redirect led
        if landed != path and pattern_of(landed) in audit.visited:
            continue
        audit.visited[pattern_of(landed)] = landed
        seen.add(pattern_of(landed))
        _check(page, audit, landed, axe)
        if depth < MAX_DEPTH:
            queue.extend((link, depth + 1, landed) for link in _links(page, base))
    left = {pattern_of(path) for path, _, _ in queue} - seen
    if left:
        audit.fail("-", "-", "page-cap", "critical", html=f"not visited: {sorted(left)}")


def send_empty(page: Page, path: str, audit: Audit, axe: Axe) -> None:
    """Send the page's main form empty (the browser's own checks off): the answer shows
    every field's message, and is audited like any page."""
    page.goto(path)
    form = page.locator("main form[method=post]").filter(has=page.locator("[type=submit]"))
    form = form.first
    form.evaluate(
        """form => { form.noValidate = true;
        form.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]),'
          + ' textarea').forEach(field => { field.value = ''; }); }"""
    )
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        form.locator("[type=submit]").first.click()
    label = f"{path} (sent empty)"
    if sent.value.status != 422:
        audit.fail(label, "-", f"HTTP {sent.value.status}", "critical", html="expected 422")
        return
    # A page load or an htmx swap: either way the fields' messages appear.
    page.wait_for_function(INVALID_JS)
    page.wait_for_load_state("load")  # after a page load, app.js has run before the audit
    audit.visited[label] = label
    _check(page, audit, label, axe)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_a_phone_and_passes_axe(role, browser: Browser, demo_site, axe):
    email, starts = ROLES[role]
    starts += demo_site.more_starts.get(role, ())
    context = browser.new_context(
        base_url=demo_site.url,
        viewport=PHONE,
        locale="fr-BE",
        timezone_id="Europe/Brussels",
    )
    audit = Audit(role)
    try:
        page = context.new_page()
        here = lambda: urlsplit(page.url).path  # noqa: E731
        page.on(
            "console",
            lambda m: (
                "Content Security Policy" in m.text
                and audit.fail(here(), "-", "content-security-policy", "serious", html=m.text[:160])
            ),
        )
        page.on(
            "pageerror",
            lambda e: audit.fail(here(), "-", "javascript-error", "serious", html=str(e)[:160]),
        )
        if email:
            browser_signin.sign_in(page, demo_site.url, email, DEMO_PASSWORD)
        crawl(page, demo_site.url, starts, audit, axe)
        for path in SENT_EMPTY.get(role, ()):
            send_empty(page, path, audit, axe)
    finally:
        context.close()
        if report_dir := os.environ.get("AXE_REPORT_DIR"):
            Path(report_dir).mkdir(parents=True, exist_ok=True)
            (Path(report_dir) / f"{role}.json").write_text(
                json.dumps(
                    {"role": role, "visited": audit.visited, "failures": audit.failures},
                    ensure_ascii=False,
                    indent=1,
                )
            )
    assert len(audit.visited) >= len(starts), f"{role}: the crawl found no page"
    assert not audit.failures, audit.report()
