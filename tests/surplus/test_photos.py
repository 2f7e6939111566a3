"""Lot photos: what is taken (by content), what is kept (upright, no metadata, resized,
WebP), the limits, and files that follow their rows; served only to who sees the lot."""

import io
from pathlib import Path

import pytest
from PIL import Image

from surplus.errors import Conflict, Forbidden, Invalid
from surplus.extensions import db
from surplus.models import LotPhoto
from surplus.services import photo_storage, photos
from tests import factories

MAX = 8 * 1024 * 1024


@pytest.fixture
def store(app, tmp_path):
    app.config["PHOTO_STORAGE_DIR"] = str(tmp_path / "photos")
    app.extensions.pop("photo_storage", None)
    return photo_storage.storage(app)


def picture(fmt: str = "JPEG", size=(2000, 1000), mode: str = "RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode != "1" else 0).save(out, fmt, **save)
    return out.getvalue()


def exif_jpeg(size=(2000, 1000)) -> bytes:
    """A phone's photo held sideways (orientation 6) carrying its GPS position."""
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (50.0, 1.0, 2.0)}  # GPS
    return picture("JPEG", size, exif=exif.tobytes())


def test_a_phone_photo_is_turned_upright_stripped_and_resized(app, w, store):
    lot = factories.lot(w.donor)
    photo = photos.add_photo(db.session, w.donor_user, lot, exif_jpeg(), store, MAX)
    assert (photo.width, photo.height) == (800, 1600)  # upright, long side 1600
    assert photo.content_type == "image/webp" and lot.photos == [photo]
    for key in (photo.key, photos.thumb_key(photo.key)):
        with Image.open(io.BytesIO(store.read(key))) as kept:
            assert kept.format == "WEBP"
            assert not kept.getexif() and "exif" not in kept.info
            assert "icc_profile" not in kept.info and "xmp" not in kept.info
            assert max(kept.size) == (1600 if key == photo.key else 480)
    assert photo.bytes == len(store.read(photo.key))


def test_jpeg_png_and_webp_are_taken_small_ones_not_enlarged(app, w, store):
    lot = factories.lot(w.donor)
    for data in (
        picture("PNG", (300, 200), "RGBA"),
        picture("WEBP", (300, 200)),
        picture("JPEG", (640, 480)),
    ):
        photo = photos.add_photo(db.session, w.donor_user, lot, data, store, MAX)
        assert (photo.width, photo.height) == Image.open(io.BytesIO(data)).size


NOT_PHOTOS = {
    "text": b"not a picture at all, whatever its name says",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "gif": picture("GIF", (100, 100)),
    "bmp": picture("BMP", (100, 100)),
    "truncated": picture("JPEG")[:600],
    "bad-png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    "empty": b"",
}


def test_anything_else_is_refused_on_the_photo_field(app, w, store):
    lot = factories.lot(w.donor)
    for name, data in NOT_PHOTOS.items():
        with pytest.raises(Invalid) as refused:
            photos.add_photo(db.session, w.donor_user, lot, data, store, MAX)
        assert list(refused.value.fields) == ["photo"], name
    assert db.session.query(LotPhoto).count() == 0
    assert not (Path(app.config["PHOTO_STORAGE_DIR"]) / "lots").exists()


def test_too_large_files_and_decompression_bombs_are_refused(app, w, store):
    lot = factories.lot(w.donor)
    with pytest.raises(Invalid) as refused:
        photos.add_photo(db.session, w.donor_user, lot, exif_jpeg(), store, 1000)
    assert "photo" in refused.value.fields
    bomb = picture("PNG", (8000, 8000), "1", optimize=True)  # 64 megapixels, a few kB
    assert len(bomb) < 100_000
    with pytest.raises(Invalid) as refused:
        photos.add_photo(db.session, w.donor_user, lot, bomb, store, MAX)
    assert "photo" in refused.value.fields


def test_four_photos_at_most_and_only_by_the_donor(app, w, store):
    lot = factories.lot(w.donor)
    small = picture("JPEG", (320, 240))
    for _ in range(photos.MAX_PHOTOS):
        photos.add_photo(db.session, w.donor_user, lot, small, store, MAX)
    with pytest.raises(Conflict):
        photos.add_photo(db.session, w.donor_user, lot, small, store, MAX)
    with pytest.raises(Forbidden):
        photos.add_photo(db.session, w.cpas_user, factories.lot(w.donor), small, store, MAX)


def test_files_go_when_their_rows_are_deleted_and_committed(app, w, store):
    lot = factories.lot(w.donor)
    small = picture("JPEG", (320, 240))
    first = photos.add_photo(db.session, w.donor_user, lot, small, store, MAX)
    second = photos.add_photo(db.session, w.donor_user, lot, small, store, MAX)
    db.session.commit()
    keys = [first.key, photos.thumb_key(first.key)]

    photos.delete_photo(db.session, w.donor_user, first)
    db.session.rollback()  # not deleted after all: the files stay
    assert all(store.read(k) for k in keys)

    photos.delete_photo(db.session, w.donor_user, db.session.get(LotPhoto, first.id))
    db.session.commit()
    for key in keys:
        with pytest.raises(FileNotFoundError):
            store.read(key)
    assert store.read(second.key)

    second_keys = [second.key, photos.thumb_key(second.key)]
    lot.photos.clear()  # the lot's rows go (delete-orphan): so do their files
    db.session.commit()
    for key in second_keys:
        with pytest.raises(FileNotFoundError):
            store.read(key)


def test_local_storage_refuses_keys_outside_its_folder(tmp_path):
    store = photo_storage.LocalPhotoStorage(tmp_path)
    for key in ("../x.webp", "/etc/passwd", "lots/../../x", "Lots/X"):
        with pytest.raises(ValueError):
            store.save(key, b"x", "image/webp")
    store.save("lots/1/ab.webp", b"x", "image/webp")
    assert store.read("lots/1/ab.webp") == b"x"
    store.delete("lots/1/ab.webp")
    store.delete("lots/1/ab.webp")  # gone already: nothing happens


def test_photos_are_served_to_who_sees_the_lot(app, w, store, login_as):
    lot = factories.lot(w.donor)
    photo = photos.add_photo(db.session, w.donor_user, lot, picture("JPEG", (640, 480)), store, MAX)
    db.session.commit()
    name = photos.file_name(photo, thumb=True)
    url = f"/lots/{lot.id}/photos/{name}"
    for user in (w.donor_user, w.cpas_user):
        response = login_as(user).get(url)
        assert response.status_code == 200
        assert response.mimetype == "image/webp"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "private" in response.headers["Cache-Control"]
        assert Image.open(io.BytesIO(response.data)).size == (480, 360)
    assert login_as(w.other_donor_user).get(url).status_code == 404
    donor = login_as(w.donor_user)
    assert donor.get(f"/lots/{lot.id}/photos/nothere.webp").status_code == 404
    assert donor.get(f"/lots/{lot.id}/photos/..%2f..%2fsecret_key").status_code == 404
    page = donor.get(f"/lots/{lot.id}").get_data(as_text=True)
    assert f'src="{url}"' in page and 'loading="lazy"' in page
    listing = login_as(w.cpas_user).get("/lots").get_data(as_text=True)
    assert f'src="{url}"' in listing
