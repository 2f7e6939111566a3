"""Bad input, sent to every HTML form and every API body and query, on SQLite and
PostgreSQL: ids beyond 32 and 64 bits, absurd and non-finite numbers, impossible dates,
NUL bytes and lone surrogates, over-long text, bodies over the request limit, wrong JSON
types, and CSV rows carrying all of these.

Each case sends one bad value among otherwise valid ones, as the demo account whose form
it is, and asserts, all at once so that a failure lists every problem of the case:

- a 4xx status that fits (400/422 for a bad value, 404 for an id that names nothing,
  413 for a body over the limit), never a server error (the exception and where it was
  raised are in the message);
- a clear message: under /api, ``{"error": ..., "fields": {...}}`` naming the field; for
  a page, the form again with the user's other values and the field marked with its
  message (``aria-invalid`` or ``<field>-msg``, see ``templates/_form.html``);
- no change in the database: every row of every table is as before.

The cases run on a copy of the demo region shared while untouched (``workspace`` in
``conftest.py``). ``test_valid_input_is_accepted`` checks each form's and body's valid
values, so that a refusal in the corpus is the bad value's doing.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from sqlalchemy import select

from tests.web.conftest import Workspace, describe, server_errors

BRUSSELS = ZoneInfo("Europe/Brussels")
Facts = dict[str, Any]

# -- the classes of bad values ----------------------------------------------------------

NUL = "Pommes\x00bio"
SURROGATE = "Pommes\ud800bio"  # sent as its raw (invalid UTF-8) bytes in forms and queries
LONG = "x" * 10_000
TEXTS = {"nul": NUL, "surrogate": SURROGATE, "10000chars": LONG}

# Numbers as a form sends them, and as JSON (where types can be wrong too).
FORM_NUMBERS = {
    "1e306": "1e306",
    "1e308": "1e308",
    "-1": "-1",
    "0.0004": "0.0004",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "abc": "abc",
}
AS_STRING = "<the valid number, as a string>"  # "12" for 12: a string instead of a number
JSON_NUMBERS = {
    "1e306": 1e306,
    "1e308": 1e308,
    "-1": -1,
    "0.0004": 0.0004,
    "NaN": math.nan,
    "Infinity": math.inf,
    "abc": "abc",
    "true": True,
    "string": AS_STRING,
}
# Which of them are no bad value for a field: -1 °C and 0.0004 °C are temperatures; a
# cold room or a radius of 0.0004 kg or km is odd but not wrong.
SIGNED = ("-1", "0.0004")
FRACTION_OK = ("0.0004",)

DATES = {
    "9999-12-31": "9999-12-31",
    "0001-01-01": "0001-01-01",
    "2026-02-30": "2026-02-30",
    "garbage": "demain",
}
MOMENTS = {
    "9999-12-31": "9999-12-31T23:59",
    "0001-01-01": "0001-01-01T00:00",
    "2026-02-30": "2026-02-30T10:00",
    "garbage": "demain 14h",
}
MONTHS = {"2026-13": "2026-13", "0001-01": "0001-01", "garbage": "demain", **TEXTS}
BIG = (3_000_000_000, 99_999_999_999, 2**63)  # beyond int4, a plausible typo, beyond int8
FORM_IDS = {"abc": "abc", "-1": "-1", **{str(n): str(n) for n in BIG}}
JSON_IDS = {"abc": "abc", "-1": -1, "1.5": 1.5, "true": True, **{str(n): n for n in BIG}}

BAD_VALUE = (400, 422)
NOT_FOUND = (404,)
TOO_LARGE = (413,)


# -- the valid values each form and body starts from ------------------------------------


def today(f: Facts) -> date:
    return date.fromisoformat(f["today"])


def day(f: Facts, days: int) -> str:
    return (today(f) + timedelta(days=days)).isoformat()


def local(f: Facts, days: int, hour: int) -> str:
    """A moment as a ``datetime-local`` input sends it (Brussels time, no offset)."""
    return f"{day(f, days)}T{hour:02d}:00"


def moment(f: Facts, days: int, hour: int) -> str:
    """A moment as the API takes it (ISO 8601 with the Brussels offset)."""
    return datetime.combine(
        today(f) + timedelta(days=days), time(hour), tzinfo=BRUSSELS
    ).isoformat()


def lot_form(f: Facts) -> dict:
    return {
        "title": "Compote de pommes Boskoop",
        "category": "dry_goods",
        "description": "Bocaux en verre de 500 g",
        "weight_kg": "12",
        "units": "24",
        "date_kind": "best_before",
        "date": day(f, 60),
        "storage": "ambient",
        "divisible": "y",
        "min_part_kg": "2",
        "pickup_from": local(f, 1, 9),
        "pickup_until": local(f, 2, 17),
        "address": "Rue du Verger 4",
        "postcode": "6800",
        "locality": "Libramont-Chevigny",
        "lot_number": "LOT-TEST-42",
    }


def lot_json(f: Facts) -> dict:
    return {
        "title": "Compote de pommes Boskoop",
        "category": "dry_goods",
        "description": "Bocaux en verre de 500 g",
        "weight_kg": 12,
        "units": 24,
        "date_kind": "best_before",
        "date": day(f, 60),
        "storage": "ambient",
        "allergens": [],
        "divisible": True,
        "min_part_kg": 2,
        "pickup_from": moment(f, 1, 9),
        "pickup_until": moment(f, 2, 17),
        "postcode": "6800",
        "locality": "Libramont-Chevigny",
        "lat": 49.92,
        "lon": 5.38,
        "lot_number": "LOT-TEST-42",
    }


def figures_form(f: Facts) -> dict:
    return {
        "persons_per_week": "150",
        "chilled_capacity_kg": "100",
        "frozen_capacity_kg": "20",
        "hours_mon": "09:00-12:00",
        "hours_tue": "",
        "hours_wed": "13:30-16:30",
        "hours_thu": "",
        "hours_fri": "",
        "hours_sat": "",
        "hours_sun": "",
        "afsca_number": "AFSCA-2024-0077",
        "fse_plus_approval_number": "FSE-BE-7788",
        "fse_plus_approval_expires": day(f, 200),
        "contact_name": "Marie Lambert",
        "contact_phone": "061 22 33 44",
    }


def figures_json(f: Facts) -> dict:
    return {
        "persons_per_week": 150,
        "chilled_capacity_kg": 100,
        "frozen_capacity_kg": 20,
        "accepted_categories": [],
        "opening_hours": {"mon": [["09:00", "12:00"]]},
        "afsca_number": "AFSCA-2024-0077",
        "fse_plus_approval_number": "FSE-BE-7788",
        "fse_plus_approval_expires": day(f, 200),
        "contact_name": "Marie Lambert",
        "contact_phone": "061 22 33 44",
    }


@dataclass(frozen=True)
class Form:
    """A form (HTML) or a body (API): who sends it, where, and its valid values."""

    name: str
    role: str | None
    path: str  # may name facts: "/lots/{lot_donor}/withdraw"
    valid: Callable[[Facts], dict]
    api: bool = False
    htmx: bool = False  # the page posts it with htmx (HX-Request), as a browser does
    # Values that must come back in the page when another field is refused.
    keep: tuple[str, ...] = ()
    # Whether the refusal marks the field itself; a one-field action form (a reason)
    # may answer with an alert instead.
    per_field: bool = True
    # Fields the page does not show (hidden inputs): their refusal need not be marked.
    hidden: tuple[str, ...] = ()
    method: str = "POST"
    accepted: tuple[int, ...] = (200, 201, 204, 302, 303)  # of the valid values


FORMS = {
    form.name: form
    for form in [
        # -- pages --
        Form(
            "login",
            None,
            "/login",
            lambda f: {"email": "cpas@demo.maillon.be", "password": "maillon-demo"},
        ),
        Form(
            "signup",
            None,
            "/signup",
            lambda f: {
                "org_name": "Epicerie du Test",
                "kind": "shop",
                "address": "Rue du Test 1",
                "postcode": "6600",
                "locality": "Bastogne",
                "enterprise_number": "",
                "afsca_number": "AFSCA-TEST-1",
                "phone": "061 00 00 00",
                "name": "Jeanne Testeuse",
                "email": "jeanne.testeuse@example.org",
                "password": "un-mot-de-passe-solide",
            },
            keep=("org_name", "address", "locality", "afsca_number", "phone", "name", "email"),
        ),
        Form(
            "accept_invitation",
            None,
            "/invitations/{invitation_token}",
            lambda f: {"name": "Nouvelle Recrue", "password": "un-mot-de-passe-solide"},
        ),
        Form(
            "invite",
            "cpas",
            "/account/invitations",
            lambda f: {"email": "collegue.test@example.org", "role": "member"},
        ),
        Form(
            "lot_new",
            "donor",
            "/lots/new",
            lot_form,
            htmx=True,
            keep=("title", "description", "address", "lot_number"),
        ),
        Form(
            "lot_withdraw",
            "donor",
            "/lots/{lot_donor}/withdraw",
            lambda f: {"reason": "Vendu entre-temps"},
            per_field=False,
        ),
        Form(
            "lot_recall",
            "donor",
            "/lots/{lot_donor}/recall",
            lambda f: {"reason": "Rappel AFSCA du lot"},
            per_field=False,
        ),
        Form(
            "lot_claim",
            "cpas",
            "/lots/{lot_claimable}/claim",
            lambda f: {
                "kg": f["claim_kg"],
                "platform_id": str(f["libramont"]),
                "idempotency_key": "cle-test-1",
            },
            htmx=True,
            # One convention: the page offers no choice of platform.
            hidden=("idempotency_key", "platform_id"),
        ),
        Form(
            "claim_cancel",
            "cpas",
            "/claims/{claim}/cancel",
            lambda f: {"reason": "Plus de place en chambre froide"},
            per_field=False,
        ),
        Form(
            "claim_booking",
            "coordinator",
            "/claims/{claim}/booking",
            lambda f: {"run_id": str(f["booking_run"])},
            accepted=(302, 303),
        ),
        Form(
            "convention_new",
            "cpas",
            "/conventions/new",
            lambda f: {**figures_form(f), "platform_id": str(f["aliment"])},
            keep=("afsca_number", "contact_name", "contact_phone", "fse_plus_approval_number"),
        ),
        Form(
            "convention_figures",
            "cpas",
            "/conventions/{conv_cpas}/figures",
            figures_form,
            keep=("afsca_number", "contact_name", "contact_phone", "fse_plus_approval_number"),
        ),
        Form(
            "convention_decision",
            "coordinator",
            "/conventions/{conv_requested}/decision",
            lambda f: {
                "action": "approve",
                "reason": "Bienvenue dans le réseau",
                "valid_from": day(f, 0),
                "valid_until": day(f, 365),
            },
            keep=("valid_from", "valid_until"),
        ),
        Form(
            "agreement_request",
            "coordinator",
            "/platform/agreements",
            lambda f: {
                "other_id": str(f["liege"]),
                "direction": "we_carry",
                "valid_from": day(f, 1),
                "valid_until": day(f, 60),
                "note": "Tournees du mardi",
            },
            htmx=True,
            keep=("valid_from", "valid_until", "note"),
        ),
        Form(
            "agreement_decision",
            "coordinator",
            "/platform/agreements/{agreement}/decision",
            lambda f: {"action": "refuse", "reason": "Pas de camion disponible"},
            htmx=True,
            per_field=False,
        ),
        Form(
            "allocation_line",
            "coordinator",
            "/platform/allocation/{batch}/lines/{line}",
            lambda f: {"kg": "5"},
            htmx=True,
        ),
        Form(
            "area",
            "coordinator",
            "/platform/area",
            lambda f: {"postcodes": "6800 6840 6880", "radius_km": "25"},
            keep=("postcodes",),
        ),
        Form(
            "verification",
            "coordinator",
            "/organisations/{newcomer}/verification",
            lambda f: {"decision": "reject", "reason": "Documents manquants"},
            htmx=True,
            per_field=False,
        ),
        Form(
            "vehicle",
            "coordinator",
            "/runs/fleet/vehicles",
            lambda f: {"name": "Fourgon de test", "capacity_kg": "900", "refrigerated": "1"},
            keep=("name",),
        ),
        Form(
            "run_template",
            "coordinator",
            "/runs/fleet/templates",
            lambda f: {
                "name": "Tournee du samedi",
                "weekday": "5",
                "departure": "07:30",
                "vehicle_id": str(f["vehicle"]),
                "depot_id": str(f["depot"]),
            },
            keep=("name",),
        ),
        Form(
            "template_stop",
            "coordinator",
            "/runs/fleet/templates/{template}/stops",
            lambda f: {
                "organisation_id": str(f["cpas_org"]),
                "postcode": "",
                "load_kg": "50",
                "opens": "09:00",
                "closes": "12:00",
                "service_min": "10",
            },
        ),
        Form(
            "one_off_run",
            "coordinator",
            "/runs/",
            lambda f: {
                "name": "Tournee speciale",
                "start_at": local(f, 3, 8),
                "vehicle_id": str(f["vehicle"]),
                "depot_id": str(f["depot"]),
            },
            keep=("name",),
        ),
        Form(
            "stop_confirm",
            "coordinator",
            "/runs/stops/{stop}/confirm",
            lambda f: {"temperature": "4", "receiver": "Marie Dupont"},
            htmx=True,
            keep=("temperature", "receiver"),
        ),
        Form(
            "stop_missed",
            "coordinator",
            "/runs/stops/{stop}/nobody-there",
            lambda f: {"note": "Porte fermée"},
            htmx=True,
            keep=("note",),
        ),
        # -- API --
        Form(
            "api_token",
            None,
            "/api/v1/token",
            lambda f: {"email": "cpas@demo.maillon.be", "password": "maillon-demo"},
            api=True,
        ),
        Form("api_lot", "donor", "/api/v1/lots", lot_json, api=True),
        Form(
            "api_withdraw",
            "donor",
            "/api/v1/lots/{lot_donor}/withdraw",
            lambda f: {"reason": "Vendu entre-temps"},
            api=True,
        ),
        Form(
            "api_claim",
            "cpas",
            "/api/v1/lots/{lot_claimable}/claims",
            lambda f: {
                "kg": float(f["claim_kg"]),
                "platform_id": f["libramont"],
                "idempotency_key": "cle-test-1",
            },
            api=True,
        ),
        Form(
            "api_convention",
            "cpas",
            "/api/v1/conventions",
            lambda f: {**figures_json(f), "platform_id": f["aliment"]},
            api=True,
        ),
        Form(
            "api_figures",
            "cpas",
            "/api/v1/conventions/{conv_cpas}",
            figures_json,
            api=True,
            method="PATCH",
        ),
        Form(
            "api_decision",
            "coordinator",
            "/api/v1/conventions/{conv_requested}/decision",
            lambda f: {
                "action": "approve",
                "reason": "Bienvenue",
                "valid_from": day(f, 0),
                "valid_until": day(f, 365),
                "fse_plus": False,
            },
            api=True,
        ),
        Form(
            "api_booking",
            "coordinator",
            "/api/v1/claims/{claim}/booking",
            lambda f: {"run_id": f["booking_run"]},
            api=True,
            accepted=(200, 201, 400),
        ),  # 400: no room that day
        Form(
            "api_self_collect",
            "coordinator",
            "/api/v1/claims/{claim}/booking",
            lambda f: {"self_collect": True},
            api=True,
        ),
        Form(
            "api_stop",
            "coordinator",
            "/api/v1/stops/{stop}/confirm",
            lambda f: {"temperature": 4.0, "receiver": "Marie Dupont", "note": "RAS"},
            api=True,
        ),
        Form(
            "api_stop_missed",
            "coordinator",
            "/api/v1/stops/{stop}/nobody-there",
            lambda f: {"note": "Porte fermée"},
            api=True,
        ),
    ]
}


# -- the depot API (issue 16) ---------------------------------------------------------------
# Their valid values name stock of Libramont's depot: the demo's own when it has some,
# else stock made before each case (``_depot_stock`` below), part of the untouched state.


def receipt_json(f: Facts) -> dict:
    return {
        "source": "outside",
        "supplier": "SPP Intégration sociale (FSE+)",
        "title": "Haricots verts en conserve",
        "category": "dry_goods",
        "weight_kg": 12,
        "units": 24,
        "lot_number": "HV-2026-07",
        "date_kind": "best_before",
        "date": day(f, 300),
        "storage": "ambient",
        "allergens": [],
        "fse_plus": True,
        "packaging_ok": True,
        "labels_ok": True,
        "note": "Palette filmée",
    }


FORMS.update(
    {
        form.name: form
        for form in [
            Form(
                "api_receipt_goods",
                "coordinator",
                "/api/v1/depots/{depot}/receipts",
                receipt_json,
                api=True,
            ),
            Form(
                "api_receipt_claim",
                "coordinator",
                "/api/v1/depots/{depot}/receipts",
                lambda f: {"claim_id": f["depot_claim"], "temperature": 4.0, "note": "RAS"},
                api=True,
            ),
            Form(
                "api_split",
                "coordinator",
                "/api/v1/stock/{stock_item}/split",
                lambda f: {"parts": [2, 3.5]},
                api=True,
            ),
            Form(
                "api_merge",
                "coordinator",
                "/api/v1/stock/{stock_item}/merge",
                lambda f: {"item_ids": [f["stock_other"]]},
                api=True,
            ),
            Form(
                "api_adjustment",
                "coordinator",
                "/api/v1/stock/{stock_item}/adjustments",
                lambda f: {"kg": 1.5, "reason": "damaged", "note": "Carton écrasé"},
                api=True,
            ),
            Form(
                "api_count",
                "coordinator",
                "/api/v1/stock/{stock_item}/counts",
                lambda f: {"kg": 11.5, "note": "Inventaire de décembre"},
                api=True,
            ),
            Form(
                "api_offer",
                "coordinator",
                "/api/v1/stock/{stock_item}/offer",
                lambda f: {
                    "kg": 4,
                    "pickup_from": moment(f, 1, 9),
                    "pickup_until": moment(f, 2, 17),
                    "divisible": True,
                    "min_part_kg": 1,
                },
                api=True,
            ),
        ]
    }
)
DEPOT_PATHS = ("/api/v1/depots", "/api/v1/stock")


# -- the cases ----------------------------------------------------------------------------

UNSET = object()


@dataclass(frozen=True)
class Case:
    id: str
    form: Form | None  # the valid values the bad one is put among (None: nothing sent)
    field: str | None = None  # the field given a bad value, to be named in the answer
    value: Any = UNSET  # its bad value (UNSET: the valid values as they are)
    statuses: tuple[int, ...] = BAD_VALUE
    marked: bool = True  # whether the answer must name the field
    role: str | None = None
    method: str | None = None
    path: str | None = None
    query: dict | None = None  # sent as the query string
    raw: bytes | None = None  # the whole body, as it is
    content_type: str | None = None
    csv_row: dict | None = None  # for /lots/bulk: the CSV's one row's changes

    def who(self) -> str | None:
        return self.role if self.role is not None or self.form is None else self.form.role


def values(
    form_name: str,
    field_name: str,
    bad: dict[str, Any],
    statuses=BAD_VALUE,
    skip: Iterable[str] = (),
) -> list[Case]:
    """One case per bad value of ``field_name`` in the form."""
    form = FORMS[form_name]
    return [
        Case(
            f"{form_name}-{field_name}={label}",
            form,
            field_name,
            value,
            statuses,
            marked=field_name not in form.hidden,
        )
        for label, value in bad.items()
        if label not in skip
    ]


def texts(form_name: str, *names: str) -> list[Case]:
    return [case for name in names for case in values(form_name, name, TEXTS)]


def numbers(form_name: str, *names: str, skip: Iterable[str] = ()) -> list[Case]:
    bad = JSON_NUMBERS if FORMS[form_name].api else FORM_NUMBERS
    return [case for name in names for case in values(form_name, name, bad, skip=skip)]


def ids(form_name: str, *names: str) -> list[Case]:
    bad = JSON_IDS if FORMS[form_name].api else FORM_IDS
    return [case for name in names for case in values(form_name, name, bad)]


def dates(form_name: str, *names: str, kind: dict = DATES) -> list[Case]:
    api = FORMS[form_name].api
    bad = dict(kind)
    if api and kind is MOMENTS:  # the API takes ISO 8601 moments with an offset
        bad = {k: v if k == "garbage" else f"{v}:00+01:00" for k, v in bad.items()}
    return [case for name in names for case in values(form_name, name, bad)]


def whole_bodies(form_name: str) -> list[Case]:
    """Wrong JSON documents: a list instead of an object, a string, a number, broken
    JSON."""
    form = FORMS[form_name]
    bodies = {"list": b'[{"kg": 1}]', "string": b'"bonjour"', "number": b"12", "broken": b'{"kg": '}
    return [
        Case(
            f"{form_name}-body={label}",
            form,
            None,
            statuses=BAD_VALUE,
            raw=raw,
            content_type="application/json",
        )
        for label, raw in bodies.items()
    ]


def path_ids(role: str, method: str, template: str, form_name: str | None = None) -> list[Case]:
    """An id beyond 32 or 64 bits in the path: 404 (JSON under /api)."""
    form = FORMS[form_name] if form_name else None
    return [
        Case(
            f"{method} {template.format(id=n)}",
            form,
            None,
            statuses=NOT_FOUND,
            role=role,
            method=method,
            path=template.format(id=n),
        )
        for n in BIG
    ]


def queries(
    role: str, path: str, name: str, bad: dict[str, Any], marked: bool = True
) -> list[Case]:
    """A bad query parameter (``marked``: a field of the page's filter form)."""
    return [
        Case(
            f"GET {path}?{name}={label} ({role})",
            None,
            name,
            value,
            BAD_VALUE,
            marked=marked,
            role=role,
            method="GET",
            path=path,
            query={name: value},
        )
        for label, value in bad.items()
    ]


def csv_rows() -> list[Case]:
    """/lots/bulk with one row carrying a bad value (the others valid)."""
    bad = {
        **{f"title={k}": ("title", v) for k, v in TEXTS.items()},
        **{f"lot_number={k}": ("lot_number", v) for k, v in TEXTS.items()},
        **{f"weight_kg={k}": ("weight_kg", v) for k, v in FORM_NUMBERS.items()},
        **{f"min_part_kg={k}": ("min_part_kg", v) for k, v in FORM_NUMBERS.items()},
        **{f"date={k}": ("date", v) for k, v in DATES.items()},
        **{f"pickup_from={k}": ("pickup_from", v) for k, v in MOMENTS.items()},
        **{f"pickup_until={k}": ("pickup_until", v) for k, v in MOMENTS.items()},
    }
    return [
        Case(
            f"lot_bulk-{label}",
            None,
            column,
            value,
            BAD_VALUE,
            role="donor",
            method="POST",
            path="/lots/bulk",
            csv_row={column: value},
        )
        for label, (column, value) in bad.items()
    ]


def too_large() -> list[Case]:
    """Bodies one byte over the app's MAX_CONTENT_LENGTH (filled in when sent)."""
    return [
        Case("413-api-lot", FORMS["api_lot"], statuses=TOO_LARGE, raw=b"json"),
        Case("413-api-token", FORMS["api_token"], statuses=TOO_LARGE, raw=b"json"),
        Case("413-lot-form", FORMS["lot_new"], statuses=TOO_LARGE, raw=b"form"),
        Case("413-login-form", FORMS["login"], statuses=TOO_LARGE, raw=b"form"),
        Case(
            "413-lot-bulk",
            None,
            statuses=TOO_LARGE,
            role="donor",
            method="POST",
            path="/lots/bulk",
            raw=b"csv",
        ),
    ]


CASES: list[Case] = [
    # -- pages: text fields --
    *texts("login", "email"),
    *texts(
        "signup",
        "org_name",
        "address",
        "postcode",
        "locality",
        "enterprise_number",
        "afsca_number",
        "phone",
        "name",
        "email",
    ),
    *texts("accept_invitation", "name"),
    *texts("invite", "email"),
    *texts("lot_new", "title", "description", "address", "postcode", "locality", "lot_number"),
    *texts("lot_withdraw", "reason"),
    *texts("lot_recall", "reason"),
    *texts("lot_claim", "idempotency_key"),
    *texts("claim_cancel", "reason"),
    *texts(
        "convention_new",
        "afsca_number",
        "fse_plus_approval_number",
        "contact_name",
        "contact_phone",
        "hours_mon",
    ),
    *texts(
        "convention_figures",
        "afsca_number",
        "fse_plus_approval_number",
        "contact_name",
        "contact_phone",
        "hours_mon",
    ),
    *texts("convention_decision", "reason"),
    *texts("agreement_request", "note"),
    *texts("agreement_decision", "reason"),
    *texts("area", "postcodes"),
    *texts("verification", "reason"),
    *texts("vehicle", "name"),
    *texts("run_template", "name", "departure"),
    *texts("template_stop", "opens", "closes"),
    *texts("one_off_run", "name"),
    *texts("stop_confirm", "receiver"),
    *texts("stop_missed", "note"),
    # -- pages: numbers --
    *numbers("lot_new", "weight_kg", "units", "min_part_kg"),
    *numbers("lot_claim", "kg"),
    *numbers("allocation_line", "kg"),
    *numbers("convention_new", "persons_per_week"),
    *numbers("convention_new", "chilled_capacity_kg", "frozen_capacity_kg", skip=FRACTION_OK),
    *numbers("convention_figures", "persons_per_week"),
    *numbers("convention_figures", "chilled_capacity_kg", "frozen_capacity_kg", skip=FRACTION_OK),
    *numbers("area", "radius_km", skip=FRACTION_OK),
    *numbers("vehicle", "capacity_kg"),
    *numbers("template_stop", "load_kg", skip=FRACTION_OK),
    *numbers("template_stop", "service_min"),
    *numbers("stop_confirm", "temperature", skip=SIGNED),
    # -- pages: ids in fields --
    *ids("lot_claim", "platform_id"),
    *ids("claim_booking", "run_id"),
    *ids("convention_new", "platform_id"),
    *ids("agreement_request", "other_id"),
    *ids("run_template", "vehicle_id", "depot_id"),
    *ids("template_stop", "organisation_id"),
    *ids("one_off_run", "vehicle_id", "depot_id"),
    # -- pages: dates --
    *dates("lot_new", "date"),
    *dates("lot_new", "pickup_from", "pickup_until", kind=MOMENTS),
    *dates("convention_new", "fse_plus_approval_expires"),
    *dates("convention_figures", "fse_plus_approval_expires"),
    *dates("convention_decision", "valid_from", "valid_until"),
    *dates("agreement_request", "valid_from", "valid_until"),
    *dates("one_off_run", "start_at", kind=MOMENTS),
    # -- pages: the lot list's search and page --
    *queries("cpas", "/lots", "q", TEXTS),
    *queries("cpas", "/lots", "page", {"abc": "abc", "2**63": str(2**63)}, marked=False),
    *queries("coordinator", "/reports", "from", DATES),
    *queries("donor", "/reports", "to", DATES),
    *queries("coordinator", "/fse-register", "to", DATES),
    *queries("donor", "/donations", "month", MONTHS),
    # -- pages: ids in paths --
    *path_ids("cpas", "GET", "/lots/{id}"),
    *path_ids("cpas", "POST", "/lots/{id}/claim", "lot_claim"),
    *path_ids("donor", "POST", "/lots/{id}/withdraw", "lot_withdraw"),
    *path_ids("cpas", "GET", "/claims/{id}"),
    *path_ids("cpas", "POST", "/claims/{id}/cancel", "claim_cancel"),
    *path_ids("coordinator", "POST", "/claims/{id}/booking", "claim_booking"),
    *path_ids("cpas", "GET", "/conventions/{id}"),
    *path_ids("cpas", "POST", "/conventions/{id}/figures", "convention_figures"),
    *path_ids("coordinator", "POST", "/conventions/{id}/decision", "convention_decision"),
    *path_ids("coordinator", "POST", "/platform/agreements/{id}/decision", "agreement_decision"),
    *path_ids("coordinator", "GET", "/platform/allocation/{id}"),
    *path_ids("coordinator", "GET", "/runs/{id}"),
    *path_ids("coordinator", "POST", "/runs/stops/{id}/confirm", "stop_confirm"),
    *path_ids("coordinator", "POST", "/runs/stops/{id}/nobody-there", "stop_missed"),
    *path_ids("coordinator", "POST", "/runs/fleet/templates/{id}/stops", "template_stop"),
    *path_ids("coordinator", "GET", "/organisations/{id}"),
    *path_ids("cpas", "POST", "/notifications/{id}/read"),
    # -- pages: CSV upload --
    *csv_rows(),
    # -- API: bodies --
    *texts("api_token", "email"),
    *whole_bodies("api_token"),
    *texts("api_lot", "title", "description", "postcode", "locality", "lot_number"),
    *numbers("api_lot", "weight_kg", "units", "min_part_kg"),
    *numbers("api_lot", "lat", "lon", skip=SIGNED),
    *dates("api_lot", "date"),
    *dates("api_lot", "pickup_from", "pickup_until", kind=MOMENTS),
    *whole_bodies("api_lot"),
    *texts("api_withdraw", "reason"),
    *whole_bodies("api_withdraw"),
    *numbers("api_claim", "kg"),
    *ids("api_claim", "platform_id"),
    *texts("api_claim", "idempotency_key"),
    *whole_bodies("api_claim"),
    *numbers("api_convention", "persons_per_week"),
    *numbers("api_convention", "chilled_capacity_kg", "frozen_capacity_kg", skip=FRACTION_OK),
    *ids("api_convention", "platform_id"),
    *texts(
        "api_convention",
        "afsca_number",
        "fse_plus_approval_number",
        "contact_name",
        "contact_phone",
    ),
    *dates("api_convention", "fse_plus_approval_expires"),
    *values("api_convention", "opening_hours", {"string": "lundi 9h-12h", "list": [1, 2]}),
    *whole_bodies("api_convention"),
    *numbers("api_figures", "persons_per_week"),
    *numbers("api_figures", "chilled_capacity_kg", "frozen_capacity_kg", skip=FRACTION_OK),
    *texts("api_figures", "contact_name", "contact_phone"),
    *dates("api_figures", "fse_plus_approval_expires"),
    *whole_bodies("api_figures"),
    *dates("api_decision", "valid_from", "valid_until"),
    *values("api_decision", "valid_from", {"number": 20261231}),
    *texts("api_decision", "reason", "action"),
    *whole_bodies("api_decision"),
    *ids("api_booking", "run_id"),
    *whole_bodies("api_booking"),
    *values("api_self_collect", "self_collect", {"string": "true", "number": 1}),
    *numbers("api_stop", "temperature", skip=SIGNED),
    *texts("api_stop", "receiver", "note"),
    *whole_bodies("api_stop"),
    *texts("api_stop_missed", "note"),
    *whole_bodies("api_stop_missed"),
    # -- API: queries --
    *queries("cpas", "/api/v1/lots", "q", TEXTS),
    *queries("cpas", "/api/v1/lots", "page", {"abc": "abc", "2**63": str(2**63)}),
    *queries("donor", "/api/v1/lots", "page", {"2**63": str(2**63)}),
    *queries(
        "cpas",
        "/api/v1/lots",
        "max_km",
        {k: FORM_NUMBERS[k] for k in ("1e308", "-1", "NaN", "Infinity", "abc")},
    ),
    *queries(
        "cpas", "/api/v1/lots", "expiring_days", {"-1": "-1", "abc": "abc", "2**63": str(2**63)}
    ),
    *queries("coordinator", "/api/v1/reports/summary", "from", DATES),
    *queries("cpas", "/api/v1/reports/summary", "to", DATES),
    *queries("coordinator", "/api/v1/fse-register", "from", DATES),
    *queries("coordinator", "/api/v1/fse-register", "organisation_id", FORM_IDS),
    *queries("donor", "/api/v1/donations", "month", MONTHS),
    # -- API: ids in paths --
    *path_ids("cpas", "GET", "/api/v1/lots/{id}"),
    *path_ids("donor", "POST", "/api/v1/lots/{id}/withdraw", "api_withdraw"),
    *path_ids("cpas", "POST", "/api/v1/lots/{id}/claims", "api_claim"),
    *path_ids("cpas", "DELETE", "/api/v1/claims/{id}"),
    *path_ids("cpas", "GET", "/api/v1/conventions/{id}"),
    *path_ids("cpas", "PATCH", "/api/v1/conventions/{id}", "api_figures"),
    *path_ids("coordinator", "POST", "/api/v1/conventions/{id}/decision", "api_decision"),
    *path_ids("coordinator", "GET", "/api/v1/runs/{id}"),
    *path_ids("coordinator", "POST", "/api/v1/claims/{id}/booking", "api_booking"),
    *path_ids("coordinator", "POST", "/api/v1/stops/{id}/confirm", "api_stop"),
    *path_ids("coordinator", "POST", "/api/v1/stops/{id}/nobody-there", "api_stop_missed"),
    # -- bodies over the limit --
    *too_large(),
]


# -- the depot API (issue 16) --
SPLIT_PARTS = {
    "empty": [],
    "201 parts": [0.1] * 201,
    "-1": [2, -1],
    "0": [0],
    "NaN": [math.nan],
    "Infinity": [math.inf],
    "1e308": [1e308],
    "strings": ["deux"],
    "numbers as strings": ["2", "3"],
    "nested": [[2]],
    "null": [None],
    "not a list": 5,
    "object": {"0": 2},
}
ITEM_IDS = {
    "empty": [],
    "201 ids": list(range(1, 202)),
    "strings": ["abc"],
    "-1": [-1],
    "1.5": [1.5],
    "true": [True],
    **{str(n): [n] for n in BIG},
    "not a list": 5,
}
CASES += [
    *texts("api_receipt_goods", "title", "lot_number", "supplier", "note"),
    *numbers("api_receipt_goods", "weight_kg", "units"),
    *numbers("api_receipt_goods", "temperature", skip=(*SIGNED, "string")),  # none sent
    *ids("api_receipt_goods", "zone_id", "donor_id"),
    *dates("api_receipt_goods", "date"),
    *values("api_receipt_goods", "source", {"claim": "claim", "unknown": "achat", "number": 1}),
    *values("api_receipt_goods", "storage", {"unknown": "tiède", "list": ["ambient"]}),
    *values("api_receipt_goods", "packaging_ok", {"string": "oui", "number": 1}),
    *whole_bodies("api_receipt_goods"),
    *ids("api_receipt_claim", "claim_id"),
    *numbers("api_receipt_claim", "temperature", skip=SIGNED),
    *texts("api_receipt_claim", "note"),
    *whole_bodies("api_receipt_claim"),
    *values("api_split", "parts", SPLIT_PARTS),
    *whole_bodies("api_split"),
    *values("api_merge", "item_ids", ITEM_IDS),
    *whole_bodies("api_merge"),
    *numbers("api_adjustment", "kg"),
    *values("api_adjustment", "reason", {"empty": "", "null": None}),
    *texts("api_adjustment", "reason"),
    *texts("api_adjustment", "note"),
    *whole_bodies("api_adjustment"),
    *numbers("api_count", "kg"),
    *texts("api_count", "note"),
    *whole_bodies("api_count"),
    *numbers("api_offer", "kg", "min_part_kg"),
    *dates("api_offer", "pickup_from", "pickup_until", kind=MOMENTS),
    *values("api_offer", "divisible", {"string": "oui", "number": 1}),
    *whole_bodies("api_offer"),
    *path_ids("coordinator", "GET", "/api/v1/depots/{id}/stock"),
    *path_ids("coordinator", "POST", "/api/v1/depots/{id}/receipts", "api_receipt_goods"),
    *path_ids("coordinator", "GET", "/api/v1/stock/{id}"),
    *path_ids("coordinator", "POST", "/api/v1/stock/{id}/split", "api_split"),
    *path_ids("coordinator", "POST", "/api/v1/stock/{id}/merge", "api_merge"),
    *path_ids("coordinator", "POST", "/api/v1/stock/{id}/adjustments", "api_adjustment"),
    *path_ids("coordinator", "POST", "/api/v1/stock/{id}/counts", "api_count"),
    *path_ids("coordinator", "POST", "/api/v1/stock/{id}/offer", "api_offer"),
]


# -- sending ------------------------------------------------------------------------------


def _encode(value: str) -> str:
    """A form or query value percent-encoded from UTF-8; a lone surrogate goes as the
    raw bytes a broken client would send (werkzeug cannot encode it otherwise)."""
    return quote_plus(value.encode("utf-8", "surrogatepass"))


def urlencode(data: dict) -> str:
    pairs = []
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append(f"{_encode(name)}={_encode(str(item))}")
    return "&".join(pairs)


def _with_bad_value(case: Case, facts: Facts) -> dict:
    data = dict(case.form.valid(facts)) if case.form else {}
    if case.field is not None and case.value is not UNSET and case.query is None:
        data[case.field] = str(data[case.field]) if case.value is AS_STRING else case.value
    return data


def _csv(ws: Workspace, facts: Facts, changes: dict) -> bytes:
    """The app's own CSV template header and one valid row with ``changes``."""
    header = next(
        csv.reader(
            io.StringIO(
                ws.client("donor").get("/lots/template.csv").get_data(as_text=True).lstrip("\ufeff")
            )
        )
    )
    row = {
        k: str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in lot_json(facts).items()
        if k != "allergens"
    } | changes
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerow(row)
    return out.getvalue().encode("utf-8", "surrogatepass")


def _oversized(ws: Workspace, case: Case, facts: Facts) -> tuple[bytes, str]:
    """The form's valid values padded to one byte over MAX_CONTENT_LENGTH (4 MiB if the
    app sets none: then nothing refuses it and the case fails)."""
    limit = ws.app.config.get("MAX_CONTENT_LENGTH") or 4 * 1024 * 1024
    if case.raw == b"json":
        prefix = json.dumps(case.form.valid(facts))[:-1] + ', "padding": "'
        return (prefix + "x" * (limit + 1 - len(prefix) - 2) + '"}').encode(), "application/json"
    if case.raw == b"form":
        prefix = urlencode(case.form.valid(facts)) + "&padding="
        return (
            prefix + "x" * (limit + 1 - len(prefix))
        ).encode(), "application/x-www-form-urlencoded"
    boundary = "maillonboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="lots.csv"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    content = _csv(ws, facts, {})
    filler = b"\n" * (limit + 1 - len(head) - len(tail) - len(content))
    return head + content + filler + tail, f"multipart/form-data; boundary={boundary}"


def send(ws: Workspace, case: Case):
    """Send the case as its account would, and answer the response."""
    facts = ws.facts
    form = case.form
    role = case.who()
    method = case.method or (form.method if form else "GET")
    path = (case.path or form.path).format(**facts)
    api = path.startswith("/api/")
    client = ws.client(None if api else role)  # the API takes bearer tokens, not cookies
    headers: dict[str, str] = {}
    if api and role is not None:
        headers.update(ws.bearer(role))
    if form is not None and form.htmx:
        headers["HX-Request"] = "true"
    body: bytes | None = None
    content_type = case.content_type
    if case.statuses == TOO_LARGE:
        body, content_type = _oversized(ws, case, facts)
    elif case.raw is not None:
        body = case.raw
    elif case.csv_row is not None:
        return client.post(
            path,
            headers=headers,
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(_csv(ws, facts, case.csv_row)), "lots.csv", "text/csv")},
        )
    elif form is not None and method != "GET":
        data = _with_bad_value(case, facts)
        if form.api:
            body = json.dumps(data, allow_nan=True).encode()  # NaN, Infinity, \u escapes
            content_type = "application/json"
        else:
            body = urlencode(data).encode()
            content_type = "application/x-www-form-urlencoded"
    if case.query is not None:
        path = f"{path}?{urlencode(case.query)}"
    return client.open(path, method=method, headers=headers, data=body, content_type=content_type)


