"""The coach's account, her recovery codes, and failed sign-ins (typed SQLAlchemy 2 models)."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coaching.database import UTCDateTime, utcnow
from coaching.extensions import db


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
