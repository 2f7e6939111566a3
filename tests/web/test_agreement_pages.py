"""Coordinator pages of transport agreements and of the service area."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from surplus.extensions import db
from surplus.models import (
    AgreementStatus,
    Depot,
    Organisation,
    Role,
    Run,
    Stop,
    StopKind,
    TransportAgreement,
    Vehicle,
)
from surplus.services import claims
from surplus.services.lot_dates import BRUSSELS, local_today
from tests import factories
from tests.factories import translated

HX = {"HX-Request": "true"}
WAVES = (
    "New lots from donors in your area are offered to your network first (wave 1), "
    "then after %(hours)s hours to the networks of the platforms within %(km)s km of "
    "the donor (wave 2), then to all platforms."
)


@pytest.fixture
def w(w):
    """The world's platforms are logistics platforms: each serves its commune."""
    w.platform.service_postcodes = ["6800"]
    w.other_platform.service_postcodes = ["5000"]
    db.session.commit()
    return w


def _form(w, **overrides):
    data = {
        "other_id": str(w.other_platform.id),
        "direction": "we_carry",
        "valid_from": local_today().isoformat(),
        "valid_until": "",
        "note": "Mardis et jeudis",
    }
    data.update(overrides)
    return data


def _only_agreement():
    db.session.rollback()
    return db.session.scalars(select(TransportAgreement)).one()


