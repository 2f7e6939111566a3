"""SQLAlchemy 2 typed models, split by concept."""

from .allocation import AllocationBatch, AllocationLine
from .base import db, utcnow
from .convention import Convention
from .enums import (
    AgreementStatus,
    Allergen,
    BatchStatus,
    Category,
    ClaimStatus,
    ConventionStatus,
    DateKind,
    DistributionMode,
    JobOutcome,
    LineStatus,
    LotStatus,
    MailMode,
    MailState,
    NotificationKind,
    OrgKind,
    ProductKind,
    RecallAction,
    Role,
    RunStatus,
    StopKind,
    StopStatus,
    StorageClass,
    Verification,
)
from .event import AppendOnlyError, Event
from .interplatform import LotOffer, TransportAgreement
from .job import JobLock, JobRun
from .lot import MAX_LOT_GRAMS, Claim, Lot
from .notification import Notification, NotificationPreference
from .organisation import Invitation, Organisation, User
from .recall import Recall, RecallHolder
from .run import Depot, Run, RunTemplate, Stop, TemplateStop, Vehicle

__all__ = [
    "AllocationBatch",
    "AllocationLine",
    "BatchStatus",
    "LineStatus",
    "MAX_LOT_GRAMS",
    "Allergen",
    "AppendOnlyError",
    "Category",
    "Claim",
    "ClaimStatus",
    "Convention",
    "ConventionStatus",
    "DateKind",
    "Depot",
    "DistributionMode",
    "Event",
    "Invitation",
    "Lot",
    "LotStatus",
    "OrgKind",
    "ProductKind",
    "Recall",
    "RecallAction",
    "RecallHolder",
    "Organisation",
    "Role",
    "Run",
    "RunStatus",
    "RunTemplate",
    "TemplateStop",
    "Stop",
    "StopKind",
    "StopStatus",
    "StorageClass",
    "User",
    "Vehicle",
    "Verification",
    "db",
    "utcnow",
    "AgreementStatus",
    "JobOutcome",
    "MailMode",
    "MailState",
    "NotificationKind",
    "LotOffer",
    "TransportAgreement",
    "JobLock",
    "JobRun",
    "Notification",
    "NotificationPreference",
]
