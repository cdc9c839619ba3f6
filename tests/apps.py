"""Test apps on a real database, built and torn down, and what to do when a service is missing."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from coaching import create_app
from coaching.extensions import db

TEST_SECRET_KEY = "test-secret-key-not-for-production"
# What an app needs to start as production does (TESTING off): SITE_URL's host is then the only one
# served, and the test client's default host is localhost.
PRODUCTION = {"TESTING": False, "COACH_EMAIL": "coach@example.org", "SITE_URL": "http://localhost"}


def require_service(reason: str) -> None:
    """Skip for want of a service on a developer's machine; in CI (CI=true) fail instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must provide this: {reason}", pytrace=False)
    pytest.skip(reason)


def reset_postgres(url: str) -> None:
    """Give a test an empty public schema on the PostgreSQL test database."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as exc:
        require_service(f"PostgreSQL at TEST_DATABASE_URL is not answering ({exc.orig})")
    finally:
        engine.dispose()


def make_test_app(database_url: str, instance_path: Path | None = None, **overrides):
    """An app in testing mode on the given database, with its tables created.

    Its instance folder (mail files and the like) is a fresh temporary one, never ./instance.
    """
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
        "SITE_URL": None,
        "OUTBOX_DELIVER_AFTER_REQUEST": False,  # tests deliver explicitly (test_outbox.py kicks its own)
        "CONTACT_MIN_FILL_SECONDS": 0,  # tests send at machine speed; the spam test sets its own
        **overrides,
    }
    app = create_app(config, instance_path=instance_path or tempfile.mkdtemp(prefix="coaching-test-instance-"))
    with app.app_context():
        db.create_all()
    return app


def dispose(app) -> None:
    """Close every database connection an app holds (PostgreSQL complains of any left open)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextlib.contextmanager
def statements_run(app) -> Iterator[list[str]]:
    """Record the SQL of every statement the app's database runs inside the block (a before_cursor_execute listener)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
