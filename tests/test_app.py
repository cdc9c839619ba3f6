"""REL-06: the site as production runs it (gunicorn, 4 workers, one SQLite file) loses no inquiry under load."""

from __future__ import annotations

import http.cookiejar
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from coaching.inquiries.models import Inquiry
from tests.apps import dispose, make_test_app
from tests.factories import row_count
from tests.forms import contact_form_fields
from tests.smtp import free_port

WORKERS, CLIENTS, SOAK_SECONDS = 4, 50, 30  # the numbers of CHECKS.md REL-06
ROOT = Path(__file__).resolve().parent.parent


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the response it is (the form's 303), instead of following it."""

    def redirect_request(self, *args, **kwargs):
        return None


def _visitor():
    """A urllib opener with its own cookie jar, as one visitor's browser."""
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirects())


def _status(opener, url: str, data: dict | None = None) -> tuple[int, str]:
    """GET (or POST the form data) and return the status and body; HTTP errors are answers too."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, data=body, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode(errors="replace")


def _keep_sending(base_url: str, until: float, number: int, statuses: Counter, lock: threading.Lock) -> None:
    """One visitor: open the form and send it, again and again until the time is up; count each POST's status."""
    opener = _visitor()
    sent = 0
    while time.monotonic() < until:
        status, page = _status(opener, base_url + "/contact")
        if status != 200:
            with lock:
                statuses[f"GET {status}"] += 1
            continue
        fields = contact_form_fields(page) | {
            "name": f"Visitor {number}-{sent}", "email": f"visitor{number}@example.org",
            "message": "Writing under load; this must not be lost.", "consent": "y",
        }
        status, _ = _status(opener, base_url + "/contact", fields)
        with lock:
            statuses[status] += 1
        sent += 1


@pytest.fixture
def gunicorn_site(tmp_path):
    """gunicorn with 4 sync workers serving the app on one SQLite file, production settings; (url, app, log).

    The app (tables made as `flask db upgrade` would) is on the same file, for reading what was stored.
    """
    database_url = f"sqlite:///{tmp_path / 'soak.sqlite3'}"
    app = make_test_app(database_url)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    environment = os.environ | {
        "DATABASE_URL": database_url, "SECRET_KEY": "soak-test-secret-key", "COACH_EMAIL": "coach@example.org",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "SESSION_COOKIE_SECURE": "false",  # plain http on 127.0.0.1
        "RATELIMIT_ENABLED": "false",  # every client is 127.0.0.1: the load-test switch README documents
        "CONTACT_MIN_FILL_SECONDS": "0",
    }
    environment.pop("DEVELOPMENT", None)
    instance = tmp_path / "instance"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
             f"coaching:create_app(instance_path={str(instance)!r})"],
            cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _status(_visitor(), url + "/")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url, app, log
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        dispose(app)


def test_fifty_visitors_for_thirty_seconds_lose_nothing(gunicorn_site):
    """REL-06: do 50 visitors sending for 30 s get only 303s, one stored row each, and no "database is locked"?"""
    url, app, log = gunicorn_site
    statuses, lock = Counter(), threading.Lock()
    until = time.monotonic() + SOAK_SECONDS
    visitors = [threading.Thread(target=_keep_sending, args=(url, until, number, statuses, lock))
                for number in range(CLIENTS)]
    for visitor in visitors:
        visitor.start()
    for visitor in visitors:
        visitor.join(SOAK_SECONDS + 120)
    stored = row_count(app, Inquiry)
    server_log = log.read_text()
    assert statuses[303] > CLIENTS, statuses  # every visitor got through more than once
    assert set(statuses) == {303}, statuses  # no 5xx, no 4xx, no failed page load
    assert stored == statuses[303]
    assert "database is locked" not in server_log and "Traceback" not in server_log
