"""Which open lots a beneficiary may receive, and through which convention
(DESIGN.md §3 rules 1-4). The same rules filter the lot list (as SQL) and check a
single lot or claim (in Python), so they are written side by side here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session, aliased

from ..models import (
    Convention,
    ConventionStatus,
    DistributionMode,
    Lot,
    LotOffer,
    LotStatus,
    Organisation,
    StorageClass,
    Verification,
)
from .lot_dates import local_today

LAST_WAVE = 3  # offered to every platform

@dataclass(frozen=True)
class Channel:
    """What one convention in force lets its beneficiary receive."""

    convention: Convention
    categories: frozenset[str] | None  # None: every category
    storages: frozenset[StorageClass]
    fse_plus: bool


def channels(session: Session, org: Organisation, today: date | None = None) -> list[Channel]:
    """The beneficiary's conventions in force today, as receiving channels."""
    return channels_by_org(session, [org], today).get(org.id, [])


def channels_by_org(session: Session, orgs: list[Organisation],
                    today: date | None = None) -> dict[int, list[Channel]]:
    """``channels`` of many organisations with one query."""
    wanted = {o.id: o for o in orgs
              if o.is_beneficiary and o.verification == Verification.VERIFIED}
    if not wanted:
        return {}
    today = today or local_today()
    rows = session.scalars(
        select(Convention).where(Convention.beneficiary_id.in_(list(wanted)),
                                 Convention.status == ConventionStatus.ACTIVE)
        .order_by(Convention.id)).all()
    result: dict[int, list[Channel]] = {}
    for conv in rows:
        if not conv.in_force(today):
            continue
        org = wanted[conv.beneficiary_id]
        selling = org.distribution_mode == DistributionMode.SOCIAL_GROCERY
        storages = {StorageClass.AMBIENT}
        if conv.chilled_capacity_kg > 0:
            storages.add(StorageClass.CHILLED)
        if conv.frozen_capacity_kg > 0:
            storages.add(StorageClass.FROZEN)
        result.setdefault(org.id, []).append(Channel(
            convention=conv,
            categories=frozenset(conv.accepted_categories) if conv.accepted_categories else None,
            storages=frozenset(storages),
            fse_plus=conv.allows_fse_plus(today) and not selling,
        ))
    return result


def channel_accepts(ch: Channel, lot: Lot) -> bool:
    return (
        (ch.categories is None or lot.category.value in ch.categories)
        and lot.storage in ch.storages
        and (not lot.fse_plus or ch.fse_plus)
    )


_DONOR = aliased(Organisation)


def offerable_clause(now: datetime):
    """SQL: the lot is open, has kilograms left, can still be picked up and given."""
    donor = _DONOR
    return and_(
        Lot.status == LotStatus.OPEN,
        Lot.remaining_g > 0,
        Lot.pickup_until > now,
        or_(Lot.expires_at.is_(None), Lot.expires_at > now),
        Lot.donor_id.in_(select(donor.id).where(donor.verification == Verification.VERIFIED)),
    )


def offered_clause(platform_id: int):
    """SQL: the lot is offered to ``platform_id``'s network in its current wave
    (services/waves.py): wave 3 is everyone, waves 1-2 have a LotOffer row."""
    return or_(Lot.wave >= LAST_WAVE, Lot.id.in_(
        select(LotOffer.lot_id).where(LotOffer.platform_id == platform_id)))


def offered_platforms(session: Session, lot: Lot) -> dict[int, int] | None:
    """``{platform_id: wave}`` the lot is offered to now; None in wave 3 (everyone)."""
    if lot.wave >= LAST_WAVE:
        return None
    return dict(session.execute(select(LotOffer.platform_id, LotOffer.wave)
                                .where(LotOffer.lot_id == lot.id)).all())


def eligible_clause(chans: list[Channel]):
    """SQL: at least one channel accepts the lot and the lot is offered to its platform."""
    if not chans:
        return false()
    parts = []
    for ch in chans:
        cond = [Lot.storage.in_(list(ch.storages)), offered_clause(ch.convention.platform_id)]
        if ch.categories is not None:
            cond.append(Lot.category.in_(sorted(ch.categories)))
        if not ch.fse_plus:
            cond.append(Lot.fse_plus.is_(False))
        parts.append(and_(*cond))
    return or_(*parts)


def lot_refusal(session: Session, org: Organisation, lot: Lot, now: datetime | None = None,
                chans: list[Channel] | None = None) -> str | None:
    """Why ``org`` may not receive ``lot`` now, as a sentence; None when it may.
    ``chans`` saves reading the organisation's conventions again when the caller has."""
    now = now or datetime.now(UTC)
    if not org.is_beneficiary:
        return str(_l("Only CPAS and associations can claim lots."))
    if org.verification != Verification.VERIFIED:
        return str(_l("Your organisation is awaiting verification by a platform."))
    if lot.status != LotStatus.OPEN or lot.remaining_g <= 0:
        return str(_l("This lot is no longer available."))
    if (lot.expires_at is not None and lot.expires_at <= now) or lot.pickup_until <= now:
        return str(_l("This lot has expired."))
    if lot.donor.verification != Verification.VERIFIED:
        return str(_l("This donor is not verified yet."))
    if chans is None:
        chans = channels(session, org, local_today(now))
    if not chans:
        return str(_l("Your organisation has no convention in force with a platform."))
    if lot.fse_plus and not any(ch.fse_plus for ch in chans):
        if org.distribution_mode == DistributionMode.SOCIAL_GROCERY:
            return str(_l("FSE+ stock is given free of charge and cannot go to a social "
                          "grocery."))
        return str(_l("FSE+ stock: your organisation has no FSE+ approval in force."))
    if lot.storage == StorageClass.CHILLED and not any(
            StorageClass.CHILLED in ch.storages for ch in chans):
        return str(_l("Chilled food: your convention declares no chilled storage."))
    if lot.storage == StorageClass.FROZEN and not any(
            StorageClass.FROZEN in ch.storages for ch in chans):
        return str(_l("Frozen food: your convention declares no freezer storage."))
    accepting = [ch for ch in chans if channel_accepts(ch, lot)]
    if not accepting:
        return str(_l("Your conventions do not cover this category."))
    offered = offered_platforms(session, lot)
    if offered is not None and not any(ch.convention.platform_id in offered
                                       for ch in accepting):
        if lot.next_wave_at is None:
            return str(_l("For now this lot is offered only to the networks of nearby "
                          "platforms (wave %(wave)d of 3).", wave=lot.wave))
        return str(_l("For now this lot is offered only to the networks of nearby "
                      "platforms (wave %(wave)d of 3); it opens wider on %(when)s.",
                      wave=lot.wave, when=format_datetime(lot.next_wave_at, "short")))
    return None


def conventions_for(session: Session, org: Organisation, lot: Lot,
                    now: datetime | None = None) -> list[Convention]:
    """Conventions through which ``org`` may claim ``lot`` (empty when it may not)."""
    now = now or datetime.now(UTC)
    chans = channels(session, org, local_today(now))
    if lot_refusal(session, org, lot, now, chans) is not None:
        return []
    offered = offered_platforms(session, lot)
    return [ch.convention for ch in chans if channel_accepts(ch, lot)
            and (offered is None or ch.convention.platform_id in offered)]
