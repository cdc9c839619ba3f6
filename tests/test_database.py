"""REL-05: SQLite tuned for a web server; UTC datetimes on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from coaching.database import UTCDateTime
from coaching.extensions import db
from coaching.models import Post
from tests.conftest import dispose, make_test_app


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path):
    """REL-05: does every SQLite connection use WAL, a busy timeout of 5 s or more and foreign keys?"""
    app = make_test_app(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    try:
        with app.app_context():
            assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
            assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        dispose(app)


def test_lower_folds_letters_beyond_a_to_z(app):
    """Does lower() fold "ÉMILIE ZOË ÜBER" on this database as it does on PostgreSQL, and keep NULL as NULL?"""
    with app.app_context():
        assert db.session.execute(text("SELECT lower('ÉMILIE Zoë ÜBER')")).scalar() == "émilie zoë über"
        assert db.session.execute(text("SELECT lower(NULL)")).scalar() is None


def test_datetimes_come_back_aware_in_utc(app, make_post):
    """Is a datetime stored in another zone read back as the same instant, marked UTC?"""
    paris = timezone(timedelta(hours=2))
    make_post("zoned", published=datetime(2024, 6, 1, 12, 0, tzinfo=paris))
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.slug == "zoned"))
        assert post.published_at == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
        assert post.published_at.tzinfo == UTC


def test_naive_datetimes_are_refused():
    """Is a naive datetime refused rather than silently stored in an unknown zone?"""
    with pytest.raises(ValueError, match="timezone-aware"):
        UTCDateTime().process_bind_param(datetime(2024, 1, 1), None)
