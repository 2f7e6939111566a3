"""The figures of one policy's run, computed from its database at the end.

Every kilogram posted ends in exactly one bucket (``accounting``):

- ``delivered``: claims delivered (the drop-off confirmed, or fetched at the donor's by
  the beneficiary's own people; the hand-over check refuses food past its use-by, so
  delivered is delivered before the date); what was fetched is also counted apart, with
  the km its people drove (round trips), which are not the runs' km;
- ``expired`` and why: ``never claimed`` (what was left of a lot when it expired),
  ``claimed, never booked`` (a claim that reached the lot's date, or whose pickup
  window closed, without a run), ``booked, not delivered in time`` (booked once, the
  date came first), ``delivery missed`` (nobody there at the drop-off, and no depot of
  the run's platform took the food back, or it passed its date there; what a depot took
  back and offered again counts through the lots offered, for the lot it came from),
  ``refused at a hand-over`` (past its use-by or too warm by the time the van came);
- ``withdrawn`` by the donor;
- ``open`` (still on the list at the end) and ``in transit`` (claimed, date not
  reached yet).

A claim its beneficiary cancelled gave its kilograms back to the lot, so it counts in
none of them; ``conservation_error_kg`` is posted minus the sum of the buckets (0).

Of the placeable kilograms that expired, ``lost_beyond_transport_kg`` are those of lots
that no policy could have moved: their pickup window met no weekday round of the donor's
platforms with a suitable van, and no beneficiary that fetches food itself was near the
donor (``stream.meets_round``, ``stream.near_fetcher``; room, hours and detours are not
looked at, so this is a lower bound of what transport alone loses).

*Placeable* kilograms are those of lots that at least one beneficiary's convention lets
it receive (storage it can keep, categories, FSE+ rules: ``eligibility.channel_accepts``,
whichever wave); the others are reported apart. The share placed is the placeable
kilograms delivered over the placeable kilograms settled (posted, minus what is still
open or in transit at the end). ``placed_ceiling`` is the most that share could have been
in this run: the settled kilograms less ``lost_beyond_transport_kg`` and less what the
donors withdrew, over the settled kilograms.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import matching
from matching.reach import nearest_miss
from surplus.models import (
    AllocationBatch,
    Claim,
    ClaimStatus,
    Event,
    Lot,
    LotStatus,
    Organisation,
    StockItem,
    StockReceipt,
    Stop,
    StopKind,
    StopStatus,
)
from surplus.services.eligibility import channel_accepts, channels_by_org
from surplus.services.lot_dates import BRUSSELS

from .stream import meets_round, near_fetcher
from .world import road_km

NEVER_CLAIMED = "never claimed"
NOT_BOOKED = "claimed, never booked"
BOOKED_LATE = "booked, not delivered in time"
MISSED = "delivery missed (nobody there)"
REFUSED = "refused at a hand-over"
EXPIRY_REASONS = (NEVER_CLAIMED, NOT_BOOKED, BOOKED_LATE, MISSED, REFUSED)
SELF_COLLECTED = "self_collected"  # engine.SELF_COLLECTED: a beneficiary fetched a claim
WINDOW_DAYS = 28


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def _local_day(at: datetime) -> date:
    return at.astimezone(BRUSSELS).date()


def compute(session: Session, world, start: date, days: int, end: datetime) -> dict[str, Any]:
    lots = {lot.id: lot for lot in session.scalars(select(Lot).where(Lot.stock_item_id.is_(None)))}
    # Food nobody took at a drop-off, received back at a depot and offered again: each
    # lot offered from such stock counts for the lot its food first came from.
    came_from = dict(
        session.execute(
            select(StockItem.id, Claim.lot_id)
            .join(StockReceipt, StockReceipt.id == StockItem.receipt_id)
            .join(Claim, Claim.id == StockReceipt.claim_id)
        ).all()
    )
    again = {
        lot.id: lot
        for lot in session.scalars(select(Lot).where(Lot.stock_item_id.is_not(None)))
        if lot.stock_item_id in came_from
    }
    origin = {lot_id: lot_id for lot_id in lots}
    for lot in sorted(again.values(), key=lambda lot: lot.id):  # missed again: follow back
        origin[lot.id] = origin[came_from[lot.stock_item_id]]
    # What the depot kept of each returned claim (not offered again): grams, its date.
    kept = {
        claim_id: (grams, expires)
        for claim_id, grams, expires in session.execute(
            select(StockReceipt.claim_id, StockItem.grams, StockItem.expires_at)
            .join(StockItem, StockItem.receipt_id == StockReceipt.id)
            .where(StockReceipt.accepted)
        ).all()
    }
    claims = list(session.scalars(select(Claim).order_by(Claim.id)))
    events = session.execute(
        select(
            Event.subject_type, Event.subject_id, Event.action, Event.at, Event.before, Event.after
        )
        .where(
            Event.subject_type.in_(["lot", "claim"]),
            Event.action.in_(
                [
                    "booked",
                    "self_collect",
                    SELF_COLLECTED,
                    "expired",
                    "withdrawn",
                    "refused",
                    "returned",
                ]
            ),
        )
        .order_by(Event.id)
    ).all()
    first_booked: dict[int, datetime] = {}
    last_added_km: dict[int, float] = {}
    ever_booked: set[int] = set()
    expired_claims: set[int] = set()
    loss_day: dict[tuple[str, int], date] = {}
    lot_expired_g: dict[int, int] = {}
    fetched_at: dict[int, datetime] = {}
    fetch_km: dict[int, float] = {}
    for subject, subject_id, action, at, before, after in events:
        if subject == "claim" and action == "booked":
            ever_booked.add(subject_id)
            first_booked.setdefault(subject_id, at)
            last_added_km[subject_id] = float((after or {}).get("added_km", 0.0))
        elif subject == "claim" and action == "self_collect":
            first_booked.setdefault(subject_id, at)  # its transport is settled
        elif subject == "claim" and action == SELF_COLLECTED:
            fetched_at[subject_id] = at
            fetch_km[subject_id] = float((after or {}).get("km", 0.0))
        elif subject == "claim" and action == "expired":
            expired_claims.add(subject_id)
        if action in ("expired", "withdrawn", "refused", "returned"):
            loss_day.setdefault((subject, subject_id), _local_day(at))
        if subject == "lot" and action == "expired":
            lot_expired_g[subject_id] = int((before or {}).get("remaining_g", 0))
    delivered_at = dict(
        session.execute(
            select(Stop.claim_id, Stop.confirmed_at).where(
                Stop.kind == StopKind.DROPOFF,
                Stop.status == StopStatus.DONE,
                Stop.leg != 1,
                Stop.claim_id.is_not(None),
            )
        ).all()
    )
    delivered_at |= fetched_at

    # Placeable: some beneficiary's convention accepts the lot.
    orgs = list(
        session.scalars(
            select(Organisation).where(Organisation.id.in_([b.org_id for b in world.beneficiaries]))
        )
    )
    chans = [ch for cs in channels_by_org(session, orgs, start).values() for ch in cs]
    placeable = {
        lot_id: any(channel_accepts(ch, lot) for ch in chans) for lot_id, lot in lots.items()
    }

    # Before any policy acts: a lot whose pickup window met no weekday round of its
    # donor's platforms with a suitable van, and no beneficiary that fetches food
    # itself near its donor, could only be lost (stream.meets_round, near_fetcher).
    donors = {d.org_id: d for d in world.donors}
    near: dict[tuple[int, str], bool] = {}

    def beyond_transport(lot: Lot) -> bool:
        donor = donors.get(lot.donor_id)
        if donor is None:  # a platform's own stock: it leaves from the depot
            return False
        storage = lot.storage.value
        if meets_round(world, donor, storage, lot.pickup_from, lot.pickup_until):
            return False
        key = (donor.org_id, storage)
        if key not in near:
            near[key] = near_fetcher(world, donor, storage)
        return not near[key]

    beyond = {lot_id: beyond_transport(lot) for lot_id, lot in lots.items()}
    lost_beyond = 0.0
    buckets: dict[str, float] = defaultdict(float)
    placeable_buckets: dict[str, float] = defaultdict(float)
    daily: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def put(lot_id: int, bucket: str, grams: int, day: date | None) -> None:
        nonlocal lost_beyond
        lot_id = origin[lot_id]
        kg = grams / 1000
        buckets[bucket] += kg
        if bucket.startswith("expired:") and beyond[lot_id] and placeable[lot_id]:
            lost_beyond += kg
        if placeable[lot_id]:
            placeable_buckets[bucket] += kg
        if day is not None:
            column = "expired_kg" if bucket.startswith("expired:") else f"{bucket}_kg"
            daily[day][column] += kg

    for lot in [*lots.values(), *again.values()]:
        if lot.id in lots:
            daily[_local_day(lot.created_at)]["posted_kg"] += lot.weight_kg
        if lot.status == LotStatus.OPEN:
            put(lot.id, "open", lot.remaining_g, None)
        elif lot.status == LotStatus.EXPIRED:
            put(lot.id, f"expired:{NEVER_CLAIMED}", lot.remaining_g, loss_day.get(("lot", lot.id)))
        elif lot.status == LotStatus.WITHDRAWN:
            put(lot.id, "withdrawn", lot.remaining_g, loss_day.get(("lot", lot.id)))
    live = (ClaimStatus.ACTIVE, ClaimStatus.COLLECTED)
    for claim in claims:
        lot = lots.get(claim.lot_id) or again.get(claim.lot_id)
        if lot is None:
            continue
        if claim.status == ClaimStatus.DELIVERED:
            put(lot.id, "delivered", claim.grams, _local_day(delivered_at[claim.id]))
            if claim.id in fetched_at:
                buckets["self-collected"] += claim.grams / 1000
        elif claim.status == ClaimStatus.WITHDRAWN:
            put(lot.id, "withdrawn", claim.grams, loss_day.get(("claim", claim.id)))
        elif claim.status == ClaimStatus.RETURNED and claim.id in kept:
            # Nobody there, back in a depot: what was offered again counts through the
            # lots offered; what the depot still holds is in transit, or lost past its date.
            grams, expires = kept[claim.id]
            if grams > 0 and expires is not None and expires <= end:
                put(lot.id, f"expired:{MISSED}", grams, _local_day(expires))
            elif grams > 0:
                put(lot.id, "in transit", grams, None)
        elif claim.status == ClaimStatus.RETURNED:  # nobody there, and no depot took it
            put(lot.id, f"expired:{MISSED}", claim.grams, loss_day.get(("claim", claim.id)))
        elif claim.status == ClaimStatus.REFUSED:  # too warm or past its use-by
            put(lot.id, f"expired:{REFUSED}", claim.grams, loss_day.get(("claim", claim.id)))
        elif claim.status == ClaimStatus.CANCELLED and claim.id in expired_claims:
            reason = BOOKED_LATE if claim.id in ever_booked else NOT_BOOKED
            put(lot.id, f"expired:{reason}", claim.grams, loss_day.get(("claim", claim.id)))
        elif claim.status in live:
            gone = lot.status == LotStatus.EXPIRED or (
                lot.expires_at is not None and lot.expires_at <= end
            )
            if gone:  # the pickup window closed, or the date passed, with the claim on it
                reason = BOOKED_LATE if claim.id in ever_booked else NOT_BOOKED
                put(lot.id, f"expired:{reason}", claim.grams, loss_day.get(("lot", lot.id)))
            else:
                put(lot.id, "in transit", claim.grams, None)
        # cancelled by its beneficiary: the kilograms went back to the lot

    posted = sum(lot.weight_kg for lot in lots.values())
    placeable_posted = sum(lot.weight_kg for lot in lots.values() if placeable[lot.id])
    settled = placeable_posted - placeable_buckets["open"] - placeable_buckets["in transit"]
    expired = {r: round(buckets[f"expired:{r}"], 1) for r in EXPIRY_REASONS}
    delivered = buckets["delivered"]
    accounted = delivered + sum(buckets[f"expired:{r}"] for r in EXPIRY_REASONS)
    accounted += buckets["withdrawn"] + buckets["open"] + buckets["in transit"]

    # Time from posting to the first booked pickup of the lot.
    lot_booked: dict[int, datetime] = {}
    for claim in claims:
        at = first_booked.get(claim.id)
        if at is not None and (claim.lot_id not in lot_booked or at < lot_booked[claim.lot_id]):
            lot_booked[claim.lot_id] = at
    waits = [
        (lot_booked[lot_id] - lot.created_at).total_seconds() / 60
        for lot_id, lot in lots.items()
        if lot_id in lot_booked
    ]
    never_booked = [lot for lot in lots.values() if lot.id not in lot_booked]

    # A claim its beneficiary fetched itself was taken off the runs (its booking, if
    # any, undone): its km are the beneficiary's, counted apart.
    driven = (
        ClaimStatus.DELIVERED,
        ClaimStatus.COLLECTED,
        ClaimStatus.REFUSED,
        ClaimStatus.RETURNED,
    )
    added_km = sum(
        last_added_km.get(c.id, 0.0) for c in claims if c.status in driven and not c.self_collect
    )
    own_km = sum(fetch_km.values())

    # Why the placement left what then expired unclaimed, in kg: for each such lot, the
    # nearest miss its batches gave (allocation's ``unallocated``; ``matching.reach.
    # nearest_miss``). Near its date every lot ends "no run in time"; the reason of the
    # run that came nearest to carrying it says what was missing while it could still go.
    nearest: dict[int, str] = {}
    for (unallocated,) in session.execute(
        select(AllocationBatch.unallocated).order_by(AllocationBatch.id)
    ):
        for lot_id, (_kg, reason) in (unallocated or {}).items():
            nearest[int(lot_id)] = nearest_miss(nearest.get(int(lot_id)), reason)
    unclaimed_why: dict[str, float] = defaultdict(float)
    for lot in lots.values():
        if lot.status == LotStatus.EXPIRED and placeable[lot.id] and lot.remaining_g > 0:
            why = nearest.get(lot.id, "never proposed")
            unclaimed_why[why] += lot.remaining_g / 1000

    fairness = _fairness(world, claims, delivered_at, set(fetched_at), start, days)
    return {
        "lots": len(lots),
        "posted_kg": round(posted, 1),
        "placeable_kg": round(placeable_posted, 1),
        "unplaceable_kg": round(posted - placeable_posted, 1),
        "delivered_kg": round(delivered, 1),
        "placeable_delivered_kg": round(placeable_buckets["delivered"], 1),
        "placeable_settled_kg": round(settled, 1),
        "placed_share": placeable_buckets["delivered"] / settled if settled > 0 else None,
        "placed_ceiling": (settled - lost_beyond - placeable_buckets["withdrawn"]) / settled
        if settled > 0
        else None,
        "expired_kg": expired,
        "expired_total_kg": round(sum(buckets[f"expired:{r}"] for r in EXPIRY_REASONS), 1),
        "lost_beyond_transport_kg": round(lost_beyond, 1),
        "unclaimed_why_kg": {k: round(v, 1) for k, v in sorted(unclaimed_why.items())},
        "withdrawn_kg": round(buckets["withdrawn"], 1),
        "open_kg": round(buckets["open"], 1),
        "in_transit_kg": round(buckets["in transit"], 1),
        "conservation_error_kg": round(posted - accounted, 3),
        "booking_wait_median_min": statistics.median(waits) if waits else None,
        "booking_wait_p90_min": _percentile(waits, 0.9),
        "lots_booked": len(waits),
        "lots_never_booked": len(never_booked),
        "never_booked_kg": round(sum(lot.weight_kg for lot in never_booked), 1),
        "added_km": round(added_km, 1),
        "km_per_kg": added_km / delivered if delivered > 0 else None,
        "self_collected_kg": round(buckets["self-collected"], 1),
        "offered_again_kg": round(sum(lot.weight_kg for lot in again.values()), 1),
        "self_collect_km": round(own_km, 1),
        "all_km_per_kg": (added_km + own_km) / delivered if delivered > 0 else None,
        "claims": len(claims),
        **fairness,
        "daily": {d.isoformat(): dict(v) for d, v in sorted(daily.items())},
    }


def received_by_day(claims, delivered_at) -> dict[int, dict[date, float]]:
    got: dict[int, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for claim in claims:
        if claim.status == ClaimStatus.DELIVERED and claim.id in delivered_at:
            got[claim.beneficiary_id][_local_day(delivered_at[claim.id])] += claim.grams / 1000
    return got


def _fairness(
    world, claims, delivered_at, fetched: set[int], start: date, days: int
) -> dict[str, Any]:
    """Jain's index of need met over rolling 4-week windows (one window over the whole
    period when it is shorter), the share of (organisation, calendar month) pairs with
    nothing received, and a row per beneficiary (:func:`_per_org`); ``fetched``: the
    claims its own people collected."""
    got = received_by_day(claims, delivered_at)
    bens = [b for b in world.beneficiaries if b.weekly_need_kg > 0]
    window = min(WINDOW_DAYS, days)
    jains = []
    for last in range(window - 1, days):
        first = last - window + 1
        shares = []
        for ben in bens:
            received = sum(
                got[ben.org_id].get(start + timedelta(days=d), 0.0) for d in range(first, last + 1)
            )
            shares.append(min(1.0, received / (ben.weekly_need_kg * window / 7)))
        jains.append(matching.jain_index(shares))
    months = _months(start, days)
    empty = total = 0
    empty_months: dict[int, int] = defaultdict(int)
    for first_day, last_day in months:
        for ben in world.beneficiaries:
            total += 1
            received = sum(kg for d, kg in got[ben.org_id].items() if first_day <= d <= last_day)
            empty += received <= 0
            empty_months[ben.org_id] += received <= 0
    return {
        "jain_mean": statistics.fmean(jains) if jains else None,
        "jain_worst": min(jains) if jains else None,
        "jain_windows": len(jains),
        "nothing_in_month_share": empty / total if total else None,
        "months": [f"{a.isoformat()}..{b.isoformat()}" for a, b in months],
        "orgs": _per_org(world, claims, got, fetched, empty_months, days),
    }


def _per_org(
    world, claims, got, fetched_ids: set[int], empty_months: dict[int, int], days: int
) -> list[dict]:
    """One row per beneficiary: who it is, where, and what it received over the period
    (the share of its target Jain's index is of, what its own people fetched, the months
    with nothing, the drop-offs nobody was there for): what the fairness figures sum up."""
    depots = {p.org_id: (p.lat, p.lon) for p in world.platforms}
    fetched: dict[int, float] = defaultdict(float)
    missed: dict[int, int] = defaultdict(int)
    claimed: dict[int, int] = defaultdict(int)
    for claim in claims:
        claimed[claim.beneficiary_id] += 1
        if claim.status == ClaimStatus.DELIVERED and claim.id in fetched_ids:
            fetched[claim.beneficiary_id] += claim.grams / 1000
        elif claim.status == ClaimStatus.RETURNED:
            missed[claim.beneficiary_id] += 1
    rows = []
    for ben in world.beneficiaries:
        received = sum(got[ben.org_id].values())
        target = ben.weekly_need_kg * days / 7
        depot_km = min(
            (road_km(ben.lat, ben.lon, *depots[p]) for p in ben.platform_ids if p in depots),
            default=None,
        )
        rows.append(
            {
                "org_id": ben.org_id,
                "name": ben.name,
                "kind": ben.kind,
                "persons_per_week": ben.persons_per_week,
                "weekly_need_kg": ben.weekly_need_kg,
                "fse_approved": ben.fse_approved,
                "chilled_capacity_kg": ben.chilled_capacity_kg,
                "frozen_capacity_kg": ben.frozen_capacity_kg,
                "open_weekdays": len(ben.open_weekdays),
                "round_weekdays": " ".join(str(d) for d in ben.round_weekdays),
                "self_collect_km": ben.self_collect_km,
                "miss_rate": ben.miss_rate,
                "km_to_depot": round(depot_km, 1) if depot_km is not None else None,
                "claims": claimed[ben.org_id],
                "received_kg": round(received, 1),
                "fetched_kg": round(fetched[ben.org_id], 1),
                "share_of_target": round(min(1.0, received / target), 4) if target else None,
                "months_with_nothing": empty_months[ben.org_id],
                "dropoffs_missed": missed[ben.org_id],
            }
        )
    return rows


def _months(start: date, days: int) -> list[tuple[date, date]]:
    """The calendar months wholly inside the period; the whole period when none is."""
    last = start + timedelta(days=days - 1)
    months = []
    first = date(start.year, start.month, 1)
    if first < start:
        first = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    while True:
        following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        if following - timedelta(days=1) > last:
            break
        months.append((first, following - timedelta(days=1)))
        first = following
    return months or [(start, last)]
