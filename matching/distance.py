"""Road-distance estimates shared by the whole of Maillon.

Every distance Maillon shows or compares is ``great-circle km × circuity``: the
great-circle (haversine) distance on a sphere of radius 6,371 km, multiplied by a
road-circuity factor (1.3 by default, a common figure for rural road networks).
A routing engine can replace this by providing another object with the same
``km`` / ``matrix`` methods (see :class:`DistanceModel`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088
DEFAULT_CIRCUITY = 1.3


def great_circle_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray:
    """Haversine distance in km, broadcasting over NumPy arrays."""
    p1 = np.radians(np.asarray(lat1, dtype=float))
    p2 = np.radians(np.asarray(lat2, dtype=float))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class DistanceModel(Protocol):
    """What the matcher and the booking planner need from a distance source."""

    def km(self, lat1: float, lon1: float, lat2: float, lon2: float) -> float: ...

    def matrix(
        self, lats1: ArrayLike, lons1: ArrayLike, lats2: ArrayLike, lons2: ArrayLike
    ) -> NDArray: ...


@dataclass(frozen=True)
class RoadEstimate:
    """Great-circle distance times a road-circuity factor."""

    circuity: float = DEFAULT_CIRCUITY

    def km(self, lat1: float, lon1: float, lat2: float, lon2: float) -> float:
        return float(great_circle_km(lat1, lon1, lat2, lon2)) * self.circuity

    def pairwise(
        self, lats1: ArrayLike, lons1: ArrayLike, lats2: ArrayLike, lons2: ArrayLike
    ) -> NDArray:
        """Element-wise road km between two equally long point lists."""
        return great_circle_km(lats1, lons1, lats2, lons2) * self.circuity

    def matrix(
        self, lats1: ArrayLike, lons1: ArrayLike, lats2: ArrayLike, lons2: ArrayLike
    ) -> NDArray:
        """Road km from every point of the first list (rows) to every point of the second."""
        a_lat = np.asarray(lats1, dtype=float)[:, None]
        a_lon = np.asarray(lons1, dtype=float)[:, None]
        b_lat = np.asarray(lats2, dtype=float)[None, :]
        b_lon = np.asarray(lons2, dtype=float)[None, :]
        return great_circle_km(a_lat, a_lon, b_lat, b_lon) * self.circuity


def road_km(
    lat1: float, lon1: float, lat2: float, lon2: float, circuity: float = DEFAULT_CIRCUITY
) -> float:
    """Road estimate between two points (scalar convenience)."""
    return RoadEstimate(circuity).km(lat1, lon1, lat2, lon2)