# -- what must come back -----------------------------------------------------------------


class _Page(HTMLParser):
    """The fields a page marks as invalid, and whether it shows an error at all."""

    def __init__(self) -> None:
        super().__init__()
        self.marked: set[str] = set()
        self.alert = False
        self._code = False
        self.codes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if a.get("aria-invalid") == "true" and a.get("name"):
            self.marked.add(a["name"])
        if a.get("id", "").endswith("-msg") and "error" in classes:
            self.marked.add(a["id"][: -len("-msg")])
        if "error" in classes or "flash-error" in classes or a.get("role") == "alert":
            self.alert = True
        self._code = tag == "code"

    def handle_data(self, data: str) -> None:
        if self._code:
            self.codes.add(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._code = False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}…({len(str(value))} chars)"


def _excerpt(response) -> str:
    text = response.get_data(as_text=True)
    return " ".join(text.split())[:300]


def message_problems(case: Case, response, facts: Facts) -> list[str]:
    """What is missing from the answer for the user (or client) to understand it."""
    path = case.path or (case.form.path if case.form else "")
    status = response.status_code
    if path.startswith("/api/"):
        body = response.get_json(silent=True)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("error"), str)
            or not body["error"].strip()
        ):
            return [f"no JSON {{'error': ...}} in the answer: {_excerpt(response)}"]
        if not isinstance(body.get("fields"), dict):
            return [f"no 'fields' object in the answer: {body}"]
        if case.field and case.marked and status in BAD_VALUE and case.field not in body["fields"]:
            return [f"'fields' does not name {case.field!r}: {body}"]
        return []
    if not response.content_type.startswith("text/html"):
        return [f"answered {response.content_type}, not a page"]
    if status not in BAD_VALUE or case.field is None or not case.marked:
        return []
    page = _Page()
    page.feed(response.get_data(as_text=True))
    problems = []
    if case.csv_row is not None:
        if case.field not in page.codes and "file" not in page.marked:
            problems.append(f"the page does not name the column {case.field!r}")
    elif case.form is not None and not case.form.per_field:
        if not page.alert and case.field not in page.marked:
            problems.append("the page shows no error message")
    elif case.field not in page.marked:
        problems.append(f"the page does not mark the field {case.field!r} with a message")
    if case.form is not None:
        html = response.get_data(as_text=True)
        valid = case.form.valid(facts)
        lost = [
            name
            for name in case.form.keep
            if name != case.field and str(escape(valid[name])) not in html
        ]
        if lost:
            problems.append(f"the page lost the user's values of {lost}")
    return problems


