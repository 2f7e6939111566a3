"""How the people of the simulation behave: social workers at the list, cancellations,
missed delivery windows, drivers' readings.

Every random decision is drawn from a hash of the seed and what it is about (the
beneficiary, the lot, the day), never from a shared stream, so the three policies meet
the same people making the same choices about the same lots: a claim one policy makes
and another does not changes no other decision.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from surplus.services import food_safety
from surplus.services.lot_dates import BRUSSELS
from surplus.services.runs import local_time

from .world import road_km

# A social worker takes a lot a little bigger than what is left of the week's need
# rather than leave it (a crate is a crate), but not twice as much.
OVERSHOOT = 1.25
# Below this many kilograms of need left, nobody goes on claiming this week.
ENOUGH_KG = 0.5
# A look happens within this many minutes after the habitual time.
JITTER_MIN = 20
# A cancellation comes this long after the claim, uniformly.
CANCEL_AFTER_H = (1.0, 36.0)
# The driver reads this much below the product's limit.
MARGIN_C = 1.5
# Self-collection: the beneficiary's people leave to fetch a lot this long after they
# decided to (1 to 3 hours, uniformly), in their opening hours, and arrive this long
# before the donor's pickup window closes or the food's date comes.
FETCH_AFTER_H = (1.0, 3.0)
FETCH_MARGIN = timedelta(minutes=30)
FETCH_HORIZON_DAYS = 21


def chance(seed: int, *key: object) -> float:
    """A number in [0, 1) fixed by the seed and the key."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def look_times(seed: int, ben, day: date) -> list[datetime]:
    """When the beneficiary's social workers open the list on ``day`` (aware UTC)."""
    if day.weekday() not in ben.open_weekdays:
        return []
    return [
        local_time(day, hhmm)
        + timedelta(minutes=JITTER_MIN * chance(seed, "look", ben.org_id, day, i))
        for i, hhmm in enumerate(ben.looks_at)
    ]


@dataclass(frozen=True)
class Pick:
    lot_id: int
    kg: float
    seen_g: int


def choose(cards, need_kg: float) -> list[Pick]:
    """What a social worker claims from the cards shown, in their order: what fits the
    need left this week (the page shows it), a whole lot when it cannot be split."""
    picks = []
    left = need_kg
    for card in cards:
        if left < ENOUGH_KG:
            break
        lot = card.lot
        remaining = lot.remaining_g / 1000
        if remaining <= 0:
            continue
        if not lot.divisible:
            if lot.remaining_g != lot.weight_g or remaining > left * OVERSHOOT:
                continue
            kg = remaining
        else:
            kg = min(remaining, left)
            if remaining - kg < 1.0 and remaining <= left * OVERSHOOT:
                kg = remaining  # no crumbs left behind
            minimum = lot.min_part_g / 1000
            if kg < minimum and kg < remaining:
                if minimum > left * OVERSHOOT:
                    continue
                kg = minimum
        kg = round(kg, 3)
        if kg <= 0:
            continue
        picks.append(Pick(lot.id, kg, lot.remaining_g))
        left -= kg
    return picks


def cancel_delay(seed: int, ben, lot_id: int) -> timedelta | None:
    """When (after claiming) the beneficiary cancels its claim on the lot, if it does."""
    if chance(seed, "cancel", ben.org_id, lot_id) >= ben.cancel_rate:
        return None
    low, high = CANCEL_AFTER_H
    return timedelta(hours=low + (high - low) * chance(seed, "cancel-at", ben.org_id, lot_id))


def misses(seed: int, ben, lot_id: int) -> bool:
    """Nobody is there when the van comes with this lot."""
    return chance(seed, "miss", ben.org_id, lot_id) < ben.miss_rate


def reading(lot) -> float | None:
    """The temperature the driver measures: within the cold chain's limit."""
    limit = food_safety.limit_for(lot)
    return None if limit is None else limit - MARGIN_C


def fetch_km(ben, lot) -> float:
    """Road km from the beneficiary to the lot's pickup place (one way)."""
    return road_km(ben.lat, ben.lon, lot.pickup_lat, lot.pickup_lon)


def fetch_at(seed: int, ben, lot, decided_at: datetime) -> datetime | None:
    """When the beneficiary's own people fetch ``lot`` at the donor's, if they do: the
    lot is within their radius (``self_collect_km``, road km), and a moment exists from
    ``decided_at`` plus 1-3 hours, on one of their open weekdays in their opening hours,
    in the lot's pickup window and before its date (with ``FETCH_MARGIN`` to spare).
    None: too far, or no such moment (the van has to take it, or nobody)."""
    if ben.self_collect_km <= 0 or fetch_km(ben, lot) > ben.self_collect_km:
        return None
    low, high = FETCH_AFTER_H
    delay = low + (high - low) * chance(seed, "fetch", ben.org_id, lot.id)
    earliest = max(decided_at + timedelta(hours=delay), lot.pickup_from)
    deadline = lot.pickup_until
    if lot.expires_at is not None:
        deadline = min(deadline, lot.expires_at)
    deadline -= FETCH_MARGIN
    first = earliest.astimezone(BRUSSELS).date()
    for offset in range(FETCH_HORIZON_DAYS):
        day = first + timedelta(days=offset)
        if local_time(day, "00:00") > deadline:
            return None
        if day.weekday() not in ben.open_weekdays:
            continue
        for opens, closes in ben.hours:
            moment = max(earliest, local_time(day, opens))
            if moment < local_time(day, closes) and moment <= deadline:
                return moment
    return None
