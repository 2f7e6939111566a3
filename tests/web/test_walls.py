"""Organisations are walled (DESIGN.md §3 rule 6): every page and API call that names
another organisation's object answers 403 or 404, and changes nothing."""

import pytest
from sqlalchemy import func, select

from surplus.extensions import db
from surplus.models import Claim, ClaimStatus, Event, LotStatus
from surplus.services import claims
from tests import factories


@pytest.fixture
def scene(app):
    w = factories.world()
    lot = factories.lot(w.donor, kg=80)
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 20)
    db.session.commit()
    return w, lot, claim


def _snapshot():
    db.session.rollback()
    return (
        db.session.scalar(select(func.count(Event.id))),
        db.session.scalar(select(func.count(Claim.id)).where(Claim.status == ClaimStatus.ACTIVE)),
    )


def test_pages_of_another_organisation(scene, login_as):
    w, lot, claim = scene
    before = _snapshot()
    stranger = login_as(w.other_donor_user)  # a shop of another platform's area
    assert stranger.get(f"/lots/{lot.id}").status_code == 404
    assert stranger.post(f"/lots/{lot.id}/withdraw", data={"reason": "x"}).status_code == 404
    assert stranger.post(f"/claims/{claim.id}/cancel").status_code == 404
    assert stranger.get(f"/organisations/{w.cpas.id}").status_code == 404
    assert stranger.get(f"/organisations/{w.donor.id}").status_code == 404
    # A beneficiary sees the lot it may receive, but may not withdraw it,
    # and may not cancel another beneficiary's claim.
    asbl = login_as(w.asbl_user)
    assert asbl.get(f"/lots/{lot.id}").status_code == 200
    assert asbl.post(f"/lots/{lot.id}/withdraw", data={"reason": "x"}).status_code == 403
    assert asbl.post(f"/claims/{claim.id}/cancel").status_code == 404
    # The donor sees the claim on its lot but cannot cancel it.
    donor = login_as(w.donor_user)
    assert donor.post(f"/claims/{claim.id}/cancel").status_code == 403
    # A coordinator of another platform cannot verify or see this network.
    other = login_as(w.other_coordinator)
    assert other.get(f"/organisations/{w.cpas.id}").status_code == 404
    assert _snapshot() == before
    db.session.rollback()
    assert lot.status == LotStatus.OPEN


def test_api_of_another_organisation(scene, client, api_token):
    w, lot, claim = scene
    before = _snapshot()
    stranger = api_token(w.other_donor_user)
    assert client.get(f"/api/v1/lots/{lot.id}", headers=stranger).status_code == 404
    assert (
        client.post(f"/api/v1/lots/{lot.id}/withdraw", json={}, headers=stranger).status_code == 404
    )
    assert client.delete(f"/api/v1/claims/{claim.id}", headers=stranger).status_code == 404
    assert client.get("/api/v1/claims", headers=stranger).get_json() == []
    mine = client.get("/api/v1/lots", headers=stranger).get_json()["items"]
    assert lot.id not in [item["id"] for item in mine]
    asbl = api_token(w.asbl_user)
    assert client.post(f"/api/v1/lots/{lot.id}/withdraw", json={}, headers=asbl).status_code == 403
    assert client.delete(f"/api/v1/claims/{claim.id}", headers=asbl).status_code == 404
    donor = api_token(w.donor_user)
    assert client.delete(f"/api/v1/claims/{claim.id}", headers=donor).status_code == 403
    assert _snapshot() == before


def test_lists_are_scoped(scene, login_as):
    w, lot, claim = scene
    factories.lot(w.other_donor, title="Pain de Namur")
    db.session.commit()
    donor = login_as(w.donor_user)
    assert "Pain de Namur" not in donor.get("/lots/mine").get_data(as_text=True)
    asbl = login_as(w.asbl_user)
    html = asbl.get("/claims/").get_data(as_text=True)
    assert f'id="claim-{claim.id}"' not in html
    events = login_as(w.other_donor_user).get("/account/events").get_data(as_text=True)
    assert f"lot #{lot.id}" not in events
