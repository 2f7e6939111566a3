"""Organisations, their users and invitations."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, false, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .base import UTCDateTime, db, enum_column, utcnow
from .enums import DistributionMode, OrgKind, Role, Verification


class Organisation(db.Model):
    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon_range"),
        Index("ix_organisation_kind_verification", "kind", "verification"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind, "org_kind"))
    verification: Mapped[Verification] = mapped_column(
        enum_column(Verification, "verification"), default=Verification.PENDING
    )
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(4))
    locality: Mapped[str] = mapped_column(String(120))
    lat: Mapped[float]
    lon: Mapped[float]
    enterprise_number: Mapped[str | None] = mapped_column(String(12), unique=True)
    afsca_number: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    distribution_mode: Mapped[DistributionMode | None] = mapped_column(
        enum_column(DistributionMode, "distribution_mode")
    )
    # Platforms only: communes (postcodes) served; read by the convention request page.
    service_postcodes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Platforms only: and/or every place within this many km of its depots (or seat).
    service_radius_km: Mapped[float | None]
    # Platforms only: its headline figures are on a public page (services/reports).
    publish_figures: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    @property
    def is_platform(self) -> bool:
        return self.kind == OrgKind.PLATFORM

    @property
    def is_beneficiary(self) -> bool:
        return self.kind.is_beneficiary

    @property
    def is_verified(self) -> bool:
        return self.verification == Verification.VERIFIED

    @classmethod
    def pending(cls):
        return select(cls).where(cls.verification == Verification.PENDING).order_by(cls.created_at)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), default=Role.MEMBER)
    language: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on sign-out-everywhere and password change: invalidates every web session
    # (API tokens are revoked in their own table, models/security.py).
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Sign-up: the address is confirmed by the link mailed to it (invitations confirm it).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # TOTP (pyotp): the base32 secret while enrolling, enabled once a code was checked.
    mfa_secret: Mapped[str | None] = mapped_column(String(64))
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # GDPR: deactivated (``active`` false) or deleted (name and e-mail replaced by a
    # pseudonym; events keep pointing at the row).
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship(back_populates="users")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # scrypt by default

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_site_admin(self) -> bool:
        return self.role == Role.SITE_ADMIN

    @property
    def is_org_admin(self) -> bool:
        return self.role in (Role.ORG_ADMIN, Role.COORDINATOR, Role.SITE_ADMIN)

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR and self.organisation.is_platform


class Invitation(db.Model):
    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(enum_column(Role, "invitation_role"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship()
