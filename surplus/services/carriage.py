"""Whether food a beneficiary claims, or may claim, can get to it: what the list's cards
and the claim's answer say.

A social worker claims from the list; whether a van brings the food is settled later,
when placement books the claim on a run (services/placement.py). Told before (on each
card of the list, :func:`for_lots`) and in the claim's answer (:func:`for_claim`), the
worker leaves alone, or cancels at once, what nothing can carry before the food's date
instead of holding it from organisations that can get it. The rules are placement's
own, not a second copy:

- **by a run**: a planned run, or a hub relay, of the claim's platform (or of one
  carrying for it) can take the claim's kilograms to the beneficiary before the date
  within the detour budget of those kilograms, the budget within which the scheduler
  books (:func:`services.reachability.reach`); on a card, as the matcher offers the lot:
  its smallest part, within the budget of what remains of it;
- **collected**: the beneficiary's own people can fetch it in time, within the radius
  its convention gives (:func:`services.self_collection.fetch_from`).

Neither is a promise (runs fill up; placement books and tells); both false means that,
as things stand, the food will not reach the beneficiary unless it fetches it anyway, and
``why`` says what no run had (reachability's reasons, ``matching.reach.UNREACHED``: none
in time, none with the refrigerated van or freezer, none passing near enough, or no room
or time on those that do), the nearest miss over the beneficiary's platforms.
Where the scheduler does not book (``PLACEMENT_ENABLED`` off: coordinators book every
claim by hand, at the detour they choose), nothing is said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.reach import nearest_miss

from .. import clock
from ..models import Claim, ClaimStatus, Lot, Organisation, Stop
from . import reachability, self_collection
from .eligibility import channels
from .lot_dates import local_today


@dataclass(frozen=True)
class Carriage:
    """How a claim's food can reach its beneficiary, as things stand."""

    by_run: bool
    collect_from: datetime | None  # the first moment its own people can fetch it
    why: str | None = None  # not by a run: what no run had (module docstring)

    @property
    def reachable(self) -> bool:
        return self.by_run or self.collect_from is not None


def for_claim(session: Session, claim: Claim, now: datetime | None = None) -> Carriage | None:
    """The carriage of an active claim not yet booked (the answer to claiming); None
    when the question does not arise (a platform's claim for its own depot, a claim
    cancelled, collected or delivered, one already on a run or its beneficiary chose to
    fetch, or a convention no longer in force)."""
    now = now or clock.now()
    conv = claim.convention
    if (
        not current_app.config["PLACEMENT_ENABLED"]
        or conv is None
        or claim.depot_id is not None
        or claim.status != ClaimStatus.ACTIVE
        or claim.self_collect
        or session.scalar(select(Stop.id).where(Stop.claim_id == claim.id).limit(1))
    ):
        return None
    org = claim.beneficiary
    mine = [ch for ch in channels(session, org, local_today(now)) if ch.convention.id == conv.id]
    if not mine:
        return None
    lot = claim.lot
    why: dict[int, str] = {}
    reached = reachability.reach(
        session,
        conv.platform_id,
        [lot],
        {org.id: (org, mine)},
        now,
        carry={lot.id: claim.kg},
        why=why,
    )
    fetch = self_collection.fetch_from(conv, lot, now)  # None unless it collects that far
    return Carriage(
        by_run=org.id in reached.get(lot.id, {}), collect_from=fetch, why=why.get(lot.id)
    )


def for_lots(
    session: Session, org: Organisation, lots: Sequence[Lot], now: datetime | None = None
) -> dict[int, Carriage]:
    """The carriage of each of ``lots`` (a page of the list) to ``org``, through any of
    its conventions in force: a run of any of its platforms, or its own people (the
    earliest moment any convention allows). Lots past their pickup are left out; nothing
    is said without the scheduler (module docstring)."""
    now = now or clock.now()
    lots = [lot for lot in lots if lot.remaining_g > 0 and lot.pickup_until > now]
    if not lots or not current_app.config["PLACEMENT_ENABLED"]:
        return {}
    by_run: set[int] = set()
    fetch: dict[int, datetime] = {}
    why: dict[int, str] = {}
    by_platform: dict[int, list] = {}
    for ch in channels(session, org, local_today(now)):
        by_platform.setdefault(ch.convention.platform_id, []).append(ch)
    for chans in by_platform.values():
        conv = chans[0].convention
        missed: dict[int, str] = {}
        reached = reachability.reach(
            session, conv.platform_id, lots, {org.id: (org, chans)}, now, why=missed
        )
        by_run |= {lot_id for lot_id, orgs in reached.items() if org.id in orgs}
        for lot_id, reason in missed.items():  # the nearest miss over its platforms
            why[lot_id] = nearest_miss(why.get(lot_id), reason)
        if conv.self_collect_km <= 0:
            continue
        for lot in lots:
            moment = self_collection.fetch_from(conv, lot, now)
            if moment is not None and (lot.id not in fetch or moment < fetch[lot.id]):
                fetch[lot.id] = moment
    return {
        lot.id: Carriage(
            lot.id in by_run, fetch.get(lot.id), None if lot.id in by_run else why.get(lot.id)
        )
        for lot in lots
    }