def _params(cases: list[Case]) -> list:
    seen: set[str] = set()
    for case in cases:
        assert case.id not in seen, f"duplicate case {case.id}"
        seen.add(case.id)
    return [pytest.param(case, id=case.id) for case in cases]


@pytest.mark.parametrize("case", _params(CASES))
def test_bad_input_is_refused(case: Case, workspace: Workspace):
    with server_errors(workspace.app) as errors:
        response = send(workspace, case)
    status = response.status_code
    problems = []
    if status >= 500:
        crash = "; ".join(describe(e) for e in errors) or "no exception recorded"
        problems.append(f"server error {status}: {crash}")
    elif status not in case.statuses:
        problems.append(
            f"status {status}, expected {'/'.join(map(str, case.statuses))}"
            f" ({_excerpt(response)[:160]})"
        )
    else:
        problems += message_problems(case, response, workspace.facts)
    changed = workspace.changes()
    if changed:
        problems.append(f"the database changed: {', '.join(changed)}")
    where = (
        f"{(case.method or (case.form.method if case.form else 'GET'))} "
        f"{(case.path or case.form.path).format(**workspace.facts)}"
    )
    value = case.value
    if value is AS_STRING and case.form is not None:
        value = str(case.form.valid(workspace.facts)[case.field])
    sent = f"{case.field}={_short(value)}" if case.field else case.id
    assert not problems, f"{where} with {sent} [{status}]: " + " | ".join(problems)


