"""Inter-platform journeys on the seeded demo region, in Chromium: a lot of the Mons
auction in wave 2 reaches Namur's network (and not Liège's), a Charleroi run carries a
stop for SOREAL, two coordinators agree on transport (with the bell of the one asked),
the site admin runs the wave job by hand, and a coordinator edits the service area.

Seeding the demo region takes seconds, so it is seeded once per backend for the whole
run (``seeded_demo`` of ``tests/conftest.py``); a copy with its first jobs run is this
module's template per backend; each test runs on its own copy (a file copy on SQLite,
``CREATE DATABASE … TEMPLATE`` on PostgreSQL). The texts asserted are the French ones the
user reads."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from surplus import demo
from surplus.demo_data import DEMO_PASSWORD
from surplus.extensions import db
from surplus.models import Claim, Lot, Organisation, Run, Stop, User
from surplus.services.lot_dates import local_today
from tests.conftest import DemoCopy, SeededDemo

pytestmark = pytest.mark.browser

NAMUR = "Distri-denrées — Province de Namur"
ALIMENT = "Alimen'T — plateforme provinciale du Luxembourg"
SOREAL = "SOREAL Mons-Borinage"
CHICONS = "Chicons de la criée — invendus du jour"
ADMIN = "admin@demo.maillon.be"
LIBRAMONT = "coordination@demo.maillon.be"


def coordinator(key: str) -> str:
    return f"coordination.{key}@demo.maillon.be"


# -- the demo region, seeded once per backend ---------------------------------------------


def _facts() -> dict:
    """What the tests look up in the seeded region (plain values, same in every copy)."""

    def email_of(org_name: str) -> str:
        return db.session.scalars(
            select(User.email)
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(Organisation.name == org_name)
            .order_by(User.id)
        ).first()

    def platform_id(name: str) -> int:
        return db.session.scalar(select(Organisation.id).where(Organisation.name == name))

    charleroi = platform_id("Banque alimentaire de Charleroi")
    shared_run = db.session.scalar(
        select(Run.id)
        .join(Stop, Stop.run_id == Run.id)
        .join(Claim, Claim.id == Stop.claim_id)
        .where(Run.platform_id == charleroi, Claim.platform_id == platform_id(SOREAL))
    )
    assert shared_run is not None, "the demo region has a Charleroi run carrying for SOREAL"
    return {
        "chicons": db.session.scalar(select(Lot.id).where(Lot.title == CHICONS)),
        "namur_user": email_of("CPAS de Namur"),
        "verviers_user": email_of("CPAS de Verviers"),
        "shared_run": shared_run,
    }


def _seed_demo(app: Flask) -> dict:
    """The first jobs, on a copy of the run's seeded demo region; the facts."""
    with app.app_context():
        demo.first_jobs(app)  # as `flask demo seed` does: the Mons lot reaches wave 2
        facts = _facts()
        db.session.remove()
    return facts


class DemoTemplates:
    """The seeded demo region with its first jobs run, per backend (built on first use
    from a copy of the run's seeded region, ``seeded_demo`` of ``tests/conftest.py``),
    and its facts."""

    def __init__(self, directory: Path, make_app, seeded: SeededDemo):
        self.directory = directory
        self.make_app, self.seeded = make_app, seeded
        self.copies: dict[str, DemoCopy] = {}
        self.facts: dict[str, dict] = {}

    def template(self, backend: str) -> DemoCopy:
        if backend not in self.copies:
            copy = self.copies[backend] = self.seeded.copy(backend, self.directory)
            with self.make_app(copy.uri) as app:  # disposed: a template has no one connected
                self.facts[backend] = _seed_demo(app)
        return self.copies[backend]


@pytest.fixture(scope="module")
def demo_templates(
    tmp_path_factory: pytest.TempPathFactory, make_app, seeded_demo: SeededDemo
) -> Iterator[DemoTemplates]:
    templates = DemoTemplates(tmp_path_factory.mktemp("demo"), make_app, seeded_demo)
    yield templates
    for copy in templates.copies.values():
        copy.drop()  # dropped at the end of the module even if the first jobs failed


@pytest.fixture
def database_uri(
    backend: str, tmp_path: Path, demo_templates: DemoTemplates, postgres
) -> Iterator[str]:
    """This test's own copy of the seeded demo region (overrides the empty database; the
    live server's application runs on it as seeded)."""
    template = demo_templates.template(backend)
    if backend == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(template.uri.removeprefix("sqlite:///"), path)
        yield f"sqlite:///{path}"
        return
    name = f"{template.name}_{uuid.uuid4().hex[:6]}"
    try:
        yield postgres.create(name, template=template.name)
    finally:
        postgres.drop(name)


