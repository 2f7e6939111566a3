"""Six months of past activity for the demo region, so that its reports have figures.

The services cannot backdate, so rows are written directly; each follows the rules the
services enforce. A claim goes through a convention that may carry the lot at the time
of the claim (``eligibility.receiving_channels``: FSE+ approval and free distribution,
cold storage, categories); kilograms are conserved as ``claims.py`` keeps them (a
cancelled claim gives its grams back, a withdrawn one does not); food rides a van of the
claim's platform fit for its cold chain, is picked up inside the lot's window and
delivered the same day before its use-by at a temperature within its limit
(``food_safety.limit_for``); lots left open end as ``expire_lots`` would leave them.
The events the services record are recorded too, backdated, in time order.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import geo
from .demo import MEAT_KINDS, WEEKDAY_NAMES
from .demo_data import FSE_PRODUCTS, PRODUCTS
from .models import (
    Category,
    Claim,
    ClaimStatus,
    Convention,
    DateKind,
    Depot,
    Lot,
    LotStatus,
    Organisation,
    OrgKind,
    Run,
    RunStatus,
    RunTemplate,
    Stop,
    StopKind,
    StopStatus,
    StorageClass,
    User,
    Vehicle,
    Verification,
)
from .services import events, food_safety
from .services.eligibility import LAST_WAVE, channels_by_org, receiving_channels
from .services.lot_dates import BRUSSELS, expires_at
from .services.lots import LOT_FIELDS
from .services.runs import local_time

WEEKS = 26
LOTS_PER_WEEK = (10, 14)
KG = (5, 400)
FSE_SHARE, WITHDRAWN_SHARE, EXPIRING_SHARE, CANCELLED_SHARE = 0.08, 0.05, 0.12, 0.06
SPEED_KMH = 50.0
NEAREST = 10  # a lot is claimed by one of the beneficiaries nearest its donor
# Grams per unit of the FSE+ products (a tin, a litre, a packet), for the register.
FSE_UNIT_G = {"thon": 160, "Lait": 1030, "Pâtes": 500, "Huile": 920, "Compote": 400}
RECEIVERS = ("Marie L.", "Jean-Luc D.", "Fatima B.", "Nathalie G.", "Olivier M.", "Sofia R.")
CANCEL_REASONS = ("Plus de place en chambre froide cette semaine.", "Commandé en double.")
WITHDRAW_REASONS = ("Vendu finalement en magasin.", "Erreur de saisie du lot.")


@dataclass
class Carry:
    """How one claim travels: booked, then picked up and dropped off on ``day``."""

    van: Vehicle
    day: date
    booked_at: datetime
    pickup_at: datetime
    drop_at: datetime


def _minutes(m: float) -> timedelta:
    return timedelta(minutes=round(m))


def seed_history(session: Session, today: date, seed: int = 2026) -> dict[str, int]:
    """Weeks of lots posted, claimed, carried and delivered (or withdrawn, expired)
    before ``today``; nothing on or after it. Runs once: a region that already has past
    runs is left alone. Returns the counts of lots and claims created."""
    midnight = local_time(today, "00:00")
    if session.scalar(select(Run.id).where(Run.start_at < midnight).limit(1)) is not None:
        return {"lots": 0, "claims": 0}
    history = _History(session, today, random.Random(seed))
    history.seed()
    return {"lots": len(history.lots), "claims": len(history.claims)}


class _History:
    def __init__(self, session: Session, today: date, rng: random.Random):
        self.s, self.today, self.rng = session, today, rng
        self.midnight = local_time(today, "00:00")  # history ends before this
        orgs = session.scalars(
            select(Organisation)
            .where(Organisation.verification == Verification.VERIFIED)
            .order_by(Organisation.id)
        ).all()
        self.depots = {d.platform_id: d for d in session.scalars(select(Depot).order_by(Depot.id))}
        self.platforms = [o for o in orgs if o.id in self.depots]
        self.donors = [o for o in orgs if o.kind.is_donor and o.kind != OrgKind.PLATFORM]
        self.beneficiaries = [o for o in orgs if o.is_beneficiary]
        self.user: dict[int, User] = {}
        for user in session.scalars(select(User).order_by(User.id)):
            self.user.setdefault(user.organisation_id, user)
        self.vans: dict[int, list[Vehicle]] = {}
        for van in session.scalars(select(Vehicle).order_by(Vehicle.id)):
            self.vans.setdefault(van.platform_id, []).append(van)
        self.templates = {
            (t.vehicle_id, t.weekday): t for t in session.scalars(select(RunTemplate))
        }
        self.nearest: dict[int, list[Organisation]] = {}
        self.chans: dict[date, dict] = {}
        self.load: dict[tuple[int, date], int] = {}  # grams booked on a van that day
        self.lots: list[Lot] = []
        self.claims: list[Claim] = []
        self.carried: list[tuple[Claim, Carry]] = []
        self.pending: list[tuple[datetime, int, Any, str, User | None, dict]] = []

    def km(self, a_lat: float, a_lon: float, b: Organisation | Depot) -> float:
        return geo.road_km(a_lat, a_lon, b.lat, b.lon)

    def log(self, at, actor, subject, action, before=None, after=None, reason="", org=None):
        """An event to record at the end, in time order."""
        kw = {"before": before, "after": after, "reason": reason, "organisation_id": org}
        self.pending.append((at, len(self.pending), subject, action, actor, kw))

    # -- the weeks ------------------------------------------------------------------
    def seed(self) -> None:
        monday = self.today - timedelta(days=self.today.weekday() + 7 * WEEKS)
        if not (self.donors and self.platforms and self.beneficiaries):
            return
        with self.s.no_autoflush:  # flushed only where an id is needed
            for week in range(WEEKS + 1):
                for _ in range(self.rng.randint(*LOTS_PER_WEEK)):
                    weekday = self.rng.choice([0, 0, 1, 2, 3, 4, 5])
                    day = monday + timedelta(days=7 * week + weekday)
                    hour = self.rng.choice([7, 8, 8, 9, 9, 10, 11, 13, 14, 15, 16, 17])
                    posted = local_time(day, f"{hour:02d}:{self.rng.randint(0, 59):02d}")
                    lot = self.post(posted) if day < self.today else None
                    if lot is not None:
                        self.claim_and_close(lot)
        self.s.flush()
        self.drive()
        self.s.flush()
        for at, _, subject, action, actor, kw in sorted(self.pending, key=lambda p: p[:2]):
            events.record(self.s, actor, subject, action, **kw).at = at
        self.s.flush()

    def post(self, posted: datetime) -> Lot | None:
        rng = self.rng
        if rng.random() < FSE_SHARE:
            donor = rng.choice(self.platforms)
            title, cat, sto, longest, top = rng.choice(FSE_PRODUCTS)
            kind, days, kgs = "best_before", (longest // 2, longest), (50, top)
            allergens, divisible = [], True
        else:
            donor = rng.choice(self.donors)
            title, cat, sto, kind, days, kgs, allergens, divisible = rng.choice(PRODUCTS)
        grams = 1000 * round(rng.uniform(max(KG[0], min(kgs[0], KG[1])), min(KG[1], kgs[1])))
        category, storage, date_kind = Category(cat), StorageClass(sto), DateKind(kind)
        day = posted.astimezone(BRUSSELS).date()
        best = day + timedelta(days=rng.randint(*days))
        last = expires_at(date_kind, best, category, storage)
        window = local_time(day + timedelta(days=rng.choice([1, 1, 2, 3])), "18:00")
        until = min(window, last, self.midnight - timedelta(minutes=1))
        if until < posted + timedelta(hours=2):
            return None  # posted too late for anyone to fetch it
        fse = donor.kind == OrgKind.PLATFORM
        unit_g = next((g for word, g in FSE_UNIT_G.items() if fse and word in title), None)
        lot = Lot(
            donor=donor,
            donor_id=donor.id,
            title=title,
            category=category,
            description="",
            weight_g=grams,
            remaining_g=grams,
            units=grams // unit_g if unit_g else None,
            date_kind=date_kind,
            best_date=best,
            expires_at=last,
            storage=storage,
            product_kind=MEAT_KINDS.get(title),
            allergens=list(allergens),
            fse_plus=fse,
            divisible=divisible,
            min_part_g=min(grams, 5000) if divisible else 0,
            pickup_address=donor.address,
            pickup_postcode=donor.postcode,
            pickup_locality=donor.locality,
            pickup_lat=donor.lat,
            pickup_lon=donor.lon,
            pickup_from=posted,
            pickup_until=until,
            status=LotStatus.OPEN,
            wave=LAST_WAVE,
            lot_number=f"{'FSE' if fse else 'L'}{rng.randint(10000, 99999)}",
            created_at=posted,
            created_by_id=self.user[donor.id].id,
        )
        self.s.add(lot)
        self.s.flush()  # its id goes into its claims' events
        self.lots.append(lot)
        posted_event = {
            "title": title,
            "weight_g": grams,
            "category": category,
            "storage": storage,
            "product_kind": lot.product_kind,
            "max_temperature_c": None,
            "date_kind": date_kind,
            "date": best,
            "fse_plus": fse,
            "lot_number": lot.lot_number,
        }
        self.log(posted, self.user[donor.id], lot, "posted", None, posted_event)
        return lot

    def parts(self, lot: Lot) -> list[int]:
        """The lot cut into claims of whole kilograms, each at least its minimum part."""
        if not lot.divisible:
            return [lot.weight_g]
        count = min(self.rng.choice([1, 1, 2, 2, 3]), lot.weight_g // lot.min_part_g)
        kg, step = lot.weight_g // 1000, lot.min_part_g // 1000
        cuts = sorted(self.rng.sample(range(step, kg - step + 1), count - 1)) if count > 1 else []
        edges = [0, *cuts, kg]
        if any(b - a < step for a, b in zip(edges, edges[1:], strict=False)):
            return [lot.weight_g]
        return [1000 * (b - a) for a, b in zip(edges, edges[1:], strict=False)]

    def claim_and_close(self, lot: Lot) -> None:
        rng, fate = self.rng, self.rng.random()
        withdrawn = fate < WITHDRAWN_SHARE
        parts = self.parts(lot)
        if withdrawn:
            parts = parts[:1] if rng.random() < 0.5 else []
        elif fate < WITHDRAWN_SHARE + EXPIRING_SHARE:
            parts = parts[: rng.randint(0, len(parts) - 1)]
        t = lot.created_at
        for grams in parts:
            t = self.office_hours(t + _minutes(min(rng.lognormvariate(math.log(90), 1.0), 1200)))
            if not withdrawn and rng.random() < CANCELLED_SHARE:
                claim = self.claim(lot, grams, t, carry=False)
                if claim is None:
                    break
                t = self.cancel(claim, t + _minutes(rng.randint(20, 240)))
            claim = self.claim(lot, grams, t, carry=not withdrawn)
            if claim is None:
                break
        if withdrawn:
            self.withdraw(lot, t + _minutes(rng.randint(15, 180)))
        elif lot.remaining_g > 0 or lot.expires_at < self.midnight:
            self.expire(lot)

    def office_hours(self, t: datetime) -> datetime:
        """``t``, or the next morning when it falls in the evening or at night."""
        local = t.astimezone(BRUSSELS)
        if 7 <= local.hour < 20:
            return t
        day = local.date() + timedelta(days=1 if local.hour >= 20 else 0)
        return local_time(day, "07:30") + _minutes(self.rng.randint(0, 90))

    # -- claims ---------------------------------------------------------------------
    def candidates(self, lot: Lot) -> list[Organisation]:
        if lot.donor_id not in self.nearest:
            by_km = sorted(
                self.beneficiaries, key=lambda o: self.km(lot.pickup_lat, lot.pickup_lon, o)
            )
            self.nearest[lot.donor_id] = by_km[:NEAREST]
        return self.nearest[lot.donor_id]

    def claim(self, lot: Lot, grams: int, t: datetime, carry: bool) -> Claim | None:
        """A beneficiary near the donor claims ``grams`` at ``t`` through a convention
        that may carry the lot then, on a run that can fetch it in time (if ``carry``)."""
        day = t.astimezone(BRUSSELS).date()
        if day not in self.chans:
            self.chans[day] = channels_by_org(self.s, self.beneficiaries, day)
        nearby = self.candidates(lot)
        for _ in range(6):
            org = self.rng.choices(nearby, weights=[1 / (i + 1) for i in range(len(nearby))])[0]
            options = receiving_channels(self.s, org, lot, t, self.chans[day].get(org.id, []))
            options.sort(
                key=lambda ch: self.km(lot.pickup_lat, lot.pickup_lon, ch.convention.platform)
            )
            for ch in options:
                plan = self.plan(lot, org, ch.convention, grams, t) if carry else None
                if plan is not None or not carry:
                    return self.record_claim(lot, org, ch.convention, grams, t, plan)
        return None

    def record_claim(
        self,
        lot: Lot,
        org: Organisation,
        conv: Convention,
        grams: int,
        t: datetime,
        plan: Carry | None,
    ) -> Claim:
        before = {"remaining_g": lot.remaining_g, "status": lot.status.value}
        lot.remaining_g -= grams
        lot.status = LotStatus.CLAIMED if lot.remaining_g == 0 else LotStatus.OPEN
        actor = self.user[org.id]
        claim = Claim(
            lot=lot,
            beneficiary_id=org.id,
            platform_id=conv.platform_id,
            convention_id=conv.id,
            grams=grams,
            status=ClaimStatus.DELIVERED if plan else ClaimStatus.ACTIVE,
            created_at=t,
            created_by_id=actor.id,
        )
        self.s.add(claim)
        self.claims.append(claim)
        after = {"remaining_g": lot.remaining_g, "status": lot.status.value}
        self.log(t, actor, lot, "claimed", before, after, org=lot.donor_id)
        created = {"lot_id": lot.id, "grams": grams, "platform_id": conv.platform_id}
        self.log(t, actor, claim, "created", None, created, org=org.id)
        if plan is not None:
            self.load[(plan.van.id, plan.day)] = self.load.get((plan.van.id, plan.day), 0) + grams
            self.carried.append((claim, plan))
        return claim

    def plan(
        self, lot: Lot, org: Organisation, conv: Convention, grams: int, t: datetime
    ) -> Carry | None:
        """The first weekday run of the platform with a fitting van on which the claim is
        picked up inside the lot's window and dropped off by 16:30, before its use-by."""
        booked = t + _minutes(self.rng.randint(2, 90))
        travel = _minutes(self.km(lot.pickup_lat, lot.pickup_lon, org) / SPEED_KMH * 60 + 10)
        start = booked.astimezone(BRUSSELS).date()
        for day in (start + timedelta(days=n) for n in range(6)):
            if day >= self.today or local_time(day, "08:30") > lot.pickup_until:
                return None
            if day.weekday() >= 5:
                continue
            lo = max(lot.pickup_from, local_time(day, "08:30"), booked + timedelta(minutes=30))
            hi = min(
                lot.pickup_until,
                local_time(day, "16:30") - travel,
                lot.expires_at - travel - timedelta(minutes=5),
            )
            van = self.van(conv.platform_id, lot.storage, day, grams)
            if lo <= hi and van is not None:
                pickup = lo + timedelta(minutes=self.rng.randint(0, (hi - lo).seconds // 60))
                return Carry(van, day, booked, pickup, pickup + travel)
        return None

    def van(self, platform_id: int, storage: StorageClass, day: date, grams: int) -> Vehicle | None:
        """A van fit for the cold chain with room left that day (dry vans first)."""
        fits = [
            v
            for v in self.vans.get(platform_id, [])
            if (storage != StorageClass.FROZEN or v.freezer)
            and (storage != StorageClass.CHILLED or v.refrigerated)
        ]
        fits.sort(key=lambda v: (v.refrigerated, v.freezer, v.id))
        return next(
            (v for v in fits if self.load.get((v.id, day), 0) + grams <= v.capacity_kg * 1000),
            None,
        )

    def cancel(self, claim: Claim, at: datetime) -> datetime:
        lot, actor = claim.lot, self.user[claim.beneficiary_id]
        at = max(min(at, lot.pickup_until), claim.created_at + timedelta(minutes=5))
        before = {"remaining_g": lot.remaining_g, "status": lot.status.value}
        claim.status, claim.status_reason = ClaimStatus.CANCELLED, self.rng.choice(CANCEL_REASONS)
        lot.remaining_g += claim.grams
        lot.status = LotStatus.OPEN
        was, now = {"status": "active"}, {"status": "cancelled"}
        self.log(at, actor, claim, "cancelled", was, now, claim.status_reason)
        after = {"remaining_g": lot.remaining_g, "status": lot.status.value}
        self.log(at, actor, lot, "claim_cancelled", before, after, org=lot.donor_id)
        return at

    # -- the lot's end ----------------------------------------------------------------
    def withdraw(self, lot: Lot, at: datetime) -> None:
        actor, reason = self.user[lot.donor_id], self.rng.choice(WITHDRAW_REASONS)
        at = max([min(at, lot.pickup_until)] + [c.created_at for c in lot.claims])
        before = events.snapshot(lot, *LOT_FIELDS)
        lot.status, lot.status_reason = LotStatus.WITHDRAWN, reason
        for claim in lot.claims:
            if claim.status == ClaimStatus.ACTIVE:
                claim.status, claim.status_reason = ClaimStatus.WITHDRAWN, reason
                was, now = (
                    {"status": "active", "grams": claim.grams},
                    events.snapshot(claim, "status", "grams"),
                )
                self.log(at, actor, claim, "withdrawn", was, now, reason)
        self.log(at, actor, lot, "withdrawn", before, events.snapshot(lot, *LOT_FIELDS), reason)

    def expire(self, lot: Lot) -> None:
        """As the expiry job would: past its date, or its pickup window over unclaimed."""
        past_date = lot.remaining_g == 0 or lot.expires_at <= lot.pickup_until
        due = lot.expires_at if past_date else lot.pickup_until
        at = min(due + _minutes(self.rng.randint(1, 14)), self.midnight - timedelta(seconds=1))
        reason = str(_l("Past its date.") if past_date else _l("Pickup window over."))
        before = {"status": lot.status.value, "remaining_g": lot.remaining_g}
        lot.status, lot.status_reason = LotStatus.EXPIRED, reason
        self.log(
            max(at, due),
            None,
            lot,
            "expired",
            before,
            {"status": "expired"},
            reason,
            org=lot.donor_id,
        )

    # -- the vans ---------------------------------------------------------------------
    def drive(self) -> None:
        """One run per van and day with a pickup and a drop-off per claim, in time
        order, confirmed by the platform's coordinator as its driver."""
        by_run: dict[tuple[int, date], list[tuple[Claim, Carry]]] = {}
        for claim, plan in self.carried:
            by_run.setdefault((plan.van.id, plan.day), []).append((claim, plan))
        runs = []
        for (_, day), carried in by_run.items():
            van = carried[0][1].van
            template = self.templates.get((van.id, day.weekday()))
            name = template.name if template else f"{van.name} — {WEEKDAY_NAMES[day.weekday()]}"
            run = Run(
                platform_id=van.platform_id,
                vehicle_id=van.id,
                depot_id=self.depots[van.platform_id].id,
                template_id=template.id if template else None,
                run_date=day,
                name=f"{name} — {day.isoformat()}",
                start_at=local_time(day, template.departure if template else "07:30"),
                max_duration_min=600,
                status=RunStatus.DONE,
            )
            self.s.add(run)
            runs.append((run, carried))
        self.s.flush()  # run ids go into the stops' events
        for run, carried in runs:
            visits = [(p.pickup_at, 0, c, p) for c, p in carried]
            visits += [(p.drop_at, 1, c, p) for c, p in carried]
            visits.sort(key=lambda v: (v[0], v[1], v[2].id))
            for position, (at, is_drop, claim, plan) in enumerate(visits):
                self.stop(run, position, at, claim, plan, bool(is_drop))

    def stop(self, run: Run, position: int, at: datetime, claim: Claim, plan: Carry, drop: bool):
        lot, driver = claim.lot, self.user[run.platform_id]
        org = claim.beneficiary if drop else lot.donor
        limit = food_safety.limit_for(lot)
        temperature = None
        if limit is not None:
            low = limit - 6 if lot.storage == StorageClass.FROZEN else max(limit - 6, 0.0)
            temperature = round(self.rng.uniform(low, limit - 0.5), 1)
        day = plan.day
        stop = Stop(
            run=run,
            position=position,
            kind=StopKind.DROPOFF if drop else StopKind.PICKUP,
            organisation_id=org.id,
            claim_id=claim.id,
            address=f"{org.address} {org.postcode} {org.locality}",
            lat=org.lat,
            lon=org.lon,
            load_delta_kg=-claim.kg if drop else claim.kg,
            window_start=local_time(day, "09:00") if drop else max(lot.pickup_from, run.start_at),
            window_end=local_time(day, "16:30") if drop else lot.pickup_until,
            service_min=10,
            status=StopStatus.DONE,
            temperature_c=temperature,
            receiver_name=self.rng.choice(RECEIVERS) if drop else "",
            confirmed_at=at,
            confirmed_by_id=driver.id,
        )
        self.s.add(stop)
        action = "delivered" if drop else "picked_up"
        after = {
            "status": "done",
            "temperature_c": temperature,
            "limit_c": limit,
            "run_id": run.id,
        }
        self.log(at, driver, stop, action, {"status": "planned"}, after, org=run.platform_id)
        handed = {**after, "claim_id": claim.id, "kg": claim.kg}
        handed["beneficiary_id"] = claim.beneficiary_id
        self.log(at, driver, lot, action, None, handed, org=lot.donor_id)
        if not drop:
            depot = self.depots[run.platform_id]
            detour = (
                self.km(depot.lat, depot.lon, lot.donor)
                + self.km(lot.pickup_lat, lot.pickup_lon, claim.beneficiary)
                - self.km(depot.lat, depot.lon, claim.beneficiary)
            )
            booked = {"run_id": run.id, "pickup_eta": plan.pickup_at, "drop_eta": plan.drop_at}
            booked["added_km"] = round(max(detour, 0.5), 2)
            self.log(
                plan.booked_at, driver, claim, "booked", None, booked, org=claim.beneficiary_id
            )
