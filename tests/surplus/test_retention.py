"""The retention job: two years after a lot's date its hand-overs lose the receiver's name
and note and its free-text notes are blanked; long-ended conventions lose their contact;
the security log and dead API tokens age out. What traceability needs stays, and a
second run changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from surplus import jobs
from surplus.extensions import db
from surplus.models import (
    AgreementStatus,
    AllocationBatch,
    AllocationLine,
    ApiToken,
    Category,
    Claim,
    ClaimStatus,
    Convention,
    ConventionStatus,
    DateKind,
    Event,
    Lot,
    ReceiptSource,
    SecurityEvent,
    SecurityEventKind,
    StockReceipt,
    Stop,
    StopKind,
    StopStatus,
    StorageClass,
    TransportAgreement,
)
from surplus.services import events, retention
from surplus.services.lot_dates import local_today
from tests import factories

YEAR = 365
NOW = datetime.now(UTC)


def _claim(w, lot, kg: float) -> Claim:
    claim = Claim(
        lot_id=lot.id,
        beneficiary_id=w.cpas.id,
        platform_id=w.platform.id,
        convention_id=w.cpas_convention.id,
        grams=int(kg * 1000),
        status=ClaimStatus.DELIVERED,
    )
    db.session.add(claim)
    db.session.flush()
    return claim


def _stops(w, run, claim, who: str) -> list[Stop]:
    """A pickup at the donor and a drop-off at the CPAS, both confirmed with a name and
    a note."""
    made = []
    for position, kind, org, delta in (
        (0, StopKind.PICKUP, w.donor, 10.0),
        (1, StopKind.DROPOFF, w.cpas, -10.0),
    ):
        stop = Stop(
            run_id=run.id,
            position=position,
            kind=kind,
            organisation_id=org.id,
            claim_id=claim.id if claim else None,
            lat=org.lat,
            lon=org.lon,
            load_delta_kg=delta,
            status=StopStatus.DONE,
            temperature_c=3.5,
            receiver_name=who,
            note=f"Laissé chez {who}",
            confirmed_at=run.start_at + timedelta(hours=position + 1),
        )
        db.session.add(stop)
        made.append(stop)
    db.session.flush()
    return made


def _receipt(depot, product: str, note: str, claim=None, best=None) -> StockReceipt:
    receipt = StockReceipt(
        depot_id=depot.id,
        source=ReceiptSource.CLAIM if claim else ReceiptSource.OUTSIDE,
        claim_id=claim.id if claim else None,
        supplier="" if claim else "Banque alimentaire",
        product=product,
        category=Category.DAIRY,
        storage=StorageClass.CHILLED,
        lot_number="L-42",
        date_kind=DateKind.USE_BY if best else None,
        best_date=best,
        grams=10_000,
        temperature_c=4.0,
        accepted=True,
        note=note,
        checked_at=NOW - timedelta(days=3 * YEAR) if best and best < local_today() else NOW,
    )
    db.session.add(receipt)
    db.session.flush()
    return receipt


@pytest.fixture
def kept(app, make_fleet, add_run):
    """Two lots of the same donor, one dated three years ago and one last month, each
    claimed, carried, received at the depot and allocated, with names and notes; old and
    recent conventions, agreements, security log lines and API tokens."""
    w = factories.world()
    depot, van, _template = make_fleet(w)
    today = local_today()
    w.old_lot = factories.lot(w.donor, kg=40, days=-3 * YEAR, title="Yaourts 2023")
    w.new_lot = factories.lot(w.donor, kg=40, days=-30, title="Yaourts du mois")
    for lot in (w.old_lot, w.new_lot):
        lot.lot_number = f"L-{lot.id}"
        lot.remaining_g = lot.weight_g - 10_000
    w.old_claim = _claim(w, w.old_lot, 10)
    w.new_claim = _claim(w, w.new_lot, 10)
    old_run = add_run(w.platform, depot, van, today - timedelta(days=3 * YEAR))
    new_run = add_run(w.platform, depot, van, today - timedelta(days=30))
    w.old_stops = _stops(w, old_run, w.old_claim, "Marie Dupont")
    w.new_stops = _stops(w, new_run, w.new_claim, "Jean Martin")
    # A round's plain stops (no claim) go by their run's date.
    w.old_plain = _stops(w, add_run(w.platform, depot, van, today - timedelta(days=800)), None, "A")
    w.new_plain = _stops(w, add_run(w.platform, depot, van, today - timedelta(days=700)), None, "B")

    batch = AllocationBatch(platform_id=w.platform.id)
    for lot in (w.old_lot, w.new_lot):
        batch.lines.append(
            AllocationLine(
                lot_id=lot.id,
                beneficiary_id=w.cpas.id,
                grams=10_000,
                km=3.0,
                explanation={},
                note="Appeler Mme Dubois avant",
            )
        )
    db.session.add(batch)
    w.receipts_old = [
        _receipt(depot, "Yaourts 2023", "Reçu par Paul", claim=w.old_claim),
        _receipt(depot, "Colis FSE+", "Chauffeur: Luc", best=today - timedelta(days=3 * YEAR)),
    ]
    w.receipts_new = [
        _receipt(depot, "Yaourts du mois", "Reçu par Anne", claim=w.new_claim),
        _receipt(depot, "Colis FSE+", "Chauffeur: Eva", best=today - timedelta(days=30)),
    ]

    def ended(beneficiary, days_ago: int) -> Convention:
        conv = factories.convention(w.platform, beneficiary, status=ConventionStatus.ENDED)
        conv.contact_name, conv.contact_phone = "Sophie", "+32 61 00 00 00"
        conv.valid_from = today - timedelta(days=days_ago + 400)
        conv.valid_until = today - timedelta(days=days_ago)
        conv.decided_at = NOW - timedelta(days=days_ago)
        return conv

    w.old_conv = ended(factories.org("cpas"), 3 * YEAR)
    w.recent_conv = ended(factories.org("cpas"), 30)
    w.cpas_convention.contact_name, w.cpas_convention.contact_phone = "Léa", "+32 61 11 11 11"
    w.old_agreement = TransportAgreement(
        carrier_id=w.other_platform.id,
        client_id=w.platform.id,
        status=AgreementStatus.REFUSED,
        valid_from=today - timedelta(days=3 * YEAR),
        requested_by_org_id=w.platform.id,
        note="Contact: Marc, 0470 00 00 00",
        decided_at=NOW - timedelta(days=3 * YEAR),
    )
    w.live_agreement = TransportAgreement(
        carrier_id=w.other_platform.id,
        client_id=w.platform.id,
        status=AgreementStatus.ACTIVE,
        valid_from=today - timedelta(days=3 * YEAR),
        requested_by_org_id=w.platform.id,
        note="Contact: Marc, 0470 00 00 00",
        decided_at=NOW - timedelta(days=3 * YEAR),
    )
    db.session.add_all([w.old_agreement, w.live_agreement])

    user = w.cpas_user
    w.old_log = SecurityEvent(
        user_id=user.id, kind=SecurityEventKind.SIGNED_IN, at=NOW - timedelta(days=400)
    )
    w.new_log = SecurityEvent(
        user_id=user.id, kind=SecurityEventKind.SIGNED_IN, at=NOW - timedelta(days=300)
    )

    def token(name: str, expires_days: int, revoked_days: int | None = None) -> ApiToken:
        return ApiToken(
            user_id=user.id,
            name=name,
            token_hash=name.ljust(64, "0"),
            created_at=NOW - timedelta(days=60),
            expires_at=NOW + timedelta(days=expires_days),
            revoked_at=None if revoked_days is None else NOW - timedelta(days=revoked_days),
        )

    w.tokens = {
        "expired-long-ago": token("a", -40),
        "revoked-long-ago": token("b", 5, revoked_days=40),
        "revoked-lately": token("c", 5, revoked_days=10),
        "expired-lately": token("d", -10),
        "live": token("e", 5),
    }
    db.session.add_all([w.old_log, w.new_log, *w.tokens.values()])
    # as if their people had collected them (services/collection.py keeps who took them)
    w.old_claim.collected_by, w.old_claim.collection_note = "Paul", "Sonner à l'arrière"
    w.new_claim.collected_by, w.new_claim.collection_note = "Lina", ""
    for lot, claim in ((w.old_lot, w.old_claim), (w.new_lot, w.new_claim)):
        events.record(
            db.session,
            None,
            lot,
            "delivered",
            after={"claim_id": claim.id, "kg": claim.kg, "temperature_c": 3.5},
            organisation_id=lot.donor_id,
        )
    db.session.commit()
    return w


def _snapshot(w) -> dict:
    """Everything the job may change, and what traceability keeps, read afresh."""
    db.session.expire_all()

    def stop_row(stop):
        s = db.session.get(Stop, stop.id)
        return (s.receiver_name, s.note, s.temperature_c, s.confirmed_at, s.load_delta_kg)

    return {
        "stops": [stop_row(s) for s in (*w.old_stops, *w.new_stops, *w.old_plain, *w.new_plain)],
        "lines": db.session.execute(
            select(AllocationLine.lot_id, AllocationLine.grams, AllocationLine.note).order_by(
                AllocationLine.id
            )
        ).all(),
        "receipts": db.session.execute(
            select(
                StockReceipt.id, StockReceipt.grams, StockReceipt.lot_number, StockReceipt.note
            ).order_by(StockReceipt.id)
        ).all(),
        "contacts": db.session.execute(
            select(Convention.id, Convention.contact_name, Convention.contact_phone).order_by(
                Convention.id
            )
        ).all(),
        "agreements": db.session.execute(
            select(TransportAgreement.id, TransportAgreement.note).order_by(TransportAgreement.id)
        ).all(),
        "claims": db.session.execute(
            select(Claim.id, Claim.lot_id, Claim.grams, Claim.status).order_by(Claim.id)
        ).all(),
        "lots": db.session.execute(
            select(Lot.id, Lot.lot_number, Lot.weight_g, Lot.remaining_g, Lot.best_date).order_by(
                Lot.id
            )
        ).all(),
        "events": db.session.execute(select(Event.id, Event.after).order_by(Event.id)).all(),
        "log": db.session.scalars(select(SecurityEvent.id).order_by(SecurityEvent.id)).all(),
        "tokens": sorted(db.session.scalars(select(ApiToken.name))),
    }


def test_old_lots_lose_names_and_notes_and_recent_ones_keep_them(kept):
    w = kept
    before = _snapshot(w)
    counts = retention.run(db.session, datetime.now(UTC))
    db.session.commit()
    after = _snapshot(w)

    assert counts == {
        # the old lot's pickup and drop-off, the old round's two stops, the old claim's
        # collection
        "handovers": 5,
        # The old lot's allocation line and depot receipt, the outside receipt of that
        # age, the agreement refused three years ago.
        "notes": 4,
        "contacts": 1,
        "security_events": 1,
        "api_tokens": 2,
    }
    # Hand-overs: the old ones keep their temperature, time and load, not the person.
    old = [(s[0], s[1]) for s in after["stops"][:2]] + [(s[0], s[1]) for s in after["stops"][4:6]]
    assert old == [("", "")] * 4
    assert [s[2:] for s in after["stops"]] == [s[2:] for s in before["stops"]]
    assert after["stops"][2:4] == before["stops"][2:4], "last month's lot untouched"
    assert after["stops"][6:] == before["stops"][6:], "a round 700 days ago is kept"
    # A self-collection's receiver and note go the same way.
    collected = dict(
        db.session.execute(select(Claim.id, Claim.collected_by + "|" + Claim.collection_note))
        .tuples()
        .all()
    )
    assert collected[w.old_claim.id] == "|" and collected[w.new_claim.id] == "Lina|"
    # Notes tied to the old lot, and to the outside receipt of that age.
    assert [line.note for line in after["lines"]] == ["", "Appeler Mme Dubois avant"]
    receipts = {r.id: r.note for r in after["receipts"]}
    assert [receipts[r.id] for r in w.receipts_old] == ["", ""]
    assert [receipts[r.id] for r in w.receipts_new] == ["Reçu par Anne", "Chauffeur: Eva"]
    assert [(r.grams, r.lot_number) for r in after["receipts"]] == [
        (r.grams, r.lot_number) for r in before["receipts"]
    ]
    contacts = {c.id: (c.contact_name, c.contact_phone) for c in after["contacts"]}
    assert contacts[w.old_conv.id] == ("", "")
    assert contacts[w.recent_conv.id] == ("Sophie", "+32 61 00 00 00")
    assert contacts[w.cpas_convention.id] == ("Léa", "+32 61 11 11 11")
    notes = dict(after["agreements"])
    assert notes[w.old_agreement.id] == "" and notes[w.live_agreement.id].startswith("Contact")
    # Traceability keeps its figures and its events.
    for key in ("claims", "lots", "events"):
        assert after[key] == before[key], key
    assert after["log"] == [w.new_log.id], "a year of security log"
    assert after["tokens"] == ["c", "d", "e"], "dead tokens go after 30 days"


def test_a_second_run_changes_nothing(kept):
    retention.run(db.session)
    db.session.commit()
    once = _snapshot(kept)
    again = retention.run(db.session)
    db.session.commit()
    assert again == dict.fromkeys(again, 0)
    assert _snapshot(kept) == once


def test_the_period_is_configurable(kept, app):
    app.config["RETENTION_DAYS"] = 20
    app.config["SECURITY_LOG_DAYS"] = 500
    counts = retention.run(db.session)
    db.session.commit()
    assert counts["security_events"] == 0
    assert counts["handovers"] == 10, "every stop and both collections are past 20 days"
    assert db.session.get(Stop, kept.new_stops[1].id).receiver_name == ""
    assert db.session.scalar(select(func.count()).select_from(SecurityEvent)) == 2


def test_the_job_is_registered_daily(app, kept):
    job = jobs.find(app.config, "retention")
    assert job is not None and job.schedule.at == "03:30" and job.func is retention.run
    assert job.func(db.session, datetime.now(UTC))["handovers"] == 5
