"""The simulation's numbers, each with its source or the assumption behind it.

Seeds (issue 17, from DESIGN.md's field notes):

- **namur**: Distri-denrées moves about 120 t a year to 46 CPAS and associations.
- **luxembourg**: the Libramont hub has 73 suppliers, 71 buyers, 3 vans (one
  refrigerated) and a cold room.
- **belgium**: about 358 CPAS and 419 associations around 9 food banks (the FSE+
  network).

Everything else is derived from them (ratios named below) or is an assumption, said so.
bench/README.md carries the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- places ---------------------------------------------------------------------------
# Postcode ranges of each province (bpost's numbering). "belgium" is the whole gazetteer.
POSTCODES: dict[str, tuple[tuple[int, int], ...]] = {
    "brabant-wallon": ((1300, 1499),),
    "liege": ((4000, 4999),),
    "namur": ((5000, 5999),),
    "hainaut": ((6000, 6599), (7000, 7999)),
    "luxembourg": ((6600, 6999),),
    "belgium": ((1000, 9999),),
}
# Inhabitants on 1 January 2024 (Statbel, rounded): the scale of the provinces
# that have no seed of their own.
POPULATION: dict[str, int] = {
    "brabant-wallon": 412_000,
    "liege": 1_119_000,
    "namur": 500_000,
    "hainaut": 1_353_000,
    "luxembourg": 295_000,
    "belgium": 11_832_000,
}
# Dutch-speaking postcodes (Flanders) get Dutch names; Brussels is bilingual.
DUTCH = ((1500, 3999), (8000, 9999))


def place_weight(postcode: str) -> float:
    """Assumption: the gazetteer has no population, and a municipality's main town has
    the round postcode (5000 Namur, 5500 Dinant, 6800 Libramont): organisations are
    drawn 4 times likelier there, 2 times at a postcode ending in 0, and the persons
    a beneficiary serves grow by the same factor."""
    code = int(postcode)
    return 4.0 if code % 100 == 0 else 2.0 if code % 10 == 0 else 1.0


# -- networks -------------------------------------------------------------------------
# Seeds: Distri-denrées (Namur) 120 t/year to 46 organisations.
NAMUR_TONNES_PER_YEAR = 120.0
NAMUR_BENEFICIARIES = 46
TONNES_PER_BENEFICIARY_YEAR = NAMUR_TONNES_PER_YEAR / NAMUR_BENEFICIARIES  # 2.61 t
# Seeds: the Libramont hub's 73 suppliers, 71 buyers, 3 vans (1 refrigerated), cold room.
LUXEMBOURG_DONORS = 73
LUXEMBOURG_BENEFICIARIES = 71
LUXEMBOURG_VANS = 3
LUXEMBOURG_REFRIGERATED = 1
DONORS_PER_BENEFICIARY = LUXEMBOURG_DONORS / LUXEMBOURG_BENEFICIARIES  # 1.03
BENEFICIARIES_PER_VAN = LUXEMBOURG_BENEFICIARIES / LUXEMBOURG_VANS  # 23.7
# Seed: the national FSE+ network.
BELGIUM_CPAS = 358
BELGIUM_ASSOCIATIONS = 419
# Namur's beneficiaries per inhabitant scale the provinces without a seed.
BENEFICIARIES_PER_INHABITANT = NAMUR_BENEFICIARIES / POPULATION["namur"]
# Assumption: a platform serves at most ~75 organisations (Libramont: 71).
MAX_BENEFICIARIES_PER_PLATFORM = 75
# Assumption: the CPAS's share of a province's beneficiaries is the national one
# (358 of 777, 46 %).
CPAS_SHARE = BELGIUM_CPAS / (BELGIUM_CPAS + BELGIUM_ASSOCIATIONS)


@dataclass(frozen=True)
class Seat:
    name: str
    postcode: str
    locality: str


# Platform seats. Namur and Luxembourg are the seeds' own; the others are assumptions:
# the cities the Walloon food banks and the 9 regional food banks of the federation
# work from (names are the simulation's, not the organisations' legal names).
SEATS: dict[str, tuple[Seat, ...]] = {
    "namur": (Seat("Distri-denrées — Province de Namur", "5000", "Namur"),),
    "luxembourg": (Seat("Terroir & Partage — hub de Libramont", "6800", "Libramont-Chevigny"),),
    "hainaut": (
        Seat("Banque alimentaire de Charleroi", "6000", "Charleroi"),
        Seat("Banque alimentaire Mons-Borinage", "7000", "Mons"),
        Seat("Banque alimentaire de Wallonie picarde", "7500", "Tournai"),
    ),
    "liege": (
        Seat("Banque alimentaire de Liège", "4000", "Liège"),
        Seat("Plateforme solidaire de Verviers", "4800", "Verviers"),
    ),
    "brabant-wallon": (Seat("Plateforme d'aide alimentaire du Brabant wallon", "1300", "Wavre"),),
    "belgium": (
        Seat("Banque alimentaire Bruxelles-Brabant", "1070", "Anderlecht"),
        Seat("Voedselbank Antwerpen", "2000", "Antwerpen"),
        Seat("Voedselbank Limburg", "3500", "Hasselt"),
        Seat("Voedselbank Oost-Vlaanderen", "9000", "Gent"),
        Seat("Voedselbank West-Vlaanderen", "8800", "Roeselare"),
        Seat("Banque alimentaire de Liège", "4000", "Liège"),
        Seat("Banque alimentaire Namur-Luxembourg", "5000", "Namur"),
        Seat("Banque alimentaire de Charleroi", "6000", "Charleroi"),
        Seat("Banque alimentaire Mons-Borinage", "7000", "Mons"),
    ),
}


@dataclass(frozen=True)
class Network:
    """What a province's world is built to."""

    platforms: int
    cpas: int
    associations: int
    donors: int
    vans: int  # over all platforms
    refrigerated: int
    tonnes_per_year: float


