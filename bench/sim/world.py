"""The simulated world: a province's (or the country's) platforms, beneficiaries and
donors, created through the real models in an empty migrated database.

Everything is drawn from ``Spec.seed`` (one ``random.Random`` per concern, seeded by a
string, so that adding a draw to one concern moves no other) and from the calibration
(``bench/sim/calibration.py``): the same spec gives the same world, row for row.

Each platform's weekly rounds are built the way a food bank plans them: every van goes
out Monday to Friday from the depot at 07:30 on a sector of the platform's area (sectors
by bearing from the depot, so each weekday's vans cover neighbouring sectors and the
refrigerated van's week spreads over the whole area); each round stops at the
beneficiaries of its sector (each has one delivery day, on which it is open) and collects
at the regular donors on the days the platform collects there: supermarkets about three
times a week and chilled producers twice, by refrigerated rounds (cold chain), the auction
up to every weekday, cooperatives and the larger producers weekly. A round collects
first, then delivers, when the windows allow; stops are ordered by cheapest feasible
insertion, planned to leave room for bookings (7.5 of the round's 10 hours, every stop
reached 75 minutes before its window closes). A lot posted by a regular donor is thus
picked up where a round already passes and can be dropped at any of that round's
beneficiaries without a detour, as real rounds do; the calibration module says where
each number comes from.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from matching.distance import EARTH_RADIUS_KM
from surplus import clock, geo
from surplus.demo_depots import ensure_zones
from surplus.models import (
    Convention,
    ConventionStatus,
    Depot,
    DistributionMode,
    Organisation,
    OrgKind,
    Role,
    RunTemplate,
    TemplateStop,
    User,
    Vehicle,
    Verification,
)
from surplus.services.booking import WEEKDAYS

from . import calibration as cal

PROVINCES = ("namur", "luxembourg", "hainaut", "liege", "brabant-wallon", "belgium")
CIRCUITY = 1.3  # surplus/config.py ROAD_CIRCUITY's default
SPEED_KMH = 50.0  # models/run.py Run.speed_kmh's default
EMAIL_DOMAIN = "sim.maillon.test"


@dataclass(frozen=True)
class Spec:
    province: str  # one of PROVINCES ("belgium" = national FSE+ network)
    seed: int
    start: date  # a Monday
    days: int  # 365 for a year, 28-31 for the national month


@dataclass(frozen=True)
class Platform:
    org_id: int
    name: str
    coordinator_id: int
    driver_id: int
    lat: float
    lon: float
    vans: int
    refrigerated_vans: int
    cold_room: bool
    # Added to the contract:
    depot_id: int = 0
    postcode: str = ""


@dataclass(frozen=True)
class Beneficiary:
    org_id: int
    user_id: int
    name: str
    kind: str  # "cpas" | "association"
    persons_per_week: int
    fse_approved: bool
    lat: float
    lon: float
    platform_ids: tuple[int, ...]  # conventions (approved)
    looks_at: tuple[str, ...]  # local "HH:MM" on open weekdays when a social worker looks
    open_weekdays: tuple[int, ...]  # 0 = Monday
    cancel_rate: float  # share of its claims it cancels later
    miss_rate: float  # share of deliveries whose window it misses (nobody there)
    weekly_need_kg: float  # persons × MATCH_KG_PER_PERSON
    # Added to the contract:
    distribution_mode: str = "free_parcels"
    hours: tuple[tuple[str, str], ...] = ()  # delivery opening hours on each open weekday
    chilled_capacity_kg: float = 0.0
    frozen_capacity_kg: float = 0.0
    round_weekdays: tuple[int, ...] = ()  # the weekdays a weekly round stops there
    postcode: str = ""
    # How far (road km) its own people fetch a lot themselves (0: never; the platform
    # delivers). Volunteers of associations often collect at nearby shops.
    self_collect_km: float = 0.0


@dataclass(frozen=True)
class Donor:
    org_id: int
    user_id: int
    name: str
    kind: str  # "producer" | "shop" | "supermarket" | "auction" | "cooperative" | "platform"
    lat: float
    lon: float
    platform_ids: tuple[int, ...]
    # Added to the contract:
    specialty: str = ""  # which products (calibration: SHOP / PRODUCER tables)
    weekly_kg: float = 0.0  # what it posts in an average week
    round_weekdays: tuple[int, ...] = ()  # weekdays a round of its platform collects there
    postcode: str = ""


@dataclass(frozen=True)
class Round:
    """A weekly round as built (added to the contract): its template, day, van and the
    organisations it stops at, in order (beneficiaries and regular donors)."""

    template_id: int
    platform_id: int
    weekday: int  # 0 = Monday
    refrigerated: bool
    stop_org_ids: tuple[int, ...]


@dataclass(frozen=True)
class World:
    spec: Spec
    platforms: tuple[Platform, ...]
    beneficiaries: tuple[Beneficiary, ...]
    donors: tuple[Donor, ...]
    # Added to the contract: the platforms as posters of their FSE+ stock (kind
    # "platform", user = coordinator); stream.postings posts their lots too.
    stock_donors: tuple[Donor, ...] = ()
    templates: int = 0  # weekly rounds created
    template_stops: int = 0
    donor_stops: int = 0  # of which collections at a regular donor
    rounds: tuple[Round, ...] = ()


def start_moment(spec: Spec) -> datetime:
    """Monday 00:00 Europe/Brussels of the start week, as aware UTC."""
    return datetime.combine(spec.start, time(0, 0), tzinfo=clock.BRUSSELS).astimezone(UTC)


def check_spec(spec: Spec) -> None:
    if spec.province not in PROVINCES:
        raise ValueError(f"unknown province {spec.province!r}; one of {', '.join(PROVINCES)}")
    if spec.start.weekday() != 0:
        raise ValueError(f"the start {spec.start} is not a Monday")
    if spec.days < 1:
        raise ValueError("a simulation lasts at least one day")


# -- places ---------------------------------------------------------------------------


def in_province(postcode: str, province: str) -> bool:
    code = int(postcode)
    return any(lo <= code <= hi for lo, hi in cal.POSTCODES[province])


def province_places(province: str) -> list[geo.Place]:
    """The gazetteer's localities of ``province``, in a fixed order."""
    return sorted(
        (p for p in geo.all_places() if in_province(p.postcode, province)),
        key=lambda p: (p.postcode, p.locality),
    )


