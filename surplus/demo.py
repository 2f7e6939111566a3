"""Seed a believable Wallonia for demonstrations and load tests."""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from . import clock, geo
from .demo_data import BENEFICIARIES, DEMO_PASSWORD, DONORS, FSE_PRODUCTS, PLATFORMS, PRODUCTS
from .errors import DomainError
from .models import (
    AgreementStatus,
    Category,
    Convention,
    ConventionStatus,
    DateKind,
    Depot,
    DistributionMode,
    Lot,
    Organisation,
    OrgKind,
    ProductKind,
    Role,
    Run,
    RunTemplate,
    StorageClass,
    TemplateStop,
    TransportAgreement,
    User,
    Vehicle,
    Verification,
)
from .services import booking, claims, runs, waves
from .services.lot_dates import BRUSSELS, expires_at, local_today

# The demo's meat and fish, by title: their hand-over limits (services/food_safety.py).
MEAT_KINDS = {
    "Filets de poulet": ProductKind.POULTRY,
    "Haché porc-bœuf": ProductKind.MINCED_MEAT,
    "Saumon fumé tranché": ProductKind.FISHERY,
}

NAMED_USERS = {
    "producteur": "Ferme du Bois de Recogne",
    "epicerie": "Épicerie Au Panier Vert",
    "cpas": "CPAS de Libramont-Chevigny",
    "asbl": "Les Restos du Cœur de Bastogne",
}
WALLOON = re.compile(r"^(1[34]\d\d|[4-7]\d\d\d)$")


DRIVER_EMAIL = "chauffeur@demo.maillon.be"


def _weekday(day: date) -> date:
    """``day``, or the Monday after it when it falls on a weekend."""
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:40]


