"""Template helpers: dates as the old site showed them, static files cached for a year safely."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import url_for

from coaching.web.templating import format_date, format_moment


def test_dates_read_like_the_old_site():
    """Are dates shown as "Jul 13, 2020" (no leading zero)?"""
    assert format_date(datetime(2020, 7, 13, tzinfo=UTC)) == "Jul 13, 2020"
    assert format_date(datetime(2025, 4, 5, tzinfo=UTC)) == "Apr 5, 2025"
    assert format_date(None) == ""


def test_static_urls_carry_a_content_hash_and_long_cache(client):
    """Are static URLs cache-busted by a content hash and served with a year-long lifetime?"""
    html = client.get("/roadmap").get_data(as_text=True)
    css_url = re.search(r'href="(/static/css/site.css\?v=[0-9a-f]{12})"', html).group(1)
    response = client.get(css_url)
    response.close()
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]


def test_fonts_and_images_are_first_party(client, seeded):
    """PRIV-03: do pages load fonts, styles and images only from this site?"""
    for url in ("/", "/blog/psychedelics-and-neuroplasticity", "/roadmap"):
        html = client.get(url).get_data(as_text=True)
        references = list(re.finditer(r'<(?:link|img|script)[^>]+(?:href|src)="([^"]+)"', html))
        assert references, url
        for match in references:
            target = match.group(1)
            is_page_link = 'rel="canonical"' in match.group(0)
            assert target.startswith("/") or is_page_link, (url, target)


@pytest.mark.parametrize(("zone", "shown"), [
    ("UTC", "01 Jul 2026, 12:00 UTC"),
    ("Europe/London", "01 Jul 2026, 13:00 BST"),
    ("America/New_York", "01 Jul 2026, 08:00 EDT"),
    ("Asia/Dubai", "01 Jul 2026, 16:00 UTC+04"),
])
def test_moments_show_in_the_practice_time_zone_with_its_name(app_factory, zone, shown):
    """Are admin and email times shown in TIME_ZONE, with the zone named beside them?"""
    app = app_factory(TIME_ZONE=zone)
    with app.app_context():
        assert format_moment(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == shown
def test_preloaded_fonts_are_the_urls_the_stylesheet_uses(client):
    """Does each page preload the regular and bold fonts at the very URL (content hash included) fonts.css asks for?"""
    html = client.get("/").get_data(as_text=True)
    preloads = re.findall(r'<link rel="preload" href="([^"]+)" as="font" type="font/woff2" crossorigin>', html)
    assert [url.split("?")[0] for url in preloads] == [
        "/static/fonts/atkinson-hyperlegible-latin-400-normal.woff2",
        "/static/fonts/atkinson-hyperlegible-latin-700-normal.woff2",
    ]
    css_url = re.search(r'href="(/static/css/fonts.css\?v=[0-9a-f]{12})"', html).group(1)
    response = client.get(css_url)
    stylesheet = response.get_data(as_text=True)
    response.close()
    # fonts.css says url("../fonts/<file>?v=<hash>"): each must be the hash url_for gives that file now.
    used = {"/static/" + url.removeprefix("../") for url in re.findall(r'url\("([^"]+\.woff2[^"]*)"\)', stylesheet)}
    assert len(used) == 4
    with client.application.test_request_context():
        current = {url_for("static", filename=url.split("?")[0].removeprefix("/static/")) for url in used}
    assert used == current, "a font file changed: put its new hash in fonts.css"
    assert set(preloads) <= used
