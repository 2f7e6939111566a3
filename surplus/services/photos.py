"""Photos of a lot: what a donor uploads is checked for what it really is (JPEG, PNG or
WebP, by Pillow, whatever its name says), turned upright, stripped of every metadata
(EXIF, GPS, ICC, comments), resized and re-encoded as WebP, with a thumbnail. The files
live in the photo storage (services/photo_storage.py) under random keys; a row
``LotPhoto`` points at them. When rows are deleted (one photo, or a lot with its
photos), their files are deleted once the transaction commits.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, object_session

from .. import access, clock
from ..errors import Conflict, Invalid
from ..models import Lot, LotPhoto, User
from ..templating import number
from . import events
from .lot_edit import editable, not_open
from .photo_storage import PhotoStorage

MAX_PHOTOS = 4
LONG_SIDE, THUMB_SIDE = 1600, 480
# Refused before decoding: a small file may announce a huge picture (a decompression
# bomb). 40 megapixels is more than any phone takes.
MAX_PIXELS = 40_000_000
FORMATS = {"JPEG", "PNG", "WEBP"}
CONTENT_TYPE, SUFFIX, THUMB_SUFFIX = "image/webp", ".webp", "-thumb.webp"
FIELD = "photo"


@dataclass
class Encoded:
    full: bytes
    thumb: bytes
    width: int
    height: int


def _refuse(message: str) -> Invalid:
    return Invalid(message, {FIELD: message})


def _not_a_photo() -> Invalid:
    return _refuse(str(_l("Send a photo in JPEG, PNG or WebP.")))


def encode(data: bytes, max_bytes: int) -> Encoded:
    """The photo, upright, without metadata, at most ``LONG_SIDE`` px, as WebP, and its
    thumbnail; Invalid (field ``photo``) for anything else, never another error."""
    if not data:
        raise _refuse(str(_l("Choose a photo to send.")))
    if len(data) > max_bytes:
        mb = number(max_bytes / 1024 / 1024, 0)
        raise _refuse(str(_l("The photo is too large: at most %(mb)s MB.", mb=mb)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format not in FORMATS:
                    raise _not_a_photo()
                if img.width * img.height > MAX_PIXELS:
                    raise _refuse(str(_l("The picture is too big: at most 40 megapixels.")))
                img.load()
                upright = ImageOps.exif_transpose(img)
                picture = _clean(upright)
    except Invalid:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        MemoryError,
    ):
        raise _not_a_photo() from None
    picture.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
    thumb = picture.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Encoded(_webp(picture, 82), _webp(thumb, 75), picture.width, picture.height)


def _clean(img: Image.Image) -> Image.Image:
    """Only the pixels: a new image, so no EXIF, XMP, ICC profile or text chunk follows."""
    mode = "RGBA" if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info else "RGB"
    pixels = img.convert(mode)
    clean = Image.new(mode, pixels.size)
    clean.paste(pixels)
    return clean


def _webp(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "WEBP", quality=quality, method=4)
    return out.getvalue()


def thumb_key(key: str) -> str:
    return key.removesuffix(SUFFIX) + THUMB_SUFFIX


def file_name(photo: LotPhoto, thumb: bool = False) -> str:
    """The last part of a photo's address: random, so a cached copy is never stale."""
    return (thumb_key(photo.key) if thumb else photo.key).rsplit("/", 1)[-1]


def find(session: Session, lot: Lot, name: str) -> tuple[LotPhoto, str] | None:
    """The photo of ``lot`` whose file is ``name`` (full size or thumbnail) and its key."""
    key = f"lots/{lot.id}/{name}"
    full = key.removesuffix(THUMB_SUFFIX) + SUFFIX if key.endswith(THUMB_SUFFIX) else key
    photo = session.scalar(select(LotPhoto).where(LotPhoto.lot_id == lot.id, LotPhoto.key == full))
    return (photo, key) if photo is not None else None


def add_photo(
    session: Session,
    actor: User,
    lot: Lot,
    data: bytes,
    storage: PhotoStorage,
    max_bytes: int,
) -> LotPhoto:
    """Add a photo to the donor's lot (at most ``MAX_PHOTOS``). Forbidden (403) for
    others, Conflict (409) when the lot is over or has its photos, Invalid (400, field
    ``photo``) for a file that is not a photo we take."""
    access.require(actor, access.LOT_EDIT, lot, str(_l("Only the donor can change this lot.")))
    if not editable(lot):
        raise not_open()
    count = session.scalar(select(func.count()).where(LotPhoto.lot_id == lot.id)) or 0
    if count >= MAX_PHOTOS:
        message = str(_l("At most %(n)d photos per lot: delete one first.", n=MAX_PHOTOS))
        raise Conflict(message, {FIELD: message})
    picture = encode(data, max_bytes)
    key = f"lots/{lot.id}/{secrets.token_hex(12)}{SUFFIX}"
    storage.save(key, picture.full, CONTENT_TYPE)
    storage.save(thumb_key(key), picture.thumb, CONTENT_TYPE)
    photo = LotPhoto(
        lot_id=lot.id,
        key=key,
        content_type=CONTENT_TYPE,
        width=picture.width,
        height=picture.height,
        bytes=len(picture.full),
        created_at=clock.now(),
        created_by_id=actor.id,
    )
    session.add(photo)
    try:
        session.flush()
    except Exception:
        storage.delete(key)
        storage.delete(thumb_key(key))
        raise
    session.refresh(lot, ["photos"])
    events.record(
        session,
        actor,
        lot,
        "photo_added",
        after={"photo_id": photo.id, "width": photo.width, "height": photo.height},
        organisation_id=lot.donor_id,
    )
    return photo


def delete_photo(session: Session, actor: User, photo: LotPhoto) -> None:
    """The donor deletes a photo of its lot (its files go once the deletion commits)."""
    lot = photo.lot
    access.require(actor, access.LOT_EDIT, lot, str(_l("Only the donor can change this lot.")))
    photo_id = photo.id
    session.delete(photo)
    session.flush()
    session.refresh(lot, ["photos"])
    events.record(
        session,
        actor,
        lot,
        "photo_deleted",
        before={"photo_id": photo_id},
        organisation_id=lot.donor_id,
    )


# -- files follow their rows ------------------------------------------------------------
# A deleted row's keys wait in the session until its transaction commits (a rollback
# keeps the files); then the app's storage deletes them.

_PENDING = "photo_keys_to_delete"


@event.listens_for(LotPhoto, "after_delete")
def _collect(_mapper, _connection, photo: LotPhoto) -> None:
    # Each row the ORM deletes, one photo or a lot's orphans alike.
    session = object_session(photo)
    if session is not None:
        session.info.setdefault(_PENDING, []).append(photo.key)


@event.listens_for(Session, "after_commit")
def _purge(session: Session) -> None:
    keys = session.info.pop(_PENDING, None)
    if not keys:
        return
    from flask import has_app_context

    if not has_app_context():
        return
    from .photo_storage import storage

    store = storage()
    for key in keys:
        store.delete(key)
        store.delete(thumb_key(key))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction rolled back
        session.info.pop(_PENDING, None)
