"""Units of the booking planner, and shipments as arrays.

Times are float minutes since :data:`EPOCH` (converted in UTC, so a DST change never
shifts them). Distances are :func:`matching.distance.great_circle_km` times the
circuity, computed from 3-D unit vectors (``2 R asin(chord / 2)``, the same great
circle) because every shipment is measured against every node of every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..distance import EARTH_RADIUS_KM
from ..errors import InvalidInputError

if TYPE_CHECKING:
    from .model import Shipment

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
#: Float noise allowed on minutes and kilograms; far below anything a person can see.
EPS = 1e-6
INF = np.inf
NEED = {"ambient": 0, "chilled": 1, "frozen": 2}


def to_minutes(moment: datetime | None, default: float) -> float:
    """Minutes since :data:`EPOCH`; ``default`` for ``None``."""
    if moment is None:
        return default
    try:
        return (moment - EPOCH) / MINUTE
    except TypeError:  # naive datetime
        raise InvalidInputError(f"datetime {moment!r} must be timezone-aware") from None


def to_datetime(minutes: float, like: datetime) -> datetime:
    """Inverse of :func:`to_minutes`, in the time zone of ``like``."""
    return (EPOCH + timedelta(minutes=float(minutes))).astimezone(like.tzinfo)


def unit(lat: NDArray, lon: NDArray) -> NDArray:
    """3-D unit vectors, stacked on a new first axis of length 3."""
    phi, lam = np.radians(lat), np.radians(lon)
    return np.stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def chord_km(u: NDArray, v: NDArray, circuity: float) -> NDArray:
    """Road km between unit vectors ``u`` and ``v`` (first axis: x, y, z; broadcasting)."""
    d = np.subtract(u, v)
    d *= d
    half = np.add.reduce(d, axis=0)  # dx² + dy², then + dz², as written out
    np.sqrt(half, out=half)
    half *= 0.5
    np.minimum(half, 1.0, out=half)
    np.arcsin(half, out=half)
    half *= 2.0 * EARTH_RADIUS_KM * circuity
    return half


@dataclass
class Shipments:
    """Shipments as arrays. ``lwd``: latest drop-off start (window end, deadline - service)."""

    plat: NDArray
    plon: NDArray
    dlat: NDArray
    dlon: NDArray
    pu: NDArray  # pickup unit vectors (3, S)
    du: NDArray  # drop-off unit vectors
    kg: NDArray
    need: NDArray
    ewp: NDArray
    lwp: NDArray
    ewd: NDArray
    lwd: NDArray
    pd_km: NDArray
    svc: float

    def __post_init__(self) -> None:
        self.both = np.stack((self.pu, self.du), axis=1)  # (3, 2, S)
        # One gather per kernel call; latest times with EPS added, as the kernels compare.
        self.table = np.column_stack(
            (self.kg, self.ewp, self.lwp + EPS, self.ewd, self.lwd + EPS, self.pd_km)
        )
        # [earliest, latest + EPS] of [pickup, drop-off], shipments last (as ``both``).
        self.windows = self.table[:, 1:5].T.reshape(2, 2, -1).transpose(1, 0, 2).copy()
        # The raw columns (see ``fleet.RAW``) of each shipment's pickup and drop-off.
        svc = np.full(len(self.kg), self.svc)
        self.stops = np.array(
            (
                (self.plat, self.plon, self.kg, self.ewp, self.lwp, svc),
                (self.dlat, self.dlon, -self.kg, self.ewd, self.lwd, svc),
            )
        )

    @classmethod
    def build(cls, shipments: Sequence[Shipment], circuity: float, svc: float) -> Shipments:
        def window(w: tuple[datetime, datetime] | None) -> tuple[float, float]:
            return (-INF, INF) if w is None else (to_minutes(w[0], -INF), to_minutes(w[1], INF))

        pw = np.array([window(s.pickup_window) for s in shipments], float).reshape(-1, 2)
        dw = np.array([window(s.drop_window) for s in shipments], float).reshape(-1, 2)
        dl = np.array([to_minutes(s.deadline, INF) for s in shipments], float)
        col = np.array(
            [(s.pickup_lat, s.pickup_lon, s.drop_lat, s.drop_lon, s.kg) for s in shipments], float
        ).reshape(-1, 5)
        pu, du = unit(col[:, 0], col[:, 1]), unit(col[:, 2], col[:, 3])
        return cls(
            plat=col[:, 0],
            plon=col[:, 1],
            dlat=col[:, 2],
            dlon=col[:, 3],
            pu=pu,
            du=du,
            kg=col[:, 4],
            need=np.array([NEED[s.storage] for s in shipments], np.int8),
            ewp=pw[:, 0],
            lwp=pw[:, 1],
            ewd=dw[:, 0],
            lwd=np.minimum(dw[:, 1], dl - svc),
            pd_km=chord_km(pu, du, circuity),
            svc=svc,
        )
