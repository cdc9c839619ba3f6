"""Inquiries, their timeline entries and erasure records (typed SQLAlchemy 2 models)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coaching.database import UTCDateTime, stored_by_value, utcnow
from coaching.extensions import db
from coaching.inquiries import database_side  # noqa: F401  (db.create_all() makes its triggers too)
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus


class InquiryStatus(enum.Enum):
    """Where an inquiry stands in the coach's inbox."""

    NEW = "new"
    READ = "read"
    REPLIED = "replied"
    ARCHIVED = "archived"
    SPAM = "spam"


class Inquiry(db.Model):
    """A message sent through the contact form, kept even when email fails."""

    __tablename__ = "inquiries"
    __table_args__ = (
        # The inbox's pages, newest first: one status, or all but spam (LISTED; partial, so that a spam
        # flood costs the default list nothing). Both end in id, the tie-break of the keyset paging.
        Index("ix_inquiries_status_created_at_id", "status", "created_at", "id"),
        Index("ix_inquiries_listed_created_at_id", "created_at", "id",
              sqlite_where=text("status <> 'spam'"), postgresql_where=text("status <> 'spam'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    topic: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    privacy_notice_version: Mapped[str] = mapped_column(String(40))
    status: Mapped[InquiryStatus] = mapped_column(
        stored_by_value(InquiryStatus, "inquiry_status"),
        default=InquiryStatus.NEW,
    )
    spam_reason: Mapped[str | None] = mapped_column(String(100))
    # Seconds from the form being shown to it being sent (None when the page's stamp was unreadable).
    fill_seconds: Mapped[int | None] = mapped_column(Integer)
    # One per rendered form: a double-click or a resent form makes one inquiry (REL-10).
    submission_token: Mapped[str] = mapped_column(String(64), unique=True)

    # Defined from this side (with OutboxMessage.inquiry as its backref) so that mail/ never imports an area.
    emails: Mapped[list[OutboxMessage]] = relationship(
        backref="inquiry", cascade="all, delete-orphan", passive_deletes=True,
        order_by="OutboxMessage.id",
    )
    notes: Mapped[list[InquiryNote]] = relationship(
        back_populates="inquiry", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(InquiryNote.created_at, InquiryNote.id)",  # entries written together keep their order
    )

    @property
    def coach_notified(self) -> bool:
        """Whether the coach's notification email has gone out."""
        return any(e.kind is EmailKind.COACH_NOTIFICATION and e.status is OutboxStatus.SENT for e in self.emails)


# The default list (all but spam), written as ix_inquiries_listed_created_at_id's WHERE: SQLite and PostgreSQL
# use a partial index only for a query that says the same with a literal, never a bound parameter.
LISTED = Inquiry.status != literal_column("'spam'")


class InquiryStatusCount(db.Model):
    """How many inquiries have one status: kept by the database's triggers (database_side.py), never by code."""

    __tablename__ = "inquiry_status_counts"

    status: Mapped[InquiryStatus] = mapped_column(stored_by_value(InquiryStatus, "inquiry_status"),
                                                  primary_key=True)
    total: Mapped[int] = mapped_column(Integer)


class NoteKind(enum.Enum):
    """What a timeline entry on an inquiry records."""

    NOTE = "note"  # the coach's private note
    REPLY = "reply"  # a reply sent from the admin (its text)
    EVENT = "event"  # a status change, a resend


class InquiryNote(db.Model):
    """A dated entry on an inquiry's timeline; kept, never edited."""

    __tablename__ = "inquiry_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[NoteKind] = mapped_column(
        stored_by_value(NoteKind, "note_kind"), default=NoteKind.NOTE
    )
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))

    inquiry: Mapped[Inquiry] = relationship(back_populates="notes")


class ErasureRecord(db.Model):
    """An audit record of an erasure: what was erased (by id and count) and when, never the content."""

    __tablename__ = "erasure_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(40))  # "one inquiry", "email address", "retention"
    inquiry_ids: Mapped[str] = mapped_column(Text)  # comma-separated ids
    inquiries: Mapped[int] = mapped_column(Integer, default=0)
    emails: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[int] = mapped_column(Integer, default=0)


TOPIC_LABELS = {
    "coaching": "A coaching inquiry",
    "roadmap": "The Recovery Roadmap",
    "speaking": "Speaking or media",
    "other": "Something else",
}


def topic_label(topic: str | None) -> str:
    """The topic's label from the form's list ("Not given" when empty; any other value as stored)."""
    return TOPIC_LABELS.get(topic or "") or topic or "Not given"
