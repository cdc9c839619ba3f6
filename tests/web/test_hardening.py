"""What a stranger can send: a forged Host, odd numbers, JSON, oversize chunked bodies, long tokens."""

from __future__ import annotations

import http.client
import re
import threading
from html import unescape
from urllib.parse import quote, urlencode

import pytest
from flask_migrate import stamp
from sqlalchemy import select
from werkzeug.serving import make_server

from coaching.extensions import db
from coaching.inquiries.models import Inquiry
from coaching.mail.models import OutboxMessage
from tests.apps import PRODUCTION
from tests.factories import add_inquiry, row_count
from tests.forms import contact_form_fields, csrf_token_of, submit_contact, text_of

VALID = {
    "name": "Zoë O'Hara", "email": "zoe@example.org", "topic": "coaching", "consent": "y",
    "message": "Hello, I have cervical dystonia and I'd love to talk about the Roadmap.",
}
SITE = "https://hopefordystonia.example"


# --- Item 2: the Host header never reaches a link ---


@pytest.fixture
def production_app(app_factory):
    """An app with production settings, its public address SITE (so TRUSTED_HOSTS is its host)."""
    return app_factory(**{**PRODUCTION, "SITE_URL": SITE, "SESSION_COOKIE_SECURE": False})


def test_production_trusts_only_the_site_url_host(production_app):
    """Is TRUSTED_HOSTS in production derived from SITE_URL's host?"""
    assert production_app.config["TRUSTED_HOSTS"] == ["hopefordystonia.example"]


@pytest.mark.parametrize("url", ["/", "/roadmap", "/contact", "/robots.txt", "/blog/feed.xml", "/admin/login"])
def test_a_forged_host_gets_the_friendly_400_page(production_app, url):
    """Does a request for another host get the friendly 400 page, in the site's layout, with links to SITE_URL?"""
    response = production_app.test_client().get(url, headers={"Host": "evil.example"})
    html = unescape(text_of(response))
    assert response.status_code == 400
    assert "didn't make sense" in html and 'href="#main"' in html and 'aria-label="Main"' in html
    assert "evil.example" not in html


def test_the_site_host_is_served(production_app):
    """Is a request for SITE_URL's own host (any port form) served as usual?"""
    client = production_app.test_client()
    assert client.get("/roadmap", headers={"Host": "hopefordystonia.example"}).status_code == 200
    assert client.get("/roadmap", headers={"Host": "hopefordystonia.example:443"},
                      base_url="https://hopefordystonia.example").status_code == 200


def test_coach_notification_links_to_site_url_not_the_host(app_factory):
    """With the request's host trusted but not SITE_URL's, does the coach's email still link to SITE_URL?"""
    app = app_factory(**{**PRODUCTION, "SITE_URL": SITE, "SESSION_COOKIE_SECURE": False,
                         "TRUSTED_HOSTS": ["hopefordystonia.example", "other.example"],
                         "NOTIFY_INCLUDE_MESSAGE": False})
    response = submit_contact(app.test_client(), VALID, headers={"Host": "other.example"})
    assert response.status_code == 303
    with app.app_context():
        [notification] = [m for m in db.session.scalars(select(OutboxMessage)) if m.recipient != VALID["email"]]
        inquiry_id = db.session.scalar(select(Inquiry.id))
    assert f"{SITE}/admin/inquiries/{inquiry_id}" in notification.body_text
    assert "other.example" not in notification.body_text + (notification.body_html or "")


@pytest.mark.parametrize("url", ["/roadmap", "/robots.txt", "/sitemap.xml", "/blog/feed.xml", "/blog/"])
def test_absolute_links_use_site_url_whatever_the_host(app_factory, make_post, url):
    """Are canonical links, Open Graph tags, the feed, the sitemap and robots.txt built on SITE_URL only?"""
    app = app_factory(**{**PRODUCTION, "SITE_URL": SITE, "SESSION_COOKIE_SECURE": False,
                         "TRUSTED_HOSTS": ["hopefordystonia.example", "other.example"]})
    with app.app_context():
        make_post("calm-mornings")
    text = text_of(app.test_client().get(url, headers={"Host": "other.example"}))
    assert SITE in text
    assert "other.example" not in text


