"""Reading a lot from a form, a CSV row or a JSON body: one parser, one set of rules.

Every problem is reported against its field, in the user's language; values that
parse are kept so the form can come back filled in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l

from .. import geo
from ..models import MAX_LOT_GRAMS, Allergen, Category, DateKind, Organisation, StorageClass
from .lot_dates import AFSCA_ADVISED_DAYS, BRUSSELS, expires_at, local_today

FIELDS = ["title", "category", "description", "weight_kg", "units", "date_kind", "date",
          "storage", "allergens", "fse_plus", "divisible", "min_part_kg", "pickup_from",
          "pickup_until", "postcode", "locality", "lat", "lon", "lot_number"]
TRUE = {"1", "true", "yes", "y", "on", "oui", "ja", "x"}
FALSE = {"0", "false", "no", "n", "off", "non", "nee", ""}


@dataclass
class LotDraft:
    title: str = ""
    category: Category | None = None
    description: str = ""
    lot_number: str = ""
    weight_g: int = 0
    units: int | None = None
    date_kind: DateKind | None = None
    best_date: date | None = None
    expires_at: datetime | None = None
    storage: StorageClass | None = None
    allergens: list[str] = field(default_factory=list)
    fse_plus: bool = False
    divisible: bool = True
    min_part_g: int = 0
    pickup_from: datetime | None = None
    pickup_until: datetime | None = None
    place: geo.Place | None = None
    address: str = ""
    warnings: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self, data: Mapping[str, Any]):
        self.data = data
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> Any:
        value = self.data.get(name)
        return value.strip() if isinstance(value, str) else value

    def fail(self, name: str, message: Any) -> None:
        self.errors.setdefault(name, str(message))

    def text(self, name: str, max_len: int, required: bool = False) -> str:
        value = self.raw(name)
        value = "" if value is None else str(value)
        if required and not value:
            self.fail(name, _l("This field is required."))
        elif len(value) > max_len:
            self.fail(name, _l("At most %(n)d characters.", n=max_len))
        return value

    def number(self, name: str, required: bool = False) -> float | None:
        value = self.raw(name)
        if value is None or value == "":
            if required:
                self.fail(name, _l("This field is required."))
            return None
        if isinstance(value, bool):
            self.fail(name, _l("Enter a number."))
            return None
        try:
            number = float(str(value).replace(",", ".").replace(" ", ""))
        except ValueError:
            self.fail(name, _l("Enter a number."))
            return None
        if number != number or number in (float("inf"), float("-inf")):
            self.fail(name, _l("Enter a number."))
            return None
        return number

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if str(value).lower() in TRUE:
            return True
        if str(value).lower() in FALSE:
            return False
        self.fail(name, _l("Answer yes or no."))
        return default

    def choice(self, name: str, enum_cls: Any, required: bool = True) -> Any:
        value = self.raw(name)
        if value in (None, ""):
            if required:
                self.fail(name, _l("This field is required."))
            return None
        try:
            return enum_cls(str(value))
        except ValueError:
            self.fail(name, _l("Unknown value “%(v)s”.", v=str(value)[:40]))
            return None

    def day(self, name: str) -> date | None:
        value = self.raw(name)
        if value in (None, ""):
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(name, _l("Enter a date as YYYY-MM-DD."))
            return None

    def moment(self, name: str) -> datetime | None:
        value = self.raw(name)
        if value in (None, ""):
            self.fail(name, _l("This field is required."))
            return None
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            self.fail(name, _l("Enter a date and time, e.g. 2026-05-04T14:00+02:00."))
            return None
        if moment.tzinfo is None:  # a form's datetime-local: Belgian time
            moment = moment.replace(tzinfo=BRUSSELS)
        return moment.astimezone(UTC)

    def allergens(self) -> list[str]:
        value = self.raw("allergens")
        if value in (None, ""):
            return []
        items = value if isinstance(value, list) else re.split(r"[;,|]", str(value))
        known = {a.value for a in Allergen}
        cleaned = [str(i).strip().lower() for i in items if str(i).strip()]
        unknown = [i for i in cleaned if i not in known]
        if unknown:
            self.fail("allergens", _l("Unknown allergen: %(a)s.", a=", ".join(unknown)[:80]))
        return sorted(set(cleaned) & known)


def _grams(kg: float) -> int:
    return int(round(kg * 1000))


def parse_lot(data: Mapping[str, Any], donor: Organisation,
              now: datetime | None = None) -> tuple[LotDraft, dict[str, str]]:
    """Read and check a lot; returns the draft and the errors by field (empty if valid)."""
    now = now or datetime.now(UTC)
    r = _Reader(data)
    d = LotDraft()
    d.title = r.text("title", 200, required=True)
    d.description = r.text("description", 2000)
    d.lot_number = r.text("lot_number", 60)
    d.category = r.choice("category", Category)
    d.storage = r.choice("storage", StorageClass)
    d.allergens = r.allergens()
    d.fse_plus = r.flag("fse_plus", False)
    d.divisible = r.flag("divisible", True)

    weight = r.number("weight_kg", required=True)
    if weight is not None:
        if weight <= 0:
            r.fail("weight_kg", _l("The weight must be more than 0 kg."))
        elif _grams(weight) > MAX_LOT_GRAMS:
            r.fail("weight_kg", _l("At most 40,000 kg per lot; split larger stock."))
        else:
            d.weight_g = _grams(weight)
    units = r.number("units")
    if units is not None:
        if units < 0 or units != int(units):
            r.fail("units", _l("Enter a whole number of units."))
        else:
            d.units = int(units)
    min_part = r.number("min_part_kg")
    if d.divisible and min_part is not None:
        if min_part < 0:
            r.fail("min_part_kg", _l("The minimum part cannot be negative."))
        elif d.weight_g and _grams(min_part) > d.weight_g:
            r.fail("min_part_kg", _l("The minimum part cannot exceed the lot's weight."))
        else:
            d.min_part_g = _grams(min_part)

    if d.fse_plus and not donor.is_platform:
        r.fail("fse_plus", _l("Only logistics platforms may post FSE+ stock."))

    d.pickup_from = r.moment("pickup_from")
    d.pickup_until = r.moment("pickup_until")
    if d.pickup_from and d.pickup_until:
        if d.pickup_until <= d.pickup_from:
            r.fail("pickup_until", _l("The pickup window must end after it starts."))
        elif d.pickup_until <= now:
            r.fail("pickup_until", _l("This pickup window is already over."))

    _read_dates(r, d, now)
    _read_place(r, d, donor)
    return d, r.errors


def _read_dates(r: _Reader, d: LotDraft, now: datetime) -> None:
    d.best_date = r.day("date")
    kind_given = r.raw("date_kind") not in (None, "")
    d.date_kind = r.choice("date_kind", DateKind, required=d.best_date is not None)
    if kind_given and d.best_date is None and "date" not in r.errors:
        r.fail("date", _l("Enter the date that goes with the date kind."))
    if d.best_date is None:
        if d.storage in (StorageClass.CHILLED, StorageClass.FROZEN) and "date" not in r.errors:
            r.fail("date", _l("Chilled and frozen lots need a use-by or best-before date."))
        d.date_kind = None
        return
    if d.date_kind is None or d.category is None or d.storage is None:
        return
    d.expires_at = expires_at(d.date_kind, d.best_date, d.category, d.storage)
    today = local_today(now)
    if d.expires_at <= now:
        if d.date_kind == DateKind.USE_BY:
            r.fail("date", _l("This use-by date is past: the food can no longer be given."))
        else:
            r.fail("date", _l("Past its best-before date and its grace period: it can no "
                              "longer be given."))
        return
    if d.pickup_until and d.pickup_until > d.expires_at:
        r.fail("pickup_until", _l(
            "The pickup window ends after the food may be handed out (%(limit)s): nobody could "
            "receive it in time. End the window by then or correct the date.",
            limit=format_datetime(d.expires_at, "EEE d MMM HH:mm")))
    elif d.pickup_from and d.pickup_from >= d.expires_at - timedelta(hours=2):
        r.fail("pickup_from", _l(
            "The pickup starts too late to deliver before %(limit)s.",
            limit=format_datetime(d.expires_at, "EEE d MMM HH:mm")))
    if d.date_kind == DateKind.USE_BY and (d.best_date - today).days < AFSCA_ADVISED_DAYS:
        d.warnings.append(str(_l(
            "Use-by on %(day)s: AFSCA advises donating at least %(n)d days before; this lot "
            "will be shown first to nearby organisations.",
            day=format_date(d.best_date, "EEE d MMM"), n=AFSCA_ADVISED_DAYS)))


def _read_place(r: _Reader, d: LotDraft, donor: Organisation) -> None:
    postcode = r.text("postcode", 4)
    locality = r.text("locality", 120)
    lat, lon = r.number("lat"), r.number("lon")
    d.address = r.text("address", 300) or (donor.address if not postcode else "")
    if postcode:
        d.place = geo.lookup(postcode, locality)
        if d.place is None:
            r.fail("postcode", _l("Unknown Belgian postcode."))
    elif lat is not None or lon is not None:
        if lat is None or lon is None or not (49.4 <= lat <= 51.6 and 2.5 <= lon <= 6.5):
            r.fail("lat", _l("Coordinates must lie in Belgium (lat 49.4–51.6, lon 2.5–6.5)."))
        else:
            d.place = geo.Place(donor.postcode, donor.locality, lat, lon)
    else:
        d.place = geo.Place(donor.postcode, donor.locality, donor.lat, donor.lon)
    if d.place is not None and postcode and (lat is not None and lon is not None):
        d.place = geo.Place(d.place.postcode, d.place.locality, lat, lon)
