"""Posting, withdrawing and expiring lots."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from .. import access, clock
from ..errors import Conflict, Invalid
from ..models import Claim, ClaimStatus, Lot, LotStatus, User
from ..schemas.base import load
from ..schemas.fields import BAD_TEXT
from ..schemas.lot import LotInSchema
from . import events, notifications, waves
from .lot_input import LotDraft, check_lot

LOT_FIELDS = ("status", "remaining_g", "weight_g", "status_reason")
# The CSV template's columns, in the order donors know; each is a field of LotInSchema.
CSV_COLUMNS = [
    "title",
    "category",
    "description",
    "weight_kg",
    "units",
    "date_kind",
    "date",
    "storage",
    "product_kind",
    "max_temperature_c",
    "allergens",
    "fse_plus",
    "divisible",
    "min_part_kg",
    "pickup_from",
    "pickup_until",
    "postcode",
    "locality",
    "lot_number",
    "lat",
    "lon",
]
MAX_CSV_ROWS = 2000


def _build(actor: User, d: LotDraft) -> Lot:
    assert d.place is not None and d.category and d.storage
    assert d.pickup_from and d.pickup_until
    return Lot(
        donor_id=actor.organisation_id,
        created_by_id=actor.id,
        title=d.title,
        category=d.category,
        description=d.description,
        lot_number=d.lot_number,
        weight_g=d.weight_g,
        remaining_g=d.weight_g,
        units=d.units,
        date_kind=d.date_kind,
        best_date=d.best_date,
        expires_at=d.expires_at,
        storage=d.storage,
        product_kind=d.product_kind,
        max_temperature_c=d.max_temperature_c,
        allergens=d.allergens,
        fse_plus=d.fse_plus,
        divisible=d.divisible,
        min_part_g=d.min_part_g if d.divisible else 0,
        pickup_address=d.address,
        pickup_postcode=d.place.postcode,
        pickup_locality=d.place.locality,
        pickup_lat=d.place.lat,
        pickup_lon=d.place.lon,
        pickup_from=d.pickup_from,
        pickup_until=d.pickup_until,
    )


def publish(
    session: Session,
    actor: User,
    lot: Lot,
    now: datetime | None,
    all_reaches: list[waves.Reach] | None = None,
) -> None:
    events.record(
        session,
        actor,
        lot,
        "posted",
        after={
            "title": lot.title,
            "weight_g": lot.weight_g,
            "category": lot.category,
            "storage": lot.storage,
            "product_kind": lot.product_kind,
            "max_temperature_c": lot.max_temperature_c,
            "date_kind": lot.date_kind,
            "date": lot.best_date,
            "fse_plus": lot.fse_plus,
            "lot_number": lot.lot_number,
        },
    )
    waves.publish(session, lot, now, all_reaches)


def create_lot(
    session: Session, actor: User, values: Mapping[str, Any], now: datetime | None = None
) -> tuple[Lot, list[str]]:
    """Post one lot from :class:`LotInSchema`'s values; raises Invalid with per-field
    messages. Returns the lot and the warnings for the donor."""
    access.require_donor(actor)
    draft, errors = check_lot(values, actor.organisation, now)
    if errors:
        raise Invalid(str(_l("Please correct the marked fields.")), errors)
    lot = _build(actor, draft)
    session.add(lot)
    session.flush()
    publish(session, actor, lot, now)
    return lot, draft.warnings


def csv_template() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerow(
        [
            "Yaourts nature 125 g",
            "dairy",
            "",
            "120",
            "960",
            "use_by",
            "2026-12-04",
            "chilled",
            "",
            "",
            "milk",
            "no",
            "yes",
            "10",
            "2026-12-01T08:00+01:00",
            "2026-12-01T17:00+01:00",
            "",
            "",
            "L2411",
            "",
            "",
        ]
    )
    return out.getvalue()


def create_lots_from_csv(
    session: Session, actor: User, content: str, now: datetime | None = None
) -> list[Lot]:
    """All rows valid: post them all. Otherwise post nothing and raise Invalid whose
    ``extra["rows"]`` lists every bad row (line number and problems by column)."""
    access.require_donor(actor)
    sample = content[:2048]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(content), dialect=dialect)
    if not reader.fieldnames or "title" not in [f.strip() for f in reader.fieldnames]:
        raise Invalid(
            str(_l("The file has no header row with the template's columns.")),
            {"file": str(_l("Start from the downloadable template."))},
        )
    drafts, bad = [], []
    schema = LotInSchema()
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): "" if v is None else v for k, v in row.items()}
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if len(drafts) + len(bad) >= MAX_CSV_ROWS:
            raise Invalid(str(_l("At most %(n)d rows per file.", n=MAX_CSV_ROWS)))
        try:
            values = load(schema, row)
        except Invalid as error:
            bad.append({"line": line, "title": _cell(row.get("title")), "errors": error.fields})
            continue
        draft, errors = check_lot(values, actor.organisation, now)
        if errors:
            bad.append({"line": line, "title": values["title"], "errors": errors})
        else:
            drafts.append(draft)
    if bad:
        raise Invalid(
            str(_l("%(n)d rows have problems; nothing was posted.", n=len(bad))), rows=bad
        )
    if not drafts:
        raise Invalid(str(_l("The file has no lot.")), {"file": str(_l("The file is empty."))})
    lots = [_build(actor, d) for d in drafts]
    session.add_all(lots)
    session.flush()
    all_reaches = waves.reaches(session)
    for lot in lots:
        publish(session, actor, lot, now, all_reaches)
    return lots


def decode_csv(raw: bytes) -> str:
    """A CSV file's text: UTF-8 (with or without a byte-order mark) or, from older
    spreadsheets, Windows-1252. A file with UTF-8 sequences that does not decode is
    read as broken UTF-8 (each broken character refused in its row), not as 1252."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if re.search(rb"[\xc2-\xf4][\x80-\xbf]", raw):
            return raw.decode("utf-8-sig", errors="replace")
        return raw.decode("cp1252", errors="replace")


