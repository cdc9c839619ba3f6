"""REL-05: SQLite tuned for a web server; UTC datetimes on every backend."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError

from coaching.blog.models import Post
from coaching.database import UTCDateTime
from coaching.extensions import db
from coaching.inquiries import inbox
from coaching.inquiries.models import Inquiry, InquiryStatus
from tests.factories import add_admin, add_inquiry


@pytest.mark.sqlite_only
def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(app):
    """REL-05: does every SQLite connection use WAL, a busy timeout of 5 s or more and foreign keys?"""
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


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


def _with_begin_at_start(engine) -> None:
    """The "naive" set-up (SQLAlchemy's recipe for real SQLite transactions): BEGIN as each transaction opens."""

    @event.listens_for(engine, "connect")
    def _driver_autocommit(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")

    engine.dispose()


def _open_while_another_writer_commits(app, inquiry_id: int, admin_id: int) -> BaseException | None:
    """Read an inquiry, then mark it read while another connection holds the write lock and commits 0.3 s later."""
    read_done, outcome = threading.Event(), []

    def coach_opens_it():
        with app.app_context():
            try:
                inquiry = db.session.get(Inquiry, inquiry_id)  # the read ...
                read_done.set()
                inbox.open_inquiry(inquiry, admin_id)  # ... then the write
                db.session.commit()
                outcome.append(None)
            except BaseException as error:  # noqa: BLE001  (reported to the test below)
                outcome.append(error)
                read_done.set()

    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    other_writer = sqlite3.connect(path, isolation_level=None)
    try:
        other_writer.execute("BEGIN IMMEDIATE")
        other_writer.execute("UPDATE inquiries SET phone = '01234' WHERE id != ?", (inquiry_id,))
        thread = threading.Thread(target=coach_opens_it)
        thread.start()
        read_done.wait(5)
        time.sleep(0.3)
        other_writer.execute("COMMIT")
        thread.join(10)
    finally:
        other_writer.close()
    return outcome[0]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("naive", [False, True], ids=["as-configured", "begin-at-start"])
def test_a_read_then_write_waits_for_another_writer_instead_of_failing(app, naive):
    """REL-07: does a read-then-write wait out another writer here, where BEGIN-at-start fails at once?"""
    admin_id = add_admin(app)
    if naive:
        with app.app_context():
            _with_begin_at_start(db.engine)
    inquiry_id = add_inquiry(app)
    other_id = add_inquiry(app, name="Someone else")
    error = _open_while_another_writer_commits(app, inquiry_id, admin_id)
    if naive:
        assert isinstance(error, OperationalError) and "database is locked" in str(error)
    else:
        assert error is None
        with app.app_context():
            assert db.session.get(Inquiry, inquiry_id).status is InquiryStatus.READ
            assert db.session.get(Inquiry, other_id).phone == "01234"  # both writers' work is kept