def network(province: str) -> Network:
    """The calibration of ``province`` (see the module's docstring for the seeds)."""
    if province == "namur":
        benef = NAMUR_BENEFICIARIES
    elif province == "luxembourg":
        benef = LUXEMBOURG_BENEFICIARIES
    elif province == "belgium":
        benef = BELGIUM_CPAS + BELGIUM_ASSOCIATIONS
    else:
        benef = round(POPULATION[province] * BENEFICIARIES_PER_INHABITANT)
    if province == "belgium":
        cpas = BELGIUM_CPAS
    else:
        cpas = round(benef * CPAS_SHARE)
    seats = len(SEATS[province])
    platforms = (
        seats
        if province == "belgium"
        else min(seats, max(1, -(-benef // MAX_BENEFICIARIES_PER_PLATFORM)))
    )
    if province == "luxembourg":
        donors, vans, fridge = LUXEMBOURG_DONORS, LUXEMBOURG_VANS, LUXEMBOURG_REFRIGERATED
    else:
        donors = round(benef * DONORS_PER_BENEFICIARY)
        vans = max(2 * platforms, round(benef / BENEFICIARIES_PER_VAN))
        fridge = max(platforms, round(vans / LUXEMBOURG_VANS * LUXEMBOURG_REFRIGERATED))
    tonnes = NAMUR_TONNES_PER_YEAR if province == "namur" else benef * TONNES_PER_BENEFICIARY_YEAR
    return Network(platforms, cpas, benef - cpas, donors, vans, fridge, round(tonnes, 1))


# -- beneficiaries --------------------------------------------------------------------
# Persons a week: log-normal around these medians (assumption: a rural CPAS helps a
# few dozen people a week, a city's hundreds; associations are smaller), times the
# place weight (above), clipped.
PERSONS_MEDIAN = {"cpas": 45.0, "association": 30.0}
PERSONS_SIGMA = 0.6
PERSONS_RANGE = (8, 1500)
# The matcher's weekly target per person (surplus/config.py MATCH_KG_PER_PERSON).
KG_PER_PERSON_WEEK = 2.5
# Food aid is short: the world is checked to post less than its weekly need; when a
# draw would not, persons are scaled up to this ratio of supply over need.
MAX_SUPPLY_OVER_NEED = 0.6
# FSE+ approvals (assumption): most CPAS hold one, a third of associations; a social
# grocery never (it sells: FSE+ art. 21, services/eligibility.py).
FSE_APPROVED = {"cpas": 0.85, "association": 0.35}
# Distribution modes (assumption).
MODES = {
    "cpas": (("free_parcels", 0.9), ("social_grocery", 0.1)),
    "association": (
        ("free_parcels", 0.5),
        ("social_restaurant", 0.25),
        ("social_grocery", 0.25),
    ),
}
# Cold storage declared on the convention, kg per person a week (assumption; the demo
# uses 0.8 chilled, 0.4 frozen for the large ones). Some small associations have no
# fridge at all.
CHILLED_KG_PER_PERSON = 0.8
FROZEN_KG_PER_PERSON = 0.4
FROZEN_FROM_PERSONS = 120
NO_FRIDGE_SHARE = {"cpas": 0.0, "association": 0.15}
# Delivery opening hours (the convention's, which booking reads) by kind (assumption):
# CPAS office hours Monday to Friday; associations open 2 to 4 weekdays, mornings or
# afternoons. A beneficiary is always open on its round's weekday.
CPAS_HOURS = (("08:30", "12:00"), ("13:00", "16:30"))
ASSOCIATION_HOURS = (
    (("09:00", "12:30"),),
    (("09:00", "12:00"), ("13:30", "16:00")),
    (("13:00", "17:00"),),
)
ASSOCIATION_OPEN_DAYS = (2, 4)
# Social workers (h7's behaviour reads them): when they open the lot list, how often
# they cancel a claim, how often nobody is there when the van comes (assumption).
LOOKS_PER_DAY = {"cpas": (2, 3), "association": (1, 2)}
CANCEL_RATE = {"cpas": (0.01, 0.05), "association": (0.02, 0.08)}
MISS_RATE = {"cpas": (0.005, 0.02), "association": (0.02, 0.08)}
# Who fetches food itself, and how far (share of the kind, road km range; assumption:
# associations' volunteers collect at nearby bakeries and shops, a few CPAS have a van).
SELF_COLLECT = {"cpas": (0.3, (5.0, 10.0)), "association": (0.6, (3.0, 15.0))}
# A second convention with the next platform when it is this close (km, road).
SECOND_CONVENTION_KM = 35.0
SECOND_CONVENTION_SHARE = 0.15

# -- donors ---------------------------------------------------------------------------
# Share of donors by count and of kilograms by kind (assumption: supermarkets give the
# most, an auction's lots are the largest, shops the smallest).
DONOR_COUNT_SHARE = {"supermarket": 0.22, "shop": 0.34, "cooperative": 0.04}  # rest: producers
DONOR_KG_SHARE = {
    "supermarket": 0.45,
    "auction": 0.15,
    "cooperative": 0.07,
    "producer": 0.21,
    "shop": 0.12,
}
# Kilograms vary between donors of a kind: log-normal factor (renormalised).
DONOR_SIGMA = 0.5
# Regular collections on the platform's rounds, visits a week (real food banks collect
# at supermarkets and the auction on fixed days; larger producers once a week).
# Supermarkets: 3 asked, about 2.4 achieved (the refrigerated rounds' hours and detours
# cap it). Asking 5 (every weekday) gives 2.5-2.7 and takes room the bookings need on
# those rounds (bench/README.md, "Rounds"); the daily collection at supermarkets is the
# associations' own (self-collection, SELF_COLLECT).
VISITS_PER_WEEK = {
    "supermarket": 3,
    "auction": 5,
    "cooperative": 1,
    "producer": 1,
    "dairy_farm": 2,  # chilled: twice a week
    "livestock": 2,
}
# A regular donor's further visits are on rounds that pass within this detour (km);
# refrigerated rounds count their detour at this factor (they are preferred).
MAX_COLLECTION_DETOUR_KM = 40.0
FRIDGE_PREFERENCE = 0.5
# Donors whose surplus is largely chilled are collected by refrigerated vans only
# (supermarkets, and producers of these specialties).
CHILLED_SPECIALTIES = ("dairy_farm", "livestock")
# The producers at or above this quantile of kilograms are collected on a round.
REGULAR_PRODUCER_QUANTILE = 0.5
# FSE+ stock the platforms post from their depots, share of the province's tonnes
# (assumption; FSE+ stock is a large part of a food bank's food but mostly leaves on
# its own distributions, outside Maillon's lot list).
FSE_STOCK_SHARE = 0.1
# A donor withdraws this share of its lots, part-way through the pickup window.
WITHDRAW_RATE = 0.02

# -- vehicles and rounds --------------------------------------------------------------
VAN_CAPACITY_KG = {"refrigerated": 1500.0, "dry": 2000.0}
# Assumption: a refrigerated van has a freezer compartment (multi-temperature).
REFRIGERATED_HAS_FREEZER = True
ROUND_DEPARTURE = "07:30"
# A round collects at its donors first, then delivers (the morning "ramasse", then the
# distribution): whatever it picks up can be dropped at any of its beneficiaries on the
# way without a detour.
COLLECT_FIRST = True
ROUND_MAX_MIN = 600
# The regular stops fill at most 7.5 of those 10 hours: the rest is room for bookings
ROUND_PLANNED_MIN = 450
# ... and reach each stop this long before its window closes: room for a few booked
# stops (10 minutes each, matching.Params.service_min) before it.
WINDOW_SLACK_MIN = 75
# A regular donor's further visits never make a round longer than this (km, assumption:
# a van's day); its first visit and the beneficiaries' stops only need the time.
ROUND_MAX_KM = 300.0
SERVICE_MIN = {"beneficiary": 15, "donor": 10}
# Depot stock a round delivers at each regular beneficiary stop, kg per person (the
# round's usual load; capped so that a van leaves at most half full).
ROUND_KG_PER_PERSON = 0.6
ROUND_START_LOAD_MAX = 0.5
# Donor stops' windows on the rounds (local time).
DONOR_STOP_HOURS = {
    "supermarket": ("07:00", "19:00"),
    "auction": ("05:30", "13:00"),
    "cooperative": ("08:00", "17:00"),
    "producer": ("08:00", "18:00"),
}

# -- what donors post -----------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """One kind of lot: its label and how long it keeps (days from posting to the date
    on the label), its size range (kg, log-uniform) and how it may be split."""

    title: str
    category: str
    storage: str
    date_kind: str | None
    days: tuple[int, int]
    kg: tuple[float, float]
    allergens: tuple[str, ...] = ()
    divisible: bool = True
    min_part_kg: float | None = None
    product_kind: str | None = None
    weight: float = 1.0


P = Product
# Horizons (assumption, from labels): chilled use-by 2-5 days, yoghurts and cheese
# best-before 1-3 weeks, bread 1-2 days, vegetables days to weeks, dry goods months.
SUPERMARKET = (
    P("Yaourts nature 125 g", "dairy", "chilled", "use_by", (3, 5), (8, 60), ("milk",), weight=3),
    P("Lait demi-écrémé 1 L", "dairy", "chilled", "use_by", (2, 5), (10, 80), ("milk",), weight=2),
    P("Fromages à la coupe", "dairy", "chilled", "best_before", (6, 18), (3, 25), ("milk",)),
    P(
        "Filets de poulet",
        "meat_fish",
        "chilled",
        "use_by",
        (2, 4),
        (4, 30),
        product_kind="poultry",
    ),
    P(
        "Haché porc-bœuf",
        "meat_fish",
        "chilled",
        "use_by",
        (2, 3),
        (3, 20),
        product_kind="minced_meat",
    ),
    P(
        "Saumon fumé",
        "meat_fish",
        "chilled",
        "use_by",
        (3, 5),
        (2, 12),
        ("fish",),
        product_kind="fishery",
        weight=0.5,
    ),
    P(
        "Plats préparés (barquettes)",
        "ready_meals",
        "chilled",
        "use_by",
        (2, 4),
        (5, 40),
        ("gluten", "milk"),
        weight=2,
    ),
    P("Salades en sachet", "fruit_veg", "chilled", "use_by", (2, 4), (3, 20), weight=1.5),
    P(
        "Fruits et légumes déclassés",
        "fruit_veg",
        "ambient",
        "best_before",
        (3, 8),
        (15, 120),
        weight=3,
    ),
    P(
        "Pains et viennoiseries de la veille",
        "bakery",
        "ambient",
        "best_before",
        (1, 2),
        (5, 40),
        ("gluten",),
        weight=2,
    ),
    P(
        "Épicerie sèche (emballages abîmés)",
        "dry_goods",
        "ambient",
        "best_before",
        (30, 240),
        (10, 120),
        ("gluten",),
        weight=1.5,
    ),
    P("Boissons (packs entamés)", "drinks", "ambient", "best_before", (30, 180), (20, 150)),
    P(
        "Surgelés (rupture de chaîne évitée)",
        "frozen",
        "frozen",
        "best_before",
        (30, 120),
        (10, 80),
        weight=0.6,
    ),
    P("Petits pots bébé", "baby", "ambient", "best_before", (20, 120), (3, 20), weight=0.3),
    P("Hygiène (colis)", "non_food", "ambient", None, (0, 0), (5, 30), weight=0.2),
    P(
        "Palette de yaourts aux fruits",
        "dairy",
        "chilled",
        "use_by",
        (4, 5),
        (150, 400),
        ("milk",),
        divisible=False,
        weight=0.15,
    ),
)
SHOP = {
    "bakery": (
        P(
            "Pain gris tranché",
            "bakery",
            "ambient",
            "best_before",
            (1, 2),
            (3, 20),
            ("gluten", "sesame"),
            weight=3,
        ),
        P(
            "Baguettes de la veille",
            "bakery",
            "ambient",
            "best_before",
            (1, 1),
            (2, 12),
            ("gluten",),
            weight=2,
        ),
        P(
            "Cramiques et couques",
            "bakery",
            "ambient",
            "best_before",
            (1, 3),
            (2, 10),
            ("gluten", "milk", "eggs"),
        ),
    ),
    "greengrocer": (
        P("Fruits abîmés", "fruit_veg", "ambient", "best_before", (2, 6), (5, 40), weight=2),
        P(
            "Légumes de la semaine",
            "fruit_veg",
            "ambient",
            "best_before",
            (3, 8),
            (5, 50),
            weight=2,
        ),
    ),
    "butcher": (
        P(
            "Préparations de viande",
            "meat_fish",
            "chilled",
            "use_by",
            (2, 3),
            (2, 15),
            product_kind="meat_preparation",
            weight=2,
        ),
        P(
            "Charcuterie tranchée",
            "meat_fish",
            "chilled",
            "use_by",
            (3, 5),
            (2, 10),
            product_kind="fresh_meat",
        ),
        P(
            "Plats du traiteur",
            "ready_meals",
            "chilled",
            "use_by",
            (2, 3),
            (3, 20),
            ("gluten", "milk", "celery"),
        ),
    ),
    "grocery": (
        P(
            "Produits laitiers en fin de date",
            "dairy",
            "chilled",
            "use_by",
            (2, 5),
            (3, 20),
            ("milk",),
            weight=2,
        ),
        P("Épicerie sèche", "dry_goods", "ambient", "best_before", (20, 180), (3, 30), ("gluten",)),
        P("Fruits et légumes", "fruit_veg", "ambient", "best_before", (3, 7), (3, 25), weight=1.5),
    ),
}
SHOP_SPECIALTIES = (("bakery", 0.4), ("greengrocer", 0.2), ("butcher", 0.15), ("grocery", 0.25))
PRODUCER = {
    "market_garden": (
        P(
            "Carottes en vrac",
            "fruit_veg",
            "ambient",
            "best_before",
            (7, 20),
            (20, 300),
            min_part_kg=10,
        ),
        P(
            "Pommes de terre déclassées",
            "fruit_veg",
            "ambient",
            "best_before",
            (14, 40),
            (50, 600),
            min_part_kg=25,
        ),
        P("Poireaux", "fruit_veg", "ambient", "best_before", (4, 10), (15, 150), ("celery",)),
        P("Salades et jeunes pousses", "fruit_veg", "chilled", "use_by", (2, 4), (5, 40)),
        P("Tomates", "fruit_veg", "ambient", "best_before", (3, 7), (10, 120)),
    ),
    "orchard": (
        P(
            "Pommes calibre déclassé",
            "fruit_veg",
            "ambient",
            "best_before",
            (10, 40),
            (40, 500),
            min_part_kg=20,
            weight=2,
        ),
        P("Poires", "fruit_veg", "ambient", "best_before", (5, 15), (20, 250), min_part_kg=10),
        P("Jus de pomme 1 L", "drinks", "ambient", "best_before", (60, 240), (30, 300), weight=0.5),
    ),
    "dairy_farm": (
        P("Yaourts fermiers", "dairy", "chilled", "use_by", (3, 5), (10, 80), ("milk",), weight=2),
        P("Fromage frais fermier", "dairy", "chilled", "use_by", (3, 5), (5, 40), ("milk",)),
        P("Beurre de ferme 250 g", "dairy", "chilled", "best_before", (10, 25), (5, 30), ("milk",)),
        P("Lait cru 1 L", "dairy", "chilled", "use_by", (2, 3), (20, 150), ("milk",)),
    ),
    "livestock": (
        P(
            "Colis de viande bovine",
            "meat_fish",
            "chilled",
            "use_by",
            (3, 5),
            (10, 60),
            product_kind="fresh_meat",
        ),
        P(
            "Viande hachée surgelée",
            "meat_fish",
            "frozen",
            "best_before",
            (60, 180),
            (10, 80),
            product_kind="minced_meat",
        ),
        P("Œufs déclassés", "dairy", "ambient", "best_before", (10, 21), (5, 40), ("eggs",)),
    ),
}
PRODUCER_SPECIALTIES = (
    ("market_garden", 0.4),
    ("orchard", 0.2),
    ("dairy_farm", 0.25),
    ("livestock", 0.15),
)
AUCTION = (
    P(
        "Invendus de la criée — légumes",
        "fruit_veg",
        "ambient",
        "best_before",
        (3, 10),
        (80, 800),
        min_part_kg=20,
        weight=3,
    ),
    P(
        "Invendus de la criée — fruits",
        "fruit_veg",
        "ambient",
        "best_before",
        (4, 12),
        (80, 800),
        min_part_kg=20,
        weight=2,
    ),
    P(
        "Chicons et salades de la criée",
        "fruit_veg",
        "chilled",
        "best_before",
        (3, 6),
        (40, 300),
        min_part_kg=20,
    ),
    P(
        "Palette de pommes de terre",
        "fruit_veg",
        "ambient",
        "best_before",
        (20, 45),
        (400, 900),
        divisible=False,
        weight=0.5,
    ),
)
COOPERATIVE = (
    P(
        "Farine et céréales en vrac",
        "dry_goods",
        "ambient",
        "best_before",
        (60, 240),
        (20, 200),
        ("gluten",),
        min_part_kg=10,
    ),
    P(
        "Produits laitiers de la coopérative",
        "dairy",
        "chilled",
        "use_by",
        (3, 5),
        (10, 80),
        ("milk",),
    ),
    P(
        "Légumes de la coopérative",
        "fruit_veg",
        "ambient",
        "best_before",
        (4, 14),
        (20, 200),
        min_part_kg=10,
    ),
    P(
        "Conserves de légumes",
        "dry_goods",
        "ambient",
        "best_before",
        (180, 500),
        (20, 250),
        weight=0.5,
    ),
)
FSE_STOCK = (
    P(
        "FSE+ — Pâtes alimentaires 500 g",
        "dry_goods",
        "ambient",
        "best_before",
        (120, 300),
        (100, 600),
        ("gluten",),
        min_part_kg=10,
    ),
    P(
        "FSE+ — Lait UHT demi-écrémé 1 L",
        "dairy",
        "ambient",
        "best_before",
        (60, 150),
        (100, 800),
        ("milk",),
        min_part_kg=12,
    ),
    P(
        "FSE+ — Conserves de thon",
        "dry_goods",
        "ambient",
        "best_before",
        (200, 500),
        (50, 300),
        ("fish",),
        min_part_kg=5,
    ),
    P(
        "FSE+ — Huile de tournesol 1 L",
        "dry_goods",
        "ambient",
        "best_before",
        (150, 400),
        (50, 300),
        min_part_kg=6,
    ),
    P(
        "FSE+ — Compote de pommes",
        "fruit_veg",
        "ambient",
        "best_before",
        (90, 240),
        (50, 400),
        min_part_kg=5,
    ),
)
del P

# When donors post (local time) and on which weekdays (relative weights Mon..Sun):
# supermarkets after the evening date check (what is set aside for the next morning's
# collection: the round passes early, before a morning posting could be claimed), shops
# at closing time, producers any day, the auction at dawn after the sale, the
# cooperative in office hours (assumption).
POST_HOURS = {
    "supermarket": ((18, 30), (21, 0)),
    "shop": ((17, 0), (19, 30)),
    "producer": ((7, 0), (20, 0)),
    "auction": ((5, 30), (8, 0)),
    "cooperative": ((9, 0), (16, 0)),
    "platform": ((8, 30), (10, 0)),
}
POST_WEEKDAYS = {
    "supermarket": (1, 1, 1, 1, 1.2, 1.3, 0),
    "shop": (0.6, 1, 1, 1, 1.1, 1.4, 0),
    "producer": (1, 1, 1, 1, 1, 0.7, 0.4),
    "auction": (1.2, 1, 1, 1, 1, 0, 0),
    "cooperative": (1, 1, 1, 1, 1, 0, 0),
    "platform": (1, 0, 0, 0, 0, 0, 0),
}
# Producers' volumes follow the growing season: multiplier by month (mean 1).
PRODUCER_SEASON = (0.6, 0.6, 0.7, 0.8, 1.0, 1.2, 1.3, 1.4, 1.4, 1.3, 0.9, 0.8)
# How long a lot may be picked up (hours from the start of the window), by kind; the
# window starts with the posting (or the shop's next opening) and never ends after the
# food may be handed out. A regular donor's window runs to its next collection when
# the food keeps until then (donors know their collection days).
WINDOW_HOURS = {
    "supermarket": (8, 32),
    "shop": (4, 10),
    "producer": (10, 56),
    "auction": (6, 30),
    "cooperative": (24, 72),
    "platform": (72, 104),
}
SHOP_OPENS = (8, 0)
# A window that would end at night (outside these local hours) ends at the next day's
# hour + 2 instead (12:00): nobody fetches food at night.
CLOSES_BY_DAY = (10, 20)
MAX_WINDOW_DAYS = 4
