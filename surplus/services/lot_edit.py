"""A donor corrects or extends a posted lot: its description, pickup window, kilograms
and units (schemas/lot_edit.py). What decides who may receive the food and how
(category, storage, dates) is not changed here: the donor withdraws and posts again.

Kilograms follow the claims' rule (DESIGN.md §3 rule 5): one conditional UPDATE that
moves ``weight_g`` and ``remaining_g`` by the same amount, on condition that the lot is
still open and that what is claimed *at write time* fits in the new weight. A claim
running at the same moment waits for it (PostgreSQL re-reads the row; SQLite writers
run one after the other), so ``remaining_g = weight_g - live claims`` always holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from .. import access, clock
from ..errors import Conflict, Invalid
from ..models import LIVE_CLAIM_STATUSES, Claim, Lot, LotStatus, User
from ..schemas.lot import window_order
from ..templating import number
from . import events, notifications
from .lot_input import grams, window_errors

EDITABLE_STATUSES = (LotStatus.OPEN, LotStatus.CLAIMED)
# The lot's columns an edit may change, in the event's before/after.
FIELDS = ("description", "pickup_from", "pickup_until", "weight_g", "remaining_g", "units")


def editable(lot: Lot) -> bool:
    """The lot can still be corrected: not expired, withdrawn or recalled."""
    return lot.status in EDITABLE_STATUSES


def not_open() -> Conflict:
    return Conflict(
        str(_l("This lot can no longer be changed: it has expired or was withdrawn or recalled."))
    )


def edit_lot(
    session: Session,
    actor: User,
    lot: Lot,
    values: Mapping[str, Any],
    now: datetime | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Apply :class:`LotEditSchema`'s values to ``lot``. Returns what changed as
    ``{column: (before, after)}`` (empty: nothing did). Raises Forbidden (403) for
    anyone but the donor's members, Invalid (400) for a window the food-safety rules
    refuse, Conflict (409) for fewer kilograms than are claimed or a lot no longer open.
    The organisations holding a live claim are told what changed."""
    access.require(actor, access.LOT_EDIT, lot, str(_l("Only the donor can change this lot.")))
    now = now or clock.now()
    # The lot as it is now, locked until commit on PostgreSQL (SQLite's writers run one
    # at a time): the checks and the event's "before" read what the UPDATE changes.
    session.execute(
        select(Lot)
        .where(Lot.id == lot.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if not editable(lot):
        raise not_open()
    new: dict[str, Any] = {}
    if "description" in values and values["description"] != lot.description:
        new["description"] = values["description"]
    if "units" in values and values["units"] != lot.units:
        new["units"] = values["units"]
    start = values.get("pickup_from") or lot.pickup_from
    end = values.get("pickup_until") or lot.pickup_until
    if (start, end) != (lot.pickup_from, lot.pickup_until):
        errors = window_order(start, end) or window_errors(start, end, lot.expires_at, now)
        if errors:
            raise Invalid(str(_l("Please correct the marked fields.")), errors)
        new |= {"pickup_from": start, "pickup_until": end}
    weight_g = grams(values["weight_kg"]) if values.get("weight_kg") is not None else None
    if weight_g is not None and weight_g != lot.weight_g:
        _check_weight(lot, weight_g)
        new["weight_g"] = weight_g
    if not new:
        return {}
    before = events.snapshot(lot, *FIELDS, "status")
    _write(session, lot, new)
    after = events.snapshot(lot, *FIELDS, "status")
    changed = {k: (before[k], after[k]) for k in (*FIELDS, "status") if before[k] != after[k]}
    events.record(
        session,
        actor,
        lot,
        "edited",
        before={k: b for k, (b, _a) in changed.items()},
        after={k: a for k, (_b, a) in changed.items()},
        organisation_id=lot.donor_id,
    )
    notifications.lot_changed(session, lot, _claimant_ids(session, lot), changed)
    return changed


def _check_weight(lot: Lot, weight_g: int) -> None:
    """The rules a new weight meets whatever the claims: the lot's smallest part fits in
    it; a lot that cannot be split keeps its weight once claimed (a claim takes it
    whole); depot stock keeps its kilograms in the stock, where they are counted."""
    if lot.stock_item_id is not None:
        raise Conflict(
            str(_l("The kilograms of a lot offered from depot stock are changed in the stock.")),
            {"weight_kg": str(_l("Not editable here."))},
        )
    if lot.divisible and weight_g < lot.min_part_g:
        message = str(_l("The minimum part cannot exceed the lot's weight."))
        raise Invalid(message, {"weight_kg": message})
    if not lot.divisible and lot.remaining_g != lot.weight_g:
        raise Conflict(
            str(_l("This lot cannot be split and is claimed: its weight stays as it is.")),
            {"weight_kg": str(_l("Not editable here."))},
        )


def _write(session: Session, lot: Lot, new: dict[str, Any]) -> None:
    """One conditional UPDATE: the lot still open and, for new kilograms, what is claimed
    now fitting in them. Refused: Conflict saying which."""
    conditions = [Lot.id == lot.id, Lot.status.in_([s.value for s in EDITABLE_STATUSES])]
    columns = {k: v for k, v in new.items() if k != "weight_g"}
    weight_g = new.get("weight_g")
    if weight_g is not None:
        remaining = Lot.remaining_g + weight_g - Lot.weight_g  # the old row's values
        conditions.append(Lot.weight_g - Lot.remaining_g <= weight_g)
        if not lot.divisible:
            conditions.append(Lot.remaining_g == Lot.weight_g)
        columns |= {
            "weight_g": weight_g,
            "remaining_g": remaining,
            "status": case((remaining == 0, LotStatus.CLAIMED.value), else_=LotStatus.OPEN.value),
        }
    done = session.execute(
        update(Lot)
        .where(*conditions)
        .values(**columns)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(lot)
    if done == 1:
        return
    if not editable(lot):
        raise not_open()
    claimed = number(lot.claimed_kg, 3)
    raise Conflict(
        str(_l("%(kg)s kg are already claimed: the weight cannot be less.", kg=claimed)),
        {"weight_kg": str(_l("At least %(kg)s kg.", kg=claimed))},
        claimed_kg=lot.claimed_kg,
    )


def _claimant_ids(session: Session, lot: Lot) -> list[int]:
    """The organisations holding a live claim on the lot (active, collected, delivered)."""
    return list(
        session.scalars(
            select(Claim.beneficiary_id)
            .where(Claim.lot_id == lot.id, Claim.status.in_(LIVE_CLAIM_STATUSES))
            .distinct()
            .order_by(Claim.beneficiary_id)
        )
    )
