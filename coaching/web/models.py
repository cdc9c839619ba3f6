"""The one row every page shares: the content version the page cache keys its pages on."""

from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from coaching.extensions import db


class ContentVersion(db.Model):
    """A counter raised in the same transaction as any change to public content (web/page_cache.py)."""

    __tablename__ = "content_version"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    version: Mapped[int] = mapped_column(Integer, default=0)