class Seeder:
    def __init__(self, session: Session, scale: int, seed: int = 2026):
        self.s = session
        self.scale = max(1, scale)
        self.rng = random.Random(seed)
        self.today = local_today()
        self.password_hash = generate_password_hash(DEMO_PASSWORD)
        self.platforms: dict[str, Organisation] = {}
        self.depots: dict[str, Depot] = {}
        self.beneficiaries: list[tuple[Organisation, list[str]]] = []
        self.donors: list[Organisation] = []
        self.walloon = [p for p in geo.all_places() if WALLOON.match(p.postcode)]

    # -- organisations and people -------------------------------------------------
    def org(
        self,
        name: str,
        kind: str,
        postcode: str,
        locality: str,
        *,
        jitter: bool = False,
        verified: bool = True,
    ) -> Organisation:
        place = geo.lookup(postcode, locality)
        assert place is not None, (postcode, locality)
        lat, lon = place.lat, place.lon
        if jitter:
            lat += self.rng.uniform(-0.01, 0.01)
            lon += self.rng.uniform(-0.015, 0.015)
        org = Organisation(
            name=name,
            kind=OrgKind(kind),
            postcode=place.postcode,
            locality=place.locality,
            address=f"Rue de la Station {self.rng.randint(1, 120)}",
            lat=lat,
            lon=lon,
            verification=Verification.VERIFIED if verified else Verification.PENDING,
            email=f"contact@{_slug(name)}.demo.maillon.be",
            phone="+32 61 00 00 00",
            afsca_number=f"AFSCA-{self.rng.randint(100000, 999999)}",
        )
        self.s.add(org)
        return org

    def user(self, org: Organisation, email: str, name: str, role: Role) -> User:
        user = User(
            email=email,
            name=name,
            organisation=org,
            role=role,
            language="fr",
            password_hash=self.password_hash,
            email_confirmed_at=clock.now(),
        )
        self.s.add(user)
        return user

    def seed_platforms(self) -> None:
        for key, name, pc, loc, vans, cold in PLATFORMS:
            org = self.org(name, "platform", pc, loc)
            self.platforms[key] = org
            depot = Depot(
                platform=org,
                name=f"Dépôt {loc}",
                postcode=org.postcode,
                locality=org.locality,
                address=org.address,
                lat=org.lat,
                lon=org.lon,
                cold_room=cold,
            )
            self.s.add(depot)
            self.depots[key] = depot
            for van, cap, fridge, freezer in vans:
                self.s.add(
                    Vehicle(
                        platform=org,
                        name=van,
                        capacity_kg=cap,
                        refrigerated=fridge,
                        freezer=freezer,
                    )
                )
            email = (
                "coordination@demo.maillon.be"
                if key == "libramont"
                else f"coordination.{key}@demo.maillon.be"
            )
            self.user(org, email, f"Coordination {loc}", Role.COORDINATOR)
        team = self.org("Maillon — équipe du site", "platform", "5000", "Namur")
        self.user(team, "admin@demo.maillon.be", "Administration Maillon", Role.SITE_ADMIN)

    def convention(
        self, ben: Organisation, platform: Organisation, persons: int, fse: bool, mode: str
    ) -> None:
        fse = fse and mode != DistributionMode.SOCIAL_GROCERY.value
        self.s.add(
            Convention(
                platform=platform,
                beneficiary=ben,
                status=ConventionStatus.ACTIVE,
                valid_from=self.today - timedelta(days=200),
                valid_until=self.today + timedelta(days=365),
                fse_plus_allowed=fse,
                fse_plus_approval_number=f"FSE+/BE/{self.rng.randint(1000, 9999)}" if fse else None,
                fse_plus_approval_expires=self.today + timedelta(days=300) if fse else None,
                distribution_mode=DistributionMode(mode),
                persons_per_week=persons,
                chilled_capacity_kg=round(persons * 0.8),
                frozen_capacity_kg=round(persons * 0.4) if persons >= 150 else 0,
                opening_hours={
                    d: [["09:00", "12:00"], ["13:30", "16:30"]]
                    for d in ("mon", "tue", "wed", "thu", "fri")
                },
                contact_name="Service social",
                contact_phone="+32 81 00 00 00",
                decided_at=clock.now(),
            )
        )

    def seed_beneficiaries(self) -> None:
        for copy in range(self.scale):
            for name, kind, pc, loc, keys, persons, fse, mode in BENEFICIARIES:
                if copy:
                    place = self.rng.choice(self.walloon)
                    pc, loc, name = place.postcode, place.locality, f"{name} ({copy + 1})"
                org = self.org(name, kind, pc, loc, jitter=copy > 0)
                org.distribution_mode = DistributionMode(mode)
                if copy:
                    keys = [self.nearest_platform(org)]
                for key in keys:
                    self.convention(org, self.platforms[key], persons, fse, mode)
                self.beneficiaries.append((org, keys))
                if copy == 0 and name in NAMED_USERS.values():
                    local = next(k for k, v in NAMED_USERS.items() if v == name)
                    self.user(
                        org,
                        f"{local}@demo.maillon.be",
                        "Travailleuse sociale" if kind == "cpas" else "Bénévole",
                        Role.ORG_ADMIN,
                    )
                else:
                    self.user(
                        org,
                        f"{_slug(name)}-{len(self.beneficiaries)}@demo.maillon.be",
                        "Service social",
                        Role.ORG_ADMIN,
                    )
        for key, platform in self.platforms.items():
            platform.service_postcodes = sorted(
                {o.postcode for o, ks in self.beneficiaries if key in ks}
            )

    def nearest_platform(self, org: Organisation) -> str:
        return min(
            self.platforms,
            key=lambda k: geo.road_km(
                org.lat, org.lon, self.platforms[k].lat, self.platforms[k].lon
            ),
        )

    def seed_donors(self) -> None:
        for copy in range(self.scale):
            for name, kind, pc, loc in DONORS:
                if copy:
                    place = self.rng.choice(self.walloon)
                    pc, loc, name = place.postcode, place.locality, f"{name} ({copy + 1})"
                org = self.org(name, kind, pc, loc, jitter=copy > 0)
                self.donors.append(org)
                local = next((k for k, v in NAMED_USERS.items() if v == name and copy == 0), None)
                email = (
                    f"{local}@demo.maillon.be"
                    if local
                    else f"{_slug(name)}-{len(self.donors)}@demo.maillon.be"
                )
                self.user(org, email, "Responsable", Role.ORG_ADMIN)
        for name, kind, pc, loc in [
            ("Ferme des Nouveaux Champs", "producer", "6890", "Libin"),
            ("Épicerie du Coin", "shop", "6600", "Bastogne"),
        ]:
            org = self.org(name, kind, pc, loc, verified=False)
            self.user(org, f"{_slug(name)}@demo.maillon.be", "Nouveau venu", Role.ORG_ADMIN)

    # -- lots -------------------------------------------------------------------------
    def lot(
        self,
        donor: Organisation,
        title: str,
        category: str,
        storage: str,
        date_kind: str,
        days: int,
        kg: float,
        allergens: list[str],
        divisible: bool,
        fse: bool = False,
    ) -> Lot:
        # Windows open on weekdays, when the vans drive (Monday to Friday): seeded on a
        # Friday evening or a weekend, the lots wait for Monday's rounds.
        start_day = _weekday(self.today + timedelta(days=self.rng.randint(0, 1)))
        pickup_from = datetime.combine(start_day, time(8, 0), tzinfo=BRUSSELS)
        if pickup_from + timedelta(hours=9) <= clock.now() + timedelta(hours=4):
            # Seeded late in the day: today's window would close before a van could come.
            start_day = _weekday(start_day + timedelta(days=1))
            pickup_from = datetime.combine(start_day, time(8, 0), tzinfo=BRUSSELS)
        pickup_until = pickup_from + timedelta(hours=self.rng.choice([9, 33]))
        best = max(days, (pickup_until.date() - self.today).days + 1)
        grams = int(round(kg)) * 1000
        kind, cat, sto = DateKind(date_kind), Category(category), StorageClass(storage)
        lot = Lot(
            donor=donor,
            title=title,
            category=cat,
            description="",
            weight_g=grams,
            remaining_g=grams,
            units=None,
            date_kind=kind,
            best_date=self.today + timedelta(days=best),
            expires_at=expires_at(kind, self.today + timedelta(days=best), cat, sto),
            storage=sto,
            product_kind=MEAT_KINDS.get(title),
            allergens=allergens,
            fse_plus=fse,
            divisible=divisible,
            min_part_g=min(grams, 5000 if divisible else 0) if divisible else 0,
            pickup_address=donor.address,
            pickup_postcode=donor.postcode,
            pickup_locality=donor.locality,
            pickup_lat=donor.lat,
            pickup_lon=donor.lon,
            pickup_from=pickup_from.astimezone(UTC),
            pickup_until=pickup_until.astimezone(UTC),
            lot_number=f"L{self.rng.randint(10000, 99999)}",
        )
        self.s.add(lot)
        return lot

    def seed_lots(self) -> int:
        count = 0
        for donor in self.donors:
            for _ in range(4):
                title, cat, sto, kind, (d1, d2), (k1, k2), allergens, div = self.rng.choice(
                    PRODUCTS
                )
                self.lot(
                    donor,
                    title,
                    cat,
                    sto,
                    kind,
                    self.rng.randint(d1, d2),
                    self.rng.uniform(k1, k2),
                    allergens,
                    div,
                )
                count += 1
        for i, (title, cat, sto, days, kg) in enumerate(FSE_PRODUCTS * self.scale):
            platform = list(self.platforms.values())[i % len(self.platforms)]
            self.lot(platform, title, cat, sto, "best_before", days, kg, [], True, fse=True)
            count += 1
        return count

    # -- runs ---------------------------------------------------------------------
    def seed_runs(self) -> None:
        """Weekly rounds (Monday to Friday, one per van) over the platform's network,
        materialised two weeks ahead by the same service as the scheduler's job."""
        self.s.flush()
        for key, platform in self.platforms.items():
            depot = self.depots[key]
            network = [o for o, keys in self.beneficiaries if key in keys]
            vans = self.s.scalars(select(Vehicle).where(Vehicle.platform_id == platform.id)).all()
            for weekday in range(5):
                for v_index, van in enumerate(vans):
                    chosen = self.rng.sample(network, k=min(len(network), self.rng.randint(3, 6)))
                    chosen.sort(key=lambda o: geo.road_km(depot.lat, depot.lon, o.lat, o.lon))
                    template = RunTemplate(
                        platform=platform,
                        vehicle=van,
                        depot=depot,
                        weekday=weekday,
                        departure="07:30",
                        max_duration_min=600,
                        name=f"{van.name} — {WEEKDAY_NAMES[weekday]}",
                    )
                    for pos, org in enumerate(chosen):
                        template.stops.append(
                            TemplateStop(
                                position=pos,
                                organisation=org,
                                address=f"{org.address}, {org.postcode} {org.locality}",
                                lat=org.lat,
                                lon=org.lon,
                                load_delta_kg=-float(self.rng.randint(40, 250) // (v_index + 1)),
                                opens="09:00",
                                closes="16:30",
                                service_min=15,
                            )
                        )
                    self.s.add(template)
        self.s.flush()
        runs.materialise(self.s, self.today)
        self.seed_driver()

    def seed_driver(self) -> None:
        """A driver of the Libramont hub (a member, not a coordinator) who drives its
        first van's runs of today and the coming week: "my runs today" on sign-in."""
        hub = self.platforms["libramont"]
        driver = self.user(hub, DRIVER_EMAIL, "Chauffeur démo", Role.MEMBER)
        self.s.flush()
        van = self.s.scalars(
            select(Vehicle).where(Vehicle.platform_id == hub.id).order_by(Vehicle.id)
        ).first()
        for run in self.s.scalars(
            select(Run).where(
                Run.platform_id == hub.id,
                Run.vehicle_id == van.id,
                Run.run_date >= self.today,
                Run.run_date < self.today + timedelta(days=8),
            )
        ):
            run.driver_id = driver.id

    # -- inter-platform ---------------------------------------------------------------
    def seed_waves(self) -> None:
        """Offer every lot in its first wave; one lot of the Mons auction was posted 14
        hours ago, so its wave 2 (Namur's network among others) is due."""
        now = clock.now()
        self.s.flush()
        lots = self.s.scalars(select(Lot).order_by(Lot.id)).all()
        mons = next(d for d in self.donors if d.postcode == "7000")
        posted = now - timedelta(hours=14)
        story = self.lot(
            mons,
            "Chicons de la criée — invendus du jour",
            "fruit_veg",
            "chilled",
            "best_before",
            6,
            180,
            [],
            True,
        )
        story.created_at = posted
        story.pickup_from = posted
        story.pickup_until = now + timedelta(hours=30)
        self.s.flush()
        all_reaches = waves.reaches(self.s)
        for lot in lots:
            waves.publish(self.s, lot, now, all_reaches, notify=self.scale == 1)
        waves.publish(self.s, story, posted, all_reaches, notify=self.scale == 1)
        # Its wave 2 is due: the first run of the escalation job moves it (first_jobs).

    def seed_expiring_approval(self) -> None:
        """The FSE+ approval of the CPAS of Bastogne ends in three weeks: the reminder
        job tells the CPAS and the Libramont hub's coordinators."""
        conv = self.s.scalar(
            select(Convention)
            .join(Organisation, Organisation.id == Convention.beneficiary_id)
            .where(
                Organisation.name == "CPAS de Bastogne",
                Convention.platform_id == self.platforms["libramont"].id,
            )
        )
        if conv is not None and conv.fse_plus_allowed:
            conv.fse_plus_approval_expires = self.today + timedelta(days=21)

    def seed_shared_run(self) -> None:
        """Charleroi's vans carry for SOREAL (Mons-Borinage): a Charleroi bakery's lot
        claimed by the CPAS of Boussu rides on a Charleroi run."""
        today = self.today
        agreement = TransportAgreement(
            carrier=self.platforms["charleroi"],
            client=self.platforms["soreal"],
            status=AgreementStatus.ACTIVE,
            valid_from=today - timedelta(days=20),
            valid_until=today + timedelta(days=345),
            requested_by_org_id=self.platforms["soreal"].id,
            note="Tournées Charleroi → Borinage du mardi et jeudi",
            decided_at=clock.now(),
        )
        self.s.add(agreement)
        bakery = next(d for d in self.donors if d.postcode == "6000")
        lot = self.lot(
            bakery,
            "Pains et viennoiseries de la veille",
            "bakery",
            "ambient",
            "best_before",
            3,
            60,
            ["gluten"],
            True,
        )
        lot.wave = waves.LAST_WAVE
        carrier_runs = self.s.scalars(
            select(Run)
            .where(
                Run.platform_id == self.platforms["charleroi"].id,
                Run.start_at
                >= datetime.combine(
                    today + timedelta(days=1), time(0, 0), tzinfo=BRUSSELS
                ).astimezone(UTC),
            )
            .order_by(Run.start_at)
        ).all()
        if not carrier_runs:
            return
        day = carrier_runs[0].start_at.astimezone(BRUSSELS).date()
        lot.pickup_from = datetime.combine(day, time(7, 0), tzinfo=BRUSSELS).astimezone(UTC)
        lot.pickup_until = lot.pickup_from + timedelta(hours=11)
        lot.best_date = day + timedelta(days=2)
        lot.expires_at = expires_at(
            DateKind.BEST_BEFORE, lot.best_date, Category.BAKERY, StorageClass.AMBIENT
        )
        boussu = next(o for o, _keys in self.beneficiaries if o.postcode == "7300")
        social_worker = self.s.scalars(
            select(User).where(User.organisation_id == boussu.id)
        ).first()
        coordinator = self.s.scalars(
            select(User).where(User.organisation_id == self.platforms["soreal"].id)
        ).first()
        self.s.flush()
        claim, _ = claims.claim_lot(
            self.s, social_worker, lot.id, 40, platform_id=self.platforms["soreal"].id
        )
        for run in carrier_runs:
            try:
                with self.s.begin_nested():
                    booking.book(self.s, coordinator, claim, run_id=run.id)
                return
            except DomainError:
                continue


WEEKDAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


FIRST_JOBS = ("escalate_waves", "expire_lots", "remind_expiring")


def first_jobs(app: Flask) -> None:
    """Run a few jobs once, as the scheduler would, so that the demo's job log has
    entries and the Mons lot reaches its second wave straight away."""
    from . import jobs
    from .services import job_runs

    for name in FIRST_JOBS:
        job = jobs.find(app.config, name)
        if job is not None:
            job_runs.run(app, job)


def is_empty(session: Session) -> bool:
    return (session.scalar(select(func.count(Organisation.id))) or 0) == 0


def seed(session: Session, scale: int = 1) -> dict[str, int]:
    seeder = Seeder(session, scale)
    seeder.seed_platforms()
    seeder.seed_beneficiaries()
    seeder.seed_donors()
    lots = seeder.seed_lots()
    seeder.seed_runs()
    session.flush()
    seeder.seed_waves()
    seeder.seed_shared_run()
    seeder.seed_expiring_approval()
    session.flush()
    # Imported here: demo_history reads this module's product table.
    from .demo_history import seed_history

    past = seed_history(session, seeder.today)
    from .demo_depots import seed_depots

    depots = seed_depots(session)
    return {
        "platforms": len(seeder.platforms),
        "beneficiaries": len(seeder.beneficiaries),
        "donors": len(seeder.donors),
        "lots": lots,
        "past lots": past["lots"],
        "depot items": depots["hub items"] + depots["fse items"],
    }
