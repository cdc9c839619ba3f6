"""gunicorn's access log, as deploy/gunicorn.conf.py sets it up: the request id, no admin query strings or tokens."""

from __future__ import annotations

import json
from pathlib import Path

from coaching.operations.access_log import logged_path
from tests.gunicorn_site import served

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


def _access_lines(tmp_path: Path, log_format: str) -> tuple[list[str], list[str]]:
    """Make REQUESTS through a real gunicorn; the request ids it sent back, and every line it logged."""
    with served(tmp_path / "instance", f"sqlite:///{tmp_path / 'site.sqlite3'}", LOG_FORMAT=log_format) as site:
        ids = [site.get(path, {"X-Request-ID": f"proxy-id-{number}"}).getheader("X-Request-ID")
               for number, (path, _) in enumerate(REQUESTS)]
    return ids, site.log.read_text().splitlines()


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
