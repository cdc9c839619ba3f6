"""Fixtures: an app on a real database per test (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import functools
import io
import os
import re
import socket
import tempfile
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.serving import make_server

from coaching import create_app
from coaching.content import CONTENT_DIR, import_post_files, set_body, tags_named
from coaching.database import utcnow
from coaching.extensions import db
from coaching.models import (
    AdminUser,
    EmailKind,
    Inquiry,
    InquiryNote,
    NoteKind,
    OutboxMessage,
    OutboxStatus,
    Post,
    PostStatus,
)
from coaching.outbox import new_message_id

TEST_SECRET_KEY = "test-secret-key-not-for-production"


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


def row_count(app, model) -> int:
    """How many rows a model's table (or a Table) holds."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


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


def add_inquiry(app, emails: tuple[OutboxStatus, ...] = (), notes: tuple[str, ...] = (), **fields) -> int:
    """Store an inquiry directly (bypassing the form), with coach notifications and notes: its id."""
    values = {
        "name": "Zoë O'Hara", "email": "zoe@example.org", "message": "I'd like to talk about my recovery.",
        "consent_at": utcnow(), "privacy_notice_version": "2026-11-25", "submission_token": uuid.uuid4().hex,
        **fields,
    }
    values.setdefault("created_at", values["consent_at"])
    with app.app_context():
        inquiry = Inquiry(**values)
        db.session.add(inquiry)
        for status in emails:
            db.session.add(OutboxMessage(
                inquiry=inquiry, kind=EmailKind.COACH_NOTIFICATION, message_id=new_message_id(),
                recipient="coach@hopefordystonia.example", reply_to=inquiry.email,
                subject=f"New inquiry from {inquiry.name}", body_text=inquiry.message, status=status,
            ))
        for text in notes:
            db.session.add(InquiryNote(inquiry=inquiry, body=text, kind=NoteKind.NOTE))
        db.session.commit()
        return inquiry.id


def every_stored_text(app) -> list[str]:
    """Every string value in every row of every table (to prove something is nowhere)."""
    texts = []
    with app.app_context(), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                texts.extend(value for value in row if isinstance(value, str))
    return texts


# --- Pictures made by Pillow ---

IMAGE_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}
GPS_IFD, ORIENTATION, CAMERA_MAKE, GPS_LATITUDE = 0x8825, 0x0112, 0x010F, 2
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Taken at 12 Mill Lane</x:xmpmeta>'


def picture(extension: str = "png", size: tuple[int, int] = (4, 3), *, located: bool = False,
            turned: bool = False) -> bytes:
    """An image file made by Pillow; `located` adds EXIF GPS, a camera make and XMP; `turned` says "rotate 90°"."""
    image = Image.new("RGB", size, (40, 120, 90))
    exif = Image.Exif()
    if located:
        exif[CAMERA_MAKE] = "PhoneCam"
        exif[GPS_IFD] = {1: "N", GPS_LATITUDE: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0)}
    if turned:
        exif[ORIENTATION] = 6
    options = {"exif": exif} if located or turned else {}
    if located and extension != "png":
        options["xmp"] = XMP
    output = io.BytesIO()
    image.save(output, format=IMAGE_FORMATS[extension], **options)
    return output.getvalue()


def noisy_png() -> bytes:
    """A 64 × 64 PNG of noise, several kilobytes, so cutting it short cuts into the pixels."""
    output = io.BytesIO()
    Image.effect_noise((64, 64), 60).save(output, format="PNG")
    return output.getvalue()


