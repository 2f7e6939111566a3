"""A lot's traceability, one step back and one step forward: what the sheet, the API and
the inspection search read, and who reads which part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from surplus import access
from surplus.errors import Invalid, NotFound
from surplus.extensions import db
from surplus.models import ClaimStatus, Role, Stop, StopKind, StopStatus
from surplus.schemas.base import load
from surplus.schemas.trace import TraceSearchSchema
from surplus.services import claims, events
from surplus.services import trace as trace_service
from surplus.services.lot_dates import local_today
from tests import factories


def _stop(run, position, kind, claim, org, *, leg=0, at=None, celsius=None, receiver="", ok=True):
    stop = Stop(
        run_id=run.id,
        position=position,
        kind=kind,
        claim_id=claim.id,
        organisation_id=org.id if org is not None else None,
        leg=leg,
        lat=50.0,
        lon=5.5,
        load_delta_kg=claim.kg if kind == StopKind.PICKUP else -claim.kg,
    )
    if at is not None:
        stop.status = StopStatus.DONE if ok else StopStatus.REJECTED
        stop.confirmed_at = at
        stop.temperature_c = celsius
        stop.receiver_name = receiver
    db.session.add(stop)
    db.session.flush()
    if at is not None:
        action = "picked_up" if kind == StopKind.PICKUP else "delivered"
        events.record(
            db.session,
            None,
            stop,
            action if ok else "rejected",
            after={"temperature_c": celsius},
            organisation_id=run.platform_id,
        )
    return stop


def traced_world(make_fleet, add_run):
    """A chilled poultry lot of ``w.donor`` claimed by the CPAS (30 kg, through a hub
    relay: the Namur platform's van takes it to the hub, the hub's van delivers it at
    3 °C) and the association (20 kg, picked up at 3 °C, refused at delivery at 5 °C)."""
    w = factories.world()
    w.donor.enterprise_number = "0123.456.789"
    w.donor.afsca_number = "AFSCA-42"
    w.cpas.enterprise_number = "0212.345.678"
    w.lot = factories.lot(w.donor, kg=100, title="Filets de poulet", category="meat_fish")
    w.lot.lot_number = "L-2026-07"
    db.session.commit()
    w.cpas_claim, _ = claims.claim_lot(db.session, w.cpas_user, w.lot.id, 30)
    w.asbl_claim, _ = claims.claim_lot(db.session, w.asbl_user, w.lot.id, 20)
    depot, van, _template = make_fleet(w)
    today = local_today()
    w.hub_run = add_run(w.platform, depot, van, today)
    w.namur_run = add_run(w.other_platform, depot, van, today)
    t = datetime.now(UTC) - timedelta(hours=5)
    hour = timedelta(hours=1)
    _stop(w.namur_run, 0, StopKind.PICKUP, w.cpas_claim, w.donor, leg=1, at=t, celsius=3.0)
    _stop(w.namur_run, 1, StopKind.DROPOFF, w.cpas_claim, None, leg=1, at=t + hour, celsius=3.5)
    _stop(w.hub_run, 0, StopKind.PICKUP, w.cpas_claim, None, leg=2, at=t + 2 * hour, celsius=3.0)
    _stop(w.hub_run, 1, StopKind.PICKUP, w.asbl_claim, w.donor, at=t + 2 * hour, celsius=3.0)
    _stop(
        w.hub_run, 2, StopKind.DROPOFF, w.cpas_claim, w.cpas, leg=2, at=t + 3 * hour,
        celsius=3.0, receiver="Marie",
    )  # fmt: skip
    _stop(
        w.hub_run, 3, StopKind.DROPOFF, w.asbl_claim, w.asbl, at=t + 4 * hour,
        celsius=5.0, receiver="Jean", ok=False,
    )  # fmt: skip
    w.cpas_claim.status = ClaimStatus.DELIVERED
    # Refused at delivery: "refused" once hand-over refusals exist, else still collected.
    w.asbl_claim.status = getattr(ClaimStatus, "REFUSED", ClaimStatus.COLLECTED)
    db.session.commit()
    return w


@pytest.fixture
def t(app, make_fleet, add_run):
    return traced_world(make_fleet, add_run)


def test_the_whole_trace_gives_each_organisations_true_kilograms(t):
    trace = trace_service.lot_trace(db.session, t.lot)
    assert trace.whole and trace.donor.afsca_number == "AFSCA-42"
    by_org = {r.organisation.id: r for r in trace.recipients}
    cpas, asbl = by_org[t.cpas.id], by_org[t.asbl.id]
    assert (cpas.kg_claimed, cpas.kg_picked_up, cpas.kg_delivered) == (30, 30, 30)
    assert (asbl.kg_claimed, asbl.kg_picked_up, asbl.kg_delivered) == (20, 20, 0)
    assert [(h.kind, h.at_hub) for h in cpas.handovers] == [
        ("pickup", False),
        ("dropoff", True),
        ("pickup", True),
        ("dropoff", False),
    ]
    assert cpas.handovers[0].carrier.id == t.other_platform.id
    assert cpas.handovers[-1].carrier.id == t.platform.id
    assert cpas.handovers[-1].receiver == "Marie" and cpas.delivered_at is not None
    refused = asbl.handovers[-1]
    assert (refused.accepted, refused.temperature_c, refused.receiver) == (False, 5.0, "Jean")
    moments = [(e.event.at, e.event.id) for e in trace.events]
    assert moments == sorted(moments)
    subjects = {e.event.subject_type for e in trace.events}
    assert {"lot", "claim", "stop"} <= subjects


def test_a_recipient_reads_only_its_own_part(t):
    trace = trace_service.lot_trace(db.session, t.lot, only_org=t.asbl.id)
    assert not trace.whole
    assert [r.organisation.id for r in trace.recipients] == [t.asbl.id]
    cpas_stops = {h.stop.id for r in trace_service.lot_trace(db.session, t.lot).recipients
                  if r.claim.id == t.cpas_claim.id for h in r.handovers}  # fmt: skip
    for e in trace.events:
        assert not (e.event.subject_type == "claim" and e.event.subject_id == t.cpas_claim.id)
        assert not (e.event.subject_type == "stop" and e.event.subject_id in cpas_stops)
        assert e.event.action != "claimed" or e.event.actor_id == t.asbl_user.id


def test_who_reads_which_part(t):
    admin = factories.user(t.cpas, Role.SITE_ADMIN)
    outsider_platform = factories.org("platform", name="Elsewhere")
    outsider = factories.user(outsider_platform, Role.COORDINATOR)
    driver = factories.user(t.other_platform, Role.MEMBER)  # carried the relay's first leg
    db.session.commit()
    for whole in (t.donor_user, t.coordinator, driver, admin):
        assert access.trace_part(whole, t.lot) is None
    assert access.trace_part(t.cpas_user, t.lot) == t.cpas.id
    assert access.trace_part(t.asbl_user, t.lot) == t.asbl.id
    for nobody in (t.other_donor_user, outsider):
        with pytest.raises(NotFound):
            access.trace_part(nobody, t.lot)
        assert not access.may_trace(nobody, t.lot)
    with pytest.raises(NotFound):
        access.trace_part(t.donor_user, None)


def test_the_inspection_search_finds_what_moved_between_two_days(t):
    today = local_today()
    scope = access.traceable_claims(t.donor_user)
    found = trace_service.search(db.session, scope, today - timedelta(days=1), today, t.donor.id)
    assert {c.id for c, _at in found} == {t.cpas_claim.id, t.asbl_claim.id}
    delivered = trace_service.search(db.session, scope, today - timedelta(days=1), today, t.cpas.id)
    assert [c.id for c, _at in delivered] == [t.cpas_claim.id]
    # The CPAS's claim moved when it was delivered, the association's at its last
    # accepted hand-over (the refused delivery does not count).
    moments = dict((c.id, at) for c, at in found)
    cpas_stops = [s for s in db.session.query(Stop).filter_by(claim_id=t.cpas_claim.id)]
    assert moments[t.cpas_claim.id] == max(s.confirmed_at for s in cpas_stops)
    # A recipient finds only its own claims; another donor nothing.
    mine = trace_service.search(
        db.session, access.traceable_claims(t.asbl_user), today - timedelta(days=1), today
    )
    assert [c.id for c, _at in mine] == [t.asbl_claim.id]
    assert not trace_service.search(
        db.session, access.traceable_claims(t.other_donor_user), today - timedelta(days=1), today
    )
    past = trace_service.search(
        db.session, scope, today - timedelta(days=60), today - timedelta(days=30)
    )
    assert past == []
    carriers = trace_service.carriers(db.session, [t.cpas_claim.id])
    assert carriers[t.cpas_claim.id] == sorted([t.platform.name, t.other_platform.name])


def test_the_search_window_is_bounded_and_ordered(app):
    today = local_today()
    values = load(TraceSearchSchema(), {})
    assert values["end"] == today and values["start"] == today - timedelta(days=30)
    assert values["organisation_id"] is None
    with pytest.raises(Invalid) as refused:
        load(TraceSearchSchema(), {"start": today.isoformat(), "end": "2020-01-01"})
    assert "end" in refused.value.fields or "start" in refused.value.fields
    with pytest.raises(Invalid):
        load(TraceSearchSchema(), {"organisation_id": "=1+1"})