@pytest.fixture
def facts(backend: str, database_uri: str, demo_templates: DemoTemplates) -> dict:
    return demo_templates.facts[backend]


@pytest.fixture
def as_user(new_context, sign_in):
    """A new browser context signed in as ``email`` (demo password); returns its page."""

    def open_page(email: str, **options) -> Page:
        page = new_context(**options).new_page()
        sign_in(page, email, DEMO_PASSWORD)
        return page

    return open_page


# -- 1. offer waves -----------------------------------------------------------------------


def test_wave_two_reaches_namur_network_but_not_liege(facts, as_user, live_server):
    lot_url = f"/lots/{facts['chicons']}"

    # Namur's coordinator: the lot is in wave 2 and offered to Distri-denrées.
    namur = as_user(coordinator("namur"))
    namur.goto(lot_url)
    offer = namur.locator("#offer")
    expect(offer).to_contain_text("Vague 2 sur 3")
    expect(offer).to_contain_text("Vague suivante le")
    platforms = offer.locator("ul li")
    expect(platforms.filter(has_text=NAMUR)).to_have_count(1)
    expect(platforms.filter(has_text=NAMUR)).to_contain_text("vague 2")
    expect(offer.locator(".why-visible")).to_have_count(0)  # not a beneficiary

    # A social worker of the CPAS of Namur finds it in the list and sees why.
    worker = as_user(facts["namur_user"])
    worker.goto("/lots?q=Chicons")
    card = worker.locator(f"#results #lot-{facts['chicons']}")
    expect(card).to_be_visible()
    expect(card).to_contain_text(CHICONS)
    expect(card.locator(".tag-wave")).to_have_text("vague 2")
    card.get_by_role("link", name=CHICONS).click()
    expect(worker).to_have_url(live_server + lot_url)
    why = worker.locator("#offer .why-visible")
    expect(why).to_have_count(1)
    expect(why).to_contain_text(f"grâce à votre convention avec {NAMUR} (vague 2)")
    expect(worker.locator("#offer ul")).to_have_count(0)  # the platforms' list is theirs

    # The CPAS of Verviers (only under convention with Liège) is refused, with the wave.
    verviers = as_user(facts["verviers_user"])
    verviers.goto("/lots?q=Chicons")
    expect(verviers.locator("#results")).to_be_visible()
    expect(verviers.locator(f"#lot-{facts['chicons']}")).to_have_count(0)
    response = verviers.goto(lot_url)
    assert response is not None and response.status == 403
    refusal = verviers.locator("main article")
    expect(refusal.locator("h1")).to_have_text("403")
    expect(refusal).to_contain_text("vague 2 sur 3")
    expect(refusal).to_contain_text("plateformes proches")


# -- 2. a shared run ----------------------------------------------------------------------


def test_charleroi_run_carries_for_soreal_who_follows_it(facts, as_user):
    run_url = f"/runs/{facts['shared_run']}"
    mark = re.compile(rf"^\s*pour {re.escape(SOREAL)}\s*$")

    charleroi = as_user(coordinator("charleroi"))
    charleroi.goto(run_url)
    stops = charleroi.locator("#timetable tbody tr[id^=stop-]")
    for_soreal = stops.filter(has=charleroi.locator(".for-platform"))
    expect(for_soreal).to_have_count(2)  # the pickup at the bakery and the drop at Boussu
    expect(for_soreal.locator(".for-platform").first).to_have_text(mark)
    expect(for_soreal.filter(has_text="CPAS de Boussu")).to_have_count(1)
    expect(stops.get_by_role("button", name="Supprimer").first).to_be_visible()
    assert stops.count() > 2  # the carrier's own network is on the run too

    # The driver's sheet says it too.
    charleroi.get_by_role("link", name="Feuille de route").click()
    expect(charleroi).to_have_url(re.compile(rf"{run_url}/sheet$"))
    sheet_marks = charleroi.locator("main .for-platform")
    expect(sheet_marks).to_have_count(2)
    expect(sheet_marks.first).to_have_text(mark)

    # SOREAL's coordinator follows the run but may not change it.
    soreal = as_user(coordinator("soreal"))
    response = soreal.goto(run_url)
    assert response is not None and response.status == 200
    # It sees only the stops made for it (its claim's pickup and drop-off), not the
    # carrier's own network.
    expect(soreal.locator("#timetable .for-platform")).to_have_count(2)
    expect(soreal.locator("#timetable tbody tr[id^=stop-]")).to_have_count(2)
    expect(soreal.get_by_role("button", name="Supprimer")).to_have_count(0)
    expect(soreal.locator("form[action*='/remove']")).to_have_count(0)


