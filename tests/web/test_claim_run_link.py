"""A booked claim's page names its run; it links to the run only for those who may open
it (the platform), never to a page that answers 404 (the beneficiary)."""

from sqlalchemy import select

from surplus.extensions import db
from surplus.models import Stop
from surplus.services import booking, claims
from tests import factories


def test_the_run_is_linked_only_for_who_may_open_it(daily_rounds, login_as):
    w = daily_rounds
    lot = factories.lot(w.donor, kg=40, days=5, hours_open=60)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    db.session.commit()
    booking.book(db.session, w.coordinator, claim)
    db.session.commit()
    run = db.session.scalars(select(Stop).where(Stop.claim_id == claim.id)).first().run
    link = f'href="/runs/{run.id}"'

    beneficiary = login_as(w.cpas_user)
    page = beneficiary.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert run.name in page and link not in page
    assert beneficiary.get(f"/runs/{run.id}").status_code == 404

    coordinator = login_as(w.coordinator)
    page = coordinator.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert link in page
    assert coordinator.get(f"/runs/{run.id}").status_code == 200
