"""An email in the outbox: what to send, to whom, and how delivery is going."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from coaching.database import UTCDateTime, stored_by_value, utcnow
from coaching.extensions import db


class OutboxStatus(enum.Enum):
    """Delivery state of a queued email."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class EmailKind(enum.Enum):
    """Why an email is sent."""

    COACH_NOTIFICATION = "coach_notification"
    VISITOR_ACKNOWLEDGEMENT = "visitor_acknowledgement"
    ADMIN_REPLY = "admin_reply"
    SPAM_DIGEST = "spam_digest"
    PASSWORD_RESET = "password_reset"


WAITING_SQL = "status IN ('pending', 'sending')"  # the statuses a worker may still claim


class OutboxMessage(db.Model):
    """An email written in the same transaction as what caused it, delivered later by a worker."""

    __tablename__ = "outbox_messages"
    # What may still be sent: a handful of rows beside years of sent ones, so the delivery pass and /readyz
    # read them from this index rather than walking every message by next_attempt_at.
    __table_args__ = (
        Index("ix_outbox_messages_waiting", "next_attempt_at", "id",
              sqlite_where=text(WAITING_SQL), postgresql_where=text(WAITING_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int | None] = mapped_column(
        ForeignKey("inquiries.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EmailKind] = mapped_column(
        stored_by_value(EmailKind, "email_kind")
    )
    # Stable across retries, so a receiving server (or the coach's mail client) can drop duplicates.
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    # The From name when it isn't the site's default (a reply goes out under the coach's own name).
    sender_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        stored_by_value(OutboxStatus, "outbox_status"),
        default=OutboxStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # A claimed message belongs to one worker until this time (then another may retry it).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

