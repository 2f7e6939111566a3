"""A food-safety recall with the real quantities (issue 12): each holder's kilograms
delivered, in transit and cancelled; planned claims end at once; a claim refused at a
hand-over holds nothing; every holder, the carrying platform and the crew of a run on
the road are told their own figures; the recall closes when every holder of food has
answered."""

import pytest
from sqlalchemy import select

from surplus.errors import Conflict, Forbidden, Invalid, NotFound
from surplus.extensions import db
from surplus.models import (
    ClaimStatus,
    Event,
    LotStatus,
    Notification,
    NotificationKind,
    ProductKind,
    RecallAction,
    RunStatus,
    RunTemplate,
    StopStatus,
)
from surplus.services import booking, claims, recalls, runs, stops
from surplus.services.lot_dates import local_today
from tests import factories

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def recall_world(make_fleet):
    """A chilled poultry lot claimed by the CPAS (30 kg) and the association (20 kg),
    both booked on a run of the platform, picked up at 3 °C, delivered to the CPAS at
    3 °C and refused at the association at 5 °C; a social restaurant's 10 kg claim is
    booked, not picked up."""
    w = factories.world()
    w.resto = factories.org("association", name="Resto du Coeur", mode="social_restaurant")
    w.resto_user = factories.user(w.resto)
    w.resto_convention = factories.convention(w.platform, w.resto)
    for conv in (w.cpas_convention, w.asbl_convention, w.resto_convention):
        conv.opening_hours = {d: [["08:00", "17:00"]] for d in DAYS}
    w.depot, w.van, _template = make_fleet(w)
    for day in range(7):
        db.session.add(
            RunTemplate(
                platform_id=w.platform.id,
                vehicle_id=w.van.id,
                depot_id=w.depot.id,
                name=f"T{day}",
                weekday=day,
                departure="07:30",
                max_duration_min=600,
            )
        )
    db.session.flush()
    runs.materialise(db.session, local_today())
    w.driver = factories.user(w.platform)
    w.lot = factories.lot(
        w.donor, kg=100, days=5, hours_open=60, category="meat_fish", title="Filets de poulet"
    )
    w.lot.product_kind = ProductKind.POULTRY
    w.lot.lot_number = "L-4711"
    w.cpas_claim, _ = claims.claim_lot(db.session, w.cpas_user, w.lot.id, 30)
    w.asbl_claim, _ = claims.claim_lot(db.session, w.asbl_user, w.lot.id, 20)
    w.resto_claim, _ = claims.claim_lot(db.session, w.resto_user, w.lot.id, 10)
    db.session.commit()
    w.stops = {}
    for claim in (w.cpas_claim, w.asbl_claim, w.resto_claim):
        booking.book(db.session, w.coordinator, claim)
        db.session.commit()
        w.stops[claim.id] = booking.booked_stops(db.session, claim)
    cpas_pickup, cpas_drop = w.stops[w.cpas_claim.id]
    asbl_pickup, asbl_drop = w.stops[w.asbl_claim.id]
    for stop, celsius, receiver in (
        (cpas_pickup, 3, ""),
        (asbl_pickup, 3, ""),
        (cpas_drop, 3, "Marie"),
        (asbl_drop, 5, "Jean"),
    ):
        stops.confirm(db.session, w.driver, stop, celsius, receiver)
        db.session.commit()
    w.run = cpas_pickup.run
    return w


@pytest.fixture
def w(app, make_fleet):
    return recall_world(make_fleet)


def _told(org, kind=NotificationKind.RECALL):
    rows = db.session.scalars(
        select(Notification).where(
            Notification.kind == kind, Notification.user_id.in_([u.id for u in org.users])
        )
    ).all()
    return [n.params for n in rows]


def _figures(recall):
    return {
        h.organisation_id: (h.kg_delivered, h.kg_in_transit, h.kg_cancelled) for h in recall.holders
    }


