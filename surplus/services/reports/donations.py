"""Donation documents for donors (Belgian VAT: Code art. 12 §1, 2°, b; royal decree
n° 59 of 18 May 2020 as amended; circular 2026/C/22; DESIGN.md §3 rule 10).

A **donation** is a claim whose food left its donor: the first confirmed pickup of the
claim, its collection at the donor's by the beneficiary's own people
(services/collection.py), or, for a platform's claim for its own depot, its receipt at
the depot's door when no pickup was confirmed (:func:`ledger.picked_up_at`). Its date
is that hand-over's Brussels day. Only food given for **free distribution** (the claim's convention:
``distribution_mode.is_free``) is relieved of VAT; a donation through a social grocery or
another channel gets no document, and the donor's page lists it apart with the reason. A
platform's claim for its depot has no convention: the recipient is the platform itself, a
recognised food-aid platform (standing "platform"), and its donation is documented
(distribution ``redistribution``: the platform hands it on through its network).

Numbering, per donor and per calendar year: ``D-<year>-<seq:05d>``, where ``seq`` is the
donation's rank among the donor's eligible donations of that (Brussels) year ordered by
(hand-over moment, claim id). It is computed, never stored, and stable: a hand-over is
recorded at the moment the driver confirms it (``Stop.confirmed_at`` is set by
``services.stops.confirm`` to the server's clock, never entered by hand, never
backdated); a confirmed stop is never confirmed again nor removed from its run
(``booking.unbook`` leaves it), so a new donation always comes after every donation
already numbered and the numbers already handed out never move; the claim id breaks a
tie between two hand-overs of the same instant. One caveat: eligibility is read from the
convention as it is now; if a coordinator changed a convention's distribution mode after
its food was handed over, the numbers of that year would follow.

The monthly *document récapitulatif* ``R-<year>-<month:02d>`` lists every eligible
donation of the month with its number, and may replace the individual documents.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ...models import Claim, Lot, Organisation, OrgKind
from .ledger import picked_up_at, units_of
from .period import Period, local_day, month_key

# The recipient's standing, as the circular names it (API codes and their labels).
STANDINGS = {
    "platform": _l("recognised food-aid distribution platform"),
    "cpas": _l("CPAS (public social welfare centre)"),
    "charity": _l("charity recognised by a CPAS"),
}
STATEMENT = _l(
    "The goods listed in this document were handed over free of charge by the donor to "
    "the recipient organisations named in it, to be distributed free of charge to people "
    "in need. "
    "Legal basis: Belgian VAT Code, art. 12 §1, 2°, b; royal decree n° 59 of 18 May 2020 "
    "as amended; circular 2026/C/22."
)
# A platform's claim for its depot: the platform redistributes it through its network.
REDISTRIBUTION = "redistribution"
DOCUMENT_LANGUAGE = "fr"  # the statement is given in French first, then the reader's


def vat_number(enterprise_number: str | None) -> str | None:
    """``BE`` and the ten digits of a Belgian enterprise number; None when it is missing
    or is not ten digits."""
    digits = re.sub(r"\D", "", enterprise_number or "")
    return f"BE{digits}" if len(digits) == 10 else None


def standing(org: Organisation) -> str:
    """The recipient's standing code (see :data:`STANDINGS`)."""
    if org.kind == OrgKind.PLATFORM:
        return "platform"
    if org.kind == OrgKind.CPAS:
        return "cpas"
    return "charity"


def statements(locale: str) -> list[tuple[str, str]]:
    """The statement as ``(language, text)``: French first, then the reader's language."""
    out = []
    for language in dict.fromkeys([DOCUMENT_LANGUAGE, locale]):
        with force_locale(language):
            out.append((language, str(STATEMENT)))
    return out


@dataclass(frozen=True)
class Line:
    """One product of a donation (a claim takes its share of one lot)."""

    lot: Lot
    grams: int

    @property
    def kg(self) -> float:
        return self.grams / 1000

    @property
    def units(self) -> int | None:
        return units_of(self.lot.units, self.lot.weight_g, self.grams)


@dataclass
class Donation:
    claim: Claim
    at: datetime  # when the food left the donor
    number: str | None = None  # None: not free distribution, no document

    @property
    def eligible(self) -> bool:
        if self.claim.convention is None:  # a platform's claim for its own depot
            return self.claim.depot_id is not None
        return self.claim.convention.distribution_mode.is_free

    @property
    def day(self) -> date:
        return local_day(self.at)

    @property
    def claim_id(self) -> int:
        return self.claim.id

    @property
    def donor(self) -> Organisation:
        return self.claim.lot.donor

    @property
    def recipient(self) -> Organisation:
        return self.claim.beneficiary

    @property
    def standing(self) -> str:
        return standing(self.recipient)

    @property
    def distribution_mode(self) -> str:
        if self.claim.convention is None:
            return REDISTRIBUTION
        return self.claim.convention.distribution_mode.value

    @property
    def kg(self) -> float:
        return self.claim.grams / 1000

    @property
    def lines(self) -> list[Line]:
        return [Line(self.claim.lot, self.claim.grams)]


