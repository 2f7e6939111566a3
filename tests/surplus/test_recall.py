"""A food-safety recall reaches every organisation that claimed the lot, including those
that already received it; a withdrawal only cancels what is still to collect."""

import pytest
from sqlalchemy import select

from surplus.errors import Invalid, NotFound
from surplus.extensions import db
from surplus.models import ClaimStatus, Event, LotStatus, Notification, NotificationKind
from surplus.services import claims, lots
from tests import factories


@pytest.fixture
def w(app):
    w = factories.world()
    w.lot = factories.lot(w.donor, kg=100)
    w.lot.lot_number = "L-4711"
    w.delivered, _ = claims.claim_lot(db.session, w.cpas_user, w.lot.id, 30)
    w.delivered.status = ClaimStatus.DELIVERED
    w.pending, _ = claims.claim_lot(db.session, w.asbl_user, w.lot.id, 20)
    db.session.commit()
    return w


def _told(org):
    rows = db.session.scalars(
        select(Notification).where(
            Notification.kind == NotificationKind.LOT_WITHDRAWN,
            Notification.user_id.in_([u.id for u in org.users]),
        )
    ).all()
    return [n.params for n in rows]


def test_recall_tells_receivers_and_withdraws_what_is_left(w):
    reached = lots.recall_lot(db.session, w.donor_user, w.lot, "Listeria détectée")
    db.session.commit()
    assert {c.id for c in reached} == {w.delivered.id, w.pending.id}
    assert w.lot.status == LotStatus.WITHDRAWN and w.lot.status_reason == "Listeria détectée"
    assert w.delivered.status == ClaimStatus.DELIVERED  # the food is out there: told, kept
    assert w.pending.status == ClaimStatus.WITHDRAWN
    for org in (w.cpas, w.asbl):
        [params] = _told(org)
        assert params["recalled"] is True and params["batch"] == "L-4711"
        assert params["reason"] == "Listeria détectée"
    assert (
        db.session.scalar(
            select(Event.id).where(
                Event.subject_type == "lot",
                Event.subject_id == w.lot.id,
                Event.action == "recalled",
            )
        )
        is not None
    )


def test_a_withdrawal_does_not_reach_what_was_delivered(w):
    lots.withdraw_lot(db.session, w.donor_user, w.lot, "Erreur d'étiquetage")
    db.session.commit()
    assert _told(w.cpas) == [] and len(_told(w.asbl)) == 1


def test_only_the_donor_recalls_and_says_why(w):
    with pytest.raises(NotFound):  # another donor's lot is not even there for it
        lots.recall_lot(db.session, w.other_donor_user, w.lot, "Non")
    with pytest.raises(Invalid) as error:
        lots.recall_lot(db.session, w.donor_user, w.lot, "  ")
    assert "reason" in error.value.fields


def test_recall_page_is_the_donors(w, login_as):
    outsider = login_as(w.other_donor_user)
    assert outsider.post(f"/lots/{w.lot.id}/recall", data={"reason": "x"}).status_code in (403, 404)
    donor = login_as(w.donor_user)
    assert 'id="recall"' in donor.get(f"/lots/{w.lot.id}").get_data(as_text=True)
    assert donor.post(f"/lots/{w.lot.id}/recall", data={"reason": "Listeria"}).status_code == 302
    db.session.rollback()
    assert w.lot.status == LotStatus.WITHDRAWN
