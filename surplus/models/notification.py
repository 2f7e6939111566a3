"""In-app notifications, their mail, and each user's choice per kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, enum_column, utcnow
from .enums import MailMode, MailState, NotificationKind
from .organisation import User


class Notification(db.Model):
    """One thing a user should know. The text is rendered from ``kind`` and ``params``
    in the reader's language when shown or mailed, never stored translated."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_read", "user_id", "read_at", "id"),
        Index("ix_notification_mail_state", "mail_state", "id"),
        # a subject's notices: who was told of a lot, the notices of a claim given back
        Index("ix_notification_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(
        enum_column(NotificationKind, "notification_kind")
    )
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int]
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mail_state: Mapped[MailState] = mapped_column(
        enum_column(MailState, "mail_state"), default=MailState.NONE
    )
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class NotificationPreference(db.Model):
    """A user's mail choice for one kind; without a row the kind's default applies."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[NotificationKind] = mapped_column(
        enum_column(NotificationKind, "preference_kind"), primary_key=True
    )
    mode: Mapped[MailMode] = mapped_column(enum_column(MailMode, "mail_mode"))
