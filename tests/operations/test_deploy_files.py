"""deploy/nginx.conf: nginx accepts it, its body limits are the app's, and a real nginx in front of a stand-in
app serves static/ itself, keeps public pages briefly, and never keeps /admin, /contact or a visitor's session.

The stand-in app marks every answer `Cache-Control: public, max-age=60`, the most a cache could be tempted
by, so whatever nginx passes through to it here it would pass through for the real site too. nginx runs
from deploy/nginx.conf rendered into a temporary prefix (tests/nginx_site.py), on high ports, as nobody
under root. Without nginx these tests are skipped; in CI (CI=true) they fail.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coaching.blog.admin_views import FORM_TEXT_ALLOWANCE, UPLOAD_ENDPOINTS
from coaching.blog.archive import IMPORT_MAX_BYTES
from coaching.config import ROOT, Config
from tests.apps import make_test_app, require_service
from tests.nginx_site import SITE_FILE, Ports, nginx_binary, nginx_command, nginx_prefix, write_config
from tests.smtp import free_port

MEBIBYTE = 1024 * 1024  # nginx's "m"
HOST = "hopefordystonia.com"
# Paths where the stand-in app answers as the site does for what no cache may keep (admin pages say no-store;
# public pages said no-cache before they were cached).
PRIVATE_ANSWERS = {"/no-store": "no-store", "/no-cache": "no-cache", "/private": "private, max-age=60"}


def _need_nginx() -> None:
    """Skip (or, in CI, fail) without nginx."""
    if nginx_binary() is None:
        require_service("nginx is not installed (Debian: apt-get install nginx-light)")


def _limits() -> dict[str, int]:
    """client_max_body_size in bytes: the server's ("server") and each location's that sets one."""
    text = SITE_FILE.read_text()
    limits = {"server": int(re.search(r"^    client_max_body_size +(\d+)m;", text, re.MULTILINE).group(1)) * MEBIBYTE}
    for location, size in re.findall(r"location ([^{]+?) \{\s*client_max_body_size +(\d+)m;", text):
        limits[location] = int(size) * MEBIBYTE
    return limits


def test_body_limits_are_the_apps():
    """Does nginx take what the app takes (a little more site-wide, so the app's friendly 413 page answers)?"""
    limits = _limits()
    assert Config.MAX_CONTENT_LENGTH < limits["server"] <= 2 * Config.MAX_CONTENT_LENGTH
    assert limits["/admin/posts/"] == Config.UPLOAD_MAX_BYTES + FORM_TEXT_ALLOWANCE
    assert limits["= /admin/posts/import"] == IMPORT_MAX_BYTES + FORM_TEXT_ALLOWANCE
    app = make_test_app("sqlite://")
    upload_rules = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint in UPLOAD_ENDPOINTS}
    assert upload_rules and all(rule.startswith("/admin/posts/") for rule in upload_rules), upload_rules


@pytest.fixture
def prefix():
    """A temporary nginx prefix (nginx needs nginx installed)."""
    _need_nginx()
    with nginx_prefix() as folder:
        yield folder