def opened(data: bytes) -> Image.Image:
    """The image in these bytes, decoded."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- Text that must never run, wherever it is shown (SEC-05) ---

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "{{7*7}}"]
# The same, with the javascript: URL written as a Markdown link (for post bodies).
HOSTILE_MARKDOWN = [f"[x]({text})" if text.startswith("javascript:") else text for text in HOSTILE]


def text_of(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


# --- The contact form over HTTP ---

_KEEP_TOKEN = object()


def contact_form_fields(html: str) -> dict[str, str]:
    """The hidden fields of a rendered contact form (CSRF token, start time, submission token)."""
    fields = {}
    for name in ("csrf_token", "form_started", "submission_token"):
        match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or re.search(
            rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html)
        fields[name] = match.group(1) if match else ""
    return fields


def submit_contact(client, data: dict, csrf_token=_KEEP_TOKEN, headers: dict | None = None):
    """Open /contact as a visitor would, then send it with these values (None leaves a field out)."""
    page = client.get("/contact", headers=headers).get_data(as_text=True)
    form = contact_form_fields(page)
    if csrf_token is not _KEEP_TOKEN:
        form["csrf_token"] = csrf_token
    form.update(data)
    return client.post("/contact", data={k: v for k, v in form.items() if v is not None}, headers=headers)


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

ADMIN_EMAIL = "coach@example.org"
ADMIN_PASSWORD = "gentle-river-stone-lantern"


@functools.cache
def admin_password_hash() -> str:
    """The argon2 hash of ADMIN_PASSWORD, made once a session (each hash takes 64 MiB and ~0.15 s)."""
    from coaching.accounts import hash_password

    return hash_password(ADMIN_PASSWORD)


def add_admin(app) -> int:
    """Store the coach's admin account (id) as `flask create-admin` makes it, with the session's hash."""
    from coaching.accounts import normalise_email

    with app.app_context():
        user = AdminUser(email=normalise_email(ADMIN_EMAIL), password_hash=admin_password_hash())
        db.session.add(user)
        db.session.commit()
        return user.id


@pytest.fixture
def admin_user(app) -> int:
    """The coach's admin account (id)."""
    return add_admin(app)


def post(client, token: str, url: str, **data):
    """POST a form with the session's CSRF token."""
    return client.post(url, data={"csrf_token": token, **data})


def csrf_token_of(client, url: str) -> str:
    """A valid CSRF token for this client's session, read from a page that has a form."""
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def sign_in(client, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, next_url: str | None = None):
    """Open the sign-in page and sign in with these details; returns the POST's response."""
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    return post(client, csrf_token_of(client, "/admin/login"), url, email=email, password=password)


@pytest.fixture
def admin_client(app, admin_user):
    """A test client signed in as the coach."""
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def token(admin_client) -> str:
    """A CSRF token for the signed-in coach's session."""
    return csrf_token_of(admin_client, "/admin/inquiries")


