"""The lots of a simulated period: who posts what, when, with which dates and pickup
window, as a stream of ``Posting`` sorted by time.

Each donor's lots come from its own ``random.Random`` (seeded by the spec's seed and the
donor's position in the world), so the stream is the same for the same spec, and one
donor's draws never move another's. ``draft`` is what ``surplus.services.lots.create_lot``
takes: the values ``LotInSchema`` loads (typed: enums, dates, aware datetimes), the same
schema as the form, the CSV row and the API.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from surplus import clock
from surplus.models import Category, DateKind, ProductKind, StorageClass
from surplus.services.lot_dates import expires_at

from . import calibration as cal
from .world import Donor, Spec, World, road_km

BRUSSELS = clock.BRUSSELS
# services/lot_input.window_errors: the window must start this long before the food
# stops being distributable.
LAST_START = timedelta(hours=2)
MIN_WINDOW = timedelta(hours=2)


@dataclass(frozen=True)
class Posting:
    at: datetime  # aware UTC, when the donor posts it
    donor: Donor
    draft: dict  # what surplus/services/lots.py create_lot takes (LotInSchema's values)
    withdraw_at: datetime | None  # the donor withdraws it then, if still open (rare)


def catalogue(donor: Donor) -> tuple[cal.Product, ...]:
    """The products ``donor`` posts."""
    if donor.kind == "supermarket":
        return cal.SUPERMARKET
    if donor.kind == "shop":
        return cal.SHOP[donor.specialty]
    if donor.kind == "producer":
        return cal.PRODUCER[donor.specialty]
    if donor.kind == "auction":
        return cal.AUCTION
    if donor.kind == "cooperative":
        return cal.COOPERATIVE
    if donor.kind == "platform":
        return cal.FSE_STOCK
    raise ValueError(f"no catalogue for donor kind {donor.kind!r}")


def mean_kg(product: cal.Product) -> float:
    """The mean of the log-uniform size of ``product``."""
    lo, hi = product.kg
    return (hi - lo) / math.log(hi / lo) if hi > lo else lo


def mean_lot_kg(products: tuple[cal.Product, ...]) -> float:
    total = sum(p.weight for p in products)
    return sum(p.weight * mean_kg(p) for p in products) / total


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BRUSSELS).astimezone(UTC)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _quarter(moment: datetime) -> datetime:
    """Up to the next quarter of an hour (people write such times)."""
    extra = (-moment.minute) % 15
    return (moment + timedelta(minutes=extra)).replace(second=0, microsecond=0)


class _DonorStream:
    def __init__(self, donor: Donor, index: int, spec: Spec):
        self.donor = donor
        self.rng = random.Random(f"{spec.seed}:{spec.province}:stream:{donor.kind}:{index}")
        self.products = catalogue(donor)
        self.weights = [p.weight for p in self.products]
        lots_per_week = donor.weekly_kg / mean_lot_kg(self.products)
        day_weights = cal.POST_WEEKDAYS[donor.kind]
        total = sum(day_weights)
        self.per_day = [lots_per_week * w / total for w in day_weights]

    def day(self, day: date) -> list[Posting]:
        rate = self.per_day[day.weekday()]
        if self.donor.kind == "producer":
            rate *= cal.PRODUCER_SEASON[day.month - 1]
        out = []
        for _ in range(_poisson(self.rng, rate)):
            posting = self.lot(day)
            if posting is not None:
                out.append(posting)
        return out

    def lot(self, day: date) -> Posting | None:
        rng, donor = self.rng, self.donor
        product = rng.choices(self.products, weights=self.weights, k=1)[0]
        (h0, m0), (h1, m1) = cal.POST_HOURS[donor.kind]
        at = _local(day, h0, m0) + timedelta(
            minutes=rng.uniform(0, (h1 * 60 + m1) - (h0 * 60 + m0))
        )
        at = at.replace(second=0, microsecond=0)
        lo, hi = product.kg
        kg = math.exp(rng.uniform(math.log(lo), math.log(hi))) if hi > lo else lo
        kg = max(0.5, round(kg, 1))
        date_kind = DateKind(product.date_kind) if product.date_kind else None
        best = day + timedelta(days=rng.randint(*product.days)) if date_kind else None
        category, storage = Category(product.category), StorageClass(product.storage)
        limit = expires_at(date_kind, best, category, storage) if date_kind and best else None
        start, end = self.window(at, day, limit)
        if limit is not None and (end - start < MIN_WINDOW or start >= limit - LAST_START):
            return None  # the food would not keep long enough for anyone to fetch it
        withdraw = None
        if rng.random() < cal.WITHDRAW_RATE:
            withdraw = at + (end - at) * rng.uniform(0.2, 0.7)
            withdraw = withdraw.replace(microsecond=0)
        divisible = product.divisible
        min_part = None
        if divisible and product.min_part_kg and kg > product.min_part_kg:
            min_part = float(product.min_part_kg)
        draft = {
            "title": product.title,
            "category": category,
            "description": "",
            "lot_number": f"L{rng.randint(10000, 99999)}",
            "weight_kg": float(kg),
            "units": None,
            "date_kind": date_kind,
            "date": best,
            "storage": storage,
            "product_kind": ProductKind(product.product_kind) if product.product_kind else None,
            "max_temperature_c": None,
            "allergens": sorted(product.allergens),
            "fse_plus": donor.kind == "platform",
            "divisible": divisible,
            "min_part_kg": min_part,
            "pickup_from": start,
            "pickup_until": end,
        }
        return Posting(at=at, donor=donor, draft=draft, withdraw_at=withdraw)

    def window(self, at: datetime, day: date, limit: datetime | None) -> tuple[datetime, datetime]:
        """The pickup window: from the posting (a shop: its next opening) for the kind's
        hours, to the next collection of a regular donor when the food keeps until then;
        never past the moment the food stops being distributable."""
        rng, donor = self.rng, self.donor
        if donor.kind == "shop":  # from its next opening (shops close on Sundays)
            opening = day + timedelta(days=1)
            if opening.weekday() == 6:
                opening += timedelta(days=1)
            start = _local(opening, *cal.SHOP_OPENS)
        else:
            start = _quarter(at + timedelta(minutes=30))
        lo, hi = cal.WINDOW_HOURS[donor.kind]
        end = start + timedelta(hours=rng.uniform(lo, hi))
        local_end = end.astimezone(BRUSSELS)
        if not cal.CLOSES_BY_DAY[0] <= local_end.hour < cal.CLOSES_BY_DAY[1]:
            # Nobody comes at night: the window runs to the next day-time instead.
            next_day = local_end.date() + timedelta(days=local_end.hour >= cal.CLOSES_BY_DAY[1])
            end = _local(next_day, cal.CLOSES_BY_DAY[0] + 2, 0)
        if donor.round_weekdays:
            visit = _next_visit(day, at, donor.round_weekdays)
            if visit is not None:
                end = max(end, _local(visit, 18, 0))
        end = min(end, start + timedelta(days=cal.MAX_WINDOW_DAYS))
        if limit is not None:
            end = min(end, limit)
            if end - start < MIN_WINDOW or start >= limit - LAST_START:
                start = _quarter(at)  # hand it over now rather than lose it
        return start, end.replace(second=0, microsecond=0)


def _next_visit(day: date, at: datetime, weekdays: tuple[int, ...]) -> date | None:
    """The next day a round collects at the donor after ``at`` (the same day if posted
    before 07:00, when the round has not left)."""
    same_day = at.astimezone(BRUSSELS).hour < 7
    for offset in range(0 if same_day else 1, 8):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() in weekdays:
            return candidate
    return None


def postings(world: World, spec: Spec) -> list[Posting]:
    """Every lot of the period, sorted by ``at``, reproducible from spec.seed."""
    streams = [_DonorStream(d, i, spec) for i, d in enumerate(world.donors)]
    streams += [
        _DonorStream(d, len(world.donors) + i, spec) for i, d in enumerate(world.stock_donors)
    ]
    keyed: list[tuple[datetime, int, int, Posting]] = []
    for day_index in range(spec.days):
        day = spec.start + timedelta(days=day_index)
        for s_index, stream in enumerate(streams):
            for n, posting in enumerate(stream.day(day)):
                keyed.append((posting.at, s_index, n, posting))
    keyed.sort(key=lambda k: k[:3])
    return [k[3] for k in keyed]


def summary(stream: list[Posting], spec: Spec) -> dict[str, float]:
    """Tonnes, lots and mixes of a stream (the calibration table's columns)."""
    kg = sum(p.draft["weight_kg"] for p in stream)
    by_kind: dict[str, float] = {}
    by_storage: dict[str, float] = {}
    for p in stream:
        by_kind[p.donor.kind] = by_kind.get(p.donor.kind, 0.0) + p.draft["weight_kg"]
        storage = p.draft["storage"].value
        by_storage[storage] = by_storage.get(storage, 0.0) + p.draft["weight_kg"]
    out: dict[str, float] = {
        "lots": len(stream),
        "tonnes": round(kg / 1000, 1),
        "tonnes/year": round(kg / 1000 * 365 / spec.days, 1),
        "mean kg": round(kg / max(1, len(stream)), 1),
        "use-by share": round(
            sum(p.draft["date_kind"] == DateKind.USE_BY for p in stream) / max(1, len(stream)), 3
        ),
        "withdrawn share": round(
            sum(p.withdraw_at is not None for p in stream) / max(1, len(stream)), 3
        ),
    }
    for kind, value in sorted(by_kind.items()):
        out[f"kg share {kind}"] = round(value / kg, 3) if kg else 0.0
    for storage, value in sorted(by_storage.items()):
        out[f"kg share {storage}"] = round(value / kg, 3) if kg else 0.0
    return out


# The hours a round is on the road (local), for ``reach``: 07:30 departure, 10 hours.
ROAD_HOURS = ((7, 30), (17, 30))


def meets_round(world: World, donor, storage: str, start: datetime, end: datetime) -> list:
    """The rounds of the donor's platforms with a suitable van (refrigerated for chilled
    and frozen food) whose road hours on some weekday overlap the pickup window
    ``start``..``end`` (aware datetimes): those that could pass by before any policy
    acts (no room, hours or detour looked at)."""
    start, end = start.astimezone(BRUSSELS), end.astimezone(BRUSSELS)
    found = []
    day = start.date()
    while day <= end.date():
        on_road = (_local(day, *ROAD_HOURS[0]), _local(day, *ROAD_HOURS[1]))
        if start < on_road[1] and end > on_road[0]:
            for r in world.rounds:
                if r.weekday != day.weekday() or r.platform_id not in donor.platform_ids:
                    continue
                if storage != "ambient" and not r.refrigerated:
                    continue
                found.append(r)
        day += timedelta(days=1)
    return found


def near_fetcher(world: World, donor, storage: str) -> bool:
    """Whether a beneficiary that fetches food itself (``self_collect_km``) and can store
    this kind of food is within its radius of the donor."""
    return any(
        b.self_collect_km > 0
        and road_km(b.lat, b.lon, donor.lat, donor.lon) <= b.self_collect_km
        and (
            storage == "ambient"
            or (b.chilled_capacity_kg if storage == "chilled" else b.frozen_capacity_kg) > 0
        )
        for b in world.beneficiaries
    )


def reach(world: World, lots: list[Posting]) -> dict[str, float]:
    """How well the rounds pass where the food is, before any policy acts, lot by lot:

    - ``window meets a round``: share of kilograms whose pickup window overlaps, on some
      weekday, the road hours of a round of the donor's platform with a suitable van
      (refrigerated for chilled and frozen food);
    - ``pickup km/kg``: the cheapest detour to the donor from such a round (0 when the
      round stops there), summed over those lots, over their kilograms; each lot alone
      (no detour shared between lots, no drop-off counted);
    - ``... or self-collected``: the same, a lot counting 0 km when a beneficiary that
      fetches food itself (``self_collect_km``) and can store it is that close.
    """
    places = {o.org_id: (o.lat, o.lon) for o in (*world.beneficiaries, *world.donors)}
    depots = {p.org_id: (p.lat, p.lon) for p in world.platforms}
    detours: dict[tuple[int, int], float] = {}

    def detour(r, donor: Donor) -> float:
        key = (r.template_id, donor.org_id)
        if key not in detours:
            if donor.org_id in r.stop_org_ids or donor.kind == "platform":
                detours[key] = 0.0
            else:
                depot = depots[r.platform_id]
                points = [depot, *(places[i] for i in r.stop_org_ids), depot]
                detours[key] = min(
                    road_km(*a, donor.lat, donor.lon)
                    + road_km(donor.lat, donor.lon, *b)
                    - road_km(*a, *b)
                    for a, b in zip(points, points[1:], strict=False)
                )
        return detours[key]

    near: dict[tuple[int, str], bool] = {}
    total = met = km = km_self = 0.0
    for lot in lots:
        kg = lot.draft["weight_kg"]
        storage = lot.draft["storage"].value
        rounds = meets_round(
            world, lot.donor, storage, lot.draft["pickup_from"], lot.draft["pickup_until"]
        )
        best = min((detour(r, lot.donor) for r in rounds), default=None)
        total += kg
        if best is not None:
            met += kg
            km += best
            key = (lot.donor.org_id, storage)
            if key not in near:
                near[key] = near_fetcher(world, lot.donor, storage)
            km_self += 0.0 if near[key] else best
    placed = max(met, 1e-9)
    return {
        "window meets a round": round(met / total, 3) if total else 0.0,
        "pickup km/kg": round(km / placed, 3),
        "pickup km/kg or self-collected": round(km_self / placed, 3),
    }
