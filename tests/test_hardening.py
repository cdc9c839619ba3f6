"""What a stranger can send: a forged Host, odd numbers, JSON, oversize chunked bodies, long tokens."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from coaching.extensions import db
from coaching.models import Inquiry, OutboxMessage
from tests.apps import PRODUCTION
from tests.forms import submit_contact, text_of

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