def _cell(value: Any) -> str:
    """A cell shown back in the list of bad rows: text only, never a control character."""
    return BAD_TEXT.sub("?", value)[:200] if isinstance(value, str) else ""


def withdraw_lot(
    session: Session, actor: User, lot: Lot, reason: str, notify: bool = True
) -> list[Claim]:
    """The donor withdraws a lot; its live claims are withdrawn with the reason."""
    access.require(actor, access.CHANGE, lot, str(_l("Only the donor can withdraw this lot.")))
    if lot.status not in (LotStatus.OPEN, LotStatus.CLAIMED):
        raise Conflict(str(_l("This lot can no longer be withdrawn.")))
    affected = stop_lot(session, actor, lot, reason.strip() or str(_l("Withdrawn by the donor.")))
    if notify:
        notifications.lot_withdrawn(session, lot, affected)
    return affected


def stop_lot(session: Session, actor: User | None, lot: Lot, reason: str) -> list[Claim]:
    """Withdraw ``lot`` (the caller decided it may): its claims not yet collected end
    withdrawn and leave their runs; a lot offered from depot stock puts what is still at
    the depot back in stock. Returns the claims withdrawn."""
    before = events.snapshot(lot, *LOT_FIELDS)
    lot.status = LotStatus.WITHDRAWN
    lot.status_reason = reason
    affected = [c for c in lot.claims if c.status == ClaimStatus.ACTIVE]
    from .booking import unbook

    for claim in affected:
        claim_before = events.snapshot(claim, "status", "grams")
        claim.status = ClaimStatus.WITHDRAWN
        claim.status_reason = reason
        unbook(session, actor, claim)
        events.record(
            session,
            actor,
            claim,
            "withdrawn",
            before=claim_before,
            after=events.snapshot(claim, "status", "grams"),
            reason=reason,
        )
    session.flush()
    if lot.stock_item_id is not None:  # still at the depot: back in stock
        from .depots.stock import return_to_stock

        return_to_stock(session, actor, lot, lot.remaining_g + sum(c.grams for c in affected))
    events.record(
        session,
        actor,
        lot,
        "withdrawn",
        before=before,
        after=events.snapshot(lot, *LOT_FIELDS),
        reason=reason,
        organisation_id=lot.donor_id,
    )
    return affected


def expire_lots(session: Session, now: datetime | None = None) -> int:
    """Mark lots past their use-by (or best-before + grace) or past an unclaimed pickup
    window as expired; cancel claims not collected before the use-by. Idempotent."""
    now = now or clock.now()
    past_date = and_(Lot.expires_at.is_not(None), Lot.expires_at <= now)
    due = or_(past_date, and_(Lot.status == LotStatus.OPEN, Lot.pickup_until <= now))
    rows = session.execute(
        select(Lot.id, Lot.status, Lot.remaining_g, past_date.label("past_date")).where(
            Lot.status.in_([LotStatus.OPEN, LotStatus.CLAIMED]), due
        )
    ).all()
    for lot_id, status, remaining, is_past_date in rows:
        reason = str(_l("Past its date.") if is_past_date else _l("Pickup window over."))
        done = session.execute(
            update(Lot)
            .where(Lot.id == lot_id, Lot.status == status)
            .values(status=LotStatus.EXPIRED, status_reason=reason)
        ).rowcount
        if not done:
            continue  # another scheduler or a claim got there first
        lot_ref = session.get(Lot, lot_id)
        events.record(
            session,
            None,
            lot_ref,
            "expired",
            reason=reason,
            before={"status": status.value, "remaining_g": remaining},
            after={"status": "expired"},
            organisation_id=lot_ref.donor_id,
        )
        if is_past_date:
            claims = session.scalars(
                select(Claim).where(Claim.lot_id == lot_id, Claim.status == ClaimStatus.ACTIVE)
            ).all()
            for claim in claims:
                claim.status = ClaimStatus.CANCELLED
                claim.status_reason = reason
                events.record(
                    session,
                    None,
                    claim,
                    "expired",
                    reason=reason,
                    after={"status": "cancelled"},
                    organisation_id=claim.beneficiary_id,
                )
    session.flush()
    return len(rows)
