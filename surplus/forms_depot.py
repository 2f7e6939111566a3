"""Forms of the depot pages: they render the fields, keep the entries and carry CSRF; the
rules live in schemas/depot.py and services/depots (loaded with ``form_values``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from . import labels
from .forms import Form, LotForm
from .models import AdjustmentReason, MovementKind, ReceiptSource

MOVEMENTS = {
    MovementKind.RECEIVED: _l("Received"),
    MovementKind.SPLIT_OUT: _l("Split off"),
    MovementKind.SPLIT_IN: _l("Split from another item"),
    MovementKind.MERGED_OUT: _l("Merged into another item"),
    MovementKind.MERGED_IN: _l("Merged in"),
    MovementKind.OFFERED: _l("Offered to the network"),
    MovementKind.RETURNED: _l("Back from an offered lot"),
    MovementKind.ADJUSTED: _l("Taken off"),
    MovementKind.COUNTED: _l("Inventory count"),
}
REASONS = {
    AdjustmentReason.DAMAGED: _l("Damaged"),
    AdjustmentReason.UNFIT: _l("Unfit for consumption"),
    AdjustmentReason.DESTROYED: _l("Destroyed"),
    AdjustmentReason.EXPIRED: _l("Past its date"),
    AdjustmentReason.OTHER: _l("Other"),
}
SOURCES = {
    ReceiptSource.CLAIM: _l("The platform's claim"),
    ReceiptSource.DOOR: _l("A donor at the door"),
    ReceiptSource.OUTSIDE: _l("From outside Maillon"),
}
SPLIT_INPUTS = 6  # part inputs on the page (split again for more)


def reason_text(text: str) -> str:
    """An adjustment's stored reason ("damaged: note") in the reader's language."""
    code, _sep, note = text.partition(": ")
    try:
        reason = AdjustmentReason(code)
    except ValueError:
        return text
    return f"{REASONS[reason]}: {note}" if note else str(REASONS[reason])


def _decimal(label: str) -> StringField:
    return StringField(label, render_kw={"inputmode": "decimal"})


class GoodsReceiptForm(LotForm):
    """Food at the door from a donor or from outside Maillon: the lot's product fields
    (only those a receipt has are shown) and the check at the door."""

    source = SelectField(_l("Where it comes from"), validate_choice=False)
    donor_id = SelectField(_l("Donor"), validate_choice=False)
    supplier = StringField(_l("Supplier or origin (FSE+ delivery, purchase, drive…)"))
    temperature = _decimal(_l("Temperature measured (°C), chilled or frozen food"))
    packaging_ok = BooleanField(_l("Packaging intact"), default=True)
    labels_ok = BooleanField(_l("Labels present and readable"), default=True)
    note = TextAreaField(_l("Note"))
    zone_id = SelectField(_l("Zone"), validate_choice=False)

    def __init__(self, *args, donors=(), zones=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.source.choices = [
            (s.value, str(SOURCES[s])) for s in (ReceiptSource.OUTSIDE, ReceiptSource.DOOR)
        ]
        self.donor_id.choices = [("", "—")] + [(str(d.id), d.name) for d in donors]
        self.zone_id.choices = [("", str(_l("A zone of its storage")))] + [
            (str(z["id"]), f"{z['name']} ({labels.label('storage', z['storage'])})") for z in zones
        ]
        self.fse_plus.label.text = str(_l("FSE+ stock"))


class ZoneForm(Form):
    name = StringField(_l("Name"))
    storage = SelectField(_l("Storage"), validate_choice=False)
    capacity_kg = _decimal(_l("Capacity (kg)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage.choices = labels.choices("storage")


class SplitForm(Form):
    parts = StringField(_l("Parts (kg)"))  # rendered as several inputs named like it


class MergeForm(Form):
    item_ids = SelectMultipleField(
        _l("Items to merge into this one"),
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class AdjustForm(Form):
    kg = _decimal(_l("Kilograms taken off"))
    reason = SelectField(_l("Reason"), validate_choice=False)
    note = StringField(_l("Note"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = [(r.value, str(text)) for r, text in REASONS.items()]


class CountForm(Form):
    kg = _decimal(_l("Kilograms counted"))
    note = StringField(_l("Note"))


class OfferForm(Form):
    kg = _decimal(_l("Kilograms offered (empty: all)"))
    pickup_from = StringField(_l("Pickup from"), render_kw={"type": "datetime-local"})
    pickup_until = StringField(_l("Pickup until"), render_kw={"type": "datetime-local"})
    divisible = BooleanField(_l("Can be split between organisations"), default=True)
    min_part_kg = _decimal(_l("Smallest part (kg)"))
