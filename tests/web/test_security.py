"""SEC-01: security headers on every response: pages, errors, feeds and static files."""

from __future__ import annotations

import re

from coaching.config import ROOT
from tests.apps import PRODUCTION


def sample_urls(app) -> list[str]:
    """One concrete URL for every GET route in the app's url_map, so new routes are covered."""
    values = {"slug": "psychedelics-and-neuroplasticity", "filename": "css/site.css",
              "old_path": "post/psychedelics-and-neuroplasticity-a-glimpse-into-future-possibilities"}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        # Any converter (<name>, <path:name>, <int:name>); ids and other unnamed values become "1".
        urls.append(re.sub(r"<(?:[^<>:]+:)?(\w+)>", lambda match: values.get(match[1], "1"), rule.rule))
    return urls + ["/no-such-page"]


def test_every_response_carries_the_security_headers(client, seeded):
    """SEC-01: does every route (and a 404) send CSP, nosniff, framing and referrer headers?"""
    urls = sample_urls(client.application)
    assert len(urls) >= 10
    for url in urls:
        response = client.get(url)
        response.close()  # static files are streamed from an open file
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'",
                          "frame-ancestors 'none'"):
            assert directive in csp, (url, directive)
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin", url
        assert headers["X-Frame-Options"] == "DENY", url


def test_hsts_in_production_only(app_factory):
    """SEC-01: is HSTS (a year or more) sent in production and left out in development?"""
    production = app_factory(**PRODUCTION)
    hsts = production.test_client().get("/roadmap").headers["Strict-Transport-Security"]
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= 31_536_000
    development = app_factory(DEVELOPMENT=True)
    assert "Strict-Transport-Security" not in development.test_client().get("/robots.txt").headers


def test_templates_have_no_inline_styles_or_scripts():
    """Do templates avoid inline style attributes and executable inline scripts the CSP would block?"""
    templates = sorted((ROOT / "templates").rglob("*.*"))
    assert len(templates) >= 10
    for template in templates:
        source = template.read_text(encoding="utf-8")
        assert "style=" not in source, template.name
        assert "<style" not in source, template.name
        assert "<script>" not in source and " on" + "click=" not in source, template.name