def test_the_recall_gives_each_holder_its_true_kilograms(w):
    assert w.cpas_claim.status == ClaimStatus.DELIVERED
    assert w.asbl_claim.status == ClaimStatus.REFUSED
    remaining = w.lot.remaining_g
    recall = recalls.open_recall(db.session, w.donor_user, w.lot, "Listeria détectée")
    db.session.commit()
    # The refused association received nothing: listed as refused, holding nothing.
    assert _figures(recall) == {
        w.cpas.id: (30, 0, 0),
        w.resto.id: (0, 0, 10),
        w.asbl.id: (0, 0, 0),
    }
    status = {h.organisation_id: (h.status, h.kg_refused) for h in recall.holders}
    assert status == {
        w.cpas.id: ("holds", 0),
        w.resto.id: ("cancelled", 0),
        w.asbl.id: ("refused", 20),
    }
    assert w.resto_claim.status == ClaimStatus.WITHDRAWN  # cancelled at once...
    assert booking.booked_stops(db.session, w.resto_claim) == []  # ...and off the run
    assert w.lot.remaining_g == remaining  # its kilograms are not offered again
    assert w.lot.status == LotStatus.WITHDRAWN and w.lot.status_reason == "Listeria détectée"
    assert w.cpas_claim.status == ClaimStatus.DELIVERED and recall.is_open
    [cpas] = _told(w.cpas)
    assert (cpas["kg_delivered"], cpas["kg_in_transit"], cpas["kg_cancelled"]) == (30, 0, 0)
    assert cpas["batch"] == "L-4711" and cpas["reason"] == "Listeria détectée"
    [resto] = _told(w.resto)
    assert (resto["kg_delivered"], resto["kg_cancelled"]) == (0, 10)
    assert _told(w.asbl) == [] and _told(w.asbl, NotificationKind.LOT_WITHDRAWN) == []
    [platform] = _told(w.platform)  # the coordinator; the run is not on the road
    assert platform["role"] == "carrier" and platform["kg_delivered"] == 30
    assert platform["kg_cancelled"] == 10 and platform["on_road"] is False
    actions = set(
        db.session.scalars(
            select(Event.action).where(Event.subject_type.in_(["lot", "recall"]))
        ).all()
    )
    assert {"recalled", "opened", "withdrawn"} <= actions


def test_food_picked_up_is_in_transit_and_the_crew_on_the_road_is_told(app, make_fleet):
    w = factories.world()
    w.cpas_convention.opening_hours = {d: [["08:00", "17:00"]] for d in DAYS}
    w.depot, w.van, _template = make_fleet(w)
    for day in range(7):
        db.session.add(
            RunTemplate(
                platform_id=w.platform.id,
                vehicle_id=w.van.id,
                depot_id=w.depot.id,
                name=f"T{day}",
                weekday=day,
                departure="07:30",
                max_duration_min=600,
            )
        )
    db.session.flush()
    runs.materialise(db.session, local_today())
    driver = factories.user(w.platform)
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 25)
    db.session.commit()
    booking.book(db.session, w.coordinator, claim)
    pickup, _drop = booking.booked_stops(db.session, claim)
    stops.confirm(db.session, driver, pickup, 3)
    pickup.run.status = RunStatus.ON_ROAD
    db.session.commit()
    recall = recalls.open_recall(db.session, w.donor_user, lot, "Corps étranger")
    db.session.commit()
    assert _figures(recall) == {w.cpas.id: (0, 25, 0)}
    told = {
        n.user_id: n.params
        for n in db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.RECALL)
        )
    }
    assert told[driver.id]["on_road"] is True and told[driver.id]["kg_in_transit"] == 25
    assert told[w.coordinator.id]["role"] == "carrier"
    # The food on its way is not handed over any more: the delivery is refused.
    outcome = stops.confirm(db.session, driver, _drop, 3, receiver="Marie")
    assert not outcome.ok and outcome.reason == "recalled"
    assert _drop.status == StopStatus.REJECTED
    assert claim.status == ClaimStatus.REFUSED


