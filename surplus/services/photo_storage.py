"""Where lot photos are kept, behind one small interface.

The default keeps them in a local folder (``PHOTO_STORAGE_DIR``, ``instance/photos``),
right for one machine. Several application machines share one store instead: an
implementation of :class:`PhotoStorage` over S3-compatible object storage, named in
``PHOTO_STORAGE`` as ``"package.module:Class"`` and built with the app's config.
"""

from __future__ import annotations

import importlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app

# Keys are ours (services/photos.py): lower-case words, digits and dashes in folders.
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_.-]*)*$")


class PhotoStorage(Protocol):
    def save(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` (replacing what was there)."""

    def read(self, key: str) -> bytes:
        """The bytes stored under ``key``; :class:`FileNotFoundError` when there are none."""

    def delete(self, key: str) -> None:
        """Forget ``key``; nothing happens when it is not there."""


class LocalPhotoStorage:
    """Files under a folder, created on demand; each written whole or not at all."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not KEY.match(key) or ".." in key:
            raise ValueError(f"bad photo key {key!r}")
        return self.root / key

    def save(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def make_storage(config: Any) -> PhotoStorage:
    """The storage ``config["PHOTO_STORAGE"]`` names: ``"local"`` (default) or
    ``"package.module:Class"``, a class taking the config."""
    name = config.get("PHOTO_STORAGE", "local")
    if name == "local":
        return LocalPhotoStorage(config["PHOTO_STORAGE_DIR"])
    module, _, cls = name.partition(":")
    return getattr(importlib.import_module(module), cls)(config)


def storage(app: Flask | None = None) -> PhotoStorage:
    """The application's photo storage, made once per app."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("photo_storage")
    if found is None:
        found = app.extensions["photo_storage"] = make_storage(app.config)
    return found