@pytest.mark.parametrize("form", [pytest.param(f, id=f.name) for f in FORMS.values()])
def test_valid_input_is_accepted(form: Form, workspace: Workspace):
    """The valid values the corpus starts from go through: the refusals above are the
    bad values' doing."""
    with server_errors(workspace.app) as errors:
        response = send(workspace, Case(f"valid-{form.name}", form))
    crash = "; ".join(describe(e) for e in errors)
    assert response.status_code in form.accepted, (
        f"{form.method} {form.path.format(**workspace.facts)} refused valid values "
        f"[{response.status_code}]: {crash or _excerpt(response)}"
    )


# -- depot stock for the depot bodies ---------------------------------------------------


def _depot_case(request: pytest.FixtureRequest) -> bool:
    spec = getattr(request.node, "callspec", None)
    thing = spec.params.get("case", spec.params.get("form")) if spec else None
    if isinstance(thing, Case):
        path = thing.path or (thing.form.path if thing.form else "")
    elif isinstance(thing, Form):
        path = thing.path
    else:
        return False
    return path.startswith(DEPOT_PATHS)


def _demo_stock(s, depot_id: int) -> dict | None:
    """The demo's own stock at Libramont's depot, if it has what the bodies need: an
    item of 20 kg or more with another of the same product and date to merge, and the
    platform's claim for its depot, not yet received (chilled or ambient)."""
    from surplus.models import Claim, ClaimStatus, Lot, StockItem, StorageClass

    items = s.scalars(
        select(StockItem)
        .where(StockItem.depot_id == depot_id, StockItem.grams >= 20_000)
        .order_by(StockItem.id)
    ).all()
    pair = next(
        (
            (a, b)
            for a in items
            for b in items
            if a.id != b.id
            and (a.product, a.category, a.storage, a.date_kind, a.best_date, a.fse_plus)
            == (b.product, b.category, b.storage, b.date_kind, b.best_date, b.fse_plus)
        ),
        None,
    )
    claim = s.scalar(
        select(Claim.id)
        .join(Lot, Lot.id == Claim.lot_id)
        .where(
            Claim.depot_id == depot_id,
            Claim.status.in_([ClaimStatus.ACTIVE, ClaimStatus.COLLECTED]),
            Lot.storage.in_([StorageClass.CHILLED, StorageClass.AMBIENT]),
        )
        .order_by(Claim.id)
    )
    if pair is None or claim is None:
        return None
    return {"stock_item": pair[0].id, "stock_other": pair[1].id, "depot_claim": claim}


