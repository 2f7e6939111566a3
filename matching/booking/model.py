"""Plain data classes of the booking planner (re-exported by :mod:`matching.booking`).

They check their own invariants when built, so the planner can trust them; an adapter
in ``surplus/`` builds them from database rows.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidInputError

STORAGE: tuple[str, ...] = ("ambient", "chilled", "frozen")
#: A time window: service may start from the first moment to the second (inclusive).
Window = tuple[datetime, datetime]


def _aware(what: str, moment: object) -> None:
    if moment is not None and (not isinstance(moment, datetime) or moment.utcoffset() is None):
        raise InvalidInputError(f"{what} must be a timezone-aware datetime")


def _finite(what: str, *values: float) -> None:
    try:
        ok = all(math.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidInputError(f"{what} must be finite numbers")


def _window(what: str, window: Window | None) -> None:
    if window is None:
        return
    if len(window) != 2 or window[0] is None or window[1] is None:
        raise InvalidInputError(f"{what} must be a (start, end) pair of datetimes")
    _aware(what, window[0])
    _aware(what, window[1])


@dataclass(frozen=True)
class StopPlan:
    """A stop of an existing run: where, the kg it loads (+) or unloads (-), and when.

    ``window_start``/``window_end``: service may not start before / after them.
    """

    lat: float
    lon: float
    load_delta_kg: float
    window_start: datetime | None = None
    window_end: datetime | None = None
    service_min: float = 10

    def __post_init__(self) -> None:
        _finite("stop lat, lon, load_delta_kg", self.lat, self.lon, self.load_delta_kg)
        _aware("stop window_start", self.window_start)
        _aware("stop window_end", self.window_end)
        if not (math.isfinite(self.service_min) and self.service_min >= 0):
            raise InvalidInputError("stop service_min must be a finite number >= 0")


@dataclass(frozen=True)
class RunPlan:
    """An existing run: vehicle, depot, departure and its stops, whose order is kept.

    ``start_load_kg`` is the load leaving the depot; ``None`` means the sum of the
    regular stops' deliveries (their negative ``load_delta_kg``).
    """

    id: Hashable
    capacity_kg: float
    refrigerated: bool
    freezer: bool
    depot_lat: float
    depot_lon: float
    start: datetime
    stops: Sequence[StopPlan]
    speed_kmh: float = 50.0
    max_duration_min: float | None = None
    start_load_kg: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stops", tuple(self.stops))  # immutable, like the rest
        what = f"run {self.id!r}"
        _finite(f"{what}: depot, capacity", self.depot_lat, self.depot_lon, self.capacity_kg)
        _aware(f"{what}: start", self.start)
        if not (math.isfinite(self.speed_kmh) and self.speed_kmh > 0):
            raise InvalidInputError(f"{what}: speed_kmh must be > 0")
        if self.capacity_kg < 0:
            raise InvalidInputError(f"{what}: capacity_kg must be >= 0")
        if self.max_duration_min is not None:
            _finite(f"{what}: max_duration_min", self.max_duration_min)
        if self.start_load_kg is not None:
            _finite(f"{what}: start_load_kg", self.start_load_kg)

    @property
    def initial_load_kg(self) -> float:
        """Load leaving the depot: ``start_load_kg``, or the regular stops' deliveries."""
        if self.start_load_kg is not None:
            return self.start_load_kg
        return -sum(min(s.load_delta_kg, 0.0) for s in self.stops)


@dataclass(frozen=True)
class Shipment:
    """A claimed lot (or part of one) to carry from a donor to a beneficiary.

    ``storage``: ``"ambient"``, ``"chilled"`` (needs a refrigerated vehicle) or
    ``"frozen"`` (needs a freezer). ``deadline``: its use-by; the drop-off must end by
    then.
    """

    id: Hashable
    kg: float
    storage: str
    pickup_lat: float
    pickup_lon: float
    drop_lat: float
    drop_lon: float
    pickup_window: Window | None = None
    drop_window: Window | None = None
    deadline: datetime | None = None

    def __post_init__(self) -> None:
        what = f"shipment {self.id!r}"
        _finite(
            f"{what}: coordinates", self.pickup_lat, self.pickup_lon, self.drop_lat, self.drop_lon
        )
        _finite(f"{what}: kg", self.kg)
        if self.kg <= 0:
            raise InvalidInputError(f"{what}: kg must be a finite number > 0")
        if self.storage not in STORAGE:
            raise InvalidInputError(f"{what}: unknown storage {self.storage!r}")
        _window(f"{what}: pickup_window", self.pickup_window)
        _window(f"{what}: drop_window", self.drop_window)
        _aware(f"{what}: deadline", self.deadline)


@dataclass(frozen=True)
class Insertion:
    """Where a shipment rides: its run, the positions of its two new stops in the run's
    new stop list (0-based, pickup first), the km they add and their planned times."""

    run_id: Hashable
    shipment_id: Hashable
    pickup_index: int
    drop_index: int
    added_km: float
    pickup_eta: datetime
    drop_eta: datetime
