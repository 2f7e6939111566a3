"""What a notification says and where it leads, rendered from its kind and parameters in
the current locale (the reader's page language, or ``force_locale`` for a mail)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ...labels import label
from ...models import MailMode, Notification, NotificationKind
from ...templating import kg, number, when

KIND_LABELS = {
    NotificationKind.NEW_LOT: _l("New lots offered to my organisation"),
    NotificationKind.LOT_CLAIMED: _l("Claims on my lots"),
    NotificationKind.BOOKING: _l("Pickups booked"),
    NotificationKind.CLAIM_ALLOCATED: _l("Food allocated to my organisation by a platform"),
    NotificationKind.CONVENTION_DECISION: _l("Decisions on my conventions"),
    NotificationKind.LOT_WITHDRAWN: _l("Lots withdrawn by their donor"),
    NotificationKind.LOT_CHANGED: _l("Lots I claimed changed by their donor"),
    NotificationKind.RECALL: _l("Food-safety recalls of lots"),
    NotificationKind.EXPIRING_APPROVAL: _l("Conventions and FSE+ approvals about to expire"),
    NotificationKind.TRANSPORT_AGREEMENT: _l("Transport agreements between platforms"),
    NotificationKind.HANDOVER_REFUSED: _l("Hand-overs refused (too warm, past the use-by)"),
    NotificationKind.DELIVERY_MISSED: _l("Deliveries where nobody was there"),
    NotificationKind.RECEIPT_REFUSED: _l("Food refused at a depot's door"),
    NotificationKind.STOCK_EXPIRING: _l("Depot stock near its date"),
}
# Where a refused hand-over took place (notification parameter ``stage``).
_STAGES = {
    "pickup": _l("at the pickup at the donor's"),
    "dropoff": _l("at the delivery"),
    "pickup_leg1": _l("at the pickup at the donor's"),
    "dropoff_leg1": _l("at the drop at the hub"),
    "pickup_leg2": _l("at the pickup at the hub"),
    "dropoff_leg2": _l("at the delivery"),
    "self_collection": _l("at the collection by the beneficiary at the donor's"),
}
MODE_LABELS = {
    MailMode.OFF: _l("No e-mail"),
    MailMode.IMMEDIATE: _l("An e-mail each time"),
    MailMode.DIGEST: _l("One e-mail a day"),
}
# subject_type -> (endpoint, URL argument): the page of the notification's object.
_PAGES = {
    "lot": ("lots.lot_show", "lot_id"),
    "claim": ("claims.claim_show", "claim_id"),
    "convention": ("conventions.convention_show", "conv_id"),
    "run": ("runs.run_show", "run_id"),
    "recall": ("recalls.recall_show", "recall_id"),
}


def _day(value: Any) -> str:
    return when(date.fromisoformat(value)) if value else ""


def _moment(value: Any) -> str:
    return when(datetime.fromisoformat(value)) if value else ""


def _reason(p: dict[str, Any]) -> str:
    return " " + _("Reason: %(reason)s", reason=p["reason"]) if p.get("reason") else ""


def text(n: Notification) -> str:
    """The notification as one or two sentences."""
    try:
        return _text(n)
    except (KeyError, TypeError, ValueError):  # parameters of an older shape: stay readable
        return str(KIND_LABELS.get(n.kind, n.kind))


def subject(n: Notification) -> str:
    """A mail subject line."""
    try:
        return _subject(n)
    except (KeyError, TypeError, ValueError):
        return str(KIND_LABELS.get(n.kind, n.kind))


def _text(n: Notification) -> str:
    p = n.params or {}
    kind = n.kind
    if kind == NotificationKind.NEW_LOT:
        line = _(
            "New lot offered: %(title)s, %(kg)s from %(donor)s (%(place)s).",
            title=p["title"],
            kg=kg(p["kg"]),
            donor=p["donor"],
            place=p["locality"],
        )
        if p.get("date_kind") and p.get("date"):
            line += f" {label('date_kind', p['date_kind'])} {_day(p['date'])}."
        return line
    if kind == NotificationKind.LOT_CLAIMED and p.get("allocated_by"):
        return _(
            "%(platform)s allocated %(kg)s of your lot %(title)s to %(org)s.",
            platform=p["allocated_by"],
            kg=kg(p["kg"]),
            title=p["title"],
            org=p["beneficiary"],
        )
    if kind == NotificationKind.CLAIM_ALLOCATED:
        line = _(
            "%(platform)s allocated %(kg)s of %(title)s (from %(donor)s) to your organisation.",
            platform=p["platform"],
            kg=kg(p["kg"]),
            title=p["title"],
            donor=p["donor"],
        )
        if p.get("delivery"):
            return line + " " + _("Delivery planned on %(time)s.", time=_moment(p["delivery"]))
        return line + " " + _("The platform will plan the delivery.")
    if kind == NotificationKind.LOT_CHANGED:
        return _lot_changed_text(p)
    if kind == NotificationKind.LOT_CLAIMED:
        return _(
            "%(org)s claimed %(kg)s of your lot %(title)s (through %(platform)s).",
            org=p["beneficiary"],
            kg=kg(p["kg"]),
            title=p["title"],
            platform=p["platform"],
        )
    if kind == NotificationKind.BOOKING:
        if p.get("given_back"):
            return _(
                "No run of %(platform)s can carry %(title)s (%(kg)s for %(org)s) before its "
                "date: the claim is cancelled and the kilograms are offered again.",
                platform=p["platform"],
                title=p["title"],
                kg=kg(p["kg"]),
                org=p["beneficiary"],
            )
        if p.get("no_run"):
            return _(
                "No run of %(platform)s can carry %(title)s (%(kg)s) before its date: "
                "collect it at %(donor)s yourself, or cancel the claim.",
                platform=p["platform"],
                title=p["title"],
                kg=kg(p["kg"]),
                donor=p["donor"],
            )
        if not p.get("run"):
            line = _(
                "%(title)s (%(kg)s for %(org)s) will be collected by the beneficiary.",
                title=p["title"],
                kg=kg(p["kg"]),
                org=p["beneficiary"],
            )
            if p.get("pickup"):  # placement chose it and says from when
                return (
                    line + " " + _("It can be collected from %(time)s.", time=_moment(p["pickup"]))
                )
            return line
        line = _(
            "%(title)s (%(kg)s for %(org)s) is booked on the run %(run)s of %(platform)s.",
            title=p["title"],
            kg=kg(p["kg"]),
            org=p["beneficiary"],
            run=p["run"],
            platform=p["platform"],
        )
        if p.get("pickup") and p.get("delivery"):
            return (
                line
                + " "
                + _(
                    "Pickup planned on %(pickup)s, delivery on %(delivery)s.",
                    pickup=_moment(p["pickup"]),
                    delivery=_moment(p["delivery"]),
                )
            )
        if p.get("pickup"):
            return line + " " + _("Pickup around %(time)s.", time=_moment(p["pickup"]))
        return line
    if kind == NotificationKind.CONVENTION_DECISION:
        return _(
            "Your convention with %(platform)s is now: %(status)s.",
            platform=p["platform"],
            status=label("convention_status", p["status"]),
        ) + _reason(p)
    if kind == NotificationKind.RECALL:
        return _recall_text(p)
    # Recalls notified before recalls had their own kind (stored rows stay readable).
    if kind == NotificationKind.LOT_WITHDRAWN and p.get("recalled"):
        return _(
            "Recall: %(donor)s recalls the lot %(title)s (batch %(batch)s). Do not hand "
            "out the %(kg)s you received; keep it apart.",
            donor=p["donor"],
            title=p["title"],
            batch=p.get("batch") or "—",
            kg=kg(p["kg"]),
        ) + _reason(p)
    if kind == NotificationKind.LOT_WITHDRAWN:
        return _(
            "%(donor)s withdrew the lot %(title)s; your claim of %(kg)s is cancelled.",
            donor=p["donor"],
            title=p["title"],
            kg=kg(p["kg"]),
        ) + _reason(p)
    if kind == NotificationKind.EXPIRING_APPROVAL:
        if p.get("what") == "fse_plus":
            return _(
                "The FSE+ approval of %(org)s (convention with %(platform)s) expires on %(date)s.",
                org=p["beneficiary"],
                platform=p["platform"],
                date=_day(p["date"]),
            )
        return _(
            "The convention between %(org)s and %(platform)s ends on %(date)s.",
            org=p["beneficiary"],
            platform=p["platform"],
            date=_day(p["date"]),
        )
    if kind == NotificationKind.HANDOVER_REFUSED:
        return _refusal_text(p)
    if kind == NotificationKind.DELIVERY_MISSED:
        line = _(
            "Nobody was there to receive %(title)s, %(kg)s for %(org)s, on %(when)s "
            "(%(run)s). The food went back with the van to %(platform)s, which keeps "
            "it at its depot and can offer it again.",
            title=p["title"],
            kg=kg(p["kg"]),
            org=p["beneficiary"],
            when=_moment(p["at"]),
            run=p["run"],
            platform=p["platform"],
        )
        return line + (" " + _("Driver's note: %(note)s", note=p["note"]) if p.get("note") else "")
    if kind == NotificationKind.RECEIPT_REFUSED:
        reading = (
            _(" (%(t)s °C measured)", t=number(p["temperature"]))
            if p.get("temperature") is not None
            else ""
        )
        return _(
            "%(depot)s refused %(kg)s of %(title)s at its door on %(when)s%(reading)s: "
            "%(reason)s It goes back to its source.",
            depot=p["depot"],
            kg=kg(p["kg"]),
            title=p["title"],
            when=_moment(p["at"]),
            reading=reading,
            reason=p["reason_text"],
        )
    if kind == NotificationKind.STOCK_EXPIRING:
        return _stock_text(p)
    if kind == NotificationKind.TRANSPORT_AGREEMENT:
        action, other = p.get("action"), p["platform"]
        if action == "requested":
            return _(
                "%(platform)s asks for a transport agreement with your platform.", platform=other
            )
        if action == "approved":
            return _("%(platform)s approved your transport agreement.", platform=other)
        if action == "refused":
            return _("%(platform)s refused your transport agreement.", platform=other) + _reason(p)
        return _("The transport agreement with %(platform)s has ended.", platform=other)
    raise KeyError(kind)


def _recall_text(p: dict[str, Any]) -> str:
    line = _(
        "Recall of %(title)s (batch %(batch)s) by %(donor)s on %(at)s.",
        title=p["title"],
        batch=p.get("batch") or "—",
        donor=p["donor"],
        at=_moment(p["at"]),
    )
    figures = {
        "delivered": kg(p["kg_delivered"]),
        "transit": kg(p["kg_in_transit"]),
        "cancelled": kg(p["kg_cancelled"]),
    }
    if p.get("role") == "carrier":
        line += " " + _(
            "Carried by your platform: %(delivered)s delivered, %(transit)s in transit, "
            "%(cancelled)s planned and now cancelled.",
            **figures,
        )
        if p.get("on_road"):
            line += " " + _("A run of yours carries it now: do not deliver it; keep it apart.")
        return line + _reason(p)
    line += " " + _(
        "Your organisation: %(delivered)s delivered, %(transit)s in transit, %(cancelled)s "
        "planned and now cancelled.",
        **figures,
    )
    if p["kg_delivered"] or p["kg_in_transit"]:
        line += " " + _(
            "Do not hand it out: keep it apart, then say on the recall page what you did "
            "with it (quarantined, destroyed or returned)."
        )
    else:
        line += " " + _("Nothing of it reached you; your claim is cancelled.")
    return line + _reason(p)


def _stock_text(p: dict[str, Any]) -> str:
    line = _(
        "Depot stock near its date: %(title)s, %(kg)s in %(zone)s (%(depot)s).",
        title=p["title"],
        kg=kg(p["kg"]),
        zone=p["zone"],
        depot=p["depot"],
    )
    if p.get("date_kind") and p.get("date"):
        line += f" {label('date_kind', p['date_kind'])} {_day(p['date'])}."
    left = p.get("days_left")
    if left is None:
        return line
    if left < 0:
        return line + " " + _("Its last day has passed: take it out of the stock.")
    if left == 0:
        return line + " " + _("Today is its last day.")
    return line + " " + ngettext("%(num)d day left.", "%(num)d days left.", left)


def _refusal_text(p: dict[str, Any]) -> str:
    line = _(
        "Refused %(stage)s on %(at)s: %(title)s, %(kg)s for %(org)s (donor %(donor)s).",
        stage=_STAGES.get(p["stage"], p["stage"]),
        at=_moment(p["at"]),
        title=p["title"],
        kg=kg(p["kg"]),
        org=p["beneficiary"],
        donor=p["donor"],
    )
    if p.get("reason") == "use_by_passed":
        line += " " + _("Its use-by date had passed.")
    elif p.get("reason") == "recalled":
        line += " " + _("Its donor had recalled it.")
    elif p.get("temperature") is not None and p.get("limit") is not None:
        line += " " + _(
            "Measured %(t)s °C, limit %(max)s °C.",
            t=number(p["temperature"]),
            max=number(p["limit"]),
        )
    return line + " " + _("This part is unfit: it is not delivered and not offered again.")


def _lot_changed_text(p: dict[str, Any]) -> str:
    """What the donor changed on a lot the reader claimed, one sentence per change."""
    lines = [_("%(donor)s changed the lot %(title)s.", donor=p["donor"], title=p["title"])]
    if p.get("window"):
        old_from, old_until, new_from, new_until = (_moment(v) for v in p["window"])
        lines.append(
            _(
                "Pickup window: %(old_from)s → %(old_until)s is now %(new_from)s → %(new_until)s.",
                old_from=old_from,
                old_until=old_until,
                new_from=new_from,
                new_until=new_until,
            )
        )
    if p.get("weight_kg"):
        old, new = p["weight_kg"]
        lines.append(_("Weight: %(old)s is now %(new)s.", old=kg(old), new=kg(new)))
    if "units" in p:
        lines.append(_("Units: %(n)s.", n=number(p["units"], 0) if p["units"] is not None else "—"))
    if "description" in p:
        lines.append(_("New description: %(text)s", text=p["description"] or "—"))
    return " ".join(lines)


def _subject(n: Notification) -> str:
    p = n.params or {}
    kind = n.kind
    if kind == NotificationKind.NEW_LOT:
        return _("New lot on Maillon: %(title)s", title=p["title"])
    if kind == NotificationKind.LOT_CLAIMED and p.get("allocated_by"):
        return _("Your lot %(title)s was allocated", title=p["title"])
    if kind == NotificationKind.LOT_CLAIMED:
        return _("Your lot %(title)s was claimed", title=p["title"])
    if kind == NotificationKind.CLAIM_ALLOCATED:
        return _(
            "%(platform)s allocated %(kg)s of %(title)s to you",
            platform=p["platform"],
            kg=kg(p["kg"]),
            title=p["title"],
        )
    if kind == NotificationKind.LOT_CHANGED:
        return _("Lot changed: %(title)s", title=p["title"])
    if kind == NotificationKind.BOOKING and (p.get("given_back") or p.get("no_run")):
        return _("No run for %(title)s", title=p["title"])
    if kind == NotificationKind.BOOKING:
        return _("Pickup booked: %(title)s", title=p["title"])
    if kind == NotificationKind.CONVENTION_DECISION:
        return _("Your convention with %(platform)s", platform=p["platform"])
    if kind == NotificationKind.RECALL or (
        kind == NotificationKind.LOT_WITHDRAWN and p.get("recalled")
    ):
        return _("Recall: %(title)s", title=p["title"])
    if kind == NotificationKind.LOT_WITHDRAWN:
        return _("Lot withdrawn: %(title)s", title=p["title"])
    if kind == NotificationKind.EXPIRING_APPROVAL:
        return _("Expiring soon: %(org)s", org=p["beneficiary"])
    if kind == NotificationKind.HANDOVER_REFUSED:
        return _("Hand-over refused: %(title)s", title=p["title"])
    if kind == NotificationKind.RECEIPT_REFUSED:
        return _("Refused at the depot: %(title)s", title=p["title"])
    if kind == NotificationKind.DELIVERY_MISSED:
        return _("Nobody there at the delivery: %(title)s", title=p["title"])
    if kind == NotificationKind.STOCK_EXPIRING:
        return _("Depot stock near its date: %(title)s", title=p["title"])
    return _("Transport agreement with %(platform)s", platform=p["platform"])


def link(n: Notification, external: bool = False) -> str:
    """The page of the notification's object (the dashboard when it has none)."""
    if n.kind == NotificationKind.TRANSPORT_AGREEMENT:
        # The agreements pages are built alongside; until they exist, the dashboard.
        endpoint = (
            "agreements.index" if "agreements.index" in current_app.view_functions else "main.index"
        )
        return url_for(endpoint, _external=external)
    if n.subject_type == "stockitem":
        return _item_page(n.subject_id, external)
    lot_id = (n.params or {}).get("lot_id")
    if n.kind == NotificationKind.RECEIPT_REFUSED and lot_id:  # the donor's lot
        return url_for("lots.lot_show", lot_id=lot_id, _external=external)
    page = _PAGES.get(n.subject_type)
    if page is None:
        return url_for("main.index", _external=external)
    return url_for(page[0], **{page[1]: n.subject_id}, _external=external)


def _item_page(item_id: int, external: bool) -> str:
    """A stock item's page; the depot pages are built alongside: until they exist, the
    dashboard."""
    endpoint = "depots.item_show"
    if endpoint not in current_app.view_functions:
        return url_for("main.index", _external=external)
    arguments = next(current_app.url_map.iter_rules(endpoint)).arguments
    if len(arguments) != 1:
        return url_for("main.index", _external=external)
    (argument,) = arguments
    return url_for(endpoint, **{argument: item_id}, _external=external)
