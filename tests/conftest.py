"""Fixtures: an app on a real database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from coaching.blog.editor import tags_named
from coaching.blog.models import Post, PostStatus
from coaching.blog.post_files import CONTENT_DIR, import_post_files
from coaching.blog.rendering import set_body
from coaching.extensions import db
from tests.apps import dispose, make_test_app, require_service, reset_postgres
from tests.browser_support import CHROMIUM, ClosedBeforeSending
from tests.factories import ADMIN_EMAIL, ADMIN_PASSWORD, add_admin
from tests.forms import csrf_token_of, sign_in
from tests.smtp import accept_smtp_login, running_smtp_server, server_tls_context


def pytest_collection_modifyitems(config, items) -> None:
    """Leave out the PostgreSQL run of tests marked sqlite_only (a behaviour only SQLite has)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        is_postgres_run = callspec is not None and "postgresql" in callspec.id
        (dropped if item.get_closest_marker("sqlite_only") and is_postgres_run else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


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


@pytest.fixture
def app_factory(database_url, tmp_path):
    """Build more apps on the test database with other settings: app_factory(SITE_URL=...)."""
    apps = []

    def _build(**overrides):
        apps.append(make_test_app(database_url, instance_path=tmp_path / "instance", **overrides))
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
    """The app with the practice's posts imported from coaching/blog/content/."""
    with app.app_context():
        import_post_files(CONTENT_DIR)
        db.session.commit()
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


# --- Rate limits ---


@pytest.fixture
def redis_url() -> str:
    """The Redis server at TEST_REDIS_URL, checked to be answering."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        require_service("TEST_REDIS_URL is not set, so the Redis rate-limit run is skipped")
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        require_service(f"Redis at TEST_REDIS_URL is not answering ({exc})")
    return url


@pytest.fixture(params=["memory", "redis"])
def rate_limit_storage(request) -> str:
    """Where rate limits are counted: in process, and in Redis when TEST_REDIS_URL is set."""
    return "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")


@pytest.fixture
def limited_app_factory(app_factory, rate_limit_storage):
    """Apps with rate limits on, sharing one store that starts empty for this test."""
    from coaching.extensions import limiter

    def _build(**overrides):
        built = app_factory(RATELIMIT_STORAGE_URI=rate_limit_storage, **overrides)
        limiter.reset()  # clears counts left in a shared store (Redis) by earlier tests
        return built

    return _build


@pytest.fixture
def fuzz_app(app_factory):
    """One app for a whole Hypothesis run: limits off, so only the input varies."""
    return app_factory(RATELIMIT_ENABLED=False)


# --- The coach's admin ---


@pytest.fixture
def admin_user(app) -> int:
    """The coach's admin account (id)."""
    return add_admin(app)


@pytest.fixture
def admin_client(app, admin_user):
    """A test client signed in as the coach."""
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


@pytest.fixture
def token(admin_client) -> str:
    """A CSRF token for the signed-in coach's session."""
    return csrf_token_of(admin_client, "/admin/inquiries")


# --- Browser tests: a live server on 127.0.0.1 and Debian's Chromium driven by Playwright ---


@pytest.fixture(scope="session")
def live_mailbox():
    """A real SMTP server (aiosmtpd) for the whole browser session: the coach's mailbox."""
    with running_smtp_server() as handler:
        yield handler


@pytest.fixture(scope="session")
def live_site(tmp_path_factory, live_mailbox):
    """The seeded site served by a real HTTP server on 127.0.0.1 (SQLite file), mailing live_mailbox."""
    folder = tmp_path_factory.mktemp("live")
    app = make_test_app(
        f"sqlite:///{folder / 'live.sqlite3'}", instance_path=folder / "instance",
        MAIL_SERVER="127.0.0.1", MAIL_PORT=live_mailbox.port,
        CONTACT_RATE_LIMIT="100 per 10 minutes",  # every browser test sends from 127.0.0.1
    )
    with app.app_context():
        import_post_files(CONTENT_DIR)
        db.session.commit()
    add_admin(app)
    server = make_server("127.0.0.1", 0, ClosedBeforeSending(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", app=app)
    server.shutdown()
    thread.join(timeout=10)
    dispose(app)


@pytest.fixture(scope="session")
def live_server(live_site) -> str:
    """The base URL of the live site."""
    return live_site.url


@pytest.fixture(scope="session")
def live_app(live_site):
    """The app behind the live site, for looking at its database."""
    return live_site.app


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


@pytest.fixture
def admin_page(page):
    """A browser page signed in to the live site's admin as the coach."""
    page.goto("/admin/login")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/inquiries")
    return page


# --- Real SMTP servers for delivery tests ---


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1; the handler has .port, .received and the knobs."""
    with running_smtp_server() as handler:
        yield handler


@pytest.fixture
def hung_smtp_server():
    """The port of a TCP listener that accepts connections and never sends a byte (a hung server)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_until_stopped() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_until_stopped, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.fixture
def closed_port():
    """A port bound but never listening: connecting is refused at once (a mail server that is down).

    The socket stays bound for the whole test, so no SMTP server the test starts can be given this port.
    """
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@pytest.fixture
def smtp_app(app_factory):
    """Build an app that sends mail to 127.0.0.1: smtp_app(port, MAIL_TIMEOUT=1, ...)."""

    def _build(port: int, **overrides):
        return app_factory(**{"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_TIMEOUT": 2, **overrides})

    return _build


@pytest.fixture(scope="session")
def test_ca():
    """A certificate authority made for this test session (trustme): nothing outside the tests trusts it."""
    import trustme

    return trustme.CA()


@pytest.fixture
def trust_test_ca(test_ca, tmp_path, monkeypatch) -> Path:
    """Make ssl.create_default_context(), and so the app, trust test_ca only: SSL_CERT_FILE names its PEM."""
    path = tmp_path / "test-ca.pem"
    test_ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))  # read by OpenSSL each time a context loads default paths
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return path


@pytest.fixture
def tls_smtp_server(test_ca):
    """Start real SMTP servers that encrypt and want a login: tls_smtp_server("starttls" or "ssl") -> handler.

    "starttls" refuses mail and AUTH before STARTTLS and requires a login; "ssl" speaks TLS from the first
    byte (implicit TLS) and offers AUTH. Keywords: ca= and hostname= for the certificate (default: test_ca,
    127.0.0.1), auth_exclude_mechanism=["PLAIN"] to leave only LOGIN. Every server stops at teardown.
    """
    with contextlib.ExitStack() as servers:

        def _start(mode: str, ca=None, hostname: str = "127.0.0.1", **options):
            context = server_tls_context(ca or test_ca, hostname)
            if mode == "starttls":
                options |= {"tls_context": context, "require_starttls": True, "auth_required": True,
                            "auth_require_tls": True}
            elif mode == "ssl":
                # aiosmtpd 1.4 counts only STARTTLS as encryption for AUTH, so on an implicit-TLS
                # server auth_require_tls=True would hide AUTH; the handler records the login instead.
                options |= {"ssl_context": context, "auth_require_tls": False}
            else:
                raise ValueError(f"unknown TLS mode {mode!r}")
            return servers.enter_context(running_smtp_server(authenticator=accept_smtp_login, **options))

        yield _start
