"""Values a process keeps in memory while the data they were computed from has not
changed: filed under a *version* of that data (a counter of :mod:`surplus.models.cache`,
read before the data), dropped as soon as a newer version is seen.

Used by the lot list (:mod:`surplus.services.list_cache`) and by reach's planned runs
(:func:`surplus.services.runs.planned_views`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app

T = TypeVar("T")


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


class Kept:
    """One process's kept values, in named parts of bounded size (``sizes``), all of one
    version; thread-safe."""

    def __init__(self, **sizes: int) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._parts = {part: _Lru(size) for part, size in sizes.items()}

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


def per_app(name: str, make: Callable[[], T]) -> T:
    """The application's instance filed as ``name`` (one per process and application),
    made by ``make`` the first time."""
    kept = current_app.extensions.get(name)
    if kept is None:
        kept = current_app.extensions.setdefault(name, make())
    return kept