def is_dutch(postcode: str) -> bool:
    code = int(postcode)
    return any(lo <= code <= hi for lo, hi in cal.DUTCH)


def _weighted_sample(
    rng: random.Random, items: list, weights: list[float], k: int, unique: bool = True
) -> list:
    """``k`` items drawn by weight: without replacement (Efraimidis-Spirakis keys) or
    with it."""
    if not unique:
        return rng.choices(items, weights=weights, k=k)
    keyed = sorted(((rng.random() ** (1.0 / w), i) for i, w in enumerate(weights)), reverse=True)
    return [items[i] for _, i in keyed[:k]]


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    names = [n for n, _ in table]
    return rng.choices(names, weights=[w for _, w in table], k=1)[0]


def _hhmm(minutes: float) -> str:
    m = int(round(minutes))
    return f"{m // 60:02d}:{m % 60:02d}"


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


# -- the plan (pure Python; ids come when it is written) ------------------------------


@dataclass(eq=False)
class _Org:
    name: str
    kind: str  # the simulation's kind
    place: geo.Place
    lat: float
    lon: float
    org: Organisation | None = None
    user: User | None = None
    platforms: list[int] = field(default_factory=list)  # indexes into plan.platforms
    # beneficiaries
    persons: int = 0
    fse: bool = False
    mode: str = "free_parcels"
    hours: tuple[tuple[str, str], ...] = ()
    open_days: tuple[int, ...] = ()
    looks_at: tuple[str, ...] = ()
    cancel_rate: float = 0.0
    miss_rate: float = 0.0
    self_collect_km: float = 0.0
    chilled: float = 0.0
    frozen: float = 0.0
    # donors
    specialty: str = ""
    weekly_kg: float = 0.0
    regular: bool = False
    # both: weekdays a round stops here
    round_days: set[int] = field(default_factory=set)


@dataclass
class _Platform:
    seat: cal.Seat
    place: geo.Place
    vans: int = 0
    fridges: int = 0
    org: Organisation | None = None
    depot: Depot | None = None
    coordinator: User | None = None
    driver: User | None = None


@dataclass
class _Round:
    platform: int
    weekday: int
    van: int  # index among the platform's vans (the first ``fridges`` are refrigerated)
    refrigerated: bool
    stops: list[_Org] = field(default_factory=list)
    template: Any = None  # the RunTemplate written for it


def _jitter(rng: random.Random, place: geo.Place) -> tuple[float, float]:
    return (
        place.lat + rng.uniform(-0.008, 0.008),
        place.lon + rng.uniform(-0.012, 0.012),
    )


def _nearest(platforms: list[_Platform], lat: float, lon: float) -> list[tuple[float, int]]:
    return sorted((road_km(lat, lon, p.place.lat, p.place.lon), i) for i, p in enumerate(platforms))


