"""One eligibility rule, read in five places, gives one answer (DESIGN.md §3 rules 1-4;
CONVENTIONS.md: "the same rule in ... a service and a SQL clause: merge, or prove with a
property test that the copies agree").

On small random worlds (platforms, donors, CPAS, associations and organisations that may
not receive; conventions in every status, with validity dates, FSE+ flags, approvals and
their expiry, cold storage, categories; distribution modes; lots in every status, with
storage classes, use-by or best-before dates or none, expiring exactly now or a second
either side, pickup windows, FSE+, indivisible, offer waves) and for every (lot,
organisation) pair:

    listed by ``browse.browse`` (the SQL of ``offerable_clause`` and ``eligible_clause``)
    ⇔ ``lot_refusal`` is None ⇔ ``conventions_for`` / ``receiving_channels`` not empty
    ⇔ ``access.can(worker, VIEW, lot)`` for a social worker of a CPAS or association
    ⇔ ``claim_lot`` of every available kilogram succeeds (in a savepoint, rolled back)
    ⇔ the matcher agrees: for some platform, the lot is among those ``allocation.propose``
      hands the matcher, the organisation is in that platform's network, and
      ``matching.eligibility`` on the adapter's inputs refuses nothing but
      ``MATCHER_ONLY``.

The moment is fixed per world and passed as ``now=``. ``access.can`` takes no ``now``, and
``browse`` reads the conventions in force on the real day (it calls ``channels`` without
``today``), so the ``clock`` fixture freezes the application's clock (``surplus.clock``)
at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import matching
from surplus import access
from surplus import clock as app_clock
from surplus.errors import DomainError
from surplus.extensions import db
from surplus.models import (
    Category,
    ConventionStatus,
    DateKind,
    DistributionMode,
    Lot,
    LotOffer,
    LotStatus,
    Role,
    StorageClass,
    Verification,
)
from surplus.services import browse, claims, eligibility, lot_dates, matching_adapter
from tests import factories

# Refusals only the matcher makes, on purpose. ``too_far``: MATCH_MAX_KM is how far the
# matcher *sends* food unasked (DESIGN.md §5, README: "farthest road distance the
# matcher sends food"); a social worker may still list and claim a farther lot and fetch
# it (the lot list's distance is a user filter, off by default). ``no_capacity``: the
# matcher never exceeds a beneficiary's declared capacity minus what is in transit, nor
# splits below the donor's minimum part; a claim is bounded by the lot's kilograms only,
# the social worker knowing its own cold room. Every other matcher refusal is a hard rule
# (use-by, FSE+, storage class, category) and must agree with ``lot_refusal``.
MATCHER_ONLY = {"too_far", "no_capacity"}

# Fixed moments: a winter morning, a summer night whose Brussels date is already the next
# day (00:30 CEST), and the night of a change to winter time.
MOMENTS = (
    datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
    datetime(2026, 7, 14, 22, 30, tzinfo=UTC),
    datetime(2026, 10, 24, 23, 15, tzinfo=UTC),
)
PLACES = (
    ("6800", "Libramont-Chevigny"),
    ("6600", "Bastogne"),
    ("5000", "Namur"),
    ("6000", "Charleroi"),
    ("7000", "Mons"),
    ("4000", "Liège"),
)
CATEGORIES = tuple(Category)


class Moment:
    """Holds the example's moment and sets the application's clock (``surplus.clock``) to it."""

    @property
    def moment(self) -> datetime:
        return app_clock.now()

    @moment.setter
    def moment(self, value: datetime) -> None:
        app_clock.set_time(value)


@pytest.fixture
def clock(app):
    """The application's clock, frozen at each example's moment, given back afterwards."""
    yield Moment()
    app_clock.set_time(None)


# --- worlds as plain data ---------------------------------------------------------------


@dataclass
class OrgSpec:
    kind: str
    place: tuple[str, str]
    verification: Verification = Verification.VERIFIED
    mode: DistributionMode | None = None


@dataclass
class ConventionSpec:
    platform: int
    recipient: int
    status: ConventionStatus
    valid_from: int | None  # days from today
    valid_until: int | None
    fse_allowed: bool
    approval_number: str | None
    approval_expires: int | None
    persons: int
    chilled_kg: float
    frozen_kg: float
    categories: list[str]


@dataclass
class LotSpec:
    donor: int  # index into World.donors (platforms first)
    storage: StorageClass
    category: Category
    dating: tuple[DateKind, int] | None  # (kind, days from today)
    expiry_shift: int | None  # seconds from now: overrides the computed expiry
    fse_plus: bool
    divisible: bool
    weight_g: int
    remaining_g: int
    min_part_g: int
    status: LotStatus
    pickup_until_s: int  # seconds from now
    wave: int
    offers: dict[int, int]  # platform index -> wave
    next_wave_h: int | None


@dataclass
class World:
    now: datetime
    platforms: list[OrgSpec]
    donors: list[OrgSpec]  # other donors; lots may come from platforms too
    recipients: list[OrgSpec]
    conventions: list[ConventionSpec]
    lots: list[LotSpec] = field(default_factory=list)


def mostly(usual, *others):
    """``usual`` about four times in five, else one of ``others``: every gate is mostly
    open, so that eligible pairs are common and each refusal still shows up.
    (``sampled_from`` favours both ends of its list, so ``usual`` sits at both.)"""
    n = max(2, 2 * len(others))
    return st.sampled_from([usual] * n + list(others) + [usual] * n)


places = st.sampled_from(PLACES)
verifications = mostly(Verification.VERIFIED, Verification.PENDING, Verification.REJECTED)


@st.composite
def org_specs(draw, kinds):
    return OrgSpec(
        kind=draw(kinds),
        place=draw(places),
        verification=draw(verifications),
        mode=draw(st.sampled_from([None, *DistributionMode])),
    )


@st.composite
def convention_specs(draw, platform: int, recipient: int):
    valid_from = draw(mostly(-30, None, 0, 1))
    valid_until = draw(mostly(300, None, 0, -1))
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        valid_until = None
    fse = draw(st.booleans())
    return ConventionSpec(
        platform=platform,
        recipient=recipient,
        status=draw(
            mostly(
                ConventionStatus.ACTIVE,
                *(s for s in ConventionStatus if s != ConventionStatus.ACTIVE),
            )
        ),
        valid_from=valid_from,
        valid_until=valid_until,
        fse_allowed=fse,
        approval_number=draw(mostly("FSE+/BE/1", "", None)),
        approval_expires=draw(mostly(30, 0, -1, None)) if fse else None,
        persons=draw(mostly(120, 0)),
        chilled_kg=draw(st.sampled_from([0.0, 150.0])),
        frozen_kg=draw(st.sampled_from([0.0, 80.0])),
        categories=draw(
            mostly([], ["dairy"], ["bakery", "fruit_veg"], ["dry_goods", "frozen", "meat_fish"])
        ),
    )


@st.composite
def lot_specs(draw, n_platforms: int, n_donors: int):
    donor = draw(st.integers(0, n_platforms + n_donors - 1))
    storage = draw(st.sampled_from(list(StorageClass)))
    dated = storage != StorageClass.AMBIENT or draw(st.booleans())
    # Days from today: 0 lasts until midnight, Brussels time; -10 and -40 are still within
    # the grace period of some ambient best-before categories.
    days = mostly(3, 1, 0, -1, -10, -40)
    dating = (draw(st.sampled_from(list(DateKind))), draw(days)) if dated else None
    divisible = draw(st.booleans())
    weight = draw(st.sampled_from([500, 12_000, 100_000, 400_000]))
    status = draw(mostly(LotStatus.OPEN, LotStatus.CLAIMED, LotStatus.WITHDRAWN, LotStatus.EXPIRED))
    if status == LotStatus.CLAIMED:
        remaining = 0
    elif divisible:
        remaining = draw(mostly(weight, weight // 2, 0))
    else:  # an indivisible lot goes whole: all of it is left, or nothing
        remaining = draw(mostly(weight, 0))
    wave = draw(mostly(3, 1, 2))
    offers = (
        {}
        if wave == 3
        else draw(
            st.dictionaries(
                st.integers(0, n_platforms - 1), st.integers(1, wave), max_size=n_platforms
            )
        )
    )
    return LotSpec(
        donor=donor,
        storage=storage,
        category=draw(st.sampled_from(CATEGORIES)),
        dating=dating,
        # Expiring exactly now, or a second either side of now.
        expiry_shift=draw(mostly(None, -1, 0, 1)) if dated else None,
        fse_plus=donor < n_platforms and draw(st.booleans()),  # only platforms post FSE+
        divisible=divisible,
        weight_g=weight,
        remaining_g=remaining,
        min_part_g=draw(st.sampled_from([0, 5_000, 20_000])) if divisible else 0,
        status=status,
        pickup_until_s=draw(mostly(30 * 3600, 3600, 1, 0, -3600)),
        wave=wave,
        offers=offers,
        next_wave_h=draw(st.sampled_from([None, 6])) if wave < 3 else None,
    )


@st.composite
def worlds(draw):
    platforms = draw(st.lists(org_specs(st.just("platform")), min_size=1, max_size=3))
    donors = draw(
        st.lists(
            org_specs(st.sampled_from(["producer", "shop", "auction"])), min_size=1, max_size=2
        )
    )
    recipients = draw(
        st.lists(
            org_specs(mostly("cpas", "platform", "producer") | st.just("association")),
            min_size=2,
            max_size=5,
        )
    )
    conventions = [
        draw(convention_specs(p, r))
        for p in range(len(platforms))
        for r in range(len(recipients))
        if draw(mostly(True, False))
    ]  # one at most per pair, as the service
    lots = draw(st.lists(lot_specs(len(platforms), len(donors)), min_size=2, max_size=6))
    return World(
        now=draw(st.sampled_from(MOMENTS)),
        platforms=platforms,
        donors=donors,
        recipients=recipients,
        conventions=conventions,
        lots=lots,
    )


# --- building a world in the database ---------------------------------------------------


def _org(spec: OrgSpec):
    org = factories.org(
        spec.kind,
        postcode=spec.place[0],
        locality=spec.place[1],
        mode=spec.mode.value if spec.mode else None,
    )
    org.verification = spec.verification
    return org


def _day(today: date, offset: int | None) -> date | None:
    return None if offset is None else today + timedelta(days=offset)


def build(world: World):
    now, today = world.now, lot_dates.local_today(world.now)
    platforms = [_org(s) for s in world.platforms]
    donors = platforms + [_org(s) for s in world.donors]
    recipients = [_org(s) for s in world.recipients]
    workers = [factories.user(o, Role.MEMBER) for o in recipients]
    for c in world.conventions:
        platform, recipient = platforms[c.platform], recipients[c.recipient]
        if platform.id == recipient.id:
            continue
        conv = factories.convention(
            platform,
            recipient,
            status=c.status,
            chilled_kg=c.chilled_kg,
            frozen_kg=c.frozen_kg,
            categories=c.categories,
            persons=c.persons,
        )
        conv.valid_from, conv.valid_until = _day(today, c.valid_from), _day(today, c.valid_until)
        conv.fse_plus_allowed = c.fse_allowed
        conv.fse_plus_approval_number = c.approval_number
        conv.fse_plus_approval_expires = _day(today, c.approval_expires)
    lots = []
    for s in world.lots:
        lot = factories.lot(
            donors[s.donor],
            kg=s.weight_g / 1000,
            storage=s.storage.value,
            category=s.category.value,
            divisible=s.divisible,
            fse_plus=s.fse_plus,
        )
        if s.dating is None:
            lot.date_kind = lot.best_date = lot.expires_at = None
        else:
            kind, days = s.dating
            lot.date_kind, lot.best_date = kind, today + timedelta(days=days)
            lot.expires_at = lot_dates.expires_at(kind, lot.best_date, s.category, s.storage)
            if s.expiry_shift is not None:
                lot.expires_at = now + timedelta(seconds=s.expiry_shift)
        lot.remaining_g, lot.status = s.remaining_g, s.status
        lot.min_part_g = min(s.min_part_g, s.weight_g)
        lot.pickup_until = now + timedelta(seconds=s.pickup_until_s)
        lot.pickup_from = min(lot.pickup_until, now) - timedelta(hours=2)
        lot.wave = s.wave
        lot.next_wave_at = now + timedelta(hours=s.next_wave_h) if s.next_wave_h else None
        for p, wave in s.offers.items():
            db.session.add(LotOffer(lot_id=lot.id, platform_id=platforms[p].id, wave=wave))
        lots.append(lot)
    db.session.flush()
    return platforms, recipients, workers, lots


# --- the five readings ------------------------------------------------------------------


def _listed(org, now: datetime) -> set[int]:
    page = browse.browse(db.session, org, browse.Filters(), per_page=1000, now=now)
    assert page.total == len(page.cards)
    return {card.lot.id for card in page.cards}


def _claim(worker, lot: Lot, now: datetime):
    """Claim every available kilogram in a savepoint, then undo it: (claim's
    convention id or None, the refusal)."""
    savepoint = db.session.begin_nested()
    try:
        claim, created = claims.claim_lot(
            db.session, worker, lot.id, lot.remaining_g / 1000, now=now
        )
        assert created
        return claim.convention_id, None
    except DomainError as error:
        return None, f"{type(error).__name__}: {error.message}"
    finally:
        savepoint.rollback()
        db.session.expire_all()


def _matcher_verdicts(platforms, recipients, lots, now: datetime):
    """{(lot id, org id): refusal keys of each platform's matcher run that sees the pair}
    — as ``allocation.propose`` feeds it: the lots offered to the platform's network,
    and each beneficiary through its conventions with that platform only."""
    params = matching_adapter.params(now)
    today = lot_dates.local_today(now)
    ids = [lot.id for lot in lots]
    by_id = {lot.id: lot for lot in lots}
    verdicts: dict[tuple[int, int], list[tuple[str, ...]]] = {}
    for platform in platforms:
        offered = db.session.scalars(
            select(Lot.id).where(
                eligibility.offerable_clause(now),
                eligibility.offered_clause(platform.id),
                Lot.id.in_(ids),
            )
        ).all()
        for org in recipients:
            mine = [
                ch
                for ch in eligibility.channels(db.session, org, today)
                if ch.convention.platform_id == platform.id
            ]
            if not mine:
                continue
            (ben,) = matching_adapter.beneficiaries(db.session, {org.id: (org, mine)}, now)
            for lot_id in offered:
                verdict = matching.eligibility(matching_adapter.to_lot(by_id[lot_id]), ben, params)
                verdicts.setdefault((lot_id, org.id), []).append(verdict.reasons)
    return verdicts


def _agrees(org, worker, lot: Lot, now: datetime, listed: set[int], verdicts) -> None:
    refusal = eligibility.lot_refusal(db.session, org, lot, now)
    eligible = refusal is None
    event(f"refusal: {refusal or 'none'}"[:60])
    story = (
        f"lot {lot.id} ({lot.status}, {lot.storage}, {lot.category}, fse={lot.fse_plus}, "
        f"wave={lot.wave}) for {org.kind} {org.id}: refusal={refusal!r}"
    )
    assert (lot.id in listed) == eligible, f"lot list disagrees: {story}"
    receiving = eligibility.receiving_channels(db.session, org, lot, now)
    through = eligibility.conventions_for(db.session, org, lot, now)
    assert bool(receiving) == bool(through) == eligible, f"conventions_for disagrees: {story}"
    if org.is_beneficiary:
        # A platform's users see the lots offered to its network (rule 6), another rule.
        # No claim exists in these worlds, so closed lots stay hidden as well.
        assert access.can(worker, access.VIEW, lot) == eligible, f"access disagrees: {story}"
    convention_id, why = _claim(worker, lot, now)
    assert (convention_id is not None) == eligible, f"claim disagrees: {story}, claim: {why}"
    if convention_id is not None:
        assert convention_id in {c.id for c in through}
    runs = verdicts.get((lot.id, org.id), [])
    assert any(not set(reasons) - MATCHER_ONLY for reasons in runs) == eligible, (
        f"matcher disagrees: {story}, matcher: {runs}"
    )
    if receiving:  # one beneficiary for this lot over all its platforms (a donor's view)
        (ben,) = matching_adapter.beneficiaries(db.session, {org.id: (org, receiving)}, now)
        verdict = matching.eligibility(
            matching_adapter.to_lot(lot), ben, matching_adapter.params(now)
        )
        assert not set(verdict.reasons) - MATCHER_ONLY, f"merged matcher: {story}, {verdict}"


def _use_by_agrees(lot: Lot, now: datetime) -> None:
    """The matcher's use-by (the adapter's ``use_by``) ends when the lot expires."""
    anyone = matching.Beneficiary(
        id=0,
        lat=50.0,
        lon=5.0,
        persons_per_week=1,
        max_km=1e6,
        capacity_kg=dict.fromkeys(matching.STORAGE_CLASSES, 1e6),
        fse_plus=True,
    )
    verdict = matching.eligibility(
        matching_adapter.to_lot(lot), anyone, matching_adapter.params(now)
    )
    expired = lot.expires_at is not None and lot.expires_at <= now
    assert ("past_use_by" in verdict.reasons) == expired, (
        f"lot {lot.id}: expires {lot.expires_at}, now {now}"
    )


AGREEMENT = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@AGREEMENT
@given(world=worlds())
def test_every_reading_of_eligibility_agrees(clock, world):
    clock.moment = now = world.now
    try:
        platforms, recipients, workers, lots = build(world)
        verdicts = _matcher_verdicts(platforms, recipients, lots, now)
        for org, worker in zip(recipients, workers, strict=True):
            listed = _listed(org, now)
            for lot in lots:
                _agrees(org, worker, lot, now, listed, verdicts)
        for lot in lots:
            _use_by_agrees(lot, now)
    finally:
        db.session.rollback()  # the test's session never commits: the world goes
