"""A form the coach sent after her session ended, kept until she signs in again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coaching.database import UTCDateTime, utcnow
from coaching.extensions import db


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
