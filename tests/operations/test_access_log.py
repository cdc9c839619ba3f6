"""gunicorn's access log, as deploy/gunicorn.conf.py sets it up: the request id, no admin query strings or tokens."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coaching.config import ROOT
from coaching.operations.access_log import logged_path
from tests.smtp import free_port

GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
REQUESTS = [
    ("/admin/inquiries?q=Sentinel+Visitor", "/admin/inquiries"),
    ("/admin/reset-password/SENTINELTOKEN123", "/admin/reset-password/…"),
    ("/contact?ref=newsletter", "/contact?ref=newsletter"),
]


def test_logged_paths_drop_admin_queries_and_link_tokens():
    """Are admin query strings and reset-link tokens left out of a logged path, and public queries kept?"""
    assert logged_path("/admin/inquiries", "q=someone") == "/admin/inquiries"
    assert logged_path("/admin/reset-password/abc.def", "") == "/admin/reset-password/…"
    assert logged_path("/blog/search", "q=sleep") == "/blog/search?q=sleep"
    assert logged_path("/", "") == "/"


def _served(tmp_path: Path, log_format: str):
    """Run the site under gunicorn with deploy/gunicorn.conf.py on a free port; (process, port, log file)."""
    port = free_port()
    database = tmp_path / "site.sqlite3"
    environment = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ} | {
        "SECRET_KEY": "s" * 40, "COACH_EMAIL": "coach@hopefordystonia.com", "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{database}", "WEB_CONCURRENCY": "1", "PROXY_FIX_HOPS": "1",
        "LOG_FORMAT": log_format, "OUTBOX_DELIVER_AFTER_REQUEST": "false",
    }
    spec = f"coaching:create_app(instance_path={str(tmp_path / 'instance')!r})"
    subprocess.run([sys.executable, "-m", "flask", "--app", spec, "db", "upgrade"], cwd=ROOT, env=environment,
                   check=True, capture_output=True, timeout=120)
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG),
                                    "--bind", f"127.0.0.1:{port}", spec],
                                   cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _get(port, "/healthz")
            return process, port, log
        except OSError:
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"gunicorn did not start:\n{log.read_text()}")


def _get(port: int, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    """One GET to the served site (Host is its SITE_URL's)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def _access_lines(tmp_path: Path, log_format: str) -> tuple[list[str], list[str]]:
    """Make REQUESTS through a real gunicorn; the request ids it sent back, and every line it logged."""
    process, port, log = _served(tmp_path, log_format)
    try:
        ids = [_get(port, path, {"X-Request-ID": f"proxy-id-{number}"}).getheader("X-Request-ID")
               for number, (path, _) in enumerate(REQUESTS)]
    finally:
        process.terminate()
        process.wait(timeout=30)
    return ids, log.read_text().splitlines()


def test_text_access_lines_carry_the_id_and_no_private_values(tmp_path):
    """Does each text access line name the request id and the cleaned path, never the admin search or token?"""
    ids, lines = _access_lines(tmp_path, "text")
    assert ids == ["proxy-id-0", "proxy-id-1", "proxy-id-2"]
    for request_id, (_, shown) in zip(ids, REQUESTS, strict=True):
        assert any(f'"GET {shown} HTTP/1.1"' in line and f"id={request_id}" in line for line in lines), shown
    text = "\n".join(lines)
    assert "Sentinel" not in text and "SENTINELTOKEN" not in text


def test_json_access_lines_are_json_with_named_fields(tmp_path):
    """With LOG_FORMAT=json, is every line gunicorn and the app write JSON, access lines with named fields?"""
    ids, lines = _access_lines(tmp_path, "json")
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    access = [record for record in records if record.get("logger") == "gunicorn.access"]
    assert {(record["path"], record["request_id"]) for record in access} >= {
        ("/admin/inquiries", ids[0]), ("/admin/reset-password/…", ids[1]), ("/contact", ids[2])}
    assert all(record["query"] == "" for record in access if record["path"].startswith("/admin"))
    assert "Sentinel" not in "\n".join(lines) and "SENTINELTOKEN" not in "\n".join(lines)
