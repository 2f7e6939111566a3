"""Correcting a lot and its photos through the API and the pages: the answers, bad input
of every kind (400/403/404/409/413, never 500), and the donor's links."""

import io
from datetime import timedelta

import pytest
from PIL import Image

from surplus.extensions import db
from surplus.models import Lot, LotPhoto, Notification, NotificationKind
from surplus.services import claims, lots, photo_storage
from tests import factories


@pytest.fixture
def store(app, tmp_path):
    app.config["PHOTO_STORAGE_DIR"] = str(tmp_path / "photos")
    app.extensions.pop("photo_storage", None)
    return photo_storage.storage(app)


def jpeg(size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "green").save(out, "JPEG")
    return out.getvalue()


def _claimed_lot(w, kg=100, claimed=30):
    lot = factories.lot(w.donor, kg=kg)
    claims.claim_lot(db.session, w.cpas_user, lot.id, claimed)
    db.session.commit()
    return lot


def test_patch_answers_the_lot_as_get_does_and_tells_the_claimants(w, client, api_token):
    lot = _claimed_lot(w)
    headers = api_token(w.donor_user)
    until = (lot.pickup_until + timedelta(hours=3)).isoformat()
    response = client.patch(
        f"/api/v1/lots/{lot.id}",
        json={"weight_kg": 120, "pickup_until": until, "description": "Palette", "units": 96},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["weight_kg"], body["remaining_kg"], body["units"]) == (120, 90, 96)
    assert body["description"] == "Palette" and body["photos"] == []
    shown = client.get(f"/api/v1/lots/{lot.id}", headers=headers).get_json()
    assert shown == body
    db.session.rollback()
    told = db.session.query(Notification).filter_by(kind=NotificationKind.LOT_CHANGED).all()
    assert {n.user_id for n in told} == {w.cpas_user.id}


BAD_BODIES = [
    ({"weight_kg": "120"}, "weight_kg"),  # a JSON number, not text
    ({"weight_kg": -5}, "weight_kg"),
    ({"weight_kg": 1e9}, "weight_kg"),
    ({"weight_kg": None, "units": 2.5}, "units"),
    ({"description": 12}, "description"),
    ({"description": "x" * 2001}, "description"),
    ({"pickup_until": "tomorrow"}, "pickup_until"),
    ({"pickup_from": "2026-13-40T10:00"}, "pickup_from"),
    ({"pickup_until": True}, "pickup_until"),
]


def test_bad_input_is_a_400_naming_the_field(w, client, api_token):
    lot = _claimed_lot(w)
    headers = api_token(w.donor_user)
    for body, field in BAD_BODIES:
        response = client.patch(f"/api/v1/lots/{lot.id}", json=body, headers=headers)
        assert response.status_code == 400, (body, response.get_json())
        assert field in response.get_json()["fields"], body
    for raw in (b"[1, 2]", b"{", b'"text"'):
        response = client.patch(
            f"/api/v1/lots/{lot.id}", data=raw, headers=headers, content_type="application/json"
        )
        assert response.status_code == 400, raw
    db.session.rollback()
    assert db.session.get(Lot, lot.id).weight_g == 100_000


def test_window_order_fewer_kilograms_and_closed_lots(w, client, api_token):
    lot = _claimed_lot(w, claimed=30)
    headers = api_token(w.donor_user)
    url = f"/api/v1/lots/{lot.id}"
    start, end = lot.pickup_from, lot.pickup_until
    backwards = {"pickup_from": end.isoformat(), "pickup_until": start.isoformat()}
    response = client.patch(url, json=backwards, headers=headers)
    assert response.status_code == 400 and "pickup_until" in response.get_json()["fields"]
    early = {"pickup_until": (start - timedelta(minutes=1)).isoformat()}
    response = client.patch(url, json=early, headers=headers)  # before the kept start
    assert response.status_code == 400 and "pickup_until" in response.get_json()["fields"]
    response = client.patch(url, json={"weight_kg": 29.5}, headers=headers)
    assert response.status_code == 409
    assert "weight_kg" in response.get_json()["fields"]
    db.session.rollback()
    assert db.session.get(Lot, lot.id).weight_g == 100_000
    lots.withdraw_lot(db.session, w.donor_user, db.session.get(Lot, lot.id), "")
    db.session.commit()
    assert client.patch(url, json={"description": "x"}, headers=headers).status_code == 409


def test_other_organisations_get_403_or_404(w, client, api_token):
    lot = _claimed_lot(w)
    url = f"/api/v1/lots/{lot.id}"
    assert client.patch(url, json={"units": 1}, headers=api_token(w.cpas_user)).status_code == 403
    other = api_token(w.other_donor_user)
    assert client.patch(url, json={"units": 1}, headers=other).status_code == 404
    assert client.patch("/api/v1/lots/999999", json={}, headers=other).status_code == 404
    photo = {"photo": (io.BytesIO(jpeg()), "a.jpg")}
    assert client.post(f"{url}/photos", data=photo, headers=other).status_code == 404
    assert client.delete(f"{url}/photos/1", headers=other).status_code == 404


