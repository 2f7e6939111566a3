"""Greenhouse gas avoided: kilograms of CO2-equivalent per kilogram of food, by category.

These are estimates of the emissions of *producing* food that would otherwise have been
wasted (farm to shop, per kilogram of product), not of the transport Maillon adds. Each
category takes the mean of a representative product in Poore & Nemecek's meta-analysis;
categories too mixed for one product take the FAO's world average for wasted food.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ...models import Category

POORE_NEMECEK = (
    "J. Poore & T. Nemecek, Reducing food's environmental impacts through producers and "
    "consumers, Science 360 (2018), data as published by Our World in Data (mean kg CO2e "
    "per kg of product)"
)
FAO = "FAO, Food Wastage Footprint: Impacts on Natural Resources (2013)"


@dataclass(frozen=True)
class Factor:
    kg_co2e_per_kg: float
    basis: str  # lazy string: what the figure stands for
    source: str


FAO_AVERAGE = Factor(
    2.5, _l("FAO average of wasted food: 3.3 Gt CO2e for 1.3 Gt of food a year"), FAO
)

FACTORS: dict[Category, Factor] = {
    Category.FRUIT_VEG: Factor(
        0.5, _l('"other vegetables" 0.53; apples and root vegetables 0.43'), POORE_NEMECEK
    ),
    Category.BAKERY: Factor(1.6, _l("wheat and rye bread 1.57"), POORE_NEMECEK),
    Category.DAIRY: Factor(3.2, _l("milk 3.15"), POORE_NEMECEK),
    Category.MEAT_FISH: Factor(12.3, _l("pig meat 12.31; poultry 9.87"), POORE_NEMECEK),
    Category.DRY_GOODS: Factor(1.6, _l("wheat 1.57"), POORE_NEMECEK),
    Category.READY_MEALS: FAO_AVERAGE,
    Category.DRINKS: FAO_AVERAGE,
    Category.FROZEN: FAO_AVERAGE,
    Category.BABY: FAO_AVERAGE,
    Category.NON_FOOD: Factor(0.0, _l("not food"), ""),
}


def factor(category: Category) -> float:
    """kg CO2e avoided per kg of ``category`` delivered."""
    return FACTORS[category].kg_co2e_per_kg


def co2e_kg(category: Category, grams: int) -> float:
    """kg CO2e avoided by delivering ``grams`` of ``category``."""
    return grams / 1000 * factor(category)