def _make_stock(ws: Workspace) -> None:
    """Stock at Libramont's depot made through the services, as its coordinator: zones
    where it has none, two receipts of one product and date, and the platform's claim
    for its depot on an open lot. Committed; the ids go into the facts."""
    from surplus.errors import DomainError
    from surplus.extensions import db
    from surplus.models import Depot, DepotZone, Lot, LotStatus, StorageClass, User
    from surplus.schemas.base import load
    from surplus.schemas.depot import GoodsReceiptSchema
    from surplus.services import claims
    from surplus.services.depots import receipts
    from tests.web.conftest import ACCOUNTS

    s = db.session
    coordinator = s.scalar(select(User).where(User.email == ACCOUNTS["coordinator"]))
    depot = s.get(Depot, ws.facts["depot"])
    have = set(s.scalars(select(DepotZone.storage).where(DepotZone.depot_id == depot.id)))
    for name, storage, kg in (
        ("Réserve (test)", StorageClass.AMBIENT, 5000),
        ("Chambre froide (test)", StorageClass.CHILLED, 800),
    ):
        if storage not in have:
            s.add(DepotZone(depot_id=depot.id, name=name, storage=storage, capacity_kg=kg))
    s.flush()
    values = load(GoodsReceiptSchema(), {**receipt_json(ws.facts), "weight_kg": 40})
    item = receipts.receive_goods(s, coordinator, depot, values).item
    other = receipts.receive_goods(s, coordinator, depot, values).item
    claim = None
    for lot in s.scalars(
        select(Lot)
        .where(
            Lot.status == LotStatus.OPEN,
            Lot.fse_plus.is_(False),
            Lot.storage.in_([StorageClass.CHILLED, StorageClass.AMBIENT]),
            Lot.donor_id != depot.platform_id,
        )
        .order_by(Lot.id)
    ):
        try:
            with s.begin_nested():
                claim, _created = claims.claim_lot(s, coordinator, lot.id, lot.remaining_kg)
            break
        except DomainError:
            continue
    assert claim is not None, "Libramont may claim an open lot for its depot"
    ws.facts.update(stock_item=item.id, stock_other=other.id, depot_claim=claim.id)
    s.commit()
    s.close()  # no connection left open on the file the workspace copies over


