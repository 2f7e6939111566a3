"""Which open lots a beneficiary may receive, and through which convention
(DESIGN.md §3 rules 1-4).

Each rule is written once, below, as a named row with its SQL form (filters the lot list
and the matcher's lots), its Python form (checks one lot or claim) and the sentence that
refuses, side by side:

- ``ORG_RULES``: who may receive at all (a verified CPAS or association). Python only:
  ``channels`` applies them, and no channel means nothing is eligible (``false()``).
- ``LOT_RULES``: the lot alone at ``now`` (open, kilograms left, before its date and the
  end of its pickup window, from a verified donor). ``offerable_clause`` is their SQL.
- ``CHANNEL_RULES``: the lot against one receiving channel, a convention in force (FSE+,
  storage class, category, offer wave). ``eligible_clause`` is "some channel passes them
  all" in SQL; ``lot_refusal`` and ``conventions_for`` say the same in Python.

``lot_refusal`` walks the rules in this order and gives the first refusal. The property
test ``tests/surplus/test_eligibility_agreement.py`` shows that both forms, the lot list,
access, claims and the matcher's adapter agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, bindparam, false, or_, select, true
from sqlalchemy.orm import Session, aliased

from .. import clock
from ..models import (
    Convention,
    ConventionStatus,
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


Offered = dict[int, int] | None  # {platform_id: wave} the lot is offered to; None: everyone


@dataclass(frozen=True)
class OrgRule:
    """Who may receive at all; ``refusal`` says why not."""

    name: str
    holds: Callable[[Organisation], bool]
    refusal: Callable[[Organisation], str]


@dataclass(frozen=True)
class LotRule:
    """A condition on the lot alone at ``now``: ``sql`` (a WHERE clause on ``Lot``) and
    ``holds`` (the same in Python) are one rule and must agree."""

    name: str
    sql: Callable[[datetime], ColumnElement[bool]]
    holds: Callable[[Lot, datetime], bool]
    refusal: Callable[[Lot], str]


@dataclass(frozen=True)
class ChannelRule:
    """A condition on the lot against one channel, in SQL and in Python, like ``LotRule``;
    ``holds`` also gets the platforms the lot is offered to (``offered_platforms``), and
    ``refusal`` the channels that did not get past it."""

    name: str
    sql: Callable[[Channel], ColumnElement[bool]]
    holds: Callable[[Channel, Lot, Offered], bool]
    refusal: Callable[[Organisation, Lot, list[Channel]], str]


def _says(message) -> Callable[..., str]:
    return lambda *_: str(message)


def free_distribution(org: Organisation, conv: Convention) -> bool:
    """Whether food received through ``conv`` is handed out free of charge: the convention
    declares free distribution, and the organisation has not declared a selling channel
    (a social grocery is refused FSE+ whatever else it holds). The one definition, read by
    the FSE+ rule and the donation documents (VAT relief)."""
    declared = org.distribution_mode
    return conv.distribution_mode.is_free and (declared is None or declared.is_free)


def _fse_refusal(org: Organisation, lot: Lot, chans: list[Channel]) -> str:
    from ..labels import label

    selling = org.distribution_mode
    if selling is not None and not selling.is_free:
        return str(
            _l(
                "FSE+ stock is only for free distribution; your organisation has declared: "
                "%(mode)s.",
                mode=label("distribution", selling),
            )
        )
    today = local_today()
    for ch in chans:
        if ch.convention.allows_fse_plus(today) and not ch.convention.distribution_mode.is_free:
            return str(
                _l(
                    "FSE+ stock is only for free distribution; your convention with "
                    "%(platform)s declares: %(mode)s.",
                    platform=ch.convention.platform.name,
                    mode=label("distribution", ch.convention.distribution_mode),
                )
            )
    return str(_l("FSE+ stock: your organisation has no FSE+ approval in force."))


def _storage_refusal(org: Organisation, lot: Lot, chans: list[Channel]) -> str:
    # Never for ambient lots: every channel stores ambient goods.
    if lot.storage == StorageClass.FROZEN:
        return str(_l("Frozen food: your convention declares no freezer storage."))
    return str(_l("Chilled food: your convention declares no chilled storage."))


def _wave_refusal(org: Organisation, lot: Lot, chans: list[Channel]) -> str:
    if lot.next_wave_at is None:
        return str(
            _l(
                "For now this lot is offered only to the networks of nearby "
                "platforms (wave %(wave)d of 3).",
                wave=lot.wave,
            )
        )
    return str(
        _l(
            "For now this lot is offered only to the networks of nearby "
            "platforms (wave %(wave)d of 3); it opens wider on %(when)s.",
            wave=lot.wave,
            when=format_datetime(lot.next_wave_at, "short"),
        )
    )


_DONOR = aliased(Organisation)
# Correlated (the donor's row by its key) rather than ``donor_id IN (verified ids)``:
# SQLite builds that list of every verified organisation for each query and probes it
# for every open lot, which cost the lot list most of its time (bench/README.md).
_DONOR_VERIFIED = (
    select(_DONOR.id)
    .where(_DONOR.id == Lot.donor_id, _DONOR.verification == Verification.VERIFIED)
    .exists()
)

ORG_RULES: tuple[OrgRule, ...] = (
    OrgRule(
        "beneficiary",
        lambda org: org.is_beneficiary,
        _says(_l("Only CPAS and associations can claim lots.")),
    ),
    OrgRule(
        "verified",
        lambda org: org.verification == Verification.VERIFIED,
        _says(_l("Your organisation is awaiting verification by a platform.")),
    ),
)

LOT_RULES: tuple[LotRule, ...] = (
    LotRule(
        "open",
        lambda now: Lot.status == LotStatus.OPEN,
        lambda lot, now: lot.status == LotStatus.OPEN,
        _says(_l("This lot is no longer available.")),
    ),
    LotRule(
        "kilograms_left",
        lambda now: Lot.remaining_g > 0,
        lambda lot, now: lot.remaining_g > 0,
        _says(_l("This lot is no longer available.")),
    ),
    LotRule(
        "before_its_date",  # expires_at: the first moment it may no longer be given
        lambda now: or_(Lot.expires_at.is_(None), Lot.expires_at > now),
        lambda lot, now: lot.expires_at is None or lot.expires_at > now,
        _says(_l("This lot has expired.")),
    ),
    LotRule(
        "pickup_window_open",
        lambda now: Lot.pickup_until > now,
        lambda lot, now: lot.pickup_until > now,
        _says(_l("This lot has expired.")),
    ),
    LotRule(
        "donor_verified",
        lambda now: _DONOR_VERIFIED,
        lambda lot, now: lot.donor.verification == Verification.VERIFIED,
        _says(_l("This donor is not verified yet.")),
    ),
)

CHANNEL_RULES: tuple[ChannelRule, ...] = (
    ChannelRule(
        "fse_plus",
        lambda ch: true() if ch.fse_plus else Lot.fse_plus.is_(False),
        lambda ch, lot, offered: ch.fse_plus or not lot.fse_plus,
        _fse_refusal,
    ),
    ChannelRule(
        "storage",
        lambda ch: Lot.storage.in_(sorted(ch.storages)),
        lambda ch, lot, offered: lot.storage in ch.storages,
        _storage_refusal,
    ),
    ChannelRule(
        "category",
        lambda ch: true() if ch.categories is None else Lot.category.in_(sorted(ch.categories)),
        lambda ch, lot, offered: ch.categories is None or lot.category.value in ch.categories,
        _says(_l("Your conventions do not cover this category.")),
    ),
    ChannelRule(
        "offered",  # the lot's current wave reaches the convention's platform
        lambda ch: offered_clause(ch.convention.platform_id),
        lambda ch, lot, offered: offered is None or ch.convention.platform_id in offered,
        _wave_refusal,
    ),
)


def _may_receive(org: Organisation) -> bool:
    return all(rule.holds(org) for rule in ORG_RULES)


def channels(session: Session, org: Organisation, today: date | None = None) -> list[Channel]:
    """The beneficiary's conventions in force today, as receiving channels."""
    return channels_by_org(session, [org], today).get(org.id, [])


