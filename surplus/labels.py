"""Translated labels of the domain's codes, for pages and messages."""

from __future__ import annotations

from functools import lru_cache

from flask_babel import lazy_gettext as _l

from .models import (
    AgreementStatus,
    Allergen,
    BatchStatus,
    Category,
    ClaimStatus,
    ConventionStatus,
    DateKind,
    DistributionMode,
    LineStatus,
    LotStatus,
    OrgKind,
    ProductKind,
    RecallAction,
    Role,
    StopStatus,
    StorageClass,
    Verification,
)

ORG_KINDS = {
    OrgKind.PRODUCER: _l("Producer"),
    OrgKind.SHOP: _l("Shop"),
    OrgKind.SUPERMARKET: _l("Supermarket"),
    OrgKind.INDUSTRY: _l("Food industry"),
    OrgKind.AUCTION: _l("Fruit and vegetable auction"),
    OrgKind.PLATFORM: _l("Logistics platform"),
    OrgKind.CPAS: _l("CPAS"),
    OrgKind.ASSOCIATION: _l("Association"),
}
ROLES = {
    Role.MEMBER: _l("Member"),
    Role.ORG_ADMIN: _l("Organisation administrator"),
    Role.COORDINATOR: _l("Platform coordinator"),
    Role.SITE_ADMIN: _l("Site administrator"),
}
VERIFICATION = {
    Verification.PENDING: _l("Awaiting verification"),
    Verification.VERIFIED: _l("Verified"),
    Verification.REJECTED: _l("Refused"),
}
CATEGORIES = {
    Category.FRUIT_VEG: _l("Fruit and vegetables"),
    Category.BAKERY: _l("Bakery"),
    Category.DAIRY: _l("Dairy"),
    Category.MEAT_FISH: _l("Meat and fish"),
    Category.READY_MEALS: _l("Ready meals"),
    Category.DRY_GOODS: _l("Dry goods"),
    Category.DRINKS: _l("Drinks"),
    Category.FROZEN: _l("Frozen food"),
    Category.BABY: _l("Baby food"),
    Category.NON_FOOD: _l("Hygiene and non-food"),
}
STORAGE = {
    StorageClass.AMBIENT: _l("Ambient"),
    StorageClass.CHILLED: _l("Chilled"),
    StorageClass.FROZEN: _l("Frozen"),
}
DATE_KINDS = {
    DateKind.USE_BY: _l("Use by"),
    DateKind.BEST_BEFORE: _l("Best before"),
}
ALLERGENS = {
    Allergen.GLUTEN: _l("Gluten"),
    Allergen.CRUSTACEANS: _l("Crustaceans"),
    Allergen.EGGS: _l("Eggs"),
    Allergen.FISH: _l("Fish"),
    Allergen.PEANUTS: _l("Peanuts"),
    Allergen.SOYBEANS: _l("Soybeans"),
    Allergen.MILK: _l("Milk"),
    Allergen.NUTS: _l("Nuts"),
    Allergen.CELERY: _l("Celery"),
    Allergen.MUSTARD: _l("Mustard"),
    Allergen.SESAME: _l("Sesame"),
    Allergen.SULPHITES: _l("Sulphites"),
    Allergen.LUPIN: _l("Lupin"),
    Allergen.MOLLUSCS: _l("Molluscs"),
}
LOT_STATUS = {
    LotStatus.OPEN: _l("Open"),
    LotStatus.CLAIMED: _l("Fully claimed"),
    LotStatus.WITHDRAWN: _l("Withdrawn"),
    LotStatus.EXPIRED: _l("Expired"),
}
CLAIM_STATUS = {
    ClaimStatus.ACTIVE: _l("Claimed"),
    ClaimStatus.COLLECTED: _l("Collected"),
    ClaimStatus.DELIVERED: _l("Delivered"),
    ClaimStatus.CANCELLED: _l("Cancelled"),
    ClaimStatus.WITHDRAWN: _l("Withdrawn by the donor"),
    ClaimStatus.REFUSED: _l("Refused at a hand-over"),
    ClaimStatus.RETURNED: _l("Not delivered: nobody there"),
}
PRODUCT_KINDS = {
    ProductKind.FRESH_MEAT: _l("Fresh meat"),
    ProductKind.POULTRY: _l("Poultry meat"),
    ProductKind.OFFAL: _l("Offal"),
    ProductKind.MINCED_MEAT: _l("Minced meat"),
    ProductKind.MEAT_PREPARATION: _l("Meat preparation"),
    ProductKind.FISHERY: _l("Fishery products"),
}
STOP_STATUS = {
    StopStatus.PLANNED: _l("To do"),
    StopStatus.DONE: _l("Done"),
    StopStatus.REJECTED: _l("Refused"),
    StopStatus.MISSED: _l("Nobody there"),
}
CONVENTION_STATUS = {
    ConventionStatus.REQUESTED: _l("Requested"),
    ConventionStatus.ACTIVE: _l("In force"),
    ConventionStatus.SUSPENDED: _l("Suspended"),
    ConventionStatus.DECLINED: _l("Declined"),
    ConventionStatus.ENDED: _l("Ended"),
}
DISTRIBUTION = {
    DistributionMode.FREE_PARCELS: _l("Free food parcels"),
    DistributionMode.SOCIAL_RESTAURANT: _l("Social restaurant"),
    DistributionMode.SOCIAL_GROCERY: _l("Social grocery"),
    DistributionMode.OTHER: _l("Other (not free of charge)"),
}

