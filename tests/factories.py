"""Builders of test data: real rows in the test database, with sensible defaults."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flask_babel import force_locale, gettext
from werkzeug.security import generate_password_hash

from surplus import geo
from surplus.extensions import db
from surplus.models import (
    Category,
    Convention,
    ConventionStatus,
    DateKind,
    Depot,
    DepotZone,
    DistributionMode,
    Lot,
    Organisation,
    OrgKind,
    Role,
    RunTemplate,
    StorageClass,
    TemplateStop,
    User,
    Vehicle,
    Verification,
)
from surplus.services import runs
from surplus.services.lot_dates import expires_at, local_today

PASSWORD = "correct-horse-42"
_seq = itertools.count(1)


@lru_cache(maxsize=1)
def _hash() -> str:
    # Real scrypt with a smaller work factor (check_password_hash reads it from the
    # hash): every sign-in of a test checks it, ~4 ms instead of ~120 ms. The pages that
    # set a password hash it with the application's own settings.
    return generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


def org(
    kind: str = "cpas",
    *,
    name: str | None = None,
    postcode: str = "6800",
    locality: str = "Libramont-Chevigny",
    verified: bool = True,
    mode: str | None = None,
) -> Organisation:
    place = geo.lookup(postcode, locality)
    assert place is not None
    n = next(_seq)
    organisation = Organisation(
        name=name or f"{kind.title()} {n}",
        kind=OrgKind(kind),
        postcode=place.postcode,
        locality=place.locality,
        lat=place.lat,
        lon=place.lon,
        address=f"Rue {n}",
        verification=Verification.VERIFIED if verified else Verification.PENDING,
        distribution_mode=DistributionMode(mode) if mode else None,
    )
    db.session.add(organisation)
    db.session.flush()
    return organisation


def user(organisation: Organisation, role: Role = Role.ORG_ADMIN, email: str | None = None) -> User:
    person = User(
        email=email or f"user{next(_seq)}@test.maillon.be",
        name="Test Person",
        organisation=organisation,
        role=role,
        password_hash=_hash(),
        language="fr",
        email_confirmed_at=datetime.now(UTC),
    )
    db.session.add(person)
    db.session.flush()
    return person


def convention(
    platform: Organisation,
    beneficiary: Organisation,
    *,
    status: ConventionStatus = ConventionStatus.ACTIVE,
    fse: bool = False,
    fse_expires_in_days: int = 200,
    chilled_kg: float = 200,
    frozen_kg: float = 0,
    categories: list[str] | None = None,
    persons: int = 100,
    mode: str | None = None,
) -> Convention:
    today = local_today()
    conv = Convention(
        platform=platform,
        beneficiary=beneficiary,
        status=status,
        valid_from=today - timedelta(days=30),
        valid_until=today + timedelta(days=300),
        fse_plus_allowed=fse,
        fse_plus_approval_number="FSE+/BE/1234" if fse else None,
        fse_plus_approval_expires=today + timedelta(days=fse_expires_in_days) if fse else None,
        persons_per_week=persons,
        chilled_capacity_kg=chilled_kg,
        frozen_capacity_kg=frozen_kg,
        accepted_categories=categories or [],
        # As the beneficiary declared it, or free parcels (the common case).
        distribution_mode=DistributionMode(mode)
        if mode
        else beneficiary.distribution_mode or DistributionMode.FREE_PARCELS,
    )
    db.session.add(conv)
    db.session.flush()
    return conv


def lot(
    donor: Organisation,
    *,
    kg: float = 100,
    storage: str = "chilled",
    category: str = "dairy",
    date_kind: str = "use_by",
    days: int = 5,
    divisible: bool = True,
    min_part_kg: float = 0,
    fse_plus: bool = False,
    title: str = "Yaourts nature",
    hours_open: float = 30,
) -> Lot:
    now = datetime.now(UTC)
    best = local_today() + timedelta(days=days)
    grams = int(kg * 1000)
    item = Lot(
        donor=donor,
        title=title,
        category=Category(category),
        weight_g=grams,
        remaining_g=grams,
        date_kind=DateKind(date_kind),
        best_date=best,
        expires_at=expires_at(DateKind(date_kind), best, Category(category), StorageClass(storage)),
        storage=StorageClass(storage),
        allergens=["milk"],
        fse_plus=fse_plus,
        divisible=divisible,
        min_part_g=int(min_part_kg * 1000) if divisible else 0,
        pickup_postcode=donor.postcode,
        pickup_locality=donor.locality,
        pickup_lat=donor.lat,
        pickup_lon=donor.lon,
        pickup_from=now - timedelta(hours=1),
        pickup_until=now + timedelta(hours=hours_open),
    )
    db.session.add(item)
    db.session.flush()
    return item


@dataclass
class World:
    """Two platforms, two beneficiaries, two donors, each with a user."""

    platform: Organisation
    other_platform: Organisation
    cpas: Organisation
    asbl: Organisation
    donor: Organisation
    other_donor: Organisation
    coordinator: User
    other_coordinator: User
    cpas_user: User
    asbl_user: User
    donor_user: User
    other_donor_user: User
    cpas_convention: Convention
    asbl_convention: Convention


def world() -> World:
    platform = org("platform", name="Hub Libramont")
    other_platform = org("platform", name="Distri Namur", postcode="5000", locality="Namur")
    cpas = org("cpas", name="CPAS Test", mode="free_parcels")
    asbl = org(
        "association",
        name="ASBL Test",
        postcode="6600",
        locality="Bastogne",
        mode="social_restaurant",
    )
    donor = org("producer", name="Ferme Test", postcode="6800", locality="Recogne")
    other_donor = org("shop", name="Shop Namur", postcode="5000", locality="Namur")
    w = World(
        platform=platform,
        other_platform=other_platform,
        cpas=cpas,
        asbl=asbl,
        donor=donor,
        other_donor=other_donor,
        coordinator=user(platform, Role.COORDINATOR),
        other_coordinator=user(other_platform, Role.COORDINATOR),
        cpas_user=user(cpas, Role.MEMBER),
        asbl_user=user(asbl, Role.MEMBER),
        donor_user=user(donor),
        other_donor_user=user(other_donor),
        cpas_convention=convention(platform, cpas, fse=True, frozen_kg=50),
        asbl_convention=convention(platform, asbl, fse=False),
    )
    db.session.commit()
    return w


def translated(language: str, msgid: str, **variables: object) -> str:
    """The catalogue's translation of ``msgid``; fails if the catalogue lacks it."""
    with force_locale(language):
        text = gettext(msgid, **variables)
    assert text != msgid or language == "en", f"no {language} translation for {msgid!r}"
    return text