# --- Browser tests: a live server on 127.0.0.1 and Debian's Chromium driven by Playwright ---

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


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
    add_admin(app)
    server = make_server("127.0.0.1", 0, ClosedBeforeSending(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", app=app)
    server.shutdown()
    thread.join(timeout=10)
    dispose(app)


class ClosedBeforeSending:
    """WSGI wrapper for the live server: reads and closes each response body before Werkzeug sends it."""

    # Werkzeug's dev server skips close() on the body when the browser drops the connection
    # mid-response (serving.py, the finally block of execute), so a static file stays open until
    # garbage collection and its ResourceWarning fails a random later test.

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        body = self.app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()


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


def save_screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/ for a person to look at."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                          "best-practice"]},
    "rules": {"target-size": {"enabled": True}},
    "resultTypes": ["violations"],
}
WCAG_TAGS = {"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}


def failing_violations(violations: list[dict]) -> list[dict]:
    """Every WCAG violation, plus best-practice ones rated serious or critical."""
    return [v for v in violations
            if WCAG_TAGS & set(v["tags"]) or v["rule"] == "target-size"
            or v.get("impact") in {"serious", "critical"}]


def summarise(results) -> list[dict]:
    """The violations of an axe run, cut down to what a failure message needs."""
    return [{"rule": v["id"], "impact": v["impact"], "tags": v["tags"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results.response["violations"]]


def assert_axe_clean(page, name: str) -> None:
    """Screenshot the page (test-artifacts/screenshots/<name>.png) and check axe finds no failing violation."""
    from axe_playwright_python.sync_playwright import Axe

    save_screenshot(page, name)
    assert failing_violations(summarise(Axe().run(page, options=AXE_OPTIONS))) == [], name


def focused(page) -> dict:
    """What has keyboard focus: its tag, text, href and focus outline."""
    return page.evaluate("""() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return {tag: el.tagName, text: (el.innerText || '').trim(), href: el.getAttribute('href'),
                id: el.id, outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth)};
    }""")


def press_tab(page, key: str = "Tab") -> dict:
    """Press Tab (or Shift+Tab) and check the newly focused control shows a visible focus ring."""
    page.keyboard.press(key)
    state = focused(page)
    if state["tag"] != "BODY":  # past the last control, focus rests on the page before wrapping round
        assert state["outlineStyle"] != "none" and state["outlineWidth"] >= 2, state
    return state


def tab_to(page, href: str | None = None, element_id: str | None = None, text: str | None = None,
           limit: int = 80) -> dict:
    """Press Tab until the link to href (or the element with this id or text) has focus, ring visible."""
    for _ in range(limit):
        state = press_tab(page)
        if ((href is not None and state["href"] == href) or (element_id is not None and state["id"] == element_id)
                or (text is not None and state["text"] == text)):
            return state
    raise AssertionError(f"Tab never reached {href or element_id or text}")


# --- Real SMTP servers for delivery tests ---


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (aiosmtpd's Controller cannot start on port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ReceivedMail:
    """One message as a real SMTP server received it: the envelope, the raw bytes, and how it came."""

    def __init__(self, mail_from: str, rcpt_tos: list[str], content: bytes, tls_version: str | None = None,
                 login: str | None = None):
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.content = content
        self.tls_version = tls_version  # e.g. "TLSv1.3" when the connection was encrypted, else None
        self.login = login  # the user name the client logged in as, else None

    @property
    def message(self):
        """The raw bytes parsed by the email package, as a mail client would read them."""
        return email.message_from_bytes(self.content, policy=email.policy.default)


class RecordingHandler:
    """An aiosmtpd handler that keeps every message it accepts and can be told to misbehave."""

    def __init__(self):
        self.port = 0
        self.received: list[ReceivedMail] = []
        self.data_failures = 0  # answer this many DATA commands with 451 before accepting
        self.delay = 0.0  # seconds to wait before answering DATA
        self.logins_tried: list[str] = []  # the AUTH mechanism of each login attempt (see accept_smtp_login)

    async def handle_DATA(self, server, session, envelope) -> str:
        """Accept (and record) the message, or refuse it for now, as told."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_failures > 0:
            self.data_failures -= 1
            return "451 4.3.0 Try again later"
        encryption = server.transport.get_extra_info("ssl_object")  # after STARTTLS too: the TLS transport
        self.received.append(ReceivedMail(
            envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
            tls_version=encryption.version() if encryption else None,
            login=session.auth_data if session.authenticated else None,
        ))
        return "250 2.0.0 OK"


@contextlib.contextmanager
def running_smtp_server(**options):
    """Run aiosmtpd on 127.0.0.1 with a RecordingHandler (which knows its .port) until the block ends.

    Options go to aiosmtpd's Controller and SMTP: ssl_context, tls_context, authenticator, ...
    """
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


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
def closed_port() -> int:
    """A port that was just bound and closed: connecting is refused at once (a mail server that is down)."""
    return free_port()


@pytest.fixture
def smtp_app(app_factory):
    """Build an app that sends mail to 127.0.0.1: smtp_app(port, MAIL_TIMEOUT=1, ...)."""

    def _build(port: int, **overrides):
        return app_factory(**{"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_TIMEOUT": 2, **overrides})

    return _build


SMTP_USERNAME = "website@hopefordystonia.example"
SMTP_PASSWORD = "sentinel-smtp-password-x9"


def accept_smtp_login(server, session, envelope, mechanism, auth_data):
    """aiosmtpd authenticator: accept SMTP_USERNAME with SMTP_PASSWORD (AUTH PLAIN or LOGIN), nothing else."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server.event_handler.logins_tried.append(mechanism)
    accepted = isinstance(auth_data, LoginPassword) and auth_data == (SMTP_USERNAME.encode(), SMTP_PASSWORD.encode())
    # handled=False: aiosmtpd itself answers a refusal with 535 (with True it would say nothing at all)
    return AuthResult(success=accepted, handled=False, auth_data=SMTP_USERNAME if accepted else None)


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


def server_tls_context(ca, hostname: str = "127.0.0.1"):
    """A server-side TLS context holding a certificate for hostname, issued by ca."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(hostname).configure_cert(context)
    return context


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


def submit_contact_in_browser(page, click: str = "click") -> None:
    """Fill the contact form's required fields that are empty, tick consent, and press Send."""
    for label, value in (("Your name", "Pat"), ("Your email address", "pat@example.org"),
                         ("Your message", "Hello from a shaky hand.")):
        field = page.get_by_label(label)
        if not field.input_value():
            field.fill(value)
    page.get_by_label("I agree that Hope for Dystonia may store my message").check()
    getattr(page.get_by_role("button", name="Send my message"), click)()


@pytest.fixture
def admin_page(page):
    """A browser page signed in to the live site's admin as the coach."""
    page.goto("/admin/login")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/inquiries")
    return page
