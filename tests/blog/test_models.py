"""Model rules: read time, when "Updated" shows, and the order of published posts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from coaching.blog.models import Post, PostStatus
from coaching.extensions import db


@pytest.mark.parametrize(("words", "minutes"), [(0, 1), (1, 1), (200, 1), (201, 2), (400, 2), (401, 3)])
def test_read_time_is_about_200_words_a_minute(words, minutes):
    """Is read time words/200 rounded up, never less than a minute?"""
    assert Post(word_count=words).read_time_minutes == minutes


def test_seed_post_reads_in_two_minutes(app, seeded):
    """Does the seed post compute the "2 min read" the old page showed?"""
    with app.app_context():
        assert db.session.scalar(select(Post)).read_time_minutes == 2


@pytest.mark.parametrize(("published", "updated", "shown"), [
    (datetime(2020, 7, 13, 9, tzinfo=UTC), datetime(2020, 7, 13, 18, tzinfo=UTC), False),
    (datetime(2020, 7, 13, tzinfo=UTC), datetime(2025, 4, 15, tzinfo=UTC), True),
    (datetime(2020, 7, 13, tzinfo=UTC), None, False),
])
def test_updated_shows_only_when_the_day_differs(published, updated, shown):
    """Is "Updated" shown only when it falls on a different day from publication?"""
    assert Post(published_at=published, updated_at=updated).shows_updated is shown


def test_published_lists_only_public_posts_newest_first(app, make_post):
    """Does Post.published() leave out drafts and order newest first?"""
    make_post("old", published=datetime(2020, 1, 1, tzinfo=UTC))
    make_post("new", published=datetime(2024, 1, 1, tzinfo=UTC))
    make_post("draft", status=PostStatus.DRAFT)
    with app.app_context():
        assert [post.slug for post in db.session.scalars(Post.published())] == ["new", "old"]
