"""Geocoding: an offline Belgian postcode gazetteer by default, geopy on request.

The gazetteer (``surplus/data/be_postcodes.csv``) comes from the public repository
jief/zipcode-belgium, built from bpost's postcode list; one point per locality.
"""

from __future__ import annotations

import csv
import logging
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import current_app

from matching.distance import RoadEstimate

log = logging.getLogger(__name__)
DATA = Path(__file__).resolve().parent / "data" / "be_postcodes.csv"


@dataclass(frozen=True)
class Place:
    postcode: str
    locality: str
    lat: float
    lon: float


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in text if not unicodedata.combining(c)).replace("-", " ")


@lru_cache(maxsize=1)
def _gazetteer() -> dict[str, list[Place]]:
    places: dict[str, list[Place]] = {}
    with DATA.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            place = Place(row["postcode"], row["locality"], float(row["lat"]), float(row["lon"]))
            places.setdefault(place.postcode, []).append(place)
    return places


def localities(postcode: str) -> list[Place]:
    return list(_gazetteer().get(postcode.strip(), []))


def is_known_postcode(postcode: str) -> bool:
    return postcode.strip() in _gazetteer()


def lookup(postcode: str, locality: str = "") -> Place | None:
    """The gazetteer's point for a postcode, preferring the named locality."""
    candidates = localities(postcode)
    if not candidates:
        return None
    wanted = _fold(locality)
    for place in candidates:
        if wanted and _fold(place.locality) == wanted:
            return place
    return Place(
        postcode.strip(),
        locality.strip() or candidates[0].locality,
        candidates[0].lat,
        candidates[0].lon,
    )


def all_places() -> list[Place]:
    return [p for group in _gazetteer().values() for p in group]


def geocode(address: str, postcode: str, locality: str) -> Place | None:
    """Coordinates for an address: geopy when configured, the gazetteer otherwise.

    The geopy geocoder is only tried for a postcode the gazetteer knows, and any
    failure or timeout falls back to the gazetteer point.
    """
    base = lookup(postcode, locality)
    if base is None:
        return None
    if current_app.config.get("GEOCODER") != "nominatim" or not address.strip():
        return base
    try:
        from geopy.geocoders import Nominatim

        geocoder = Nominatim(
            user_agent=current_app.config["GEOCODER_USER_AGENT"],
            timeout=current_app.config["GEOCODER_TIMEOUT"],
            domain=current_app.config["GEOCODER_DOMAIN"],
            scheme=current_app.config["GEOCODER_SCHEME"],
        )
        found = geocoder.geocode(f"{address}, {postcode} {locality}, Belgium")
    except Exception as exc:  # network, quota, timeout: the gazetteer still answers
        log.warning("geocoder failed, using gazetteer: %s", exc)
        return base
    if found is None:
        return base
    return Place(base.postcode, base.locality, float(found.latitude), float(found.longitude))


def road_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return RoadEstimate(current_app.config["ROAD_CIRCUITY"]).km(lat1, lon1, lat2, lon2)