@dataclass
class RecipientTotal:
    organisation: Organisation
    grams: int = 0
    count: int = 0

    @property
    def kg(self) -> float:
        return self.grams / 1000


@dataclass
class Recap:
    """The monthly *document récapitulatif* of one donor."""

    donor: Organisation
    month: Period
    donations: list[Donation]  # eligible ones, numbered, in order
    totals: list[RecipientTotal] = field(default_factory=list)

    @property
    def number(self) -> str:
        return f"R-{self.month.start.year}-{self.month.start.month:02d}"

    @property
    def kg(self) -> float:
        return sum(d.claim.grams for d in self.donations) / 1000


def _handed_over(session: Session, donor_id: int, period: Period) -> list[Donation]:
    """Every donation of ``donor_id`` in ``period``, eligible or not, by (moment, claim)."""
    moved = picked_up_at()
    rows = session.execute(
        select(Claim, moved.c.at)
        .join(moved, moved.c.claim_id == Claim.id)
        .join(Lot, Lot.id == Claim.lot_id)
        .where(
            Lot.donor_id == donor_id,
            moved.c.at >= period.start_utc,
            moved.c.at < period.end_utc,
        )
        .options(
            joinedload(Claim.lot).joinedload(Lot.donor),
            joinedload(Claim.beneficiary),
            joinedload(Claim.convention),
        )
        .order_by(moved.c.at, Claim.id)
    ).all()
    return [Donation(claim, at) for claim, at in rows]


def donations(session: Session, donor_id: int, period: Period) -> list[Donation]:
    """The donations of ``donor_id`` in ``period``, in order, the eligible ones numbered
    (their rank in their year: the year is read from its first day up to the period's
    end, so the numbers are those every other call gives)."""
    since = Period(date(period.start.year, 1, 1), period.end)
    seq: dict[int, int] = defaultdict(int)
    found = []
    for d in _handed_over(session, donor_id, since):
        if d.eligible:
            seq[d.day.year] += 1
            d.number = f"D-{d.day.year}-{seq[d.day.year]:05d}"
        if period.contains(d.at):
            found.append(d)
    return found


def donation(session: Session, claim: Claim) -> Donation | None:
    """The donation ``claim`` is, numbered when eligible; None when its food has not left
    the donor (no confirmed pickup)."""
    moved = picked_up_at()
    at = session.scalar(select(moved.c.at).where(moved.c.claim_id == claim.id))
    if at is None:
        return None
    day = local_day(at)
    for d in donations(session, claim.lot.donor_id, Period(day, day)):
        if d.claim.id == claim.id:
            return d
    return None  # pragma: no cover - the claim is among its own day's donations


def recap(session: Session, donor: Organisation, month: Period) -> Recap:
    """The month's eligible donations of ``donor`` with totals per recipient."""
    found = [d for d in donations(session, donor.id, month) if d.eligible]
    totals: dict[int, RecipientTotal] = {}
    for d in found:
        total = totals.setdefault(d.recipient.id, RecipientTotal(d.recipient))
        total.grams += d.claim.grams
        total.count += 1
    ordered = sorted(totals.values(), key=lambda t: (t.organisation.name, t.organisation.id))
    return Recap(donor, month, found, ordered)


@dataclass
class MonthFigure:
    month: date  # its first day
    grams: int = 0  # every donation
    eligible_grams: int = 0  # with a document

    @property
    def kg(self) -> float:
        return self.grams / 1000

    @property
    def eligible_kg(self) -> float:
        return self.eligible_grams / 1000


def kg_by_month(session: Session, donor_id: int, last: date, months: int = 12) -> list[MonthFigure]:
    """Kilograms donated per month, ``months`` months up to the month of ``last``."""
    back = last.year * 12 + last.month - 1 - (months - 1)
    period = Period(date(back // 12, back % 12 + 1, 1), Period.month(last).end)
    figures = {m.strftime("%Y-%m"): MonthFigure(m) for m in period.months()}
    for d in _handed_over(session, donor_id, period):
        figure = figures[month_key(d.at)]
        figure.grams += d.claim.grams
        if d.eligible:
            figure.eligible_grams += d.claim.grams
    return list(figures.values())
