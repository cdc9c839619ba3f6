"""Posts, their tags and their old addresses (typed SQLAlchemy 2 models)."""

from __future__ import annotations

import enum
import math
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coaching.database import UTCDateTime, stored_by_value, utcnow
from coaching.extensions import db

WORDS_PER_MINUTE = 200

# The lengths of the text columns below, named once: the editor's form and the import check against them.
SLUG_MAX_LENGTH = 200
TITLE_MAX_LENGTH = 300
AUTHOR_MAX_LENGTH = 200
TAG_MAX_LENGTH = 80  # a tag's name, and so its slug
COVER_IMAGE_MAX_LENGTH = 300  # "uploads/<name>" or a path under static/
FIGURE_TEXT_MAX_LENGTH = 500  # image description, caption, credit
OLD_PATH_MAX_LENGTH = 500


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
    name: Mapped[str] = mapped_column(String(TAG_MAX_LENGTH))
    slug: Mapped[str] = mapped_column(String(TAG_MAX_LENGTH), unique=True)


class Post(db.Model):
    """A blog post, stored with its Markdown source and the sanitised HTML rendered at save time."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX_LENGTH), unique=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    author: Mapped[str] = mapped_column(String(AUTHOR_MAX_LENGTH))
    excerpt: Mapped[str] = mapped_column(Text, default="")
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # Case-folded plain text of title, excerpt and body, so search behaves alike on every database.
    search_text: Mapped[str] = mapped_column(Text, default="")
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[PostStatus] = mapped_column(
        stored_by_value(PostStatus, "post_status"),
        default=PostStatus.DRAFT,
        index=True,
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Changes on every save, public or not: what ETag/Last-Modified and the feed rely on.
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cover_image: Mapped[str | None] = mapped_column(String(COVER_IMAGE_MAX_LENGTH))
    cover_alt: Mapped[str | None] = mapped_column(String(FIGURE_TEXT_MAX_LENGTH))
    cover_caption: Mapped[str | None] = mapped_column(String(FIGURE_TEXT_MAX_LENGTH))
    cover_credit: Mapped[str | None] = mapped_column(String(FIGURE_TEXT_MAX_LENGTH))
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
    old_path: Mapped[str] = mapped_column(String(OLD_PATH_MAX_LENGTH), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    post: Mapped[Post] = relationship(back_populates="old_paths")
