"""The site under a real gunicorn with deploy/gunicorn.conf.py, on a free port, for tests that need a real server."""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from coaching.config import ROOT
from tests.bench.load import csrf_token
from tests.smtp import free_port

GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


@dataclass
class Served:
    """A running site: its port, gunicorn's log file and (when started here) its master process."""

    port: int
    log: Path
    process: subprocess.Popen | None = None

    def get(self, path: str, headers: dict | None = None, cookie: str | None = None) -> http.client.HTTPResponse:
        """One GET (Host is the served site's); the response, body read into .body."""
        return self.request("GET", path, headers=headers, cookie=cookie)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                cookie: str | None = None) -> http.client.HTTPResponse:
        """One request to the site, with the right Host (and the cookie, if given)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if cookie:
            sent["Cookie"] = cookie
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        response.body = response.read().decode("utf-8", "replace")
        connection.close()
        return response


def sign_in_over_http(site: Served, email: str, password: str) -> str:
    """Post the real sign-in form to a served site: the signed-in session's Cookie value."""
    page = site.get("/admin/login")
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    answer = site.request("POST", "/admin/login", urllib.parse.urlencode(
        {"csrf_token": csrf_token(page.body), "email": email, "password": password}).encode(), cookie=cookie,
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 303, answer.body[:500]
    return "; ".join(value.split(";", 1)[0] for value in answer.headers.get_all("Set-Cookie"))


def site_environment(port: int, database_url: str, **settings: str) -> dict[str, str]:
    """Production settings for a served site on this port and database (plus any given)."""
    inherited = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return inherited | {
        "SECRET_KEY": "s" * 40, "COACH_EMAIL": "coach@hopefordystonia.com", "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": database_url, "WEB_CONCURRENCY": "1", "PROXY_FIX_HOPS": "1",
        "OUTBOX_DELIVER_AFTER_REQUEST": "false",
    } | settings


@contextlib.contextmanager
def served(instance: Path, database_url: str, migrate: bool = True, port: int | None = None,
           **settings: str) -> Iterator[Served]:
    """gunicorn -c deploy/gunicorn.conf.py on 127.0.0.1:port (free unless given), stopped after the block."""
    port = port or free_port()
    environment = site_environment(port, database_url, **settings)
    spec = f"coaching:create_app(instance_path={str(instance)!r})"
    if migrate:
        subprocess.run([sys.executable, "-m", "flask", "--app", spec, "db", "upgrade"], cwd=ROOT, env=environment,
                       check=True, capture_output=True, timeout=120)
    instance.mkdir(parents=True, exist_ok=True)
    log = instance.parent / f"gunicorn-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG),
                                    "--bind", f"127.0.0.1:{port}", spec],
                                   cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
    site = Served(port, log, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                site.get("/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
                time.sleep(0.2)
        yield site
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
