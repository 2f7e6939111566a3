"""Offer waves: who a lot is offered to, and when it reaches further.

1. Wave 1: the platforms whose service area covers the pickup place (the communes they
   declare, their own commune, or a radius around their depots). Their networks (the
   beneficiaries under a convention in force with them) may see and claim the lot.
2. Wave 2, ``WAVE_DELAY_HOURS`` later: also every platform within ``WAVE_RADIUS_KM``
   road km of the pickup place (from its depots or its seat).
3. Wave 3, after the same delay again: every platform. A lot within
   ``WAVE_URGENT_HOURS`` of its date goes to wave 3 at once, and a wave that would add
   no platform is skipped.

Waves 1 and 2 are stored as ``LotOffer`` rows (lot, platform, wave); wave 3 needs none.
``escalate`` is the scheduler's job; it moves a lot on with a conditional UPDATE on its
current wave, so two schedulers never escalate the same lot twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from matching.distance import RoadEstimate

from .. import clock
from ..models import (
    Convention,
    ConventionStatus,
    Depot,
    Lot,
    LotOffer,
    LotStatus,
    Organisation,
    OrgKind,
    Verification,
)
from . import events
from .eligibility import LAST_WAVE, offered_platforms


@dataclass(frozen=True)
class Settings:
    delay: timedelta
    radius_km: float
    urgent: timedelta
    circuity: float

    @classmethod
    def current(cls) -> Settings:
        config = current_app.config
        return cls(
            delay=timedelta(hours=config["WAVE_DELAY_HOURS"]),
            radius_km=config["WAVE_RADIUS_KM"],
            urgent=timedelta(hours=config["WAVE_URGENT_HOURS"]),
            circuity=config["ROAD_CIRCUITY"],
        )


@dataclass(frozen=True)
class Reach:
    """A platform as the waves see it: its area and the places its vans leave from."""

    platform_id: int
    postcodes: frozenset[str]
    radius_km: float | None
    points: tuple[tuple[float, float], ...]

    def km_to(self, lat: float, lon: float, road: RoadEstimate) -> float:
        return min(road.km(p_lat, p_lon, lat, lon) for p_lat, p_lon in self.points)

    def covers(self, postcode: str, lat: float, lon: float, road: RoadEstimate) -> bool:
        if postcode in self.postcodes:
            return True
        return self.radius_km is not None and self.km_to(lat, lon, road) <= self.radius_km


# Built once: read at every lot posted and every wave (services/eligibility.py says why).
_NETWORKED_PLATFORMS = (
    select(Organisation)
    .where(
        Organisation.kind == OrgKind.PLATFORM,
        Organisation.id.in_(
            select(Convention.platform_id).where(
                Convention.status.in_([ConventionStatus.ACTIVE, ConventionStatus.SUSPENDED])
            )
        ),
        Organisation.verification == Verification.VERIFIED,
    )
    .order_by(Organisation.id)
)
_ALL_DEPOTS = select(Depot)


def reaches(session: Session) -> list[Reach]:
    """Verified platforms with a network (a convention in force or suspended): a lot
    offered to a platform without beneficiaries would reach nobody."""
    platforms = session.scalars(_NETWORKED_PLATFORMS).all()
    depots: dict[int, list[tuple[float, float]]] = {}
    for depot in session.scalars(_ALL_DEPOTS):
        depots.setdefault(depot.platform_id, []).append((depot.lat, depot.lon))
    return [reach_of(p, depots.get(p.id, [])) for p in platforms]


def reach_of(platform: Organisation, depots: list[tuple[float, float]]) -> Reach:
    """A platform's service area: its declared communes and its own, and its radius
    around ``depots`` (its seat when it has none). Offer waves and verification read it."""
    return Reach(
        platform.id,
        frozenset([*(platform.service_postcodes or []), platform.postcode]),
        platform.service_radius_km,
        tuple(depots) or ((platform.lat, platform.lon),),
    )


def audience(lot: Lot, wave: int, all_reaches: list[Reach], settings: Settings) -> set[int]:
    """Platform ids whose networks a lot in ``wave`` is offered to (wave 3: all)."""
    road = RoadEstimate(settings.circuity)
    place = (lot.pickup_postcode, lot.pickup_lat, lot.pickup_lon)
    found = {r.platform_id for r in all_reaches if r.covers(*place, road)}
    if wave >= 2:
        found |= {
            r.platform_id
            for r in all_reaches
            if r.km_to(lot.pickup_lat, lot.pickup_lon, road) <= settings.radius_km
        }
    if wave >= LAST_WAVE:
        found |= {r.platform_id for r in all_reaches}
    return found


def _urgent(lot: Lot, now: datetime, settings: Settings) -> bool:
    return lot.expires_at is not None and lot.expires_at - now <= settings.urgent


def _next(
    lot: Lot,
    start: int,
    offered: set[int],
    now: datetime,
    all_reaches: list[Reach],
    settings: Settings,
) -> tuple[int, set[int]]:
    """The first wave from ``start`` that adds a platform (or the last), and its platforms."""
    if _urgent(lot, now, settings):
        return LAST_WAVE, audience(lot, LAST_WAVE, all_reaches, settings)
    wave = start
    while wave < LAST_WAVE:
        platforms = audience(lot, wave, all_reaches, settings)
        if platforms - offered:
            return wave, platforms
        wave += 1
    return LAST_WAVE, audience(lot, LAST_WAVE, all_reaches, settings)


def _offer(
    session: Session,
    lot: Lot,
    wave: int,
    platforms: set[int],
    offered: set[int],
    now: datetime,
    settings: Settings,
    notify: bool = True,
) -> list[int]:
    new = sorted(platforms - offered)
    if wave < LAST_WAVE:
        session.add_all(
            [LotOffer(lot_id=lot.id, platform_id=pid, wave=wave, offered_at=now) for pid in new]
        )
    lot.wave = wave
    lot.next_wave_at = now + settings.delay if wave < LAST_WAVE else None
    session.flush()
    if notify:
        from . import notifications

        notifications.new_lot_offered(session, lot, new)
    return new


def publish(
    session: Session,
    lot: Lot,
    now: datetime | None = None,
    all_reaches: list[Reach] | None = None,
    notify: bool = True,
) -> int:
    """Offer a newly posted lot in its first wave; returns the wave. ``all_reaches``
    saves reading the platforms again when posting many lots; ``notify=False`` (bulk
    demo data) tells nobody."""
    now = now or clock.now()
    settings = Settings.current()
    all_reaches = reaches(session) if all_reaches is None else all_reaches
    wave, platforms = _next(lot, 1, set(), now, all_reaches, settings)
    _offer(session, lot, wave, platforms, set(), now, settings, notify)
    return wave


def escalate(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Move on the open lots whose next wave is due, or whose date is near. Idempotent:
    each lot moves with a conditional UPDATE on the wave it was read in."""
    now = now or clock.now()
    settings = Settings.current()
    due = session.scalars(
        select(Lot)
        .where(
            Lot.status == LotStatus.OPEN,
            Lot.remaining_g > 0,
            Lot.wave < LAST_WAVE,
            or_(Lot.next_wave_at <= now, Lot.expires_at <= now + settings.urgent),
        )
        .order_by(Lot.id)
    ).all()
    if not due:
        return {"lots": 0, "platforms": 0}
    all_reaches = reaches(session)
    moved = reached = 0
    for lot in due:
        current = lot.wave
        offered = set(offered_platforms(session, lot) or {})
        wave, platforms = _next(lot, current + 1, offered, now, all_reaches, settings)
        took = session.execute(
            update(Lot)
            .where(Lot.id == lot.id, Lot.wave == current)
            .values(wave=wave)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not took:
            continue  # another scheduler moved it first
        moved += 1
        reached += len(_offer(session, lot, wave, platforms, offered, now, settings))
        events.record(
            session,
            None,
            lot,
            "escalated",
            before={"wave": current},
            after={"wave": wave, "platforms": sorted(platforms - offered)},
            organisation_id=lot.donor_id,
        )
    return {"lots": moved, "platforms": reached}


@dataclass(frozen=True)
class Visibility:
    """Why a beneficiary sees a lot: through which platform, since which wave."""

    platform: Organisation
    wave: int


def why_visible(session: Session, lot: Lot, conventions) -> list[Visibility]:
    """For each of ``conventions`` (the ones a beneficiary may claim the lot through),
    the platform and the wave that brought the lot to it."""
    offered = offered_platforms(session, lot)
    return [
        Visibility(
            conv.platform,
            LAST_WAVE if offered is None else offered.get(conv.platform_id, LAST_WAVE),
        )
        for conv in conventions
    ]


def offers(session: Session, lot: Lot) -> list[Visibility]:
    """The platforms a lot in wave 1 or 2 is offered to, by wave then name."""
    rows = session.execute(
        select(Organisation, LotOffer.wave)
        .join(LotOffer, LotOffer.platform_id == Organisation.id)
        .where(LotOffer.lot_id == lot.id)
    ).all()
    return sorted(
        (Visibility(org, wave) for org, wave in rows), key=lambda v: (v.wave, v.platform.name)
    )
