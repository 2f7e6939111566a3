"""The report: what happened to the food posted in a period, for one reader's scope.

Definitions (the report page repeats them):

- **Cohort.** The figures follow the lots *posted* in the period (``Lot.created_at``,
  Brussels days, both ends included) and the claims on them, whenever these happened.
  Lot figures (posted, withdrawn, expired) count every lot of the scope; claim figures
  (claimed, delivered) only the claims of the scope (``access.report_scope``).
- ``kg_posted``: Σ lot weight. ``kg_claimed``: Σ claims still live (active, collected,
  delivered). ``kg_delivered``: Σ claims delivered (drop-off at the beneficiary confirmed).
- ``kg_withdrawn``: for withdrawn lots, what was unclaimed plus the claims withdrawn with
  the lot. ``kg_expired``: for expired lots, the weight minus every claim not cancelled,
  that is what was left unclaimed plus the claims the expiry cancelled.
- ``match_rate``: kg delivered / kg posted (0 when nothing was posted).
- Median minutes from posting to the lot's first claim (lots with a claim of any
  status), and to its first booking (ledger ``moments``); None when there is none.
- Kilometres added per kg: Σ km the bookings of delivered claims added to the runs / kg
  delivered. CO2e avoided: Σ kg delivered × the factor of the lot's category (co2.py).
- Carried for others: claims on the road or delivered that the platform's runs carried
  although claimed through another platform; carried by others: claims through the
  platform that another platform's runs carried.
- **Need met** (per beneficiary): kg *received* in the period (delivered moment, not the
  cohort) / (persons per week of its conventions in force, the largest × kg per person
  per week × weeks of the period).
- **Jain's index** over consecutive 4-week windows from the period's start (the last one
  may be shorter): x = each measured beneficiary's need met in the window, capped at 1,
  as the matcher measures fairness (``matching.jain_index``); J = (Σx)² / (n·Σx²), 1
  when all are equal, including when nobody received anything. Measured beneficiaries:
  the scope's network (a platform's conventions, all for a site admin) with persons > 0.
- **Depots** (a platform's report only): kilograms in, out and lost per month, stock on
  hand by zone and days of cover (``depot.py`` defines them).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from matching import jain_index

from ...access import ReportScope
from ...models import (
    LIVE_CLAIM_STATUSES,
    Category,
    Claim,
    ClaimStatus,
    Convention,
    Lot,
    LotStatus,
    Organisation,
    StorageClass,
)
from ..lot_dates import local_today
from . import co2, ledger
from .depot import DepotFigures, depot_figures
from .period import Period, month_key

MOVED = (ClaimStatus.COLLECTED, ClaimStatus.DELIVERED)
WINDOW_DAYS = 28


def kg(grams: float) -> float:
    return round(grams / 1000, 3)


@dataclass
class Figures:
    """Grams of one group of lots (a month, a donor, a category...)."""

    key: Any = None
    name: str = ""
    posted_g: int = 0
    claimed_g: int = 0
    delivered_g: int = 0
    expired_g: int = 0
    withdrawn_g: int = 0
    co2e_kg: float = 0.0

    kg_posted = property(lambda self: kg(self.posted_g))
    kg_claimed = property(lambda self: kg(self.claimed_g))
    kg_delivered = property(lambda self: kg(self.delivered_g))
    kg_expired = property(lambda self: kg(self.expired_g))
    kg_withdrawn = property(lambda self: kg(self.withdrawn_g))


@dataclass
class BeneficiaryRow:
    organisation_id: int
    name: str = ""
    claimed_g: int = 0
    delivered_g: int = 0
    received_g: int = 0  # delivered within the period, whatever the lot's posting day
    persons_per_week: int = 0
    kg_per_person_week: float | None = None
    need_met: float | None = None

    kg_claimed = property(lambda self: kg(self.claimed_g))
    kg_delivered = property(lambda self: kg(self.delivered_g))
    kg_received = property(lambda self: kg(self.received_g))


@dataclass
class Window:
    start: date
    end: date
    jain: float


@dataclass
class Summary:
    period: Period
    total: Figures
    match_rate: float
    median_minutes_to_first_claim: float | None
    median_minutes_to_booking: float | None
    co2e_kg: float
    km_added_per_kg: float | None
    organisations_served: int
    carried_for_others_g: int | None
    carried_by_others_g: int | None
    windows: list[Window]
    by_month: list[Figures]
    by_donor: list[Figures]
    by_category: list[Figures]
    by_storage: list[Figures]
    by_beneficiary: list[BeneficiaryRow] = field(default_factory=list)
    depots: DepotFigures | None = None  # a platform's depots (None: not a platform's report)

    kg_posted = property(lambda self: self.total.kg_posted)
    kg_claimed = property(lambda self: self.total.kg_claimed)
    kg_delivered = property(lambda self: self.total.kg_delivered)
    kg_expired = property(lambda self: self.total.kg_expired)
    kg_withdrawn = property(lambda self: self.total.kg_withdrawn)

    @property
    def jain_mean(self) -> float | None:
        values = [w.jain for w in self.windows]
        return round(statistics.fmean(values), 4) if values else None

    @property
    def jain_worst(self) -> float | None:
        return min((w.jain for w in self.windows), default=None)

    @property
    def carried_for_others_kg(self) -> float | None:
        return None if self.carried_for_others_g is None else kg(self.carried_for_others_g)

    @property
    def carried_by_others_kg(self) -> float | None:
        return None if self.carried_by_others_g is None else kg(self.carried_by_others_g)


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + ledger.CHUNK] for i in range(0, len(ids), ledger.CHUNK)]


def _lost(lot: Any, claims: list) -> tuple[int, int]:
    """Grams ``(withdrawn, expired)`` of a lot, from all its claims (see the module)."""
    if lot.status == LotStatus.WITHDRAWN:
        withdrawn = sum(c.grams for c in claims if c.status == ClaimStatus.WITHDRAWN)
        return lot.remaining_g + withdrawn, 0
    if lot.status == LotStatus.EXPIRED:
        return 0, lot.weight_g - sum(c.grams for c in claims if c.status != ClaimStatus.CANCELLED)
    return 0, 0


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def summary(session: Session, scope: ReportScope, period: Period, kg_per_person: float) -> Summary:
    """The report of ``period`` for ``scope`` in a handful of queries (see the module)."""
    posted = (scope.lots, Lot.created_at >= period.start_utc, Lot.created_at < period.end_utc)
    lots = session.execute(
        select(
            Lot.id, Lot.donor_id, Lot.category, Lot.storage, Lot.status, Lot.weight_g,
            Lot.remaining_g, Lot.created_at,
        ).where(*posted)
    ).all()  # fmt: skip
    claims = session.execute(
        select(
            Claim.id, Claim.lot_id, Claim.beneficiary_id, Claim.platform_id, Claim.grams,
            Claim.status, Claim.created_at, case((scope.claims, 1), else_=0).label("counted"),
        ).where(Claim.lot_id.in_(select(Lot.id).where(*posted)))
    ).all()  # fmt: skip
    moments = ledger.moments(session, [c.id for c in claims])
    on_lot: dict[int, list] = defaultdict(list)
    for c in claims:
        on_lot[c.lot_id].append(c)

    total = Figures()
    months = {month_key_of(d): Figures(month_key_of(d)) for d in period.months()}
    donors: dict[int, Figures] = {}
    categories = {c: Figures(c) for c in Category}
    storages = {s: Figures(s) for s in StorageClass}
    bens: dict[int, BeneficiaryRow] = {}
    first_claim, first_booking, km, served = [], [], 0.0, set()
    carried_for = carried_by = 0
    platform = scope.platform_id
    for lot in lots:
        groups = [
            total,
            months.setdefault(month_key(lot.created_at), Figures(month_key(lot.created_at))),
            donors.setdefault(lot.donor_id, Figures(lot.donor_id)),
            categories[lot.category],
            storages[lot.storage],
        ]
        mine = on_lot[lot.id]
        withdrawn, expired = _lost(lot, mine)
        claimed = delivered = 0
        for c in mine:
            if not c.counted:
                continue
            m = moments[c.id]
            row = bens.setdefault(c.beneficiary_id, BeneficiaryRow(c.beneficiary_id))
            if c.status in LIVE_CLAIM_STATUSES:
                claimed += c.grams
                row.claimed_g += c.grams
            if c.status == ClaimStatus.DELIVERED:
                delivered += c.grams
                row.delivered_g += c.grams
                km += m.added_km
                served.add(c.beneficiary_id)
            if platform is not None and c.status in MOVED:
                if platform in m.carriers and c.platform_id != platform:
                    carried_for += c.grams
                if c.platform_id == platform and m.carriers - {platform}:
                    carried_by += c.grams
        for g in groups:
            g.posted_g += lot.weight_g
            g.claimed_g += claimed
            g.delivered_g += delivered
            g.withdrawn_g += withdrawn
            g.expired_g += expired
        categories[lot.category].co2e_kg += co2.co2e_kg(lot.category, delivered)
        if mine:
            first_claim.append(_minutes(min(c.created_at for c in mine), lot.created_at))
        booked = [moments[c.id].booked_at for c in mine if moments[c.id].booked_at]
        if booked:
            first_booking.append(_minutes(min(booked), lot.created_at))

    received = _received(session, scope, period.start_utc, period.end_utc)
    pool = _need(session, scope, period, kg_per_person, bens, received)
    names = _names(session, [*donors, *bens])
    for key, row in donors.items():
        row.name = names.get(key, "")
    for row in bens.values():
        row.name = names.get(row.organisation_id, "")
    co2e = round(sum(g.co2e_kg for g in categories.values()), 3)
    for g in categories.values():
        g.co2e_kg = round(g.co2e_kg, 3)
    return Summary(
        period=period,
        total=total,
        match_rate=round(total.delivered_g / total.posted_g, 4) if total.posted_g else 0.0,
        median_minutes_to_first_claim=_median(first_claim),
        median_minutes_to_booking=_median(first_booking),
        co2e_kg=co2e,
        km_added_per_kg=round(km / (total.delivered_g / 1000), 4) if total.delivered_g else None,
        organisations_served=len(served),
        carried_for_others_g=carried_for if platform is not None else None,
        carried_by_others_g=carried_by if platform is not None else None,
        windows=_jain_windows(period, kg_per_person, bens, pool, received),
        by_month=[months[k] for k in sorted(months)],
        by_donor=sorted(donors.values(), key=lambda g: (-g.posted_g, g.name)),
        by_category=[g for g in categories.values() if g.posted_g],
        by_storage=[g for g in storages.values() if g.posted_g],
        by_beneficiary=sorted(bens.values(), key=lambda r: (-r.delivered_g, r.name)),
        depots=depot_figures(session, platform, period) if platform is not None else None,
    )


def month_key_of(first: date) -> str:
    return first.strftime("%Y-%m")


def _received(session: Session, scope: ReportScope, start: datetime, end: datetime) -> list:
    """``(beneficiary_id, grams, delivered at)`` of the scope's claims delivered between
    ``start`` (included) and ``end`` (excluded)."""
    at = ledger.delivered_at()
    return session.execute(
        select(Claim.beneficiary_id, Claim.grams, at.c.at)
        .join(at, at.c.claim_id == Claim.id)
        .where(scope.claims, Claim.status == ClaimStatus.DELIVERED, at.c.at >= start)
        .where(at.c.at < end)
    ).all()


def _need(
    session: Session,
    scope: ReportScope,
    period: Period,
    kg_per_person: float,
    bens: dict[int, BeneficiaryRow],
    received: list,
) -> set[int]:
    """Fill in each beneficiary's need met (adding the network's members and whoever
    received food in the period); return the ids Jain's index measures."""
    recipients = set(bens) | {r.beneficiary_id for r in received}
    pool = set(session.scalars(scope.network)) if scope.network is not None else recipients
    for ben_id in pool | recipients:
        bens.setdefault(ben_id, BeneficiaryRow(ben_id))
    for ben_id, grams, _at in received:
        bens[ben_id].received_g += grams
    persons = _persons(session, list(bens), min(period.end, local_today()))
    for row in bens.values():
        row.persons_per_week = persons.get(row.organisation_id, 0)
        if row.persons_per_week > 0:
            person_weeks = row.persons_per_week * period.weeks
            row.kg_per_person_week = round(row.received_g / 1000 / person_weeks, 3)
            row.need_met = round(row.kg_per_person_week / kg_per_person, 4)
    return {b for b in pool if persons.get(b, 0) > 0}


