"""Closed vocabularies of the domain (DESIGN.md §2). Values are the API's codes."""

from __future__ import annotations

import enum


class OrgKind(enum.StrEnum):
    PRODUCER = "producer"
    SHOP = "shop"
    SUPERMARKET = "supermarket"
    INDUSTRY = "industry"
    AUCTION = "auction"
    PLATFORM = "platform"
    CPAS = "cpas"
    ASSOCIATION = "association"

    @property
    def is_beneficiary(self) -> bool:
        return self in (OrgKind.CPAS, OrgKind.ASSOCIATION)

    @property
    def is_donor(self) -> bool:
        return not self.is_beneficiary


class Verification(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Role(enum.StrEnum):
    MEMBER = "member"
    ORG_ADMIN = "org_admin"
    COORDINATOR = "coordinator"
    SITE_ADMIN = "site_admin"


class ConventionStatus(enum.StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DECLINED = "declined"
    ENDED = "ended"


class DistributionMode(enum.StrEnum):
    """How a beneficiary hands food out; FSE+ food never goes to a selling channel."""

    FREE_PARCELS = "free_parcels"
    SOCIAL_RESTAURANT = "social_restaurant"
    SOCIAL_GROCERY = "social_grocery"
    OTHER = "other"

    @property
    def is_free(self) -> bool:
        """Food handed out free of charge (FSE+ art. 21; the VAT relief on donations):
        parcels and a social restaurant's free meals, never a grocery's shelves."""
        return self in (DistributionMode.FREE_PARCELS, DistributionMode.SOCIAL_RESTAURANT)


class Category(enum.StrEnum):
    FRUIT_VEG = "fruit_veg"
    BAKERY = "bakery"
    DAIRY = "dairy"
    MEAT_FISH = "meat_fish"
    READY_MEALS = "ready_meals"
    DRY_GOODS = "dry_goods"
    DRINKS = "drinks"
    FROZEN = "frozen"
    BABY = "baby"
    NON_FOOD = "non_food"


class DateKind(enum.StrEnum):
    USE_BY = "use_by"
    BEST_BEFORE = "best_before"


class StorageClass(enum.StrEnum):
    AMBIENT = "ambient"
    CHILLED = "chilled"
    FROZEN = "frozen"


class ProductKind(enum.StrEnum):
    """What a meat or fish lot is: its hand-over temperature limit depends on it
    (Reg. (EC) 853/2004 Annex III; services/food_safety.py)."""

    FRESH_MEAT = "fresh_meat"
    POULTRY = "poultry"
    OFFAL = "offal"
    MINCED_MEAT = "minced_meat"
    MEAT_PREPARATION = "meat_preparation"
    FISHERY = "fishery"


class Allergen(enum.StrEnum):
    """The 14 allergens of Annex II to Regulation (EU) No 1169/2011."""

    GLUTEN = "gluten"
    CRUSTACEANS = "crustaceans"
    EGGS = "eggs"
    FISH = "fish"
    PEANUTS = "peanuts"
    SOYBEANS = "soybeans"
    MILK = "milk"
    NUTS = "nuts"
    CELERY = "celery"
    MUSTARD = "mustard"
    SESAME = "sesame"
    SULPHITES = "sulphites"
    LUPIN = "lupin"
    MOLLUSCS = "molluscs"


class LotStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class ClaimStatus(enum.StrEnum):
    ACTIVE = "active"
    COLLECTED = "collected"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"  # the donor withdrew the lot
    REFUSED = "refused"  # a hand-over was refused (too warm, past its use-by): unfit
    # Nobody was there to receive it: the food went back with the van to its platform,
    # which receives it at a depot (services/stops.nobody_there, depots/receipts.py).
    RETURNED = "returned"


# A live claim holds its kilograms for its beneficiary, on the way or received (one
# definition: Claim.is_live, what an organisation received, the lot's claims).
LIVE_CLAIM_STATUSES = (ClaimStatus.ACTIVE, ClaimStatus.COLLECTED, ClaimStatus.DELIVERED)
# Claimed and not yet at its destination: to be picked up, or on board.
IN_TRANSIT_CLAIM_STATUSES = (ClaimStatus.ACTIVE, ClaimStatus.COLLECTED)


class RecallAction(enum.StrEnum):
    """What a holder did with recalled food."""

    QUARANTINED = "quarantined"
    DESTROYED = "destroyed"
    RETURNED = "returned"


class ReceiptSource(enum.StrEnum):
    """Where food presented at a depot's door comes from."""

    CLAIM = "claim"  # the platform's own claim on a lot, delivered to its depot
    DOOR = "door"  # a donor brings it to the door
    OUTSIDE = "outside"  # from outside Maillon: an FSE+ delivery, a purchase, a drive


class MovementKind(enum.StrEnum):
    RECEIVED = "received"
    SPLIT_OUT = "split_out"  # grams carved out of this item into a new one
    SPLIT_IN = "split_in"  # this item was made from another
    MERGED_OUT = "merged_out"
    MERGED_IN = "merged_in"
    OFFERED = "offered"  # offered to the network as a lot
    RETURNED = "returned"  # the offered lot's unclaimed grams, back in stock
    ADJUSTED = "adjusted"  # damaged, unfit, destroyed: down, with a reason
    COUNTED = "counted"  # an inventory count's difference, either way


class AdjustmentReason(enum.StrEnum):
    DAMAGED = "damaged"
    UNFIT = "unfit"
    DESTROYED = "destroyed"
    EXPIRED = "expired"
    OTHER = "other"  # said in words (the note)


class RunStatus(enum.StrEnum):
    PLANNED = "planned"
    ON_ROAD = "on_road"
    DONE = "done"
    CANCELLED = "cancelled"


class StopKind(enum.StrEnum):
    REGULAR = "regular"
    PICKUP = "pickup"
    DROPOFF = "dropoff"


class StopStatus(enum.StrEnum):
    PLANNED = "planned"
    DONE = "done"
    REJECTED = "rejected"
    MISSED = "missed"  # a drop-off where nobody was there to receive the food


class BatchStatus(enum.StrEnum):
    PREVIEW = "preview"
    CONFIRMED = "confirmed"
    DISCARDED = "discarded"


class LineStatus(enum.StrEnum):
    PROPOSED = "proposed"
    REMOVED = "removed"
    CLAIMED = "claimed"
    SKIPPED = "skipped"


class AgreementStatus(enum.StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    REFUSED = "refused"
    ENDED = "ended"


class JobOutcome(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


class MailMode(enum.StrEnum):
    """How a user receives one kind of notification by mail (always in the app)."""

    OFF = "off"
    IMMEDIATE = "immediate"
    DIGEST = "digest"


class MailState(enum.StrEnum):
    """Where a notification's mail stands: none wanted, waiting, sent, or failed."""

    NONE = "none"
    PENDING = "pending"
    DIGEST = "digest"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class NotificationKind(enum.StrEnum):
    NEW_LOT = "new_lot"
    LOT_CLAIMED = "lot_claimed"
    BOOKING = "booking"
    CONVENTION_DECISION = "convention_decision"
    LOT_WITHDRAWN = "lot_withdrawn"
    EXPIRING_APPROVAL = "expiring_approval"
    TRANSPORT_AGREEMENT = "transport_agreement"
    HANDOVER_REFUSED = "handover_refused"
    RECALL = "recall"
    STOCK_EXPIRING = "stock_expiring"
    RECEIPT_REFUSED = "receipt_refused"
    CLAIM_ALLOCATED = "claim_allocated"
    LOT_CHANGED = "lot_changed"
    DELIVERY_MISSED = "delivery_missed"


class SecurityEventKind(enum.StrEnum):
    """What the account security log records (services/security_log.py)."""

    SIGNED_IN = "signed_in"
    SIGNED_OUT = "signed_out"
    SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"
    SIGN_IN_FAILED = "sign_in_failed"
    SESSION_EXPIRED = "session_expired"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    MFA_ENABLED = "mfa_enabled"
    MFA_DISABLED = "mfa_disabled"
    MFA_PASSED = "mfa_passed"
    MFA_FAILED = "mfa_failed"
    RECOVERY_CODE_USED = "recovery_code_used"
    RECOVERY_CODES_RENEWED = "recovery_codes_renewed"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    TOKEN_REFUSED = "token_refused"
    EMAIL_CONFIRMED = "email_confirmed"
    SIGN_UP_ATTEMPT_KNOWN = "sign_up_attempt_known"
    THROTTLED = "throttled"
    DATA_EXPORTED = "data_exported"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"
