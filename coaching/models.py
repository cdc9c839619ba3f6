"""The tables, as typed SQLAlchemy 2 models."""

from __future__ import annotations

import enum
import math
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Column, Enum, ForeignKey, Integer, String, Table, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .database import UTCDateTime, utcnow
from .extensions import db

WORDS_PER_MINUTE = 200


def _stored_by_value(enum_class: type[enum.Enum], name: str) -> Enum:
    """A column type that stores an enum's values ("new"), not its member names ("NEW")."""
    return Enum(enum_class, name=name, values_callable=lambda members: [member.value for member in members])


post_tags = Table(
    "post_tags",
    db.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class PostStatus(enum.Enum):
    """Whether the public can see a post."""

    DRAFT = "draft"
    PUBLISHED = "published"


class Tag(db.Model):
    """A topic that groups posts; its slug is its address."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    slug: Mapped[str] = mapped_column(String(80), unique=True)


class Post(db.Model):
    """A blog post, stored with its Markdown source and the sanitised HTML rendered at save time."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    author: Mapped[str] = mapped_column(String(200))
    excerpt: Mapped[str] = mapped_column(Text, default="")
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # Case-folded plain text of title, excerpt and body, so search behaves alike on every database.
    search_text: Mapped[str] = mapped_column(Text, default="")
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[PostStatus] = mapped_column(
        _stored_by_value(PostStatus, "post_status"),
        default=PostStatus.DRAFT,
        index=True,
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Changes on every save, public or not: what ETag/Last-Modified and the feed rely on.
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cover_image: Mapped[str | None] = mapped_column(String(300))
    cover_alt: Mapped[str | None] = mapped_column(String(500))
    cover_caption: Mapped[str | None] = mapped_column(String(500))
    cover_credit: Mapped[str | None] = mapped_column(String(500))
    disclaimer: Mapped[str | None] = mapped_column(Text)

    tags: Mapped[list[Tag]] = relationship(
        secondary=post_tags, order_by=Tag.name, lazy="selectin"
    )
    old_paths: Mapped[list[PostRedirect]] = relationship(
        back_populates="post", cascade="all, delete-orphan"
    )

    @property
    def read_time_minutes(self) -> int:
        """Minutes to read at about 200 words a minute, never less than one."""
        return max(1, math.ceil(self.word_count / WORDS_PER_MINUTE))

    @property
    def is_published(self) -> bool:
        """Whether readers can see this post."""
        return self.status is PostStatus.PUBLISHED

    @property
    def shows_updated(self) -> bool:
        """Whether the "Updated" date differs from the published date and so is worth showing."""
        return bool(
            self.published_at and self.updated_at
            and self.updated_at.date() != self.published_at.date()
        )

    @property
    def last_changed(self) -> datetime:
        """The latest date a reader would care about: updated, else published."""
        return self.updated_at or self.published_at or self.created_at

    @classmethod
    def published(cls):
        """A select() of public posts, newest first."""
        return (
            select(cls)
            .where(cls.status == PostStatus.PUBLISHED)
            .order_by(cls.published_at.desc(), cls.id.desc())
        )


class PostRedirect(db.Model):
    """An old address of a post (the Wix site's, or a previous slug) that answers 301."""

    __tablename__ = "post_redirects"

    id: Mapped[int] = mapped_column(primary_key=True)
    old_path: Mapped[str] = mapped_column(String(500), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    post: Mapped[Post] = relationship(back_populates="old_paths")


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
        _stored_by_value(InquiryStatus, "inquiry_status"),
        default=InquiryStatus.NEW,
        index=True,
    )
    spam_reason: Mapped[str | None] = mapped_column(String(100))
    # Seconds from the form being shown to it being sent (None when the page's stamp was unreadable).
    fill_seconds: Mapped[int | None] = mapped_column(Integer)
    # One per rendered form: a double-click or a resent form makes one inquiry (REL-10).
    submission_token: Mapped[str] = mapped_column(String(64), unique=True)

    emails: Mapped[list[OutboxMessage]] = relationship(
        back_populates="inquiry", cascade="all, delete-orphan", passive_deletes=True,
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


class OutboxMessage(db.Model):
    """An email written in the same transaction as what caused it, delivered later by a worker."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int | None] = mapped_column(
        ForeignKey("inquiries.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EmailKind] = mapped_column(
        _stored_by_value(EmailKind, "email_kind")
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
        _stored_by_value(OutboxStatus, "outbox_status"),
        default=OutboxStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # A claimed message belongs to one worker until this time (then another may retry it).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    inquiry: Mapped[Inquiry | None] = relationship(back_populates="emails")


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
        _stored_by_value(NoteKind, "note_kind"), default=NoteKind.NOTE
    )
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))

    inquiry: Mapped[Inquiry] = relationship(back_populates="notes")


class AdminUser(UserMixin, db.Model):
    """Someone who may sign in to /admin (the coach)."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Part of the session's user id: raising it signs every existing session out (SEC-10).
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def get_id(self) -> str:
        """The session's user id: id and session version, so a version bump ends old sessions."""
        return f"{self.id}:{self.session_version}"


class RecoveryCode(db.Model):
    """A one-time code that stands in for the second factor when the phone is lost."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[AdminUser] = relationship(back_populates="recovery_codes")


class SignInAttempt(db.Model):
    """A failed sign-in, counted per account and per address to slow down guessing (SEC-07)."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # A hash of the address typed (it may not be an account, or may be a visitor's address).
    account_key: Mapped[str] = mapped_column(String(64), index=True)
    remote_address: Mapped[str] = mapped_column(String(64), index=True)


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


class PendingSubmission(db.Model):
    """What the coach sent after her session ended, kept only until she signs in again (at most a day)."""

    __tablename__ = "pending_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    # A hash of the token kept in her browser's session: the row is hers, in that browser only.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    view_args: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    fields: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of [name, value] pairs
    had_file: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
