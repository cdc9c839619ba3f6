"""Two app servers on one PostgreSQL and one Redis behave as one site (docs/deploy.md, "Several servers").

Each server is a real gunicorn with deploy/gunicorn.conf.py; the test sends requests to one or the other,
as a round-robin load balancer would. Needs TEST_DATABASE_URL and TEST_REDIS_URL (CI sets both).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
import uuid

import pytest
from sqlalchemy import create_engine, text

from coaching.config import ROOT
from tests.apps import require_service, reset_postgres
from tests.forms import contact_form_fields
from tests.gunicorn_site import served, site_environment
from tests.smtp import free_port

POST = "/blog/psychedelics-and-neuroplasticity"
MESSAGE = "Mornings are hardest for my neck; could we talk about the Roadmap?"


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    """Servers A and B (each its own instance folder) on the PostgreSQL test database and Redis, migrated and seeded."""
    database, redis = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not database or not redis:
        require_service("TEST_DATABASE_URL and TEST_REDIS_URL are needed for the two-server test")
    reset_postgres(database)
    folder = tmp_path_factory.mktemp("scale-out")
    shared = {"RATELIMIT_STORAGE_URI": redis, "RATELIMIT_KEY_PREFIX": f"scale-out-{uuid.uuid4().hex}",
              "CONTACT_RATE_LIMIT": "3 per minute"}
    port_a = free_port()
    with served(folder / "a", database, port=port_a, **shared) as a, \
            served(folder / "b", database, migrate=False, **shared) as b:
        spec = f"coaching:create_app(instance_path={str(folder / 'a')!r})"
        subprocess.run([sys.executable, "-m", "flask", "--app", spec, "seed"], cwd=ROOT,
                       env=site_environment(a.port, database, **shared), check=True, capture_output=True, timeout=120)
        yield a, b, database


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
    for server in two_servers[:2]:
        answer = server.get("/readyz")
        assert answer.status == 200, answer.body
        assert '"redis":"ok"' in answer.body.replace(" ", "")


def test_a_form_opened_on_one_server_is_sent_through_the_other_once(two_servers):
    """Is a form opened on A and sent to B stored, and the same form sent again to A still one inquiry?"""
    a, b, database = two_servers
    cookie, fields = _opened_form(a)
    assert _send(b, cookie, fields).status == 303
    assert _send(a, cookie, fields).status == 303  # a double send, through the other server
    token = fields["submission_token"]
    stored = _scalar(database, f"SELECT count(*) FROM inquiries WHERE submission_token = '{token}'")
    assert stored == 1


def test_a_change_shows_on_the_next_request_to_either_server(two_servers):
    """After a post changes (saved through any server), do both servers' kept pages show it on the next request?"""
    a, b, database = two_servers
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
    a, b, _ = two_servers
    visitor = "203.0.113.9"
    for server in (a, b, a):
        cookie, fields = _opened_form(server, visitor)
        assert _send(server, cookie, fields, visitor).status == 303
    cookie, fields = _opened_form(b, visitor)
    refused = _send(b, cookie, fields, visitor)
    assert refused.status == 429
    assert "Mornings are hardest for my neck" in refused.body.replace("&#39;", "'")
