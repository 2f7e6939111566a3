"""The hand-over check (DESIGN.md §3 rules 1 and 9): at every pickup at the donor,
drop and pickup at a hub, delivery and self-collection, the food may change hands only
if its use-by has not passed and, chilled or frozen, its measured temperature is within
its product's limit.

The limits, in °C, highest temperature allowed at a hand-over:

=========================  ======  =================================================
product                    limit   source
=========================  ======  =================================================
fresh meat                    7    Reg. (EC) 853/2004 Annex III, Section I, Ch. VII
poultry meat                  4    Reg. (EC) 853/2004 Annex III, Section II
offal                         3    Reg. (EC) 853/2004 Annex III, Section I, Ch. VII
minced meat                   2    Reg. (EC) 853/2004 Annex III, Section V, Ch. III
meat preparations             4    Reg. (EC) 853/2004 Annex III, Section V, Ch. III
fishery products              2    Reg. (EC) 853/2004 Annex III, Section VIII,
                                   Ch. VII-VIII: "temperature approaching that of
                                   melting ice"
other chilled food            7    AFSCA guidance on food donation, unless the
                                   label says lower (the lot's own limit)
frozen food                 −18    Reg. (EC) 853/2004 Annex III, Section VIII,
                                   Ch. VII; Directive 89/108/EEC art. 5
frozen food, in transport   −15    Directive 89/108/EEC: brief rise tolerated in
                                   transport and local distribution
=========================  ======  =================================================

Every hand-over Maillon records is a moment of transport (a van, or the beneficiary
collecting), so frozen food is checked against the transport tolerance. A donor may
state a stricter limit on the lot (``Lot.max_temperature_c``, from its label): the
stricter limit wins. Ambient food carries no temperature check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from .. import clock
from ..errors import Invalid
from ..models import Lot, ProductKind, Recall, StorageClass

# Plausible readings of a food thermometer (the schemas' Temperature field agrees).
PLAUSIBLE = (-40.0, 60.0)
CHILLED_LIMIT = 7.0
PRODUCT_LIMITS: dict[ProductKind, float] = {
    ProductKind.FRESH_MEAT: 7.0,
    ProductKind.POULTRY: 4.0,
    ProductKind.OFFAL: 3.0,
    ProductKind.MINCED_MEAT: 2.0,
    ProductKind.MEAT_PREPARATION: 4.0,
    ProductKind.FISHERY: 2.0,
}
FROZEN_LIMIT = -18.0
FROZEN_TRANSPORT_LIMIT = -15.0

TOO_WARM = "too_warm"
USE_BY_PASSED = "use_by_passed"
RECALLED = "recalled"


def _number(value: float) -> str:
    from ..templating import number  # templating imports this module

    return number(value)


def limit_for(lot: Lot, transport: bool = True) -> float | None:
    """The highest temperature (°C) at which the lot may be handed over; None for
    ambient food. The lot's own stricter limit wins."""
    if lot.storage == StorageClass.FROZEN:
        base = FROZEN_TRANSPORT_LIMIT if transport else FROZEN_LIMIT
    elif lot.storage == StorageClass.CHILLED:
        base = (
            PRODUCT_LIMITS.get(lot.product_kind, CHILLED_LIMIT)
            if lot.product_kind
            else CHILLED_LIMIT
        )
    else:
        return None
    if lot.max_temperature_c is not None:
        return min(base, lot.max_temperature_c)
    return base


def limit_text(lot: Lot) -> str:
    """The lot page's sentence about its hand-over temperature ('' for ambient food)."""
    limit = limit_for(lot)
    if limit is None:
        return ""
    if lot.storage == StorageClass.FROZEN and limit == FROZEN_TRANSPORT_LIMIT:
        return str(
            _l(
                "Keep at %(store)s °C or colder; handed over at %(max)s °C at most "
                "(tolerance in transport).",
                store=_number(FROZEN_LIMIT),
                max=_number(limit),
            )
        )
    return str(_l("Handed over at %(max)s °C at most.", max=_number(limit)))


@dataclass(frozen=True)
class Verdict:
    """The outcome of a hand-over check: ``reason`` is ``too_warm`` or ``use_by_passed``
    when refused, ``message`` says it to a person."""

    ok: bool
    limit_c: float | None
    reason: str | None = None
    message: str = ""


def _recalled(lot: Lot) -> bool:
    """The lot was recalled, or it was offered from a depot's stock (``stock_item_id``)
    whose food came in (in part) by a claim on a recalled lot."""
    session = object_session(lot)
    if session is None:
        return False
    if session.scalar(select(Recall.id).where(Recall.lot_id == lot.id)) is not None:
        return True
    item_id = getattr(lot, "stock_item_id", None)
    if item_id is None:
        return False
    from ..models import StockItem

    item = session.get(StockItem, item_id)
    return item is not None and item_recalled(session, item)


def item_recalled(session: Session, item: Any) -> bool:
    """Some of a depot stock item's food came in by a claim on a recalled lot."""
    from .depots.stock import origins

    lots = [o.lot_id for o in origins(session, item) if o.lot_id is not None]
    return bool(lots) and (
        session.scalar(select(Recall.id).where(Recall.lot_id.in_(lots)).limit(1)) is not None
    )


def check_handover(
    lot: Lot,
    temperature: float | None,
    at: datetime | None = None,
    *,
    measured: bool = True,
) -> Verdict:
    """Check one hand-over of ``lot`` at the moment ``at`` (now by default).

    1. Chilled and frozen food needs a reading (unless ``measured`` is False, when no
       one is there to measure, such as when self-collection is chosen): missing,
       non-finite or implausible readings raise :class:`Invalid` (nothing happened).
    2. Past the lot's use-by (``Lot.expires_at``, the first moment it may no longer be
       given: end of the use-by day in Brussels, or of the best-before day plus its
       category's grace): refused, ``use_by_passed``.
    3. Recalled by its donor, or offered from depot stock that came from a recalled
       lot: refused, ``recalled`` (the food is kept apart).
    4. Above the product's limit (:func:`limit_for`): refused, ``too_warm``.
    """
    at = at or clock.now()
    limit = limit_for(lot)
    if limit is not None and measured:
        if temperature is None:
            raise Invalid(
                str(_l("Measure and enter the temperature of this chilled or frozen lot.")),
                {"temperature": str(_l("Required for the cold chain."))},
            )
        if not math.isfinite(temperature) or not PLAUSIBLE[0] <= temperature <= PLAUSIBLE[1]:
            message = str(
                _l(
                    "Enter a number between %(min)s and %(max)s.",
                    min=_number(PLAUSIBLE[0]),
                    max=_number(PLAUSIBLE[1]),
                )
            )
            raise Invalid(message, {"temperature": message})
    if lot.expires_at is not None and at >= lot.expires_at:
        return Verdict(
            False,
            limit,
            USE_BY_PASSED,
            str(_l("Past its use-by date: it may no longer be handed over. Refused.")),
        )
    if _recalled(lot):
        return Verdict(
            False,
            limit,
            RECALLED,
            str(_l("Recalled by its donor: do not hand it over; keep it apart. Refused.")),
        )
    if limit is not None and measured and temperature is not None and temperature > limit:
        return Verdict(
            False,
            limit,
            TOO_WARM,
            str(
                _l(
                    "Too warm: %(t)s °C measured, at most %(max)s °C for this lot. "
                    "Do not hand it over; the refusal is recorded.",
                    t=_number(temperature),
                    max=_number(limit),
                )
            ),
        )
    return Verdict(True, limit)