# -- 3. transport agreements (and 6. the bell of the platform asked) ---------------------


def test_transport_agreement_request_and_approval(
    as_user, live_server, mark_document, not_reloaded
):
    today = local_today()
    # Alimen'T's coordinator has a page open; the clock lets the test run the bell's poll.
    theirs = as_user(coordinator("aliment"))
    theirs.clock.install()
    with theirs.expect_response(
        lambda r: (
            r.url.endswith("/notifications/count")
            and r.request.headers.get("hx-current-url", "").endswith("/platform/agreements")
        )
    ) as first_count:
        theirs.goto("/platform/agreements")
    counted = re.search(r'class="badge"[^>]*>(\d+)<', first_count.value.text())
    before = int(counted.group(1)) if counted else 0
    bell = theirs.locator("#bell-count .badge")
    expect(bell).to_have_count(1 if before else 0)
    expect(theirs.locator("#agreements article.agreement")).to_have_count(0)
    mark_document(theirs)

    ours = as_user(coordinator("namur"))
    ours.goto("/platform/agreements")
    mark_document(ours)
    form = ours.locator("#agreement-request form")
    expect(form.locator("#valid_from")).to_have_value(today.isoformat())

    # A first day in the past and a last day before it: messages per field, entries kept.
    form.locator("#other_id").select_option(label=f"{ALIMENT} (Marche-En-Famenne)")
    form.get_by_label("Nos camionnettes transportent pour eux").check()
    yesterday = (today - timedelta(days=1)).isoformat()
    before_yesterday = (today - timedelta(days=2)).isoformat()
    form.locator("#valid_from").fill(yesterday)
    form.locator("#valid_until").fill(before_yesterday)
    form.locator("#note").fill("Lundis, camion frigo")
    with ours.expect_response(re.compile(r"/platform/agreements$")) as refused:
        form.get_by_role("button", name="Envoyer la demande").click()
    assert refused.value.status == 422
    form = ours.locator("#agreement-request form")
    expect(ours.locator("#agreement-request .error-summary")).to_contain_text(
        "Le premier jour ne peut pas être passé."
    )
    expect(ours.locator("#valid_from-msg")).to_have_text("Le premier jour ne peut pas être passé.")
    expect(ours.locator("#valid_until-msg")).to_have_text(
        "La date de fin ne peut pas précéder la date de début."
    )
    expect(form.locator("#valid_from")).to_have_attribute("aria-invalid", "true")
    expect(form.locator("#valid_from")).to_have_value(yesterday)
    expect(form.locator("#valid_until")).to_have_value(before_yesterday)
    expect(form.locator("#note")).to_have_value("Lundis, camion frigo")
    expect(form.locator("#other_id option:checked")).to_have_text(re.compile(r"^Alimen'T"))
    expect(form.get_by_label("Nos camionnettes transportent pour eux")).to_be_checked()
    expect(ours.locator("#agreements article.agreement")).to_have_count(0)
    assert not_reloaded(ours)

    # Corrected: from today, no end. The page part is swapped in with the new card.
    form.locator("#valid_from").fill(today.isoformat())
    form.locator("#valid_until").fill("")
    form.get_by_role("button", name="Envoyer la demande").click()
    expect(ours.locator("#agreements > .flash-success")).to_have_text(
        f"Demande envoyée à {ALIMENT}."
    )
    card = ours.locator("#agreements article.agreement")
    expect(card).to_have_count(1)
    expect(card.locator("header strong")).to_have_text(
        f"Nos camionnettes transportent pour {ALIMENT}"
    )
    expect(card.locator(".agreement-status")).to_have_text("En attente de décision")
    expect(card).to_contain_text(f"En attente de la décision de {ALIMENT}.")
    expect(ours.locator("#valid_from-msg.error")).to_have_count(0)
    assert not_reloaded(ours)

    # The bell of the platform asked counts the request at its next poll (every 30 s).
    theirs.clock.fast_forward("00:31")
    expect(bell).to_have_text(str(before + 1))
    assert not_reloaded(theirs)

    # Alimen'T's coordinator approves it: only the card changes.
    theirs.reload()
    mark_document(theirs)
    card = theirs.locator("#agreements article.agreement")
    expect(card).to_have_count(1)
    expect(card.locator("header strong")).to_have_text(
        f"Les camionnettes de {NAMUR} transportent pour nous"
    )
    expect(card).to_contain_text(f"demandé par {NAMUR}")
    expect(card).to_contain_text("Lundis, camion frigo")
    with theirs.expect_response(re.compile(r"/platform/agreements/\d+/decision$")) as decided:
        card.get_by_role("button", name="Approuver").click()
    assert decided.value.status == 200
    expect(card.locator(".agreement-status")).to_have_text("En vigueur")
    expect(card.locator(".flash-success")).to_have_text("Décision enregistrée.")
    expect(card.get_by_role("button", name="Approuver")).to_have_count(0)
    expect(card.get_by_role("button", name="Mettre fin à l’accord")).to_be_visible()
    assert not_reloaded(theirs)

    # Namur's coordinator sees it in force too.
    ours.reload()
    card = ours.locator("#agreements article.agreement")
    expect(card.locator(".agreement-status")).to_have_text("En vigueur")
    expect(card.get_by_role("button", name="Mettre fin à l’accord")).to_be_visible()