def zones(depot, ambient_kg: float = 2000, chilled_kg: float = 500, frozen_kg: float = 200):
    """A dry store, a cold room and a freezer in ``depot`` (one left out when its
    capacity is None); flushed."""
    made = []
    for name, storage, capacity in (
        ("Réserve", StorageClass.AMBIENT, ambient_kg),
        ("Chambre froide", StorageClass.CHILLED, chilled_kg),
        ("Congélateur", StorageClass.FROZEN, frozen_kg),
    ):
        if capacity is not None:
            made.append(
                DepotZone(depot_id=depot.id, name=name, storage=storage, capacity_kg=capacity)
            )
    db.session.add_all(made)
    db.session.flush()
    return made


def allocated_claim(coordinator: User, lot: Lot, kg: float, beneficiary: Organisation):
    """A claim of ``kg`` of ``lot`` for ``beneficiary``, made by confirming a one-line
    allocation batch of the coordinator's platform; committed."""
    from surplus.models import AllocationBatch, AllocationLine
    from surplus.services import allocation

    batch = AllocationBatch(platform_id=coordinator.organisation_id, created_by_id=coordinator.id)
    batch.lines.append(
        AllocationLine(
            lot_id=lot.id,
            beneficiary_id=beneficiary.id,
            grams=int(round(kg * 1000)),
            km=3.0,
            explanation={},
        )
    )
    db.session.add(batch)
    db.session.flush()
    allocation.confirm(db.session, coordinator, batch)
    db.session.commit()
    return batch.lines[0].claim


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def depot_and_van(w: World, van: str = "Van") -> tuple[Depot, Vehicle]:
    """A depot at ``w``'s platform (no zones) and its refrigerated 500 kg van; flushed."""
    depot = Depot(
        platform_id=w.platform.id,
        name="Dépôt",
        postcode="6800",
        locality="Libramont-Chevigny",
        lat=w.platform.lat,
        lon=w.platform.lon,
    )
    vehicle = Vehicle(
        platform_id=w.platform.id, name=van, capacity_kg=500, refrigerated=True, freezer=False
    )
    db.session.add_all([depot, vehicle])
    db.session.flush()
    return depot, vehicle


def fleet_every_day(w: World, round_stop: bool = True, van: str = "Camionnette"):
    """For browser tests (no ``app`` fixture there): ``w``'s CPAS and association open
    08:00-17:00 every day; the platform has a depot, a refrigerated 500 kg van with a
    07:30 round every day (with ``round_stop``, one stop delivering 100 kg to the
    association), its runs materialised from today, and a driver (a member). Flushed.
    Returns ``(depot, van, driver)``."""
    for conv in (w.cpas_convention, w.asbl_convention):
        conv.opening_hours = {day: [["08:00", "17:00"]] for day in WEEKDAYS}
    depot, vehicle = depot_and_van(w, van)
    for weekday in range(7):  # a run every day, so one exists in time for any lot
        template = RunTemplate(
            platform_id=w.platform.id,
            vehicle_id=vehicle.id,
            depot_id=depot.id,
            name=f"Tournée {weekday}",
            weekday=weekday,
            departure="07:30",
            max_duration_min=600,
        )
        if round_stop:
            template.stops.append(
                TemplateStop(
                    position=0,
                    organisation_id=w.asbl.id,
                    lat=w.asbl.lat,
                    lon=w.asbl.lon,
                    load_delta_kg=-100,
                    opens="08:00",
                    closes="17:00",
                    service_min=15,
                )
            )
        db.session.add(template)
    db.session.flush()
    runs.materialise(db.session, local_today())
    return depot, vehicle, user(w.platform, Role.MEMBER)


def today_period():
    """Today in Brussels as a report period, when the test asks (not when its module was
    imported: a run that crosses midnight would otherwise read yesterday's)."""
    from surplus.services.reports.period import Period

    return Period(local_today(), local_today())