def test_development_uses_the_request_host(app_factory):
    """In development without SITE_URL, are links built on the request's host (and every host served)?"""
    app = app_factory(DEVELOPMENT=True)
    response = app.test_client().get("/robots.txt", headers={"Host": "laptop.local:5000"})
    assert response.status_code == 200 and "http://laptop.local:5000/sitemap.xml" in text_of(response)
    assert app.config["TRUSTED_HOSTS"] is None


# --- Item 4: odd numbers, JSON and every route: a 4xx page, never a 5xx ---

ODD_NUMBERS = ["²", "①", "٣", "9223372036854775808", "99999999999999999999999", "1" * 5000, "-1", "0", " 1",
               "1e3", "0x10"]


@pytest.mark.parametrize("value", ODD_NUMBERS)
@pytest.mark.parametrize("url", ["/blog/", "/blog/search?q=calm&", "/blog/tag/calm?"])
def test_odd_page_numbers_are_a_404(client, make_post, url, value):
    """Is ?page=² (or ①, or past 2^63) on the blog list, search and tag pages a friendly 404, not a 500?"""
    make_post("calm-mornings", tags=["calm"])
    joiner = "?" if url.endswith("/") else ""
    response = client.get(f"{url}{joiner}page={quote(value)}")
    assert response.status_code == 404, value
    assert "Page not found" in text_of(response)


@pytest.mark.parametrize("value", ["9223372036854775808", "2147483648", "1" * 5000, "٣"])
def test_database_ids_past_the_column_are_a_404_for_the_coach(app, admin_client, value):
    """Signed in, is /admin/inquiries/<a number past any id> a 404 page rather than an overflow 500?"""
    response = admin_client.get(f"/admin/inquiries/{quote(value)}")
    assert response.status_code == 404
    assert "Page not found" in text_of(response)