# Built once, as every statement read at each page, look and placement tick: built at each
# call, SQLAlchemy spends about 100 µs on it (the statement, then its cache key) before the
# database sees it, half of a query this small.
_ACTIVE_CONVENTIONS = (
    select(Convention)
    .where(
        Convention.beneficiary_id.in_(bindparam("orgs", expanding=True)),
        Convention.status == ConventionStatus.ACTIVE,
    )
    .order_by(Convention.id)
)


def channels_by_org(
    session: Session, orgs: list[Organisation], today: date | None = None
) -> dict[int, list[Channel]]:
    """``channels`` of many organisations with one query."""
    wanted = {o.id: o for o in orgs if _may_receive(o)}
    if not wanted:
        return {}
    today = today or local_today()
    rows = session.scalars(_ACTIVE_CONVENTIONS, {"orgs": list(wanted)}).all()
    result: dict[int, list[Channel]] = {}
    for conv in rows:
        if not conv.in_force(today):
            continue
        org = wanted[conv.beneficiary_id]
        storages = {StorageClass.AMBIENT}
        if conv.chilled_capacity_kg > 0:
            storages.add(StorageClass.CHILLED)
        if conv.frozen_capacity_kg > 0:
            storages.add(StorageClass.FROZEN)
        result.setdefault(org.id, []).append(
            Channel(
                convention=conv,
                categories=frozenset(conv.accepted_categories)
                if conv.accepted_categories
                else None,
                storages=frozenset(storages),
                fse_plus=conv.allows_fse_plus(today) and free_distribution(org, conv),
            )
        )
    return result


def channel_accepts(ch: Channel, lot: Lot) -> bool:
    """The channel would carry the lot once its wave reaches the channel's platform."""
    return all(rule.holds(ch, lot, None) for rule in CHANNEL_RULES)


def offerable_clause(now: datetime):
    """SQL: the lot is open, has kilograms left, can still be picked up and given."""
    return and_(*(rule.sql(now) for rule in LOT_RULES))


