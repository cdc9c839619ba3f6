"""The practice's own pages: home, the Recovery Roadmap, and the files crawlers read."""

from __future__ import annotations

import xml.etree.ElementTree as ET

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def test_home_says_who_it_is_for_and_offers_the_next_steps(client, seeded):
    """Does the home page say who it is for, that it is coaching, and lead to posts, Roadmap and contact?"""
    html = client.get("/").get_data(as_text=True)
    assert "Who this is for" in html
    assert "coaching, not medical treatment" in html
    assert "/blog/psychedelics-and-neuroplasticity" in html
    assert 'href="/roadmap"' in html and "The Recovery Roadmap in brief" in html
    assert 'class="button" href="/contact"' in html


def test_roadmap_covers_each_tool_and_keeps_the_disclaimer(client):
    """Does the Roadmap explain each tool, make the next step clear and keep the coaching disclaimer?"""
    response = client.get("/roadmap")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for tool in ("Movement", "Mindfulness", "Sensory integration", "Nervous-system regulation",
                 "Integration into daily life"):
        assert f">{tool}</h2>" in html, tool
    assert html.count("How it can help") >= 5
    assert "not medical treatment" in html
    assert '<aside class="disclaimer"' in html
    assert 'href="/contact"' in html


def test_roadmap_makes_no_medical_promises(client):
    """Does the Roadmap avoid promising to cure, treat or heal (outside the disclaimer)?"""
    html = client.get("/roadmap").get_data(as_text=True).lower()
    body = html.split('<article class="page">')[1].split('<aside class="disclaimer"')[0]
    for claim in ("will cure", "cures dystonia", "heals dystonia", "guaranteed", "will heal"):
        assert claim not in body, claim


def test_sitemap_lists_pages_and_published_posts(client, seeded):
    """Is /sitemap.xml valid XML listing the main pages and each published post with lastmod?"""
    response = client.get("/sitemap.xml")
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    locations = [url.findtext(f"{SITEMAP}loc") for url in root.findall(f"{SITEMAP}url")]
    assert "http://localhost/" in locations
    assert "http://localhost/roadmap" in locations
    assert "http://localhost/blog/psychedelics-and-neuroplasticity" in locations
    post = next(u for u in root.findall(f"{SITEMAP}url") if "psychedelics" in u.findtext(f"{SITEMAP}loc"))
    assert post.findtext(f"{SITEMAP}lastmod") == "2025-04-15"


def test_site_url_setting_makes_absolute_links(app_factory):
    """With SITE_URL set, are canonical, feed and sitemap links built on it?"""

    app = app_factory(SITE_URL="https://hopefordystonia.example/")
    html = app.test_client().get("/roadmap").get_data(as_text=True)
    assert '<link rel="canonical" href="https://hopefordystonia.example/roadmap">' in html
    assert "https://hopefordystonia.example/sitemap.xml" in app.test_client().get("/robots.txt").get_data(as_text=True)


def test_robots_points_at_the_sitemap(client):
    """Does robots.txt allow crawling, keep admin out and name the sitemap?"""
    response = client.get("/robots.txt")
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert "User-agent: *" in text and "Disallow: /admin/" in text
    assert "Sitemap: http://localhost/sitemap.xml" in text


def test_favicon_ico_points_at_the_svg_icon(client):
    """Does the /favicon.ico browsers ask for lead to the site's icon?"""
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"].startswith("/static/img/favicon.svg")