@pytest.mark.parametrize("body", ['{"name": "x"}', "not json", "[1, 2]", '"text"', '{"name": {"a": 1}}'])
def test_json_posted_to_the_contact_form_is_a_4xx(client, body):
    """Is a JSON body (valid or not) posted to /contact answered with the friendly form, never a 500?"""
    response = client.post("/contact", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nothing you typed has been lost" in text_of(response)


@pytest.mark.parametrize("body", ['{"email": ["a", "b"], "password": {"x": 1}}', "[1]", "nope"])
def test_json_with_a_valid_token_is_read_as_an_empty_form(client, body):
    """With a valid CSRF header, is a JSON body treated as an empty form (the form's own errors), not a 500?"""
    token = csrf_token_of(client, "/admin/login")
    response = client.post("/admin/login", data=body, content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert response.status_code < 500
    assert "Enter the email address of your account" in unescape(text_of(response))


HOSTILE = ODD_NUMBERS + ["..", "%2e%2e", "a/../../etc/passwd", "<script>alert(1)</script>", "\x00", "%", "ÿ",
                         "x" * 3000, "//evil.example"]
QUERY_NAMES = ["page", "q", "status", "next", "v", "token"]


def _hostile_urls(app, value: str) -> list[tuple[str, str]]:
    """(method, URL) for every route, each path variable and every known query name set to the value."""
    query = urlencode({name: value for name in QUERY_NAMES})
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "auth.logout":
            continue  # signing the coach out would make the rest of the loop anonymous
        path = re.sub(r"<[^>]+>", lambda _: quote(value, safe=""), rule.rule)
        urls += [(method, f"{path}?{query}") for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


@pytest.mark.parametrize("signed_in", [False, True], ids=["stranger", "coach"])
def test_no_route_answers_hostile_values_with_a_5xx(app, admin_user, signed_in):
    """Does every route (app.url_map), given hostile path and query values, answer below 500?"""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 is then a response, so every route is tried
    with app.app_context():
        stamp(revision="head")  # a migrated site: /readyz's 503 for an unmigrated one is an answer, not a fault
    add_inquiry(app)
    client = app.test_client()
    if signed_in:
        from tests.forms import sign_in

        assert sign_in(client).status_code == 303
    token = csrf_token_of(client, "/admin/inquiries" if signed_in else "/contact")
    failures = []
    for value in HOSTILE:
        for method, url in _hostile_urls(app, value):
            response = client.open(url, method=method, data={"csrf_token": token} if method != "GET" else None)
            if response.status_code >= 500:
                failures.append((method, url[:120], response.status_code))
    assert not failures


# --- Item 5: an oversize chunked body is a 413, never silently cut ---


@pytest.fixture
def real_server(app):
    """The app behind Werkzeug's real HTTP server on 127.0.0.1 (it sets wsgi.input_terminated for chunked bodies)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=10)


def _send_chunked(port: int, path: str, body: bytes, headers: dict) -> tuple[int, str]:
    """POST body chunked (Transfer-Encoding: chunked, no Content-Length) in 64 KiB chunks; (status, text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    chunks = (body[start:start + 65536] for start in range(0, len(body), 65536))
    try:
        connection.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.read().decode()
    except (ConnectionResetError, BrokenPipeError):
        return 0, ""  # the server stopped reading: no answer, but nothing stored either
    finally:
        connection.close()


def _opened_form(port: int) -> tuple[dict, str]:
    """Open /contact over HTTP: its hidden fields and the session cookie."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/contact")
    response = connection.getresponse()
    fields, cookie = contact_form_fields(response.read().decode()), response.getheader("Set-Cookie")
    connection.close()
    return fields, cookie.split(";", 1)[0]


def test_oversize_chunked_form_is_a_413_and_stores_nothing(app, real_server):
    """SEC-12: is a chunked form with 2 MB past valid fields a friendly 413, with no inquiry stored?"""
    fields, cookie = _opened_form(real_server)
    body = urlencode({**fields, **VALID}).encode() + b"&padding=" + b"x" * (2 * 1024 * 1024)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    status, text = _send_chunked(real_server, "/contact", body, headers)
    assert status == 413
    assert "too much to send at once" in unescape(text)
    assert row_count(app, Inquiry) == 0


def test_small_chunked_form_is_accepted(app, real_server):
    """Is a chunked form of ordinary size still stored and thanked (303)?"""
    fields, cookie = _opened_form(real_server)
    body = urlencode({**fields, **VALID}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    assert _send_chunked(real_server, "/contact", body, headers)[0] == 303
    assert row_count(app, Inquiry) == 1


# --- Item 6: the submission token has the shape the site issues ---


@pytest.mark.parametrize("token", ["x" * 1_000_000, "short", "a" * 31 + "!", "é" * 32])
def test_a_wrong_shaped_token_is_replaced_and_the_message_kept(app, client, token):
    """Is a submission token not shaped like the site's (1 MB, short, odd characters) replaced, the message stored?"""
    response = submit_contact(client, {**VALID, "submission_token": token})
    assert response.status_code == 303
    with app.app_context():
        inquiry = db.session.scalar(select(Inquiry))
        assert inquiry.message == VALID["message"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", inquiry.submission_token)


def test_a_burst_with_one_wrong_token_is_still_one_inquiry(app, client):
    """REL-10: sent twice with the same wrong-shaped token, is the message still one inquiry?"""
    page = contact_form_fields(text_of(client.get("/contact")))
    data = {**page, **VALID, "submission_token": "y" * 5000}
    assert client.post("/contact", data=data).status_code == 303
    assert client.post("/contact", data=data).status_code == 303
    assert row_count(app, Inquiry) == 1


def test_a_wrong_shaped_token_comes_back_replaced_after_an_error(client):
    """After a field error, does the form come back with the visitor's text and a token of the site's shape?"""
    response = submit_contact(client, {**VALID, "email": "not an address", "submission_token": "z" * 100_000})
    html = text_of(response)
    assert VALID["name"] in unescape(html) and "z" * 100 not in html
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", contact_form_fields(html)["submission_token"])