@pytest.mark.parametrize("tls", [False, True], ids=["as make bench runs it", "with TLS"])
def test_nginx_accepts_the_configuration(prefix, tls):
    """Does `nginx -t` pass deploy/nginx.conf, rendered without TLS and with a certificate?"""
    certificate = None
    if tls:
        import trustme

        issued = trustme.CA().issue_cert(HOST)
        certificate = (prefix / "fullchain.pem", prefix / "privkey.pem")
        issued.private_key_and_cert_chain_pem.write_to_path(str(certificate[0]))
        issued.private_key_pem.write_to_path(str(certificate[1]))
    config = write_config(prefix, Ports(app=free_port(), http=free_port(), https=free_port()), certificate)
    checked = subprocess.run(nginx_command(prefix, config, "-t"), capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


class StandInApp(BaseHTTPRequestHandler):
    """Answers everything as cacheable as can be, counting the requests that reach it (and their headers)."""

    seen: Counter
    headers_seen: dict

    def do_GET(self):  # noqa: N802 (http.server's name)
        """200, public for a minute, a body that says how many times this path came through."""
        self.seen[self.path] += 1
        self.headers_seen[self.path] = dict(self.headers)
        body = f"{self.path} #{self.seen[self.path]}".encode()
        self.send_response(200)
        if self.path in PRIVATE_ANSWERS:
            self.send_header("Cache-Control", PRIVATE_ANSWERS[self.path])
        elif self.path != "/says-nothing":
            self.send_header("Cache-Control", "public, max-age=60")
        if self.path == "/sets-cookie":
            self.send_header("Set-Cookie", "session=new; HttpOnly")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        """Read the body and say how long it was."""
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        self.seen[f"POST {self.path}"] += 1
        body = str(length).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Quiet."""


@pytest.fixture
def proxied(prefix, tmp_path):
    """nginx from deploy/nginx.conf in front of the stand-in app: (ports, requests seen, headers seen)."""
    handler = type("Handler", (StandInApp,), {"seen": Counter(), "headers_seen": {}})
    app_server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=app_server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    ports = Ports(app=app_server.server_address[1], http=free_port(), https=free_port())
    config = write_config(prefix, ports)
    (prefix / "acme" / ".well-known" / "acme-challenge").mkdir(parents=True)
    (prefix / "acme" / ".well-known" / "acme-challenge" / "token").write_text("certbot was here")
    log = (tmp_path / "nginx.log").open("wb")
    nginx = subprocess.Popen(nginx_command(prefix, config, "-g", "daemon off;"), stdout=log, stderr=log,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while _status(ports.http, "/") is None:
            assert nginx.poll() is None and time.monotonic() < deadline, (prefix / "logs" / "error.log").read_text()
            time.sleep(0.05)
        yield ports, handler.seen, handler.headers_seen
    finally:
        os.killpg(nginx.pid, signal.SIGTERM)  # master and workers: its own process group
        nginx.wait(timeout=10)
        log.close()
        app_server.shutdown()
        app_server.server_close()


def _status(port: int, path: str) -> int | None:
    """The status of a GET, or None when nothing answers yet."""
    with contextlib.suppress(OSError):
        return _request(port, path)[0]
    return None


def _request(port: int, path: str, method: str = "GET", body: bytes | None = None,
             headers: dict | None = None) -> tuple[int, dict, str]:
    """One request to nginx on 127.0.0.1:port for the site's host: status, headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    finally:
        connection.close()


def test_public_pages_are_kept_briefly(proxied):
    """Is a public page kept (the app's max-age), and one whose headers say nothing kept too (the micro-cache)?"""
    ports, seen, _ = proxied
    for path in ("/blog/a-post", "/says-nothing"):
        first, second = _request(ports.https, path), _request(ports.https, path)
        assert first[1]["X-Cache-Status"] == "MISS" and second[1]["X-Cache-Status"] == "HIT"
        assert second[2] == first[2] == f"{path} #1"
        assert seen[path] == 1


@pytest.mark.parametrize("path", ["/admin/", "/admin/inquiries?status=new", "/admin/login", "/admin/posts/new",
                                  "/admin/posts/import", "/contact", "/contact/thanks"])
def test_admin_and_contact_pages_are_never_kept(proxied, path):
    """PRIV-03: does every request for /admin or /contact reach the app, even when the app says "public"?"""
    ports, seen, _ = proxied
    answers = [_request(ports.https, path) for _ in range(3)]
    assert seen[path] == 3
    assert [answer[2] for answer in answers] == [f"{path} #{number}" for number in (1, 2, 3)]
    assert {answer[1]["X-Cache-Status"] for answer in answers} == {"BYPASS"}


def test_a_visitor_with_a_session_is_never_served_or_stored(proxied):
    """PRIV-03: is a request carrying the session cookie passed through, and its answer kept from others?"""
    ports, seen, _ = proxied
    anonymous = _request(ports.https, "/blog/b")
    signed_in = [_request(ports.https, "/blog/b", headers={"Cookie": "theme=x; session=eyJ..."}) for _ in range(2)]
    later = _request(ports.https, "/blog/b")
    assert seen["/blog/b"] == 3
    assert [answer[2] for answer in signed_in] == ["/blog/b #2", "/blog/b #3"]
    assert later[2] == anonymous[2] == "/blog/b #1" and later[1]["X-Cache-Status"] == "HIT"


@pytest.mark.parametrize("path", [*PRIVATE_ANSWERS, "/sets-cookie"])
def test_answers_the_app_marks_private_are_not_kept(proxied, path):
    """Is an answer with Cache-Control no-store, no-cache or private, or with a Set-Cookie, asked of the app
    every time?"""
    ports, seen, _ = proxied
    for _ in range(2):
        _request(ports.https, path)
    assert seen[path] == 2


def test_static_files_come_from_disk_for_a_year(proxied):
    """Does nginx serve static/ itself (the app never asked) with a year's cache lifetime?"""
    ports, seen, _ = proxied
    status, headers, body = _request(ports.https, "/static/css/site.css?v=abc123")
    assert status == 200 and body == (ROOT / "static" / "css" / "site.css").read_text()
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert not any(path.startswith("/static") for path in seen)


def test_the_app_is_told_who_asked_and_how(proxied):
    """Does the app get X-Forwarded-For, X-Forwarded-Proto, the Host and a fresh X-Request-ID?"""
    ports, _, headers_seen = proxied
    _request(ports.https, "/roadmap", headers={"X-Forwarded-For": "203.0.113.9"})
    _request(ports.https, "/privacy")
    roadmap, privacy = headers_seen["/roadmap"], headers_seen["/privacy"]
    # nginx appends the address it saw: the app (PROXY_FIX_HOPS=1) trusts only that last one.
    assert roadmap["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert roadmap["X-Forwarded-Proto"] == "http" and roadmap["Host"] == HOST
    assert re.fullmatch(r"[0-9a-f]{32}", roadmap["X-Request-ID"])
    assert privacy["X-Request-ID"] != roadmap["X-Request-ID"]


def test_plain_http_moves_to_https_except_certbots_challenge(proxied):
    """Does port 80 send every address to https://hopefordystonia.com, and serve certbot's webroot files?"""
    ports, seen, _ = proxied
    status, headers, _ = _request(ports.http, "/blog/a-post?page=2")
    assert status == 301 and headers["Location"] == "https://hopefordystonia.com/blog/a-post?page=2"
    assert _request(ports.http, "/.well-known/acme-challenge/token")[:3:2] == (200, "certbot was here")
    assert not seen


def test_bodies_far_over_the_limit_never_reach_the_app(proxied):
    """Is 3 MB for the contact form refused by nginx, 1.5 MB passed on (the app answers 413), both to the editor?"""
    ports, seen, _ = proxied
    headers = {"Content-Type": "application/octet-stream"}
    just_over, far_over = b"x" * (MEBIBYTE * 3 // 2), b"x" * (MEBIBYTE * 3)
    assert _request(ports.https, "/contact", "POST", far_over, headers)[0] == 413
    assert _request(ports.https, "/contact", "POST", just_over, headers)[0] == 200  # the stand-in app's answer
    assert _request(ports.https, "/admin/posts/new", "POST", far_over, headers)[:3:2] == (200, str(len(far_over)))
    assert seen == Counter({"POST /contact": 1, "POST /admin/posts/new": 1})
