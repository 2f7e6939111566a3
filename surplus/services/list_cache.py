"""What the lot list computed, kept while nothing it reads has been written.

The list is the page people wait on most, and it is read far more often than the lots
change. Three things are kept per process, for one *version* of the data:

- per organisation and day, its **candidates**: the open lots offered to it (the
  eligibility SQL of :func:`surplus.access.offered_lots`, unchanged), with what the
  filters and the ranking read (:class:`Candidates`); those time alone takes out
  (their date, the end of their pickup window) are masked when it is read, so the
  table is not made again each time one lot's window closes;
- per lot, its **API item** (``LotSchema``'s dictionary, without the distance);
- per lot and way of showing it, its **card** as rendered HTML.

The version is ``cache_version.n`` (row ``lots``), which every transaction that wrote a
table the list may read adds one to, as the last statement before its COMMIT (the
session events below: ORM flushes and ORM bulk statements). A request reads the
version before the data, so what it computes is at least as new as the version it files
it under; everything filed under another version is dropped. The tables the list never
reads (``IGNORED``) do not move the version; ``tests/surplus/test_list_cache.py`` checks
that the list's own queries read none of them.

Writes made outside the application's sessions (an administrator's SQL) do not move the
version: the list may then show the former state until the next write or the next day.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from flask import current_app

from ..models.cache import IGNORED, version

__all__ = ["IGNORED", "Candidates", "ListCache", "cache", "version"]


# -- what is kept ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidates:
    """The open lots offered to one organisation at ``since``, as aligned arrays (the
    lot's id order), with what the list's filters and ranking read; ``target_kg``: the
    week's food-aid target of the organisation's conventions in force. Time alone only
    takes lots out (their date, the end of their pickup window: the lot rules that read
    the clock), so the table holds the whole day: :meth:`live` says which are still in."""

    since: datetime
    day: date
    ids: np.ndarray  # int64
    km: np.ndarray  # road km from the organisation
    expires: np.ndarray  # epoch seconds; inf for a lot without a date
    until: np.ndarray  # epoch seconds: the end of the pickup window
    category: np.ndarray  # object: the Category member
    storage: np.ndarray  # object: the StorageClass member
    fse_plus: np.ndarray  # bool
    target_kg: float
    platform_ids: tuple[int, ...]  # the platforms of the conventions in force

    def holds_at(self, now: datetime, day: date) -> bool:
        return self.day == day and self.since <= now

    def live(self, now: datetime) -> np.ndarray:
        """Which candidates are still on the list at ``now`` (a boolean per candidate):
        before their date and the end of their pickup window, as the lot rules say."""
        stamp = now.timestamp()
        return (self.expires > stamp) & (self.until > stamp)


class _Lru:
    """A bounded mapping, the least recently used entry dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: Hashable, value: Any) -> None:
        self.entries[key] = value
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


class ListCache:
    """One process's kept parts of the list, all of one version; thread-safe."""

    def __init__(self, orgs: int = 512, lots: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._parts = {"candidates": _Lru(orgs), "items": _Lru(lots), "cards": _Lru(lots)}

    def get(self, part: str, at: int | None, key: Hashable) -> Any:
        if at is None:
            return None
        with self._lock:
            if self._version != at:
                return None
            return self._parts[part].get(key)

    def put(self, part: str, at: int | None, key: Hashable, value: Any) -> None:
        """File ``value`` under version ``at``; a newer version than the cache's drops
        everything before; an older one (a request that read the version before a write
        committed) is not filed, nor what a transaction saw of its own writes (None)."""
        if at is None:
            return
        with self._lock:
            if self._version is None or at > self._version:
                self._version = at
                for kept in self._parts.values():
                    kept.entries.clear()
            if at == self._version:
                self._parts[part].put(key, value)

    def many(
        self, part: str, at: int | None, keys: list[Hashable], make: Callable[[list], dict]
    ) -> list[Any]:
        """The values of ``keys``, in order; those not kept are made together by
        ``make(missing keys) -> {key: value}`` and filed."""
        found = [self.get(part, at, key) for key in keys]
        missing = list(dict.fromkeys(k for k, v in zip(keys, found, strict=True) if v is None))
        if not missing:
            return found
        made = make(missing)
        for key in missing:
            self.put(part, at, key, made[key])
        return [made[k] if v is None else v for k, v in zip(keys, found, strict=True)]


def cache() -> ListCache:
    """This application's cache (one per process and application)."""
    kept = current_app.extensions.get("maillon_list_cache")
    if kept is None:
        kept = current_app.extensions.setdefault(
            "maillon_list_cache",
            ListCache(lots=current_app.config["LOT_LIST_CACHE_LOTS"]),
        )
    return kept
