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

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from flask import current_app

from ..models.cache import IGNORED, version
from .kept import Kept, per_app

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


class ListCache(Kept):
    """One process's kept parts of the list, all of one version; thread-safe."""

    def __init__(self, orgs: int = 512, lots: int = 20_000) -> None:
        super().__init__(candidates=orgs, items=lots, cards=lots)


def cache() -> ListCache:
    """This application's cache (one per process and application)."""
    return per_app(
        "maillon_list_cache", lambda: ListCache(lots=current_app.config["LOT_LIST_CACHE_LOTS"])
    )