# -- 4. the job log -----------------------------------------------------------------------


def test_admin_runs_the_wave_job_by_hand(as_user, mark_document, not_reloaded):
    page = as_user(ADMIN)
    page.goto("/jobs/")
    mark_document(page)
    job = page.locator("table.jobs tbody tr").filter(
        has_text="Proposer les lots non réservés à la vague suivante"
    )
    expect(job).to_have_count(1)
    log = page.locator("table.job-log tbody tr")
    manual = log.filter(has_text="à la demande")
    expect(manual).to_have_count(0)  # the demo's first runs were on schedule
    expect(log.first).to_be_visible()
    runs_before = log.count()

    with page.expect_response(re.compile(r"/jobs/escalate_waves/run$")) as ran:
        job.get_by_role("button", name="Lancer maintenant").click()
    assert ran.value.status == 200
    expect(page.locator("#job-board > .flash-success")).to_contain_text(
        "« Proposer les lots non réservés à la vague suivante » terminée"
    )
    expect(manual).to_have_count(1)
    newest = log.first
    expect(newest.locator("td").nth(0)).to_have_text(
        "Proposer les lots non réservés à la vague suivante"
    )
    expect(newest.locator("td").nth(3)).to_have_text("terminée")
    expect(newest.locator("td").nth(5)).to_contain_text("à la demande · Administration Maillon")
    expect(log).to_have_count(runs_before + 1)
    expect(job.locator(".outcome-ok")).to_have_text("terminée")
    assert not_reloaded(page)


# -- 5. the service area ------------------------------------------------------------------


def test_service_area_refuses_an_unknown_postcode_then_saves(as_user, live_server):
    page = as_user(LIBRAMONT)
    page.goto("/platform/area")
    form = page.locator("main form").filter(has=page.locator("#postcodes"))
    expect(form.locator("#postcodes")).not_to_have_value("")

    form.locator("#postcodes").fill("6800, 0000")
    form.locator("#radius_km").fill("250")
    with page.expect_response(re.compile(r"/platform/area$")) as posted:
        form.get_by_role("button", name="Enregistrer la zone").click()
    assert posted.value.status == 422
    expect(page.locator("main .error-summary")).to_contain_text(
        "Codes postaux belges inconnus : 0000."
    )
    expect(page.locator("#postcodes-msg")).to_have_text("Codes postaux belges inconnus : 0000.")
    expect(page.locator("#radius_km-msg")).to_have_text(
        "Le rayon doit être supérieur à 0 et d’au plus 200 km."
    )
    expect(page.locator("#postcodes")).to_have_value("6800, 0000")
    expect(page.locator("#postcodes")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#radius_km")).to_have_value("250")
    communes = page.locator("main section table tbody tr")
    expect(communes.filter(has_text="0000")).to_contain_text("Code postal inconnu")

    page.locator("#postcodes").fill("6800\n6600, 6870")
    page.locator("#radius_km").fill("25")
    page.get_by_role("button", name="Enregistrer la zone").click()
    expect(page).to_have_url(live_server + "/platform/area")
    expect(page.locator("main .flash-success")).to_have_text("Zone desservie enregistrée.")
    expect(page.locator("#postcodes")).to_have_value("6600\n6800\n6870")
    expect(page.locator("#radius_km")).to_have_value("25")
    expect(page.locator("#postcodes-msg.error")).to_have_count(0)
    expect(communes).to_have_count(3)
    expect(communes.filter(has_text="6600")).to_contain_text("Bastogne")
    expect(communes.filter(has_text="6870")).to_contain_text("Saint-Hubert")