def test_request_then_the_other_coordinator_approves(w, login_as):
    ours = login_as(w.coordinator)
    page = ours.get("/platform/agreements")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Distri Namur" in html and 'value="' + str(w.platform.id) + '"' not in html
    response = ours.post("/platform/agreements", data=_form(w))
    assert response.status_code == 302
    agreement = _only_agreement()
    assert (agreement.carrier_id, agreement.client_id) == (w.platform.id, w.other_platform.id)
    assert f'id="agreement-{agreement.id}"' in ours.get("/platform/agreements").get_data(
        as_text=True
    )

    theirs = login_as(w.other_coordinator)
    html = theirs.get("/platform/agreements").get_data(as_text=True)
    assert "Hub Libramont" in html and 'value="approve"' in html and "Mardis et jeudis" in html
    response = theirs.post(
        f"/platform/agreements/{agreement.id}/decision", headers=HX, data={"action": "approve"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert translated("fr", "Decision recorded.") in body and 'value="end"' in body
    assert _only_agreement().status == AgreementStatus.ACTIVE
    html = ours.get("/platform/agreements").get_data(as_text=True)
    assert 'value="end"' in html and translated("fr", "In force") in html


def test_request_with_htmx_answers_the_page_fragment(w, login_as):
    response = login_as(w.coordinator).post(
        "/platform/agreements", headers=HX, data=_form(w, direction="they_carry")
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and 'id="agreements"' in body
    assert translated("fr", "Request sent to %(platform)s.", platform="Distri Namur") in body
    assert _only_agreement().carrier_id == w.other_platform.id


def test_refusing_without_a_reason_comes_back_with_a_message(w, login_as):
    login_as(w.coordinator).post("/platform/agreements", data=_form(w))
    agreement = _only_agreement()
    theirs = login_as(w.other_coordinator)
    url = f"/platform/agreements/{agreement.id}/decision"
    for headers in (HX, {}):
        response = theirs.post(url, headers=headers, data={"action": "refuse", "reason": ""})
        assert response.status_code == 422
        assert translated("fr", "Give a reason.") in response.get_data(as_text=True)
    assert _only_agreement().status == AgreementStatus.REQUESTED
    response = theirs.post(url, data={"action": "refuse", "reason": "Pas de camion frigo"})
    assert response.status_code == 302
    assert _only_agreement().status == AgreementStatus.REFUSED
    html = login_as(w.coordinator).get("/platform/agreements").get_data(as_text=True)
    assert "Pas de camion frigo" in html
    again = theirs.post(url, headers=HX, data={"action": "approve"})
    assert again.status_code == 409
    assert translated("fr", "This agreement was already decided.") in again.get_data(as_text=True)


def test_other_platforms_and_beneficiaries_are_kept_out(w, login_as):
    login_as(w.coordinator).post("/platform/agreements", data=_form(w))
    agreement = _only_agreement()
    third = factories.org(
        "platform", name="Relais Charleroi", postcode="6000", locality="Charleroi"
    )
    outsider = factories.user(third, Role.COORDINATOR)
    db.session.commit()
    url = f"/platform/agreements/{agreement.id}/decision"
    stranger = login_as(outsider)
    assert stranger.post(url, data={"action": "approve"}).status_code == 404
    assert stranger.post(url, data={"action": "end"}).status_code == 404
    assert (
        stranger.post(
            "/platform/agreements/999999/decision", data={"action": "approve"}
        ).status_code
        == 404
    )
    assert f'id="agreement-{agreement.id}"' not in stranger.get("/platform/agreements").get_data(
        as_text=True
    )
    member = login_as(w.cpas_user)
    assert member.get("/platform/agreements").status_code == 403
    assert member.post("/platform/agreements", data=_form(w)).status_code == 403
    assert member.post(url, data={"action": "approve"}).status_code == 403
    assert member.get("/platform/area").status_code == 403
    # The asking side may not approve its own request.
    assert login_as(w.coordinator).post(url, data={"action": "approve"}).status_code == 403
    assert _only_agreement().status == AgreementStatus.REQUESTED


def test_bad_dates_come_back_per_field_with_the_entries(w, login_as):
    ours = login_as(w.coordinator)
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    response = ours.post(
        "/platform/agreements", data=_form(w, valid_from="", valid_until=yesterday, direction="")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert translated("fr", "Enter the first day.") in html
    assert translated("fr", "Say which platform's vans carry.").replace("'", "&#39;") in html
    assert f'value="{yesterday}"' in html and "Mardis et jeudis" in html
    response = ours.post(
        "/platform/agreements",
        headers=HX,
        data=_form(
            w,
            valid_from=(local_today() + timedelta(days=5)).isoformat(),
            valid_until=(local_today() + timedelta(days=2)).isoformat(),
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert translated("fr", "The end date must follow the start date.") in html
    assert f'<option selected value="{w.other_platform.id}"' in html
    db.session.rollback()
    assert db.session.scalars(select(TransportAgreement)).all() == []


def test_a_duplicate_request_is_a_conflict(w, login_as):
    ours = login_as(w.coordinator)
    assert ours.post("/platform/agreements", data=_form(w)).status_code == 302
    response = ours.post("/platform/agreements", data=_form(w))
    assert response.status_code == 409
    assert translated(
        "fr",
        "An agreement between these platforms in this direction is "
        "already asked for or in force over these dates.",
    ).replace("'", "&#39;") in response.get_data(as_text=True)


def test_monthly_table_shows_the_kilograms_carried(w, login_as):
    ours = login_as(w.coordinator)
    html = ours.get("/platform/agreements").get_data(as_text=True)
    assert translated("fr", "Nothing carried between platforms yet.") in html
    # Namur's van picks up, for the hub's CPAS, 30 kg of a Libramont donor's lot.
    lot = factories.lot(w.donor, kg=40, days=6)
    db.session.commit()
    claim, _ = claims.claim_lot(db.session, w.cpas_user, lot.id, 30)
    depot = Depot(
        platform_id=w.other_platform.id,
        name="Dépôt Namur",
        postcode="5000",
        locality="Namur",
        lat=w.other_platform.lat,
        lon=w.other_platform.lon,
    )
    van = Vehicle(platform_id=w.other_platform.id, name="Frigo", capacity_kg=800, refrigerated=True)
    db.session.add_all([depot, van])
    db.session.flush()
    day = local_today() + timedelta(days=1)
    run = Run(
        platform_id=w.other_platform.id,
        vehicle_id=van.id,
        depot_id=depot.id,
        name="Namur",
        start_at=datetime.combine(day, time(7, 30), tzinfo=BRUSSELS).astimezone(UTC),
    )
    run.stops.append(
        Stop(
            position=0,
            kind=StopKind.PICKUP,
            claim_id=claim.id,
            organisation_id=w.donor.id,
            lat=lot.pickup_lat,
            lon=lot.pickup_lon,
            load_delta_kg=30,
        )
    )
    db.session.add(run)
    db.session.commit()
    html = ours.get("/platform/agreements").get_data(as_text=True)
    assert (
        "30 kg" in html and translated("fr", "Nothing carried between platforms yet.") not in html
    )
    assert "30 kg" in login_as(w.other_coordinator).get("/platform/agreements").get_data(
        as_text=True
    )


def test_area_page_saves_postcodes_and_radius(w, login_as):
    ours = login_as(w.coordinator)
    page = ours.get("/platform/area").get_data(as_text=True)
    assert translated("fr", WAVES, hours="12", km="90").replace("'", "&#39;") in page
    response = ours.post(
        "/platform/area", data={"postcodes": "6800, 6600\n6840", "radius_km": "30"}
    )
    assert response.status_code == 302
    db.session.rollback()
    platform = db.session.get(Organisation, w.platform.id)
    assert platform.service_postcodes == ["6600", "6800", "6840"]
    assert platform.service_radius_km == 30
    html = ours.get("/platform/area").get_data(as_text=True)
    assert "Bastogne" in html and 'value="30"' in html


def test_area_page_refuses_an_unknown_postcode_and_keeps_the_entries(w, login_as):
    ours = login_as(w.coordinator)
    response = ours.post("/platform/area", data={"postcodes": "6800 0042", "radius_km": "250"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert translated("fr", "Unknown Belgian postcodes: %(codes)s.", codes="0042") in html
    assert (
        translated("fr", "The radius must be more than 0 and at most %(max)d km.", max=200) in html
    )
    assert "6800 0042" in html and 'value="250"' in html
    db.session.rollback()
    assert db.session.get(Organisation, w.platform.id).service_radius_km is None


def test_api_lists_the_platforms_agreements(w, login_as, client, api_token):
    login_as(w.coordinator).post("/platform/agreements", data=_form(w))
    agreement = _only_agreement()
    response = client.get("/api/v1/agreements", headers=api_token(w.other_coordinator))
    assert response.status_code == 200
    [row] = response.get_json()
    assert row["id"] == agreement.id and row["status"] == "requested"
    assert row["carrier"] == "Hub Libramont" and row["deciding_org_id"] == w.other_platform.id
    assert row["valid_from"] == local_today().isoformat() and row["valid_until"] is None
    assert client.get("/api/v1/agreements", headers=api_token(w.cpas_user)).status_code == 403
