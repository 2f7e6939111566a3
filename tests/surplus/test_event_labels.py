"""The event log in words: every (subject, action) the code records has a sentence,
no sentence shows a code, and the activity log reads in the reader's language."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from surplus import event_labels
from surplus.extensions import db
from surplus.models import AllocationBatch
from surplus.services import conventions, stops
from tests.factories import translated

ROOT = Path(__file__).resolve().parents[2] / "surplus"

# Every (subject type, action) recorded by the code: services.events.record and the
# demo's history (which records the same). A new recorded action must be added here
# (test_every_literal_action_is_listed finds it) and given a sentence in event_labels.
EMITTED = {
    ("organisation", a)
    for a in (
        "signed_up",
        "verified",
        "rejected",
        "area_updated",
        "figures_published",
        "figures_unpublished",
    )
}
EMITTED |= {
    ("user", a)
    for a in (
        "locked",
        "role_changed",
        "became_coordinator",
        "deactivated",
        "reactivated",
        "deleted",
    )
}
EMITTED |= {("invitation", "invited"), ("invitation", "accepted")}
EMITTED |= {("transportagreement", a) for a in ("requested", "approve", "refuse", "end")}
EMITTED |= {
    ("lot", a)
    for a in (
        "posted",
        "withdrawn",
        "expired",
        "received_at_depot",
        "handover_refused",
        "delivery_missed",
        "recalled",
        "claimed",
        "claim_cancelled",
        "picked_up",
        "delivered",
        "left_at_hub",
        "taken_from_hub",
        "done",
        "escalated",
        "edited",
        "photo_added",
        "photo_deleted",
        "self_collected",
    )
}
EMITTED |= {
    ("claim", a)
    for a in (
        "created",
        "withdrawn",
        "expired",
        "received_at_depot",
        "refused",
        "returned",
        "cancelled",
        "booked",
        "self_collect",
        "self_collected",
        "unbooked",
    )
}
EMITTED |= {("stockreceipt", "received"), ("stockreceipt", "refused")}
EMITTED |= {("depotzone", "created"), ("depotzone", "updated")}
EMITTED |= {("stockitem", a) for a in ("split", "merged", "adjusted", "counted")}
EMITTED |= {("recall", a) for a in ("opened", "acknowledged", "closed")}
EMITTED |= {("run", a) for a in ("created", "stops_added", "driver_assigned", "driver_unassigned")}
EMITTED |= {
    ("stop", a)
    for a in (
        "removed",
        "picked_up",
        "delivered",
        "left_at_hub",
        "taken_from_hub",
        "done",
        "rejected",
        "missed",
    )
}
EMITTED |= {("convention", a) for a in ("requested", "figures_updated", *conventions.TARGET)}
EMITTED |= {("allocationbatch", "proposed"), ("allocationbatch", "confirmed")}
EMITTED |= {("vehicle", "created"), ("runtemplate", "created"), ("runtemplate", "stop_added")}

CODE = re.compile(r"\b[a-z]+_[a-z_]+\b|#\d+|\ballocationbatch\b|\btransportagreement\b")


def _literal_actions() -> set[str]:
    """String actions passed to ``events.record(…)`` or the demo history's ``log(…)``
    (``security_log.record`` writes the account security log, not events)."""
    found: set[str] = set()

    def strings(node: ast.AST) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return strings(node.body) | strings(node.orelse)
        return set()

    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "security_log":
                continue
            if name == "record" and len(node.args) >= 4:
                found |= strings(node.args[3])
            elif name == "log" and path.name == "demo_history.py" and len(node.args) >= 4:
                found |= strings(node.args[3])
    return found


@pytest.fixture(scope="module")
def page(make_app):
    with make_app("sqlite://") as app, app.test_request_context():
        yield app


def test_every_literal_action_is_listed():
    listed = {action for _, action in EMITTED}
    assert _literal_actions() - listed == set()


def test_variable_actions_are_listed():
    for action in ("approve", "refuse", "end"):  # agreements.decide
        assert ("transportagreement", action) in EMITTED
    assert {("convention", a) for a in conventions.TARGET} <= EMITTED
    assert "_action" in vars(stops)  # the stop's action: left_at_hub, taken_from_hub, …
    for action in ("left_at_hub", "taken_from_hub", "picked_up", "delivered", "done"):
        assert ("stop", action) in EMITTED and ("lot", action) in EMITTED


def test_every_emitted_pair_has_a_sentence_without_codes(page):
    assert EMITTED - set(event_labels.LABELS) == set()
    for language in ("en", "fr", "nl"):
        with force_locale(language):
            for subject, action in EMITTED:
                text = event_labels.sentence(subject, action, 7, "Yaourts")
                assert "Yaourts" in text or "7" in text, (subject, action, text)
                assert not CODE.search(text), (language, subject, action, text)


def test_unknown_pairs_still_read_as_sentences(page):
    with force_locale("fr"):
        known_thing = event_labels.sentence("lot", "teleported", 3, "Pommes")
        unknown = event_labels.sentence("spaceship", "launched", 3)
    assert known_thing == translated(
        "fr", "%(thing)s “%(name)s” changed", thing="Lot", name="Pommes"
    )
    assert unknown == translated("fr", "A record changed")
    assert not CODE.search(known_thing) and not CODE.search(unknown)


def test_french_sentences(page):
    with force_locale("fr"):
        assert (
            event_labels.sentence("stop", "picked_up", 509, "Run Libramont mardi")
            == "Arrêt de collecte confirmé — Run Libramont mardi"
        )
        assert (
            event_labels.sentence("allocationbatch", "proposed", 2)
            == "Proposition d'attribution n° 2 créée"
        )
        # A subject gone (a removed stop): its number, never "stop #509".
        assert event_labels.sentence("stop", "removed", 509) == (
            "Arrêt retiré de la tournée « n° 509 »"
        )


def test_details_read_in_words(page):
    with force_locale("fr"):
        said = event_labels.details(
            {"temperature_c": 9.0, "limit_c": 7, "kg": 12.5, "status": "done", "run_id": 4}
        )
    assert said == ["12,5 kg", "mesuré 9\u00a0°C", "limite 7\u00a0°C"]


def test_activity_log_tells_events_in_words_with_links(w, login_as):
    client = login_as(w.coordinator)
    assert client.post("/platform/allocation/").status_code == 302
    db.session.rollback()
    batch = db.session.scalar(select(AllocationBatch))
    html = client.get("/account/events").get_data(as_text=True)
    sentence = translated("fr", "Allocation proposal no. %(id)s created", id=batch.id)
    assert sentence.replace("'", "&#39;") in html
    assert f'href="/platform/allocation/{batch.id}"' in html
    assert "allocationbatch" not in html and "proposed" not in html
