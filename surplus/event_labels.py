"""The event log in words: one sentence per (subject type, action), in the reader's
language, naming the subject and linking to it when the reader may open it.

``services.events.record`` stores codes (``"stop"``, ``"picked_up"``); this module is
the one place that turns them into sentences. A pair not listed here still reads as a
sentence ("Lot “Yaourts” changed"), never as a code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import access
from .models import (
    AllocationBatch,
    Claim,
    Convention,
    DepotZone,
    Event,
    Invitation,
    Lot,
    Organisation,
    Recall,
    Run,
    RunTemplate,
    StockItem,
    StockReceipt,
    Stop,
    TransportAgreement,
    User,
    Vehicle,
)

# What a subject type is called, for the generic sentence.
THINGS = {
    "organisation": _l("Organisation"),
    "user": _l("Account"),
    "invitation": _l("Invitation"),
    "transportagreement": _l("Transport agreement"),
    "lot": _l("Lot"),
    "claim": _l("Claim"),
    "stockreceipt": _l("Stock receipt"),
    "depotzone": _l("Depot zone"),
    "stockitem": _l("Stock"),
    "recall": _l("Recall"),
    "run": _l("Run"),
    "stop": _l("Stop"),
    "convention": _l("Convention"),
    "allocationbatch": _l("Allocation proposal"),
    "vehicle": _l("Vehicle"),
    "runtemplate": _l("Round"),
}

# (subject type, action) → sentence; %(name)s is the subject's name, %(id)s its number.
LABELS = {
    ("organisation", "signed_up"): _l("%(name)s signed up"),
    ("organisation", "verified"): _l("%(name)s verified"),
    ("organisation", "rejected"): _l("%(name)s refused at verification"),
    ("organisation", "area_updated"): _l("Service area of %(name)s updated"),
    ("organisation", "figures_published"): _l("%(name)s published its figures"),
    ("organisation", "figures_unpublished"): _l("%(name)s stopped publishing its figures"),
    ("user", "locked"): _l("Account of %(name)s locked after failed sign-ins"),
    ("user", "role_changed"): _l("Role of %(name)s changed"),
    ("user", "deactivated"): _l("Account of %(name)s deactivated"),
    ("user", "reactivated"): _l("Account of %(name)s switched back on"),
    ("user", "deleted"): _l("Account of %(name)s deleted"),
    ("user", "became_coordinator"): _l("%(name)s became a coordinator"),
    ("invitation", "invited"): _l("Invitation sent to %(name)s"),
    ("invitation", "accepted"): _l("Invitation accepted by %(name)s"),
    ("transportagreement", "requested"): _l("Transport agreement requested — %(name)s"),
    ("transportagreement", "approve"): _l("Transport agreement approved — %(name)s"),
    ("transportagreement", "refuse"): _l("Transport agreement refused — %(name)s"),
    ("transportagreement", "end"): _l("Transport agreement ended — %(name)s"),
    ("lot", "posted"): _l("Lot “%(name)s” posted"),
    ("lot", "withdrawn"): _l("Lot “%(name)s” withdrawn"),
    ("lot", "expired"): _l("Lot “%(name)s” expired"),
    ("lot", "received_at_depot"): _l("Lot “%(name)s” received at the depot"),
    ("lot", "handover_refused"): _l("Hand-over of lot “%(name)s” refused"),
    ("lot", "delivery_missed"): _l("Lot “%(name)s”: nobody there at the delivery"),
    ("lot", "recalled"): _l("Lot “%(name)s” recalled"),
    ("lot", "claimed"): _l("Lot “%(name)s” claimed"),
    ("lot", "claim_cancelled"): _l("A claim on lot “%(name)s” cancelled"),
    ("lot", "picked_up"): _l("Lot “%(name)s” picked up"),
    ("lot", "delivered"): _l("Lot “%(name)s” delivered"),
    ("lot", "self_collected"): _l("Lot “%(name)s” collected by a beneficiary"),
    ("lot", "left_at_hub"): _l("Lot “%(name)s” left at the hub"),
    ("lot", "taken_from_hub"): _l("Lot “%(name)s” taken from the hub"),
    ("lot", "done"): _l("Stop for lot “%(name)s” confirmed"),
    ("lot", "escalated"): _l("Lot “%(name)s” offered to more platforms"),
    ("lot", "edited"): _l("Lot “%(name)s” changed by its donor"),
    ("lot", "photo_added"): _l("Photo added to lot “%(name)s”"),
    ("lot", "photo_deleted"): _l("Photo removed from lot “%(name)s”"),
    ("claim", "created"): _l("Claim on “%(name)s” created"),
    ("claim", "withdrawn"): _l("Claim on “%(name)s” withdrawn with its lot"),
    ("claim", "expired"): _l("Claim on “%(name)s” expired"),
    ("claim", "received_at_depot"): _l("Claim on “%(name)s” received at the depot"),
    ("claim", "refused"): _l("Claim on “%(name)s” refused at hand-over"),
    ("claim", "returned"): _l("Claim on “%(name)s” not delivered: nobody there"),
    ("claim", "cancelled"): _l("Claim on “%(name)s” cancelled"),
    ("claim", "booked"): _l("Claim on “%(name)s” booked on a run"),
    ("claim", "self_collect"): _l("Claim on “%(name)s” to be collected by the beneficiary"),
    ("claim", "self_collected"): _l("Claim on “%(name)s” collected by the beneficiary"),
    ("claim", "unbooked"): _l("Claim on “%(name)s” taken off its run"),
    ("stockreceipt", "received"): _l("“%(name)s” received into stock"),
    ("stockreceipt", "refused"): _l("“%(name)s” refused at the depot"),
    ("depotzone", "created"): _l("Depot zone “%(name)s” created"),
    ("depotzone", "updated"): _l("Depot zone “%(name)s” updated"),
    ("stockitem", "split"): _l("Stock “%(name)s” split"),
    ("stockitem", "merged"): _l("Stock “%(name)s” merged"),
    ("stockitem", "adjusted"): _l("Stock “%(name)s” adjusted"),
    ("stockitem", "counted"): _l("Stock “%(name)s” counted"),
    ("recall", "opened"): _l("Recall of “%(name)s” opened"),
    ("recall", "acknowledged"): _l("Recall of “%(name)s” acknowledged"),
    ("recall", "closed"): _l("Recall of “%(name)s” closed"),
    ("run", "created"): _l("Run “%(name)s” planned"),
    ("run", "stops_added"): _l("Stops added to run “%(name)s”"),
    ("run", "driver_assigned"): _l("Driver chosen for run “%(name)s”"),
    ("run", "driver_unassigned"): _l("No driver any more for run “%(name)s”"),
    ("stop", "removed"): _l("Stop removed from run “%(name)s”"),
    ("stop", "picked_up"): _l("Pickup confirmed — %(name)s"),
    ("stop", "delivered"): _l("Delivery confirmed — %(name)s"),
    ("stop", "left_at_hub"): _l("Left at the hub — %(name)s"),
    ("stop", "taken_from_hub"): _l("Taken from the hub — %(name)s"),
    ("stop", "done"): _l("Stop confirmed — %(name)s"),
    ("stop", "rejected"): _l("Hand-over refused — %(name)s"),
    ("stop", "missed"): _l("Nobody there — %(name)s"),
    ("convention", "requested"): _l("Convention with %(name)s requested"),
    ("convention", "figures_updated"): _l("Convention with %(name)s: figures updated"),
    ("convention", "approve"): _l("Convention with %(name)s approved"),
    ("convention", "decline"): _l("Convention with %(name)s declined"),
    ("convention", "suspend"): _l("Convention with %(name)s suspended"),
    ("convention", "reinstate"): _l("Convention with %(name)s reinstated"),
    ("convention", "end"): _l("Convention with %(name)s ended"),
    ("allocationbatch", "proposed"): _l("Allocation proposal no. %(id)s created"),
    ("allocationbatch", "confirmed"): _l("Allocation proposal no. %(id)s confirmed"),
    ("vehicle", "created"): _l("Vehicle “%(name)s” added"),
    ("runtemplate", "created"): _l("Round “%(name)s” created"),
    ("runtemplate", "stop_added"): _l("Stop added to round “%(name)s”"),
}

GENERIC = _l("%(thing)s “%(name)s” changed")
GENERIC_UNKNOWN = _l("A record changed")
NUMBERED = _l("no. %(id)s")


def _product(obj: Any) -> str:
    return getattr(obj, "product", "") or ""


def _agreement(obj: TransportAgreement) -> str:
    names = [getattr(o, "name", "") for o in (obj.carrier, obj.client)]
    return " → ".join(n for n in names if n)


def _linked_run(stop: Stop) -> Run:
    return stop.run


# subject type → (model, its name, where it is shown: (endpoint, arguments), the object
# the reader's right to open that page is asked about)
@dataclass(frozen=True)
class Kind:
    model: type
    name: Callable[[Any], str]
    link: Callable[[Any], tuple[str, dict[str, int]]] | None = None
    guard: Callable[[Any], Any] = lambda obj: obj


KINDS: dict[str, Kind] = {
    "organisation": Kind(
        Organisation,
        lambda o: o.name,
        lambda o: ("organisations.organisation_show", {"org_id": o.id}),
    ),
    "user": Kind(User, lambda u: u.name or u.email),
    "invitation": Kind(Invitation, lambda i: i.email),
    "transportagreement": Kind(TransportAgreement, _agreement),
    "lot": Kind(Lot, lambda o: o.title, lambda o: ("lots.lot_show", {"lot_id": o.id})),
    "claim": Kind(
        Claim, lambda c: c.lot.title, lambda c: ("claims.claim_show", {"claim_id": c.id})
    ),
    "stockreceipt": Kind(StockReceipt, _product),
    "depotzone": Kind(DepotZone, lambda z: z.name),
    "stockitem": Kind(StockItem, _product),
    "recall": Kind(
        Recall, lambda r: r.lot.title, lambda r: ("recalls.recall_show", {"recall_id": r.id})
    ),
    "run": Kind(Run, lambda r: r.name, lambda r: ("runs.run_show", {"run_id": r.id})),
    "stop": Kind(
        Stop, lambda s: s.run.name, lambda s: ("runs.run_show", {"run_id": s.run_id}), _linked_run
    ),
    "convention": Kind(
        Convention,
        lambda c: c.beneficiary.name,
        lambda c: ("conventions.convention_show", {"conv_id": c.id}),
    ),
    "allocationbatch": Kind(
        AllocationBatch,
        lambda b: "",
        lambda b: ("allocation.batch_show", {"batch_id": b.id}),
    ),
    "vehicle": Kind(Vehicle, lambda v: v.name),
    "runtemplate": Kind(RunTemplate, lambda t: t.name),
}


@dataclass(frozen=True)
class Told:
    """An event as the reader reads it."""

    event: Event
    text: str
    url: str | None = None


def sentence(subject_type: str, action: str, subject_id: int, name: str = "") -> str:
    """The sentence for one event, in the current language."""
    name = name or str(NUMBERED) % {"id": subject_id}
    values = {"name": name, "id": subject_id}
    template = LABELS.get((subject_type, action))
    if template is not None:
        return str(template) % values
    thing = THINGS.get(subject_type)
    if thing is None:
        return str(GENERIC_UNKNOWN)
    return str(GENERIC) % {**values, "thing": thing}


def _subjects(session: Session, events: Iterable[Event]) -> dict[tuple[str, int], Any]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for ev in events:
        if ev.subject_type in KINDS:
            wanted[ev.subject_type].add(ev.subject_id)
    found: dict[tuple[str, int], Any] = {}
    for kind, ids in wanted.items():
        model = KINDS[kind].model
        for obj in session.scalars(select(model).where(model.id.in_(ids))):
            found[(kind, obj.id)] = obj
    return found


def tell(session: Session, events: Iterable[Event], reader: User | None) -> list[Told]:
    """Each event as a sentence, with a link to its subject when ``reader`` may open it."""
    events = list(events)
    subjects = _subjects(session, events)
    told = []
    for ev in events:
        kind = KINDS.get(ev.subject_type)
        obj = subjects.get((ev.subject_type, ev.subject_id))
        name, url = "", None
        if kind is not None and obj is not None:
            name = kind.name(obj) or ""
            guarded = kind.guard(obj)
            if kind.link is not None and reader is not None and guarded is not None:
                if access.can(reader, access.VIEW, guarded):
                    endpoint, args = kind.link(obj)
                    url = url_for(endpoint, **args)
        told.append(Told(ev, sentence(ev.subject_type, ev.action, ev.subject_id, name), url))
    return told


# What an event's recorded data says, for the trace sheet: known figures in words.
def details(after: dict[str, Any] | None) -> list[str]:
    from .templating import celsius, kg, km, when

    after = after or {}
    said: list[str] = []

    def grams(key: str) -> float | None:
        value = after.get(key)
        return value / 1000 if isinstance(value, int | float) else None

    amount = after.get("kg") if isinstance(after.get("kg"), int | float) else grams("grams")
    if amount is not None:
        said.append(kg(amount))
    if grams("remaining_g") is not None:
        said.append(_("%(kg)s left", kg=kg(grams("remaining_g"))))
    if isinstance(after.get("temperature_c"), int | float):
        said.append(_("measured %(t)s", t=celsius(after["temperature_c"])))
    if isinstance(after.get("limit_c"), int | float):
        said.append(_("limit %(t)s", t=celsius(after["limit_c"])))
    if after.get("receiver"):
        said.append(_("received by %(name)s", name=after["receiver"]))
    if isinstance(after.get("added_km"), int | float):
        said.append(_("detour %(km)s", km=km(after["added_km"])))
    eta = after.get("pickup_eta")
    if isinstance(eta, str):
        try:
            said.append(_("pickup %(when)s", when=when(datetime.fromisoformat(eta))))
        except ValueError:
            pass
    return said


def told(events: Iterable[Event]) -> list[Told]:
    """``tell`` for a page: the request's session and signed-in reader."""
    from flask_login import current_user

    from .extensions import db

    reader = current_user if current_user and current_user.is_authenticated else None
    return tell(db.session, events, reader)
