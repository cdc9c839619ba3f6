"""Fixtures: an app on a real database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from coaching import create_app
from coaching.content import CONTENT_DIR, import_post_files, set_body, tags_named
from coaching.extensions import db
from coaching.models import Post, PostStatus

TEST_SECRET_KEY = "test-secret-key-not-for-production"


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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: a SQLite file per test, or the PostgreSQL test database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        require_service("TEST_DATABASE_URL is not set, so the PostgreSQL run is skipped")
    reset_postgres(url)
    return url


def make_test_app(database_url: str, **overrides):
    """An app in testing mode on the given database, with its tables created."""
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
        "SITE_URL": None,
        **overrides,
    }
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def dispose(app) -> None:
    """Close every database connection an app holds (PostgreSQL complains of any left open)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app_factory(database_url):
    """Build more apps on the test database with other settings: app_factory(SITE_URL=...)."""
    apps = []

    def _build(**overrides):
        apps.append(make_test_app(database_url, **overrides))
        return apps[-1]

    yield _build
    for built in apps:
        dispose(built)


@pytest.fixture
def app(app_factory):
    """The app on a fresh database, with its tables created."""
    return app_factory()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def seeded(app):
    """The app with the practice's posts imported from coaching/content/."""
    with app.app_context():
        import_post_files(CONTENT_DIR)
    return app


@pytest.fixture
def make_post(app):
    """Create a post directly in the database: make_post(slug=..., status=..., tags=[...])."""

    def _make_post(
        slug: str,
        title: str | None = None,
        body: str = "A short body about movement and calm.",
        status: PostStatus = PostStatus.PUBLISHED,
        published: datetime | None = None,
        tags: list[str] | None = None,
        **fields,
    ) -> int:
        with app.app_context():
            post = Post(
                slug=slug,
                title=title or slug.replace("-", " ").title(),
                author="Hope for Dystonia",
                status=status,
                published_at=published or datetime(2021, 1, 1, tzinfo=timezone.utc),
                **fields,
            )
            post.updated_at = post.published_at
            post.tags = tags_named(tags or [])
            db.session.add(post)
            set_body(post, body)
            db.session.commit()
            return post.id

    return _make_post