def test_holders_acknowledge_and_the_recall_closes(w):
    recall = recalls.open_recall(db.session, w.donor_user, w.lot, "Listeria")
    db.session.commit()
    with pytest.raises(Forbidden):  # planned only: nothing to answer for
        recalls.acknowledge(db.session, w.resto_user, recall, RecallAction.DESTROYED, 1)
    with pytest.raises(Forbidden):  # the donor holds none of it
        recalls.acknowledge(db.session, w.donor_user, recall, RecallAction.DESTROYED, 1)
    with pytest.raises(Forbidden):  # the refused association holds none of it
        recalls.acknowledge(db.session, w.asbl_user, recall, RecallAction.DESTROYED, 1)
    with pytest.raises(Invalid) as error:
        recalls.acknowledge(db.session, w.cpas_user, recall, RecallAction.DESTROYED, 30.5)
    assert "kg" in error.value.fields
    holder = recalls.acknowledge(db.session, w.cpas_user, recall, RecallAction.DESTROYED, 30)
    db.session.commit()
    assert holder.ack_action == RecallAction.DESTROYED and holder.ack_g == 30_000
    assert not recall.is_open  # the CPAS was the only holder of food
    assert db.session.scalar(
        select(Event.id).where(Event.subject_type == "recall", Event.action == "closed")
    )
    with pytest.raises(Conflict):
        recalls.acknowledge(db.session, w.cpas_user, recall, RecallAction.DESTROYED, 30)


def test_only_the_donor_recalls_once_and_says_why(w):
    with pytest.raises(NotFound):  # another donor's lot is not even there for it
        recalls.open_recall(db.session, w.other_donor_user, w.lot, "Non")
    with pytest.raises(Forbidden):
        recalls.open_recall(db.session, w.cpas_user, w.lot, "Non")
    with pytest.raises(Invalid) as error:
        recalls.open_recall(db.session, w.donor_user, w.lot, "  ")
    assert "reason" in error.value.fields
    recalls.open_recall(db.session, w.donor_user, w.lot, "Listeria")
    db.session.commit()
    with pytest.raises(Conflict):
        recalls.open_recall(db.session, w.donor_user, w.lot, "Encore")


def test_the_recall_page_is_followed_and_answered_on_it(w, login_as):
    outsider = login_as(w.other_donor_user)
    assert outsider.post(f"/lots/{w.lot.id}/recall", data={"reason": "x"}).status_code in (403, 404)
    donor = login_as(w.donor_user)
    assert 'id="recall"' in donor.get(f"/lots/{w.lot.id}").get_data(as_text=True)
    answer = donor.post(f"/lots/{w.lot.id}/recall", data={"reason": "Listeria"})
    assert answer.status_code == 302 and "/recalls/" in answer.headers["Location"]
    db.session.rollback()
    recall_url = answer.headers["Location"]
    assert 'id="recall-link"' in donor.get(f"/lots/{w.lot.id}").get_data(as_text=True)
    page = donor.get(recall_url).get_data(as_text=True)
    assert "CPAS Test" in page and 'id="acknowledge"' not in page
    assert login_as(w.coordinator).get(recall_url).status_code == 200
    assert login_as(w.other_donor_user).get(recall_url).status_code == 404
    cpas = login_as(w.cpas_user)
    assert 'id="acknowledge"' in cpas.get(recall_url).get_data(as_text=True)
    bad = cpas.post(f"{recall_url}/acknowledge", data={"action": "destroyed", "kg": "31"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    good = cpas.post(f"{recall_url}/acknowledge", data={"action": "destroyed", "kg": "29,5"})
    assert good.status_code == 302
    assert 'id="recall-state" class="flash flash-success"' in cpas.get(recall_url).get_data(
        as_text=True
    )
