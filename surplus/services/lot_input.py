"""The rules a posted lot must meet beyond its shape (which :class:`LotInSchema` checks):
who may post FSE+ stock, a pickup window and a date still ahead, a known postcode.

They take the schema's typed values, whether they came from the form, a CSV row or the
API, and report every problem against its field, in the user's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l

from .. import clock, geo
from ..models import Category, DateKind, Organisation, ProductKind, StorageClass
from .lot_dates import AFSCA_ADVISED_DAYS, expires_at, local_today


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
    product_kind: ProductKind | None = None
    max_temperature_c: float | None = None
    allergens: list[str] = field(default_factory=list)
    fse_plus: bool = False
    divisible: bool = True
    min_part_g: int = 0
    pickup_from: datetime | None = None
    pickup_until: datetime | None = None
    place: geo.Place | None = None
    address: str = ""
    warnings: list[str] = field(default_factory=list)


def grams(kg: float) -> int:
    return int(round(kg * 1000))


def check_lot(
    values: Mapping[str, Any], donor: Organisation, now: datetime | None = None
) -> tuple[LotDraft, dict[str, str]]:
    """Apply the posting rules to loaded values; returns the draft and the errors by
    field (empty when the lot may be posted)."""
    now = now or clock.now()
    errors: dict[str, str] = {}
    d = LotDraft(
        title=values["title"],
        category=values["category"],
        description=values.get("description") or "",
        lot_number=values.get("lot_number") or "",
        weight_g=grams(values["weight_kg"]),
        units=values.get("units"),
        date_kind=values.get("date_kind"),
        best_date=values.get("date"),
        storage=values["storage"],
        product_kind=values.get("product_kind"),
        max_temperature_c=values.get("max_temperature_c"),
        allergens=list(values.get("allergens") or []),
        fse_plus=values.get("fse_plus", False),
        divisible=values.get("divisible", True),
        pickup_from=values["pickup_from"],
        pickup_until=values["pickup_until"],
    )
    if d.divisible and values.get("min_part_kg"):
        d.min_part_g = grams(values["min_part_kg"])
    if d.fse_plus and not donor.is_platform:
        errors["fse_plus"] = str(_l("Only logistics platforms may post FSE+ stock."))
    if d.best_date is None:
        d.date_kind = None
    else:
        _check_dates(d, now, errors)
    assert d.pickup_from and d.pickup_until
    errors.update(window_errors(d.pickup_from, d.pickup_until, d.expires_at, now))
    _place(values, d, donor, errors)
    return d, errors


def _check_dates(d: LotDraft, now: datetime, errors: dict[str, str]) -> None:
    assert d.date_kind and d.best_date and d.category and d.storage
    d.expires_at = expires_at(d.date_kind, d.best_date, d.category, d.storage)
    if d.expires_at <= now:
        errors["date"] = str(
            _l("This use-by date is past: the food can no longer be given.")
            if d.date_kind == DateKind.USE_BY
            else _l("Past its best-before date and its grace period: it can no longer be given.")
        )
        return
    if (
        d.date_kind == DateKind.USE_BY
        and (d.best_date - local_today(now)).days < AFSCA_ADVISED_DAYS
    ):
        d.warnings.append(
            str(
                _l(
                    "Use-by on %(day)s: AFSCA advises donating at least %(n)d days before; "
                    "this lot will be shown first to nearby organisations.",
                    day=format_date(d.best_date, "EEE d MMM"),
                    n=AFSCA_ADVISED_DAYS,
                )
            )
        )


def window_errors(
    pickup_from: datetime, pickup_until: datetime, expires: datetime | None, now: datetime
) -> dict[str, str]:
    """The food-safety rules of a pickup window, at posting and when the donor moves it:
    not over yet, and ending while the food may still be handed out (``expires``, the
    lot's ``expires_at``), starting early enough to deliver before then."""
    errors: dict[str, str] = {}
    if pickup_until <= now:
        errors["pickup_until"] = str(_l("This pickup window is already over."))
    if expires is None or expires <= now:  # no date, or past it (the date says so)
        return errors
    limit = format_datetime(expires, "EEE d MMM HH:mm")
    if pickup_until > expires:
        errors.setdefault(
            "pickup_until",
            str(
                _l(
                    "The pickup window ends after the food may be handed out (%(limit)s): "
                    "nobody could receive it in time. End the window by then or correct the "
                    "date.",
                    limit=limit,
                )
            ),
        )
    elif pickup_from >= expires - timedelta(hours=2):
        errors["pickup_from"] = str(
            _l("The pickup starts too late to deliver before %(limit)s.", limit=limit)
        )
    return errors


def _place(
    values: Mapping[str, Any], d: LotDraft, donor: Organisation, errors: dict[str, str]
) -> None:
    """The pickup place: a postcode (with optional exact coordinates), coordinates alone
    at the donor's locality, or the donor's own address."""
    postcode, locality = values.get("postcode") or "", values.get("locality") or ""
    lat, lon = values.get("lat"), values.get("lon")
    d.address = values.get("address") or (donor.address if not postcode else "")
    if postcode:
        place = geo.lookup(postcode, locality)
        if place is None:
            errors["postcode"] = str(_l("Unknown Belgian postcode."))
            return
        d.place = place if lat is None else geo.Place(place.postcode, place.locality, lat, lon)
    elif lat is not None and lon is not None:
        d.place = geo.Place(donor.postcode, donor.locality, lat, lon)
    else:
        d.place = geo.Place(donor.postcode, donor.locality, donor.lat, donor.lon)