class _Planner:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.net = cal.network(spec.province)
        self.places = province_places(spec.province)
        seats = cal.SEATS[spec.province][: self.net.platforms]
        self.platforms = []
        for seat in seats:
            place = geo.lookup(seat.postcode, seat.locality)
            assert place is not None, seat
            self.platforms.append(_Platform(seat, place))
        self.beneficiaries: list[_Org] = []
        self.donors: list[_Org] = []
        self.rounds: list[_Round] = []

    def fingerprint(self) -> tuple:
        """Everything drawn, without database ids: equal plans give equal worlds."""

        def org(o: _Org) -> tuple:
            return (
                o.name,
                o.kind,
                o.place,
                o.lat,
                o.lon,
                tuple(o.platforms),
                o.persons,
                o.fse,
                o.mode,
                o.hours,
                o.open_days,
                o.looks_at,
                o.cancel_rate,
                o.miss_rate,
                o.self_collect_km,
                o.chilled,
                o.frozen,
                o.specialty,
                o.weekly_kg,
                tuple(sorted(o.round_days)),
            )

        return (
            tuple((p.seat, p.vans, p.fridges) for p in self.platforms),
            tuple(org(b) for b in self.beneficiaries),
            tuple(org(d) for d in self.donors),
            tuple(
                (r.platform, r.weekday, r.van, tuple(o.name for o in r.stops)) for r in self.rounds
            ),
        )

    def rng(self, concern: str) -> random.Random:
        return random.Random(f"{self.spec.seed}:{self.spec.province}:{concern}")

    # -- beneficiaries --------------------------------------------------------------------
    def plan_beneficiaries(self) -> None:
        rng = self.rng("beneficiaries")
        by_code: dict[str, geo.Place] = {}
        for p in self.places:
            by_code.setdefault(p.postcode, p)
        codes = sorted(by_code)
        cpas_places = _weighted_sample(
            rng,
            [by_code[c] for c in codes],
            [cal.place_weight(c) ** 2 for c in codes],
            min(self.net.cpas, len(codes)),
        )
        for place in cpas_places:
            name = (
                f"OCMW {place.locality}"
                if is_dutch(place.postcode)
                else f"CPAS de {place.locality}"
            )
            self.beneficiaries.append(_Org(name, "cpas", place, place.lat, place.lon))
        weights = [cal.place_weight(p.postcode) for p in self.places]
        assoc_places = _weighted_sample(
            rng, self.places, weights, self.net.associations, unique=False
        )
        for i, place in enumerate(assoc_places):
            name = _association_name(rng, place, i)
            lat, lon = _jitter(rng, place)
            self.beneficiaries.append(_Org(name, "association", place, lat, lon))
        for b in self.beneficiaries:
            self._beneficiary_traits(rng, b)

    def _beneficiary_traits(self, rng: random.Random, b: _Org) -> None:
        kind = b.kind
        raw = rng.lognormvariate(math.log(cal.PERSONS_MEDIAN[kind]), cal.PERSONS_SIGMA)
        raw *= cal.place_weight(b.place.postcode)
        lo, hi = cal.PERSONS_RANGE
        b.persons = int(min(hi, max(lo, round(raw))))
        b.mode = _pick(rng, cal.MODES[kind])
        b.fse = rng.random() < cal.FSE_APPROVED[kind] and b.mode != "social_grocery"
        fridge = rng.random() >= cal.NO_FRIDGE_SHARE[kind]
        b.chilled = round(b.persons * cal.CHILLED_KG_PER_PERSON) if fridge else 0.0
        b.frozen = (
            round(b.persons * cal.FROZEN_KG_PER_PERSON)
            if fridge and b.persons >= cal.FROZEN_FROM_PERSONS
            else 0.0
        )
        if kind == "cpas":
            b.hours = cal.CPAS_HOURS
            b.open_days = (0, 1, 2, 3, 4)
        else:
            b.hours = rng.choice(cal.ASSOCIATION_HOURS)
            n = rng.randint(*cal.ASSOCIATION_OPEN_DAYS)
            b.open_days = tuple(sorted(rng.sample(range(5), n)))
        b.looks_at = _looks(rng, kind)
        b.cancel_rate = round(rng.uniform(*cal.CANCEL_RATE[kind]), 4)
        b.miss_rate = round(rng.uniform(*cal.MISS_RATE[kind]), 4)
        share, km_range = cal.SELF_COLLECT[kind]
        b.self_collect_km = round(rng.uniform(*km_range), 1) if rng.random() < share else 0.0

    def assign_beneficiaries(self) -> None:
        rng = self.rng("conventions")
        for b in self.beneficiaries:
            near = _nearest(self.platforms, b.lat, b.lon)
            b.platforms = [near[0][1]]
            if (
                len(near) > 1
                and near[1][0] <= cal.SECOND_CONVENTION_KM
                and rng.random() < cal.SECOND_CONVENTION_SHARE
            ):
                b.platforms.append(near[1][1])

    def scale_need(self) -> None:
        """Food aid is short: the supply must stay below the need (calibration)."""
        supply = self.net.tonnes_per_year * 1000 / 52.18
        need = sum(b.persons for b in self.beneficiaries) * cal.KG_PER_PERSON_WEEK
        if need and supply / need > cal.MAX_SUPPLY_OVER_NEED:
            factor = supply / need / cal.MAX_SUPPLY_OVER_NEED
            for b in self.beneficiaries:
                b.persons = math.ceil(b.persons * factor)

    # -- donors -----------------------------------------------------------------------
    def plan_donors(self) -> None:
        rng = self.rng("donors")
        n = self.net.donors
        auctions = min(len(self.platforms), max(1, n // 20))
        counts = {
            "auction": auctions,
            "supermarket": round(n * cal.DONOR_COUNT_SHARE["supermarket"]),
            "shop": round(n * cal.DONOR_COUNT_SHARE["shop"]),
            "cooperative": max(1, round(n * cal.DONOR_COUNT_SHARE["cooperative"])),
        }
        counts["producer"] = max(0, n - sum(counts.values()))
        weights = [cal.place_weight(p.postcode) for p in self.places]
        # Supermarkets and the auction in main towns only (postcode ending in 0).
        town_weights = [w * w if w >= 2 else 0.0 for w in weights]
        rural = [1.0 / w for w in weights]
        # Auctions: in a large town of each of the first platforms' areas.
        for i in range(auctions):
            seat = self.platforms[i].place
            near = [
                (p, w)
                for p, w in zip(self.places, town_weights, strict=True)
                if w > 0 and road_km(p.lat, p.lon, seat.lat, seat.lon) <= 40
            ] or [(seat, 1.0)]
            place = _weighted_sample(rng, [p for p, _ in near], [w for _, w in near], 1)[0]
            self._donor(rng, "auction", place, len(self.donors))
        for kind, w in (
            ("supermarket", town_weights),
            ("shop", weights),
            ("cooperative", rural),
            ("producer", rural),
        ):
            for place in _weighted_sample(rng, self.places, w, counts[kind], unique=False):
                self._donor(rng, kind, place, len(self.donors))
        self._donor_kg(rng)

    def _donor(self, rng: random.Random, kind: str, place: geo.Place, i: int) -> None:
        specialty = ""
        if kind == "shop":
            specialty = _pick(rng, cal.SHOP_SPECIALTIES)
        elif kind == "producer":
            specialty = _pick(rng, cal.PRODUCER_SPECIALTIES)
        name = _donor_name(rng, kind, specialty, place, i)
        lat, lon = _jitter(rng, place)
        self.donors.append(_Org(name, kind, place, lat, lon, specialty=specialty))

    def _donor_kg(self, rng: random.Random) -> None:
        weekly = self.net.tonnes_per_year * 1000 * (1 - cal.FSE_STOCK_SHARE) / 52.18
        by_kind: dict[str, list[_Org]] = defaultdict(list)
        for d in self.donors:
            by_kind[d.kind].append(d)
        share = {k: s for k, s in cal.DONOR_KG_SHARE.items() if by_kind.get(k)}
        total_share = sum(share.values())
        for kind, members in by_kind.items():
            factors = [rng.lognormvariate(0.0, cal.DONOR_SIGMA) for _ in members]
            mean = sum(factors) / len(factors)
            kind_kg = weekly * share[kind] / total_share
            for d, f in zip(members, factors, strict=True):
                d.weekly_kg = round(kind_kg / len(members) * f / mean, 2)
        producers = sorted(d.weekly_kg for d in by_kind.get("producer", []))
        cut = (
            producers[int(len(producers) * cal.REGULAR_PRODUCER_QUANTILE)]
            if producers
            else math.inf
        )
        for d in self.donors:
            d.regular = d.kind in ("supermarket", "auction", "cooperative") or (
                d.kind == "producer" and d.weekly_kg >= cut
            )
            d.platforms = [_nearest(self.platforms, d.lat, d.lon)[0][1]]

    # -- vans and rounds ----------------------------------------------------------------
    def plan_vans(self) -> None:
        members = [0] * len(self.platforms)
        for b in self.beneficiaries:
            members[b.platforms[0]] += 1
        vans = _apportion(self.net.vans, members, 2)
        fridges = _apportion(self.net.refrigerated, members, 1)
        for p, v, f in zip(self.platforms, vans, fridges, strict=True):
            p.vans, p.fridges = v, min(f, v)

    def plan_rounds(self) -> None:
        for pi, platform in enumerate(self.platforms):
            self._platform_rounds(pi, platform)

    def _platform_rounds(self, pi: int, platform: _Platform) -> None:
        depot = platform.place
        members = [b for b in self.beneficiaries if b.platforms[0] == pi]
        slots = [
            _Round(pi, day, van, van < platform.fridges)
            for day in range(5)
            for van in range(platform.vans)
        ]
        self.rounds.extend(slots)

        def bearing(o: _Org) -> float:
            return math.atan2(o.lat - depot.lat, (o.lon - depot.lon) * 0.64)

        # Sectors by bearing: slot k (weekday k // vans, van k % vans) takes the k-th.
        members.sort(key=lambda o: (bearing(o), o.name))
        n = len(slots)
        for k, b in enumerate(members):
            sector = slots[min(n - 1, k * n // max(1, len(members)))]
            if sector.weekday not in b.open_days:
                b.open_days = tuple(sorted({*b.open_days, sector.weekday}))
                if len(b.open_days) > cal.ASSOCIATION_OPEN_DAYS[1] and b.kind != "cpas":
                    drop = [d for d in b.open_days if d != sector.weekday]
                    b.open_days = tuple(sorted({sector.weekday, *drop[1:]}))
            placed = sector if self._insert(sector, b, platform) else None
            if placed is None:
                # The sector's round is full (time): the nearest round of the platform
                # on a weekday it is open, or one it opens for.
                options = sorted(
                    slots,
                    key=lambda r: (
                        r.weekday not in b.open_days,
                        _detour(r, b, depot),
                    ),
                )
                # First within the planned hours, then within the round's maximum.
                for minutes in (cal.ROUND_PLANNED_MIN, cal.ROUND_MAX_MIN):
                    for r in options:
                        if self._insert(r, b, platform, minutes=minutes):
                            if r.weekday not in b.open_days:
                                b.open_days = tuple(sorted({*b.open_days, r.weekday}))
                            placed = r
                            break
                    if placed is not None:
                        break
                else:  # no round can take it at all: one more van, on its day
                    extra = _Round(pi, sector.weekday, platform.vans, False, [b])
                    platform.vans += 1
                    self.rounds.append(extra)
                    slots.append(extra)
                    placed = extra
            b.round_days.add(placed.weekday)
        # Regular donors: collected on the days the platform goes there, on the round
        # of that day that passes closest (a refrigerated one preferred: supermarkets'
        # and producers' surplus is often chilled), when it passes close enough; at
        # least once a week in any case.
        regular = [d for d in self.donors if d.regular and d.platforms[0] == pi]
        regular.sort(key=lambda d: (-d.weekly_kg, d.name))
        for d in regular:
            visits = cal.VISITS_PER_WEEK.get(d.specialty, cal.VISITS_PER_WEEK[d.kind])
            # The rounds that may collect there (refrigerated ones for chilled food),
            # the closest (refrigerated preferred) first.
            pool = slots
            if _chilled_donor(d) and any(r.refrigerated for r in slots):
                pool = [r for r in slots if r.refrigerated]
            costs = sorted(
                (km * (cal.FRIDGE_PREFERENCE if r.refrigerated else 1.0), km, r.weekday, k, r)
                for k, r in enumerate(pool)
                for km in (_detour(r, d, depot),)
            )
            chosen: list[int] = []
            # Spread the visits over the week first (no two on consecutive days), then
            # fill up with any day.
            for spread in (True, False):
                for _score, km, day, _k, r in costs:
                    if len(chosen) >= visits:
                        break
                    if day in chosen or (chosen and km > cal.MAX_COLLECTION_DETOUR_KM):
                        continue
                    if spread and any(abs(day - c) < 2 for c in chosen):
                        continue
                    if self._insert(r, d, platform, cal.ROUND_MAX_KM):
                        chosen.append(day)
            if not chosen:  # once a week in any case, on the round that can take it
                for _score, _dist, day, _k, r in sorted(
                    (_detour(r, d, depot), 0.0, r.weekday, k, r) for k, r in enumerate(slots)
                ):
                    if self._insert(r, d, platform):
                        chosen.append(day)
                        break
            d.round_days |= set(chosen)

    def _insert(
        self,
        r: _Round,
        o: _Org,
        platform: _Platform,
        max_km: float | None = None,
        minutes: int = cal.ROUND_PLANNED_MIN,
    ) -> bool:
        """Insert ``o`` where it adds the fewest km while every window holds (and the
        round stays within ``max_km`` and ``minutes``)."""
        everywhere = range(len(r.stops) + 1)
        preferred = everywhere
        if cal.COLLECT_FIRST:  # collections first, then deliveries, when the windows allow
            split = next((i for i, s in enumerate(r.stops) if _is_beneficiary(s)), len(r.stops))
            preferred = range(split, len(r.stops) + 1) if _is_beneficiary(o) else range(split + 1)

        def cheapest(positions: range) -> tuple[float, int] | None:
            best: tuple[float, int] | None = None
            for pos in positions:
                trial = r.stops[:pos] + [o] + r.stops[pos:]
                km = _route_ok(trial, platform.place, r.weekday, minutes)
                if km is None or (max_km is not None and km > max_km):
                    continue
                if best is None or km < best[0]:
                    best = (km, pos)
            return best

        best = cheapest(preferred)
        if best is None and preferred != everywhere and not _is_beneficiary(o):
            best = cheapest(everywhere)
        if best is None:
            return False
        r.stops.insert(best[1], o)
        return True


def road_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Road km as matching.distance.RoadEstimate computes them (haversine × circuity),
    in plain floats: the rounds' planning calls it a few million times nationally."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, a)))) * CIRCUITY


def _is_beneficiary(o: _Org) -> bool:
    return o.kind in ("cpas", "association")


def _chilled_donor(o: _Org) -> bool:
    """A donor whose surplus is largely chilled: collected by refrigerated vans."""
    return o.kind == "supermarket" or o.specialty in cal.CHILLED_SPECIALTIES


def _apportion(total: int, weights: list[int], minimum: int) -> list[int]:
    """``total`` shared in proportion to ``weights`` (largest remainders), each share at
    least ``minimum``."""
    shares = [minimum] * len(weights)
    left = total - sum(shares)
    if left <= 0 or not sum(weights):
        return shares
    exact = [left * w / sum(weights) for w in weights]
    shares = [s + int(e) for s, e in zip(shares, exact, strict=True)]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _stop_window(o: _Org, weekday: int) -> tuple[int, int]:
    if o.kind in cal.DONOR_STOP_HOURS:
        opens, closes = cal.DONOR_STOP_HOURS[o.kind]
    else:
        opens, closes = o.hours[0][0], o.hours[-1][1]
    return _minutes(opens), _minutes(closes)


def _service(o: _Org) -> int:
    return cal.SERVICE_MIN["beneficiary" if o.kind in ("cpas", "association") else "donor"]


def _route_ok(
    stops: list[_Org], depot: geo.Place, weekday: int, minutes: int = cal.ROUND_PLANNED_MIN
) -> float | None:
    """The route's km when every stop is served inside its window and the round is back
    within its maximum duration (the booking planner's time model); None otherwise."""
    t = _minutes(cal.ROUND_DEPARTURE)
    start = t
    lat, lon, km = depot.lat, depot.lon, 0.0
    for o in stops:
        leg = road_km(lat, lon, o.lat, o.lon)
        km += leg
        t += leg / SPEED_KMH * 60
        opens, closes = _stop_window(o, weekday)
        t = max(t, opens)
        if t > closes - cal.WINDOW_SLACK_MIN:
            return None
        t += _service(o)
        lat, lon = o.lat, o.lon
    leg = road_km(lat, lon, depot.lat, depot.lon)
    km += leg
    t += leg / SPEED_KMH * 60
    if t - start > minutes:
        return None
    return km


def _detour(r: _Round, o: _Org, depot: geo.Place) -> float:
    points = [(depot.lat, depot.lon), *((s.lat, s.lon) for s in r.stops), (depot.lat, depot.lon)]
    return min(
        road_km(a[0], a[1], o.lat, o.lon)
        + road_km(o.lat, o.lon, b[0], b[1])
        - road_km(a[0], a[1], b[0], b[1])
        for a, b in zip(points, points[1:], strict=False)
    )


def _looks(rng: random.Random, kind: str) -> tuple[str, ...]:
    """When the social worker opens the lot list on an open day (local time)."""
    if kind == "cpas":
        slots = [(525, 585), (795, 870), (930, 975)]  # 8:45-9:45, 13:15-14:30, 15:30-16:15
    else:
        slots = [(570, 690), (840, 960), (1080, 1200)]  # late morning, afternoon, evening
    k = rng.randint(*cal.LOOKS_PER_DAY[kind])
    chosen = sorted(rng.sample(range(len(slots)), k))
    return tuple(_hhmm(rng.uniform(*slots[i])) for i in chosen)


_ASSOCIATIONS_FR = (
    "Épicerie sociale de {}",
    "Restos du Cœur de {}",
    "Saint-Vincent de Paul {}",
    "Croix-Rouge — antenne de {}",
    "Maison d'accueil de {}",
    "Resto social de {}",
    "Colis alimentaires de {}",
)
_ASSOCIATIONS_NL = (
    "Sociale kruidenier {}",
    "Voedselhulp {}",
    "Vincentiusvereniging {}",
    "Rode Kruis {}",
    "Sociaal restaurant {}",
)


def _association_name(rng: random.Random, place: geo.Place, i: int) -> str:
    table = _ASSOCIATIONS_NL if is_dutch(place.postcode) else _ASSOCIATIONS_FR
    return f"{rng.choice(table).format(place.locality)} ({i + 1})"


_DONOR_NAMES = {
    ("supermarket", ""): ("Supermarché de {}", "Supermarkt {}"),
    ("auction", ""): ("Criée de {}", "Veiling {}"),
    ("cooperative", ""): ("Coopérative paysanne de {}", "Boerencoöperatie {}"),
    ("shop", "bakery"): ("Boulangerie de {}", "Bakkerij {}"),
    ("shop", "greengrocer"): ("Primeur de {}", "Groenten en fruit {}"),
    ("shop", "butcher"): ("Boucherie-traiteur de {}", "Slagerij {}"),
    ("shop", "grocery"): ("Épicerie de {}", "Buurtwinkel {}"),
    ("producer", "market_garden"): ("Maraîchage de {}", "Groentekwekerij {}"),
    ("producer", "orchard"): ("Vergers de {}", "Fruitbedrijf {}"),
    ("producer", "dairy_farm"): ("Ferme laitière de {}", "Melkveebedrijf {}"),
    ("producer", "livestock"): ("Ferme d'élevage de {}", "Veebedrijf {}"),
}


def _donor_name(rng: random.Random, kind: str, specialty: str, place: geo.Place, i: int) -> str:
    fr, nl = _DONOR_NAMES[(kind, specialty)]
    return f"{(nl if is_dutch(place.postcode) else fr).format(place.locality)} ({i + 1})"


# -- writing it -----------------------------------------------------------------------

_ORG_KIND = {
    "producer": OrgKind.PRODUCER,
    "cooperative": OrgKind.PRODUCER,  # a producers' cooperative posts as a producer
    "shop": OrgKind.SHOP,
    "supermarket": OrgKind.SUPERMARKET,
    "auction": OrgKind.AUCTION,
    "cpas": OrgKind.CPAS,
    "association": OrgKind.ASSOCIATION,
}


class _Writer:
    def __init__(self, session: Session, plan: _Planner):
        self.s = session
        self.plan = plan
        self.password_hash = generate_password_hash("simulation-only", method="scrypt:1024:8:1")
        self.today = plan.spec.start
        self.now = clock.now()
        self.serial = 0

    def org(
        self, name: str, kind: OrgKind, place: geo.Place, lat: float, lon: float
    ) -> Organisation:
        self.serial += 1
        org = Organisation(
            name=name,
            kind=kind,
            postcode=place.postcode,
            locality=place.locality,
            address=f"Rue de la Gare {1 + self.serial % 150}",
            lat=lat,
            lon=lon,
            verification=Verification.VERIFIED,
            email=f"contact-{self.serial}@{EMAIL_DOMAIN}",
            phone="+32 81 00 00 00",
            afsca_number=f"AFSCA-{100000 + self.serial}",
        )
        self.s.add(org)
        return org

    def user(self, org: Organisation, local: str, name: str, role: Role) -> User:
        user = User(
            email=f"{local}@{EMAIL_DOMAIN}",
            name=name,
            organisation=org,
            role=role,
            language="fr",
            password_hash=self.password_hash,
            email_confirmed_at=self.now,
        )
        self.s.add(user)
        return user

    def write(self) -> None:
        plan = self.plan
        for i, p in enumerate(plan.platforms):
            p.org = self.org(p.seat.name, OrgKind.PLATFORM, p.place, p.place.lat, p.place.lon)
            p.depot = Depot(
                platform=p.org,
                name=f"Dépôt {p.place.locality}",
                postcode=p.place.postcode,
                locality=p.place.locality,
                address=p.org.address,
                lat=p.place.lat,
                lon=p.place.lon,
                cold_room=True,
            )
            self.s.add(p.depot)
            p.coordinator = self.user(
                p.org, f"coordination-{i + 1}", "Coordination", Role.COORDINATOR
            )
            p.driver = self.user(p.org, f"chauffeur-{i + 1}", "Chauffeur", Role.MEMBER)
        for i, b in enumerate(plan.beneficiaries):
            b.org = self.org(b.name, _ORG_KIND[b.kind], b.place, b.lat, b.lon)
            b.org.distribution_mode = DistributionMode(b.mode)
            b.user = self.user(b.org, f"social-{i + 1}", "Service social", Role.ORG_ADMIN)
        for i, d in enumerate(plan.donors):
            d.org = self.org(d.name, _ORG_KIND[d.kind], d.place, d.lat, d.lon)
            d.user = self.user(d.org, f"donor-{i + 1}", "Responsable", Role.ORG_ADMIN)
        self.s.flush()
        self.platform_areas()
        self.conventions()
        self.vehicles_and_rounds()
        self.s.flush()
        ensure_zones(self.s)

    def platform_areas(self) -> None:
        """Wave 1 of a lot: the platform whose area its pickup place is in. Each postcode
        of the province belongs to its nearest platform (no radius)."""
        plan = self.plan
        areas: dict[int, set[str]] = defaultdict(set)
        for place in plan.places:
            areas[_nearest(plan.platforms, place.lat, place.lon)[0][1]].add(place.postcode)
        for b in plan.beneficiaries:
            for pi in b.platforms:
                areas[pi].add(b.place.postcode)
        for i, p in enumerate(plan.platforms):
            assert p.org is not None
            p.org.service_postcodes = sorted(areas[i])
            p.org.service_radius_km = None

    def conventions(self) -> None:
        plan = self.plan
        end = self.today + timedelta(days=plan.spec.days)
        for n, b in enumerate(plan.beneficiaries):
            hours = {WEEKDAYS[d]: [list(span) for span in b.hours] for d in b.open_days}
            for pi in b.platforms:
                platform = plan.platforms[pi]
                self.s.add(
                    Convention(
                        platform=platform.org,
                        beneficiary=b.org,
                        status=ConventionStatus.ACTIVE,
                        valid_from=self.today - timedelta(days=200),
                        valid_until=end + timedelta(days=60),
                        fse_plus_allowed=b.fse,
                        fse_plus_approval_number=f"FSE+/BE/{10000 + n}" if b.fse else None,
                        fse_plus_approval_expires=end + timedelta(days=30) if b.fse else None,
                        distribution_mode=DistributionMode(b.mode),
                        persons_per_week=b.persons,
                        chilled_capacity_kg=b.chilled,
                        frozen_capacity_kg=b.frozen,
                        opening_hours=hours,
                        self_collect_km=b.self_collect_km,
                        contact_name="Service social",
                        contact_phone="+32 81 00 00 00",
                        decided_at=self.now,
                    )
                )

    def vehicles_and_rounds(self) -> None:
        plan = self.plan
        vans: dict[tuple[int, int], Vehicle] = {}
        for pi, p in enumerate(plan.platforms):
            for v in range(p.vans):
                fridge = v < p.fridges
                kind = "refrigerated" if fridge else "dry"
                van = Vehicle(
                    platform=p.org,
                    name=f"{'Fourgon frigo' if fridge else 'Camionnette'} {v + 1}",
                    capacity_kg=cal.VAN_CAPACITY_KG[kind],
                    refrigerated=fridge,
                    freezer=fridge and cal.REFRIGERATED_HAS_FREEZER,
                )
                self.s.add(van)
                vans[(pi, v)] = van
        for r in plan.rounds:
            if not r.stops:
                continue
            p = plan.platforms[r.platform]
            van = vans[(r.platform, r.van)]
            template = RunTemplate(
                platform=p.org,
                vehicle=van,
                depot=p.depot,
                weekday=r.weekday,
                departure=cal.ROUND_DEPARTURE,
                max_duration_min=cal.ROUND_MAX_MIN,
                name=f"{van.name} — {_DAY_NAMES[r.weekday]}",
            )
            r.template = template
            loads = [
                -round(o.persons * cal.ROUND_KG_PER_PERSON, 1) if o.persons else 0.0
                for o in r.stops
            ]
            carried = -sum(loads)
            cap = van.capacity_kg * cal.ROUND_START_LOAD_MAX
            scale = min(1.0, cap / carried) if carried else 1.0
            for pos, (o, load) in enumerate(zip(r.stops, loads, strict=True)):
                opens, closes = _stop_window(o, r.weekday)
                assert o.org is not None
                template.stops.append(
                    TemplateStop(
                        position=pos,
                        organisation=o.org,
                        address=f"{o.org.address}, {o.place.postcode} {o.place.locality}",
                        lat=o.lat,
                        lon=o.lon,
                        load_delta_kg=round(load * scale, 1),
                        opens=_hhmm(opens),
                        closes=_hhmm(closes),
                        service_min=_service(o),
                    )
                )
            self.s.add(template)


_DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def plan(spec: Spec) -> _Planner:
    """The world as drawn from ``spec``, before any row is written."""
    check_spec(spec)
    planner = _Planner(spec)
    planner.plan_beneficiaries()
    planner.assign_beneficiaries()
    planner.scale_need()
    planner.plan_donors()
    planner.plan_vans()
    planner.plan_rounds()
    return planner


def build(session: Session, spec: Spec) -> World:
    """Create the whole world in an empty migrated database and commit: organisations
    (verified), users (coordinator, driver, one social worker per beneficiary, one poster
    per donor), approved conventions with delivery windows, FSE+ approvals, depots (cold
    rooms), vehicles, weekly rounds (run templates with their stops, including the regular
    donors a round collects from), platform settings (waves). Runs are NOT materialised
    here: the engine runs the ``materialise_runs`` job daily."""
    planner = plan(spec)
    with clock.travel(start_moment(spec)):
        _Writer(session, planner).write()  # flushes: every row has its id
        world = _world(spec, planner)
        session.commit()
    return world


def preview(spec: Spec) -> World:
    """The world ``build`` would create, without a database: the same draws, and the ids
    a freshly migrated database gives (each table numbered from 1 in creation order),
    so ``preview(spec) == build(session, spec)`` on an empty database. For calibration
    tables and tests."""
    planner = plan(spec)
    serial: dict[str, int] = defaultdict(int)

    def row(table: str, name: str = "") -> Any:
        serial[table] += 1
        return SimpleNamespace(id=serial[table], name=name)

    for p in planner.platforms:  # the order of _Writer.write
        p.org, p.depot = row("org", p.seat.name), row("depot")
        p.coordinator, p.driver = row("user"), row("user")
    for o in [*planner.beneficiaries, *planner.donors]:
        o.org, o.user = row("org", o.name), row("user")
    for r in planner.rounds:
        if r.stops:
            r.template = row("template")
    return _world(spec, planner)


def _world(spec: Spec, planner: _Planner) -> World:
    platforms = []
    for p in planner.platforms:
        assert p.org and p.depot and p.coordinator and p.driver
        platforms.append(
            Platform(
                org_id=p.org.id,
                name=p.org.name,
                coordinator_id=p.coordinator.id,
                driver_id=p.driver.id,
                lat=p.place.lat,
                lon=p.place.lon,
                vans=p.vans,
                refrigerated_vans=p.fridges,
                cold_room=True,
                depot_id=p.depot.id,
                postcode=p.place.postcode,
            )
        )
    ids = [p.org_id for p in platforms]
    beneficiaries = tuple(
        Beneficiary(
            org_id=b.org.id,
            user_id=b.user.id,
            name=b.name,
            kind=b.kind,
            persons_per_week=b.persons,
            fse_approved=b.fse,
            lat=b.lat,
            lon=b.lon,
            platform_ids=tuple(ids[i] for i in b.platforms),
            looks_at=b.looks_at,
            open_weekdays=b.open_days,
            cancel_rate=b.cancel_rate,
            miss_rate=b.miss_rate,
            self_collect_km=b.self_collect_km,
            weekly_need_kg=round(b.persons * cal.KG_PER_PERSON_WEEK, 2),
            distribution_mode=b.mode,
            hours=b.hours,
            chilled_capacity_kg=b.chilled,
            frozen_capacity_kg=b.frozen,
            round_weekdays=tuple(sorted(b.round_days)),
            postcode=b.place.postcode,
        )
        for b in planner.beneficiaries
        if b.org and b.user
    )
    donors = tuple(
        Donor(
            org_id=d.org.id,
            user_id=d.user.id,
            name=d.name,
            kind=d.kind,
            lat=d.lat,
            lon=d.lon,
            platform_ids=tuple(ids[i] for i in d.platforms),
            specialty=d.specialty,
            weekly_kg=d.weekly_kg,
            round_weekdays=tuple(sorted(d.round_days)),
            postcode=d.place.postcode,
        )
        for d in planner.donors
        if d.org and d.user
    )
    members = [0] * len(platforms)
    for b in planner.beneficiaries:
        members[b.platforms[0]] += 1
    fse_weekly = planner.net.tonnes_per_year * 1000 * cal.FSE_STOCK_SHARE / 52.18
    stock = tuple(
        Donor(
            org_id=p.org_id,
            user_id=p.coordinator_id,
            name=p.name,
            kind="platform",
            lat=p.lat,
            lon=p.lon,
            platform_ids=(p.org_id,),
            specialty="fse_stock",
            weekly_kg=round(fse_weekly * m / max(1, sum(members)), 2),
            postcode=p.postcode,
        )
        for p, m in zip(platforms, members, strict=True)
    )
    rounds = [r for r in planner.rounds if r.stops]
    built = tuple(
        Round(
            template_id=r.template.id,
            platform_id=ids[r.platform],
            weekday=r.weekday,
            refrigerated=r.refrigerated,
            stop_org_ids=tuple(o.org.id for o in r.stops),
        )
        for r in rounds
    )
    return World(
        spec=spec,
        platforms=tuple(platforms),
        beneficiaries=beneficiaries,
        donors=donors,
        stock_donors=stock,
        templates=len(rounds),
        template_stops=sum(len(r.stops) for r in rounds),
        donor_stops=sum(
            1 for r in rounds for o in r.stops if o.kind not in ("cpas", "association")
        ),
        rounds=built,
    )


def describe(world: World) -> dict[str, float]:
    """The world's headline figures (the calibration table's columns)."""
    return {
        "platforms": len(world.platforms),
        "cpas": sum(b.kind == "cpas" for b in world.beneficiaries),
        "associations": sum(b.kind == "association" for b in world.beneficiaries),
        "donors": len(world.donors),
        "regular donors": sum(bool(d.round_weekdays) for d in world.donors),
        "vans": sum(p.vans for p in world.platforms),
        "refrigerated vans": sum(p.refrigerated_vans for p in world.platforms),
        "weekly rounds": world.templates,
        "round stops": world.template_stops,
        "donor stops": world.donor_stops,
        "persons/week": sum(b.persons_per_week for b in world.beneficiaries),
        "need t/week": round(sum(b.weekly_need_kg for b in world.beneficiaries) / 1000, 2),
        "supply t/week": round(
            sum(d.weekly_kg for d in (*world.donors, *world.stock_donors)) / 1000, 2
        ),
    }


__all__ = [
    "PROVINCES",
    "Beneficiary",
    "Donor",
    "Platform",
    "Round",
    "Spec",
    "World",
    "build",
    "describe",
    "plan",
    "preview",
    "start_moment",
]


def calibration_table(seed: int = 1, start: date = date(2027, 1, 4)) -> list[dict[str, Any]]:
    """One row per province: the world and a period's stream as drawn (no database)."""
    from . import stream

    rows = []
    for province in PROVINCES:
        spec = Spec(province, seed, start, 31 if province == "belgium" else 365)
        w = preview(spec)
        lots = stream.postings(w, spec)
        net = cal.network(province)
        row: dict[str, Any] = {"province": province, "days": spec.days}
        row |= describe(w)
        summary = stream.summary(lots, spec)
        row |= {
            "t/year (calibrated)": net.tonnes_per_year,
            "t/year (stream)": summary["tonnes/year"],
            "lots": summary["lots"],
            "mean kg": summary["mean kg"],
            "chilled": summary.get("kg share chilled", 0.0),
            "use-by": summary["use-by share"],
        }
        row |= stream.reach(w, lots)
        rows.append(row)
    return rows


if __name__ == "__main__":  # python -m bench.sim.world: the calibration table
    table = calibration_table()
    columns = list(table[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for r in table:
        print("| " + " | ".join(str(r[c]) for c in columns) + " |")