@pytest.fixture(autouse=True)
def _depot_stock(request: pytest.FixtureRequest) -> Iterator[None]:
    """Before a depot case: the demo's stock, or stock made here, which the untouched
    state then includes (``pristine``) while the cases leave it alone. When a test
    changes the database, the workspace goes back to the template, without it."""
    if "workspace" not in request.fixturenames:
        yield
        return
    ws: Workspace = request.getfixturevalue("workspace")
    if not hasattr(ws, "depot_base"):
        ws.depot_base, ws.depot_stocked = ws.pristine, False
    if _depot_case(request) and not ws.depot_stocked:
        from surplus.extensions import db

        found = _demo_stock(db.session, ws.facts["depot"])
        db.session.rollback()
        if found is not None:
            ws.facts.update(found)
        else:
            _make_stock(ws)
            ws.mark_pristine()
            ws.depot_stocked = True
    yield
    if ws.depot_stocked:
        if ws.dirty is None:
            ws.changes()
        if ws.dirty:  # the workspace fixture copies the template back: no stock then
            ws.pristine, ws.depot_stocked = ws.depot_base, False


@pytest.fixture(scope="module", autouse=True)
def _no_stock_left(_workspaces: dict[str, Workspace]) -> Iterator[None]:
    """The other modules sharing the workspaces find them as the template has them."""
    yield
    for ws in _workspaces.values():
        if getattr(ws, "depot_stocked", False):
            ws.reset()
            ws.pristine, ws.depot_stocked = ws.depot_base, False
