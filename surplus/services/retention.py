"""The retention job: personal data kept only as long as traceability needs it.

Traceability (Reg. (EC) 178/2002 art. 18, DESIGN.md §3 rule 7) asks who handed what to
whom, how much, when, with which lot number and temperature: organisations, products,
quantities and times. It does not need the name of the person who signed for a crate,
a driver's free-text note, or a social worker's phone number once the convention is
long over. So, ``RETENTION_DAYS`` (default 730: two years) after a lot's date:

1. its hand-overs (stops, and self-collections: the claim's ``collected_by`` and
   ``collection_note``) lose the receiver's name and the note;
2. the free-text notes tied to it are blanked: allocation lines, depot receipts;
3. conventions ended or declined (or past their end date) that long ago lose their
   contact person's name and phone; transport agreements ended or refused that long
   ago lose their note.

A lot's date is its use-by or best-before date, or for an undated lot the end of its
pickup window; a stop with no claim (a round's plain delivery) goes by its run's start,
a depot receipt from outside Maillon by its own date (or its check). Everything else
stays: organisations, lots, lot numbers, grams, temperatures, times, statuses and the
append-only event log.

Besides, the account security log is kept ``SECURITY_LOG_DAYS`` (default 365), and API
tokens expired or revoked more than ``TOKEN_KEEP_DAYS`` ago are deleted.

Each step is one conditional UPDATE or DELETE (never a query per row), so a second run
finds nothing left to change and counts zeros. The counts are the job's log line
(``JobRun.counts``). Rows loaded in ``session`` before the run are not refreshed: the
job runs in its own session.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import Select, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from .. import clock
from ..models import (
    AgreementStatus,
    AllocationLine,
    ApiToken,
    Claim,
    Convention,
    ConventionStatus,
    Lot,
    Run,
    SecurityEvent,
    StockReceipt,
    Stop,
    TransportAgreement,
)
from .lot_dates import local_today

RETENTION_DAYS = 730
SECURITY_LOG_DAYS = 365
TOKEN_KEEP_DAYS = 30


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


def _changed(session: Session, statement) -> int:
    result = session.execute(statement.execution_options(synchronize_session=False))
    return max(result.rowcount or 0, 0)


def old_lots(before_day: date, before: datetime) -> Select:
    """Ids of the lots whose date is before ``before_day`` (undated lots: whose pickup
    window ended before ``before``)."""
    return select(Lot.id).where(
        or_(
            Lot.best_date < before_day,
            and_(Lot.best_date.is_(None), Lot.pickup_until < before),
        )
    )


def _blank_handovers(session: Session, lots: Select, before: datetime) -> int:
    claims = select(Claim.id).where(Claim.lot_id.in_(lots))
    old_runs = select(Run.id).where(Run.start_at < before)
    stops = _changed(
        session,
        update(Stop)
        .where(
            or_(
                Stop.claim_id.in_(claims),
                and_(Stop.claim_id.is_(None), Stop.run_id.in_(old_runs)),
            ),
            or_(Stop.receiver_name != "", Stop.note != ""),
        )
        .values(receiver_name="", note=""),
    )
    collections = _changed(  # a self-collection's hand-over (services/collection.py)
        session,
        update(Claim)
        .where(
            Claim.lot_id.in_(lots),
            or_(Claim.collected_by != "", Claim.collection_note != ""),
        )
        .values(collected_by="", collection_note=""),
    )
    return stops + collections


def _blank_notes(session: Session, lots: Select, before_day: date, before: datetime) -> int:
    claims = select(Claim.id).where(Claim.lot_id.in_(lots))
    lines = _changed(
        session,
        update(AllocationLine)
        .where(AllocationLine.lot_id.in_(lots), AllocationLine.note != "")
        .values(note=""),
    )
    receipts = _changed(
        session,
        update(StockReceipt)
        .where(
            StockReceipt.note != "",
            or_(
                StockReceipt.claim_id.in_(claims),
                and_(
                    StockReceipt.claim_id.is_(None),
                    or_(
                        StockReceipt.best_date < before_day,
                        and_(StockReceipt.best_date.is_(None), StockReceipt.checked_at < before),
                    ),
                ),
            ),
        )
        .values(note=""),
    )
    agreements = _changed(
        session,
        update(TransportAgreement)
        .where(
            TransportAgreement.note != "",
            or_(
                and_(
                    TransportAgreement.status.in_([AgreementStatus.ENDED, AgreementStatus.REFUSED]),
                    TransportAgreement.decided_at < before,
                ),
                TransportAgreement.valid_until < before_day,
            ),
        )
        .values(note=""),
    )
    return lines + receipts + agreements


def _blank_contacts(session: Session, before_day: date, before: datetime) -> int:
    return _changed(
        session,
        update(Convention)
        .where(
            or_(Convention.contact_phone != "", Convention.contact_name != ""),
            or_(
                and_(
                    Convention.status.in_([ConventionStatus.ENDED, ConventionStatus.DECLINED]),
                    Convention.decided_at < before,
                ),
                Convention.valid_until < before_day,
            ),
        )
        .values(contact_phone="", contact_name=""),
    )


def run(
    session: Session,
    now: datetime | None = None,
    *,
    days: int | None = None,
    security_days: int | None = None,
) -> dict[str, int]:
    """Blank and delete what is past its retention (see the module's docstring); returns
    what changed: ``handovers`` (stops), ``notes``, ``contacts`` (conventions),
    ``security_events`` and ``api_tokens`` (deleted). Flushes; the caller commits."""
    now = now or clock.now()
    days = _setting("RETENTION_DAYS", RETENTION_DAYS) if days is None else days
    if security_days is None:
        security_days = _setting("SECURITY_LOG_DAYS", SECURITY_LOG_DAYS)
    before = now - timedelta(days=days)
    before_day = local_today(now) - timedelta(days=days)
    lots = old_lots(before_day, before)
    counts = {
        "handovers": _blank_handovers(session, lots, before),
        "notes": _blank_notes(session, lots, before_day, before),
        "contacts": _blank_contacts(session, before_day, before),
        "security_events": _changed(
            session,
            delete(SecurityEvent).where(SecurityEvent.at < now - timedelta(days=security_days)),
        ),
        "api_tokens": _changed(
            session,
            delete(ApiToken).where(
                or_(
                    ApiToken.revoked_at < now - timedelta(days=TOKEN_KEEP_DAYS),
                    ApiToken.expires_at < now - timedelta(days=TOKEN_KEEP_DAYS),
                )
            ),
        ),
    }
    session.flush()
    return counts