def offered_clause(platform_id: int):
    """SQL: the lot is offered to ``platform_id``'s network in its current wave
    (services/waves.py): wave 3 is everyone, waves 1-2 have a LotOffer row."""
    return or_(
        Lot.wave >= LAST_WAVE,
        Lot.id.in_(select(LotOffer.lot_id).where(LotOffer.platform_id == platform_id)),
    )


def offered_platforms(session: Session, lot: Lot) -> Offered:
    """``{platform_id: wave}`` the lot is offered to now; None in wave 3 (everyone)."""
    if lot.wave >= LAST_WAVE:
        return None
    return dict(
        session.execute(
            select(LotOffer.platform_id, LotOffer.wave).where(LotOffer.lot_id == lot.id)
        ).all()
    )


def eligible_clause(chans: list[Channel]):
    """SQL: at least one channel passes every channel rule."""
    if not chans:
        return false()
    return or_(*(and_(*(rule.sql(ch) for rule in CHANNEL_RULES)) for ch in chans))


# The lot rules that say whether kilograms are still there, rather than who may have them.
AVAILABILITY = frozenset({"open", "kilograms_left"})


def _judge(
    session: Session,
    org: Organisation,
    lot: Lot,
    now: datetime | None,
    chans: list[Channel] | None,
    skip: frozenset[str] = frozenset(),
) -> tuple[str | None, list[Channel]]:
    """The first refusal in rule order, or None and the channels passing every rule
    (the lot rules named in ``skip`` left out)."""
    now = now or clock.now()
    for org_rule in ORG_RULES:
        if not org_rule.holds(org):
            return org_rule.refusal(org), []
    for lot_rule in LOT_RULES:
        if lot_rule.name not in skip and not lot_rule.holds(lot, now):
            return lot_rule.refusal(lot), []
    if chans is None:
        chans = channels(session, org, local_today(now))
    if not chans:
        return str(_l("Your organisation has no convention in force with a platform.")), []
    offered = offered_platforms(session, lot)
    passing = chans
    for rule in CHANNEL_RULES:  # the refusal names the first rule no channel gets past
        tried, passing = passing, [ch for ch in passing if rule.holds(ch, lot, offered)]
        if not passing:
            return rule.refusal(org, lot, tried), []
    return None, passing


def entitled(session: Session, org: Organisation, lot: Lot, now: datetime | None = None) -> bool:
    """Whether ``org`` could receive ``lot`` if it still had kilograms: a claim may tell
    it that someone was faster only then."""
    return _judge(session, org, lot, now, None, skip=AVAILABILITY)[0] is None


def lot_refusal(
    session: Session,
    org: Organisation,
    lot: Lot,
    now: datetime | None = None,
    chans: list[Channel] | None = None,
) -> str | None:
    """Why ``org`` may not receive ``lot`` now, as a sentence; None when it may.
    ``chans`` saves reading the organisation's conventions again when the caller has."""
    return _judge(session, org, lot, now, chans)[0]


def receiving_channels(
    session: Session,
    org: Organisation,
    lot: Lot,
    now: datetime | None = None,
    chans: list[Channel] | None = None,
) -> list[Channel]:
    """The channels through which ``org`` may receive ``lot`` now (empty when it may not).
    Merge only these into one matcher beneficiary for a single lot: merging all of an
    organisation's channels would let one convention's FSE+ approval and another's cold
    room, or a platform the lot's wave has not reached, pass together."""
    return _judge(session, org, lot, now, chans)[1]


def conventions_for(
    session: Session, org: Organisation, lot: Lot, now: datetime | None = None
) -> list[Convention]:
    """Conventions through which ``org`` may claim ``lot`` (empty when it may not)."""
    return [ch.convention for ch in receiving_channels(session, org, lot, now)]


def depot_refusal(
    session: Session,
    platform: Organisation,
    lot: Lot,
    now: datetime | None = None,
    entitled_only: bool = False,
) -> str | None:
    """Why a logistics platform may not claim ``lot`` for its own depot (None when it
    may): it is verified, the lot rules hold, the lot's current wave reaches the
    platform, the lot is not its own, and it is not FSE+ stock (FSE+ food enters a depot
    from its supplier, through a receipt, and leaves it to approved organisations).
    ``entitled_only`` leaves out whether kilograms are left (as ``entitled``)."""
    now = now or clock.now()
    if not platform.is_platform or platform.verification != Verification.VERIFIED:
        return str(_l("Only a verified logistics platform takes lots into its depot."))
    for lot_rule in LOT_RULES:
        if not (entitled_only and lot_rule.name in AVAILABILITY) and not lot_rule.holds(lot, now):
            return lot_rule.refusal(lot)
    if lot.donor_id == platform.id:
        return str(_l("This lot is your platform's own."))
    if lot.fse_plus:
        return str(_l("FSE+ stock enters a depot from its supplier, not through a claim."))
    offered = offered_platforms(session, lot)
    if offered is not None and platform.id not in offered:
        return _wave_refusal(platform, lot, [])
    return None
