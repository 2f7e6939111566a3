"""Plain input data classes of the matcher: surplus lots and beneficiary organisations.

They check their own invariants when built, so the algorithms can trust them; an
adapter in ``surplus/`` builds them from database rows.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime

from .errors import InvalidInputError

STORAGE_CLASSES: tuple[str, ...] = ("ambient", "chilled", "frozen")


def _check_point(kind: str, ident: Hashable, lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInputError(f"{kind} {ident!r}: invalid coordinates ({lat}, {lon})")


def _check_kg(kind: str, ident: Hashable, name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise InvalidInputError(f"{kind} {ident!r}: {name} must be a finite number >= 0")


@dataclass(frozen=True)
class Lot:
    """A surplus lot offered for matching.

    kg          -- kilograms still open on the lot (what the matcher may hand out).
    storage     -- ``"ambient"``, ``"chilled"`` or ``"frozen"``.
    category    -- product category (free text, compared with a beneficiary's list).
    fse_plus    -- FSE+ stock: only FSE+-approved beneficiaries may receive it.
    use_by      -- last moment the food may be delivered (use-by date, or best-before plus
                   the category's grace period), timezone-aware; ``None`` when unlimited.
    divisible   -- ``False`` when the lot goes whole to one beneficiary (a pallet...).
    min_part_kg -- smallest part the donor hands out; a part may be smaller only when it
                   is the whole lot (``kg``), i.e. every part is ``>= min(min_part_kg, kg)``.
    """

    id: Hashable
    kg: float
    lat: float
    lon: float
    storage: str
    category: str
    fse_plus: bool = False
    use_by: datetime | None = None
    divisible: bool = True
    min_part_kg: float = 0.0

    def __post_init__(self) -> None:
        _check_kg("lot", self.id, "kg", self.kg)
        _check_kg("lot", self.id, "min_part_kg", self.min_part_kg)
        _check_point("lot", self.id, self.lat, self.lon)
        if self.storage not in STORAGE_CLASSES:
            raise InvalidInputError(f"lot {self.id!r}: unknown storage class {self.storage!r}")
        if self.use_by is not None and self.use_by.utcoffset() is None:
            raise InvalidInputError(f"lot {self.id!r}: use_by must be timezone-aware")


@dataclass(frozen=True)
class Beneficiary:
    """A first-line organisation (CPAS or association) that can receive food.

    persons_per_week -- persons it serves a week; its target is that times
                        ``Params.kg_per_person``.
    received_kg      -- kilograms it received over the recent window.
    capacity_kg      -- kilograms it can take in now, per storage class; a missing class
                        means it cannot take that class at all.
    categories       -- accepted categories, ``None`` for all.
    fse_plus         -- holds an FSE+ approval in force through a convention allowing it.
    max_km           -- farthest road distance (estimate) it accepts food from.
    """

    id: Hashable
    lat: float
    lon: float
    persons_per_week: float
    received_kg: float = 0.0
    capacity_kg: Mapping[str, float] = field(default_factory=dict)
    categories: AbstractSet[str] | None = None
    fse_plus: bool = False
    max_km: float = 50.0

    def __post_init__(self) -> None:
        _check_point("beneficiary", self.id, self.lat, self.lon)
        _check_kg("beneficiary", self.id, "persons_per_week", self.persons_per_week)
        _check_kg("beneficiary", self.id, "received_kg", self.received_kg)
        _check_kg("beneficiary", self.id, "max_km", self.max_km)
        for storage, kg in self.capacity_kg.items():
            if storage not in STORAGE_CLASSES:
                raise InvalidInputError(
                    f"beneficiary {self.id!r}: unknown storage class {storage!r}"
                )
            _check_kg("beneficiary", self.id, f"capacity_kg[{storage!r}]", kg)
        if self.categories is not None and not isinstance(self.categories, frozenset):
            # Accept any iterable of strings but store an immutable, hashable set.
            object.__setattr__(self, "categories", frozenset(self.categories))

    def target_kg(self, kg_per_person: float) -> float:
        """Weekly kilograms this organisation aims at: persons served × kg per person."""
        return self.persons_per_week * kg_per_person

    def need_kg(self, kg_per_person: float) -> float:
        """Target minus what it received recently, never below zero."""
        return max(0.0, self.target_kg(kg_per_person) - self.received_kg)

    def met_kg(self, kg_per_person: float) -> float:
        """What it received recently, up to its target: target = need + met."""
        return min(self.received_kg, self.target_kg(kg_per_person))
