"""Fixtures: an app on a real database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

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
                published_at=published or datetime(2021, 1, 1, tzinfo=UTC),
                **fields,
            )
            post.updated_at = post.published_at
            post.tags = tags_named(tags or [])
            db.session.add(post)
            set_body(post, body)
            db.session.commit()
            return post.id

    return _make_post


# --- Browser tests: a live server on 127.0.0.1 and Debian's Chromium driven by Playwright ---

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The seeded site served by a real HTTP server on 127.0.0.1 (SQLite file), for the browser."""
    database = tmp_path_factory.mktemp("live") / "live.sqlite3"
    app = make_test_app(f"sqlite:///{database}")
    with app.app_context():
        import_post_files(CONTENT_DIR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    dispose(app)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, launched once for the session."""
    if not CHROMIUM.exists():
        require_service("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page at 1280 px that records every request it makes."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server)
    page = context.new_page()
    page.requests_made = []
    page.on("request", lambda request: page.requests_made.append(request.url))
    yield page
    context.close()


def save_screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/ for a person to look at."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
