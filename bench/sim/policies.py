"""The three ways a platform can handle what is posted, in the same world.

- ``fcfs``: first come, first served. No matcher and no placement job: social workers
  claim what they see on the list, and each platform's coordinator books the claims of
  its network onto runs at office hours (``booking.book``, 09:00 and 14:00 on weekdays).
- ``greedy``: the placement job every 15 minutes with the greedy nearest-first
  allocator (:func:`matching.greedy_allocate`, soonest use-by first to the nearest
  eligible beneficiaries), which then books every claim onto the best existing run.
- ``maillon``: the placement job every 15 minutes with the real matcher (the daily
  unattended allocation it replaced is folded into it).

In all three the lots are published in offer waves (``lots.create_lot`` does it) and
the waves move on, lots expire and runs are materialised by their scheduled jobs, and
social workers look at the list and claim: people do not stop looking because the
platform runs a matcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matching
from matching.reach import Allocator


@dataclass(frozen=True)
class Policy:
    name: str
    label: str
    placement: bool  # runs the placement job (matcher + booking of every claim)
    allocate: Allocator | None = None  # the allocator the placement job uses; None: its own
    coordinator_books_at: tuple[str, ...] = field(default=())  # local HH:MM on weekdays


POLICIES: dict[str, Policy] = {
    "fcfs": Policy(
        "fcfs",
        "first come, first served",
        placement=False,
        coordinator_books_at=("09:00", "14:00"),
    ),
    "greedy": Policy(
        "greedy", "greedy nearest-first", placement=True, allocate=matching.greedy_allocate
    ),
    "maillon": Policy("maillon", "Maillon", placement=True),
}


def parse(names: str) -> list[Policy]:
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in POLICIES]
    if unknown:
        raise ValueError(f"unknown policies {unknown}; choose among {sorted(POLICIES)}")
    return [POLICIES[n] for n in chosen]