BATCH_STATUS = {
    BatchStatus.PREVIEW: _l("To review"),
    BatchStatus.CONFIRMED: _l("Confirmed"),
    BatchStatus.DISCARDED: _l("Nothing to allocate"),
}
LINE_STATUS = {
    LineStatus.PROPOSED: _l("Proposed"),
    LineStatus.REMOVED: _l("Removed"),
    LineStatus.CLAIMED: _l("Claimed"),
    LineStatus.SKIPPED: _l("Skipped"),
}

AGREEMENT_STATUS = {
    AgreementStatus.REQUESTED: _l("Awaiting decision"),
    AgreementStatus.ACTIVE: _l("In force"),
    AgreementStatus.REFUSED: _l("Request refused"),
    AgreementStatus.ENDED: _l("Agreement ended"),
}

RECALL_ACTIONS = {
    RecallAction.QUARANTINED: _l("Quarantined (kept apart)"),
    RecallAction.DESTROYED: _l("Destroyed"),
    RecallAction.RETURNED: _l("Returned to the donor"),
}

WEEKDAYS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)

ALL = {
    "batch_status": BATCH_STATUS,
    "line_status": LINE_STATUS,
    "org_kind": ORG_KINDS,
    "role": ROLES,
    "verification": VERIFICATION,
    "category": CATEGORIES,
    "storage": STORAGE,
    "date_kind": DATE_KINDS,
    "allergen": ALLERGENS,
    "lot_status": LOT_STATUS,
    "claim_status": CLAIM_STATUS,
    "product_kind": PRODUCT_KINDS,
    "stop_status": STOP_STATUS,
    "convention_status": CONVENTION_STATUS,
    "distribution": DISTRIBUTION,
    # How a donation is handed out: a convention's mode, or a platform's own redistribution
    # (its depot claim: services/reports/donations.py).
    "donation_channel": {
        **DISTRIBUTION,
        "redistribution": _l("Redistributed free of charge by a food-aid platform"),
    },
    "agreement_status": AGREEMENT_STATUS,
    "recall_action": RECALL_ACTIONS,
}


def label(kind: str, code: object, locale: str | None = None) -> str:
    """The translated label of a code, in ``locale`` or the current language (cached per
    language; a page formatting many labels passes the locale it looked up once)."""
    from flask_babel import get_locale

    code = str(code.value if hasattr(code, "value") else code)
    return _label(kind, code, locale or str(get_locale()))


@lru_cache(maxsize=2048)
def _label(kind: str, code: str, locale: str) -> str:
    from flask_babel import force_locale

    text = ALL[kind].get(code)  # type: ignore[call-overload]
    if text is None:
        return code
    with force_locale(locale):
        return str(text)


def choices(kind: str) -> list[tuple[str, str]]:
    return [(code.value, str(text)) for code, text in ALL[kind].items()]
