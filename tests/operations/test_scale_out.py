"""Two app servers on one PostgreSQL and one Redis behave as one site (docs/deploy.md, "Several servers").

Each server is a real gunicorn with deploy/gunicorn.conf.py; the test sends requests to one or the other,
as a round-robin load balancer would. Needs TEST_DATABASE_URL and TEST_REDIS_URL (CI sets both).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text

from coaching.config import ROOT
from tests.apps import require_service, reset_postgres
from tests.forms import contact_form_fields
from tests.gunicorn_site import served, sign_in_over_http, site_environment
from tests.smtp import running_smtp_server

POST = "/blog/psychedelics-and-neuroplasticity"
ADMIN, PASSWORD = "coach@hopefordystonia.com", "a long passphrase for the scale-out test"
MESSAGE = "Mornings are hardest for my neck; could we talk about the Roadmap?"


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    """Servers A and B (each its own instance folder and workers) and two email workers, on the PostgreSQL test
    database, Redis and a real SMTP server; migrated, seeded, with an admin. Yields a namespace."""
    database, redis = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not database or not redis:
        require_service("TEST_DATABASE_URL and TEST_REDIS_URL are needed for the two-server test")
    reset_postgres(database)
    folder = tmp_path_factory.mktemp("scale-out")
    with running_smtp_server() as smtp, contextlib.ExitStack() as stack:
        shared = {"RATELIMIT_STORAGE_URI": redis, "RATELIMIT_KEY_PREFIX": f"scale-out-{uuid.uuid4().hex}",
                  "CONTACT_RATE_LIMIT": "3 per minute", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port),
                  "OUTBOX_POLL_SECONDS": "1", "WEB_CONCURRENCY": "2"}
        a = stack.enter_context(served(folder / "a", database, **shared))
        b = stack.enter_context(served(folder / "b", database, migrate=False, **shared))
        environment = site_environment(a.port, database, **shared)
        spec = f"coaching:create_app(instance_path={str(folder / 'a')!r})"
        flask = [sys.executable, "-m", "flask", "--app", spec]
        subprocess.run([*flask, "seed"], cwd=ROOT, env=environment, check=True, capture_output=True, timeout=120)
        subprocess.run([*flask, "create-admin", ADMIN], cwd=ROOT, env=environment, input=PASSWORD + "\n",
                       text=True, check=True, capture_output=True, timeout=120)
        workers = []
        for name in ("one", "two"):
            log = (folder / f"outbox-{name}.log").open("wb")
            stack.callback(log.close)
            workers.append(subprocess.Popen([*flask, "outbox", "run"], cwd=ROOT, env=environment,
                                            stdout=log, stderr=subprocess.STDOUT))
        for worker in workers:
            stack.callback(_stop, worker)
        yield SimpleNamespace(a=a, b=b, database=database, smtp=smtp, workers=workers)


def _stop(process: subprocess.Popen) -> None:
    """Stop a process (it may have been killed already)."""
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


def _opened_form(server, forwarded_for: str = "198.51.100.1") -> tuple[str, dict]:
    """Open /contact on a server as a new visitor: the session cookie and the filled-in fields."""
    page = server.get("/contact", {"X-Forwarded-For": forwarded_for})
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    fields = contact_form_fields(page.body) | {"name": "Ann Visitor", "email": "ann@example.org", "phone": "",
                                               "topic": "coaching", "message": MESSAGE, "consent": "y",
                                               "website": ""}
    return cookie, fields


def _send(server, cookie: str, fields: dict, forwarded_for: str = "198.51.100.1"):
    """POST the contact form to a server."""
    return server.request("POST", "/contact", urllib.parse.urlencode(fields).encode(), cookie=cookie, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": forwarded_for})


def _scalar(database: str, sql: str):
    """One value from the shared database."""
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_both_servers_are_ready(two_servers):
    """Does each server's /readyz say ready, with the shared database, migrations and Redis ok?"""
    for server in (two_servers.a, two_servers.b):
        answer = server.get("/readyz")
        assert answer.status == 200, answer.body
        assert '"redis":"ok"' in answer.body.replace(" ", "")