def test_photos_through_the_api(w, client, api_token, store):
    lot = factories.lot(w.donor)
    db.session.commit()
    headers = api_token(w.donor_user)
    url = f"/api/v1/lots/{lot.id}/photos"
    response = client.post(url, data={"photo": (io.BytesIO(jpeg()), "p.jpg")}, headers=headers)
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    assert set(photo) == {"id", "url", "thumbnail_url", "width", "height"}
    assert (photo["width"], photo["height"]) == (640, 480)
    image = client.get(photo["thumbnail_url"], headers=api_token(w.cpas_user))
    assert image.status_code == 200 and image.mimetype == "image/webp"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(photo["url"], headers=api_token(w.other_donor_user)).status_code == 404
    listed = client.get(f"/api/v1/lots/{lot.id}", headers=headers).get_json()["photos"]
    assert listed == [photo]

    fake = {"photo": (io.BytesIO(b"<svg onload=alert(1)>"), "cat.jpg")}
    response = client.post(url, data=fake, headers=headers)
    assert response.status_code == 400 and "photo" in response.get_json()["fields"]
    assert client.post(url, data={}, headers=headers).status_code == 400
    assert client.post(url, json={"photo": "x"}, headers=headers).status_code == 400
    huge = {"photo": (io.BytesIO(b"\xff" * (9 * 1024 * 1024)), "big.jpg")}
    assert client.post(url, data=huge, headers=headers).status_code == 413
    assert (
        client.post(
            url, data={"photo": (io.BytesIO(jpeg()), "p.jpg")}, headers=api_token(w.cpas_user)
        ).status_code
        == 403
    )

    gone = client.delete(f"{url}/{photo['id']}", headers=headers)
    assert gone.status_code == 204
    assert client.delete(f"{url}/{photo['id']}", headers=headers).status_code == 404
    db.session.rollback()
    assert db.session.query(LotPhoto).count() == 0


def test_the_edit_page_keeps_entries_and_says_what_is_wrong(w, client, login_as):
    lot = _claimed_lot(w, claimed=30)
    donor = login_as(w.donor_user)
    page = donor.get(f"/lots/{lot.id}/edit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert (
        factories.translated(
            "fr",
            "Category, storage and dates decide who may receive the food: they cannot be "
            "changed here. To change them, withdraw this lot and post it again.",
        )
        in text
    )
    assert 'value="100"' in text
    form = {
        "description": "Cartons abîmés",
        "weight_kg": "12,5",
        "units": "",
        "pickup_from": "",
        "pickup_until": "",
    }
    refused = donor.post(f"/lots/{lot.id}/edit", data=form)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "Cartons abîmés" in body and 'value="12,5"' in body
    assert 'aria-invalid="true"' in body
    form["weight_kg"] = "150,5"
    done = donor.post(f"/lots/{lot.id}/edit", data=form)
    assert done.status_code == 302
    db.session.rollback()
    changed = db.session.get(Lot, lot.id)
    assert (changed.weight_g, changed.remaining_g) == (150_500, 120_500)
    assert changed.description == "Cartons abîmés"
    edit_link = f'href="/lots/{lot.id}/edit"'
    assert edit_link in donor.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert edit_link in donor.get("/lots/mine").get_data(as_text=True)
    assert (
        donor.get(f"/lots/{lot.id}").get_data(as_text=True).count('enctype="multipart/form-data"')
        == 1
    )
    others = login_as(w.cpas_user)
    assert others.get(f"/lots/{lot.id}/edit").status_code == 403
    assert edit_link not in others.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert login_as(w.other_donor_user).get(f"/lots/{lot.id}/edit").status_code == 404


def test_photo_upload_on_the_lot_page(w, client, login_as, store):
    lot = factories.lot(w.donor)
    db.session.commit()
    donor = login_as(w.donor_user)
    url = f"/lots/{lot.id}/photos"
    bad = donor.post(url, data={"photo": (io.BytesIO(b"GIF89a"), "x.png")}, follow_redirects=True)
    assert bad.status_code == 200
    assert factories.translated("fr", "Send a photo in JPEG, PNG or WebP.") in bad.get_data(
        as_text=True
    )
    # Larger than other forms may send (4 MiB), within the photo limit: read, then refused.
    junk = {"photo": (io.BytesIO(b"\0" * (5 * 1024 * 1024)), "x.jpg")}
    assert donor.post(url, data=junk).status_code == 302
    huge = {"photo": (io.BytesIO(b"\0" * (9 * 1024 * 1024)), "x.jpg")}
    assert donor.post(url, data=huge).status_code == 413
    good = donor.post(url, data={"photo": (io.BytesIO(jpeg()), "x.jpg")})
    assert good.status_code == 302
    db.session.rollback()
    (photo,) = db.session.query(LotPhoto).all()
    assert donor.post(f"{url}/{photo.id}/delete").status_code == 302
    assert login_as(w.cpas_user).post(url, data={}).status_code == 403