def _persons(session: Session, ids: list[int], day: date) -> dict[int, int]:
    """Persons per week of each beneficiary: the largest of its conventions in force."""
    out: dict[int, int] = {}
    for part in _chunks(sorted(ids)):
        found = session.scalars(select(Convention).where(Convention.beneficiary_id.in_(part)))
        for conv in found:
            if conv.in_force(day):
                out[conv.beneficiary_id] = max(
                    out.get(conv.beneficiary_id, 0), conv.persons_per_week
                )
    return out


def _names(session: Session, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in _chunks(sorted(set(ids))):
        rows = select(Organisation.id, Organisation.name).where(Organisation.id.in_(part))
        out.update({org_id: name for org_id, name in session.execute(rows)})
    return out


def windows_of(period: Period) -> list[Period]:
    """Consecutive 4-week windows from the period's start; the last may be shorter."""
    out, start = [], period.start
    while start <= period.end:
        out.append(Period(start, min(start + timedelta(days=WINDOW_DAYS - 1), period.end)))
        start += timedelta(days=WINDOW_DAYS)
    return out


def _jain_windows(
    period: Period,
    kg_per_person: float,
    bens: dict[int, BeneficiaryRow],
    pool: set[int],
    received: list,
) -> list[Window]:
    """Jain's index of need met (capped at 1) among ``pool`` in each 4-week window."""
    if not pool:
        return []
    out = []
    for window in windows_of(period):
        got: dict[int, int] = defaultdict(int)
        for ben_id, grams, at in received:
            if window.contains(at):
                got[ben_id] += grams
        shares = [
            min(1.0, got[b] / 1000 / (bens[b].persons_per_week * kg_per_person * window.weeks))
            for b in sorted(pool)
        ]
        out.append(Window(window.start, window.end, round(jain_index(shares), 4)))
    return out