def test_a_form_opened_on_one_server_is_sent_through_the_other_once(two_servers):
    """Is a form opened on A and sent to B stored, and the same form sent again to A still one inquiry?"""
    a, b, database = two_servers.a, two_servers.b, two_servers.database
    cookie, fields = _opened_form(a)
    assert _send(b, cookie, fields).status == 303
    assert _send(a, cookie, fields).status == 303  # a double send, through the other server
    token = fields["submission_token"]
    stored = _scalar(database, f"SELECT count(*) FROM inquiries WHERE submission_token = '{token}'")
    assert stored == 1


def test_a_change_shows_on_the_next_request_to_either_server(two_servers):
    """After a post changes (saved through any server), do both servers' kept pages show it on the next request?"""
    a, b, database = two_servers.a, two_servers.b, two_servers.database
    for server in (a, b, a, b):  # rendered, then kept, on each
        assert server.get(POST).status == 200
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as connection:  # what a save does: the post and the content version, one transaction
            connection.execute(text(f"UPDATE posts SET title = 'Changed on another server' WHERE slug = '{POST[6:]}'"))
            connection.execute(text("UPDATE content_version SET version = version + 1 WHERE id = 1"))
    finally:
        engine.dispose()
    for server in (b, a):
        assert "Changed on another server" in server.get(POST).body


def test_the_rate_limit_is_counted_once_across_servers(two_servers):
    """With 3 a minute allowed, is the 4th send refused whichever server it reaches, with the words kept?"""
    a, b = two_servers.a, two_servers.b
    visitor = "203.0.113.9"
    for server in (a, b, a):
        cookie, fields = _opened_form(server, visitor)
        assert _send(server, cookie, fields, visitor).status == 303
    cookie, fields = _opened_form(b, visitor)
    refused = _send(b, cookie, fields, visitor)
    assert refused.status == 429
    assert "Mornings are hardest for my neck" in refused.body.replace("&#39;", "'")


def test_submissions_over_both_servers_are_stored_once_and_each_email_sent_once(two_servers):
    """Are 200 sends spread over both servers all stored once, and does each of their emails arrive exactly once
    with two email workers running?"""
    a, b, database = two_servers.a, two_servers.b, two_servers.database
    before = _scalar(database, "SELECT count(*) FROM inquiries")

    def send(number: int) -> int:
        server, visitor = (a, b)[number % 2], f"10.20.{number // 200}.{number % 200 + 1}"
        cookie, fields = _opened_form(server, visitor)
        return _send((b, a)[number % 2], cookie, fields, visitor).status  # sent through the other server

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(200)))
    assert statuses == [303] * 200
    assert _scalar(database, "SELECT count(*) FROM inquiries") == before + 200
    queued = _scalar(database, "SELECT count(*) FROM outbox_messages")
    deadline = time.monotonic() + 120
    while _scalar(database, "SELECT count(*) FROM outbox_messages WHERE status <> 'sent'") and \
            time.monotonic() < deadline:
        time.sleep(0.5)
    assert _scalar(database, "SELECT count(*) FROM outbox_messages WHERE status <> 'sent'") == 0
    ids = [mail.message["Message-ID"] for mail in two_servers.smtp.received]
    assert len(ids) == len(set(ids)) == queued


def test_the_coach_signed_in_on_one_server_is_signed_in_on_the_other(two_servers):
    """Does a sign-in through A open the inbox on B (sessions are signed cookies both servers read)?"""
    cookie = sign_in_over_http(two_servers.a, ADMIN, PASSWORD)
    assert two_servers.b.get("/admin/", cookie=cookie).status == 200
    assert two_servers.b.get("/admin/").status == 302  # and without the cookie, sent to sign in
