"""The fresh contact page, rendered once per worker and settings: the same page a full render makes, per visitor."""

from __future__ import annotations

import re

import pytest

from coaching.inquiries.contact_page import KEPT_KEY, PLACEHOLDERS, render_fresh_contact_page
from tests.forms import contact_form_fields

VALID = {"name": "Zoë O'Hara", "email": "zoe@example.org", "message": "I'd like to talk about coaching.",
         "consent": "y"}
PER_VISITOR = ("csrf_token", "form_started", "submission_token")


def without_visitor_values(html: str, csrf_field: str | None = "csrf_token") -> str:
    """The page with its CSRF token (unless csrf_field is None), form stamp and submission token each made <name>."""
    for name in (csrf_field, "form_started", "submission_token"):
        if name is None:
            continue
        value = re.search(rf'<input id="{name}" name="{name}" type="hidden" value="([^"]+)">', html).group(1)
        html = html.replace(value, f"<{name}>")
    return html


def full_render(app, path: str = "/contact") -> str:
    """The fresh contact page rendered in full (no kept page), in a request for `path`."""
    with app.test_request_context(path):
        return render_fresh_contact_page()


def test_kept_page_is_a_full_render_but_for_the_visitor_values(app, client):
    """Is the kept page byte for byte a full render, apart from the CSRF token, form stamp and submission token?"""
    first = client.get("/contact")  # renders the page with placeholders and keeps it
    second = client.get("/contact")  # the kept page
    assert app.extensions[KEPT_KEY], "the fresh page was not kept"
    full = full_render(app)
    assert first.status_code == second.status_code == 200
    assert without_visitor_values(first.get_data(as_text=True)) == without_visitor_values(full)
    assert without_visitor_values(second.get_data(as_text=True)) == without_visitor_values(full)
    assert not any(placeholder in second.get_data(as_text=True) for placeholder in PLACEHOLDERS.values())


def test_kept_page_has_the_headers_of_a_full_render(app_factory):
    """Does the kept page carry the same headers (no-store, security headers, a persistent session) as a full one?"""
    app = app_factory()
    kept = app.test_client().get("/contact")
    app.config["DEVELOPMENT"] = True  # files may change: every page is rendered in full
    rendered = app.test_client().get("/contact")

    def comparable(response):
        return sorted((name, value) for name, value in response.headers.items()
                      if name not in ("Set-Cookie", "X-Request-ID"))  # each request's own

    assert comparable(kept) == comparable(rendered)
    for response in (kept, rendered):
        cookie = response.headers["Set-Cookie"]
        assert "Expires=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_two_visitors_never_get_the_same_tokens(app):
    """Do two visitors, and one visitor twice, get their own CSRF and submission tokens, each sending its own?"""
    ann, ben = app.test_client(), app.test_client()
    pages = [client.get("/contact").get_data(as_text=True) for client in (ann, ben, ann)]
    fields = [contact_form_fields(page) for page in pages]
    assert len({f["submission_token"] for f in fields}) == 3
    assert fields[0]["csrf_token"] != fields[1]["csrf_token"]
    # Each visitor's token is checked against their own session: Ann's page can't be sent as Ben.
    assert ben.post("/contact", data=dict(fields[0], **VALID)).status_code == 400
    assert ann.post("/contact", data=dict(fields[0], **VALID)).status_code == 303
    assert ben.post("/contact", data=dict(fields[1], **VALID)).status_code == 303
    assert ann.post("/contact", data=dict(fields[2], **VALID)).status_code == 303


@pytest.mark.parametrize(("setting", "value", "shown"), [
    ("REPLY_EXPECTATION", "within a week, by phone if you prefer", "within a week, by phone if you prefer"),
    ("PRACTICE_EMAIL", "hello@new-practice.example", 'href="mailto:hello@new-practice.example"'),
    ("SITE_NAME", "Hope & Calm", "Hope &amp; Calm"),
    ("SITE_URL", "https://hopefordystonia.example", 'href="https://hopefordystonia.example/contact"'),
    ("WTF_CSRF_FIELD_NAME", "form_key", 'name="form_key"'),
])
def test_a_settings_change_shows_on_the_next_page(app, client, setting, value, shown):
    """Does a change to a setting the page shows appear on the very next request, the old page no longer served?"""
    before = client.get("/contact").get_data(as_text=True)
    assert shown not in before
    app.config[setting] = value
    after = client.get("/contact").get_data(as_text=True)
    assert shown in after
    csrf_field = app.config["WTF_CSRF_FIELD_NAME"]
    assert without_visitor_values(after, csrf_field) == without_visitor_values(full_render(app), csrf_field)


def test_without_csrf_the_page_has_no_token_field(app, client):
    """With WTF_CSRF_ENABLED off, is the kept page a full render without a CSRF field, and the form still sent?"""
    client.get("/contact")
    app.config["WTF_CSRF_ENABLED"] = False
    page = client.get("/contact").get_data(as_text=True)
    assert 'name="csrf_token"' not in page
    assert without_visitor_values(page, None) == without_visitor_values(full_render(app), None)
    fields = {name: value for name, value in contact_form_fields(page).items() if name != "csrf_token"}
    assert client.post("/contact", data=dict(fields, **VALID)).status_code == 303


def _changed(value):
    """Another value of the same kind, for the loop over every setting."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    return "changed"  # None: a value where there was none


def test_no_setting_changes_the_page_without_changing_the_kept_one(app_factory):
    """Whatever setting changes (every key of app.config), is the kept page still what a full render shows?"""
    app = app_factory()
    app.test_client().get("/contact")
    compared = 0
    for name, original in list(app.config.items()):
        if not (original is None or isinstance(original, bool | int | str)):
            continue
        app.config[name] = _changed(original)
        try:
            try:
                response = app.test_client().get("/contact")
            except Exception:  # a value the site can't run with (SESSION_COOKIE_SAMESITE="Lax-changed"...)
                continue
            if response.status_code != 200:  # nor serve the page with (SERVER_NAME, TRUSTED_HOSTS...)
                continue
            kept, full = response.get_data(as_text=True), full_render(app)
            csrf_field = app.config["WTF_CSRF_FIELD_NAME"] if app.config["WTF_CSRF_ENABLED"] else None
            assert without_visitor_values(kept, csrf_field) == without_visitor_values(full, csrf_field), name
            compared += 1
        finally:
            app.config[name] = original
    assert compared > 60


def test_a_flashed_message_is_shown_once_on_a_full_render(app, client):
    """Does a message waiting in the visitor's session show on the contact page once, the kept page after?"""
    client.get("/contact")
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "You have been signed out.")]
    assert "You have been signed out." in client.get("/contact").get_data(as_text=True)
    again = client.get("/contact").get_data(as_text=True)
    assert "You have been signed out." not in again
    assert without_visitor_values(again) == without_visitor_values(full_render(app))


def test_the_kept_page_is_per_address(app_factory):
    """Without SITE_URL, is the page's own link built on the address each request came to, as a full render does?"""
    app = app_factory(SITE_URL=None, TRUSTED_HOSTS=None)
    client = app.test_client()
    one = client.get("/contact", base_url="http://localhost").get_data(as_text=True)
    other = client.get("/contact", base_url="http://127.0.0.1:8000").get_data(as_text=True)
    assert 'rel="canonical" href="http://localhost/contact"' in one
    assert 'rel="canonical" href="http://127.0.0.1:8000/contact"' in other
    assert re.search(r"<title>I'd love to hear from you", other)
