"""SEC-01: security headers on every response, pages, errors and static files alike; requests for
hosts not in TRUSTED_HOSTS refused with the friendly 400 page."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask.globals import request_ctx
from werkzeug.exceptions import SecurityError

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])


def no_store(response: Response) -> Response:
    """PRIV-03: a response holding personal data (admin and sign-in pages) that no browser or proxy may keep."""
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse_untrusted_host() -> None:
    """A request for a host not in TRUSTED_HOSTS: raise Flask's refusal, with URLs built on SITE_URL.

    Flask finds the untrusted Host before routing and leaves the request with no URL adapter, so the
    error page could not build a single link and the visitor got a bare 400 (or a 500). Binding the
    URLs to the site's own address lets the friendly 400 page render; nothing uses the forged host.
    """
    refusal = request.routing_exception
    if not isinstance(refusal, SecurityError):
        return
    config = current_app.config
    site = urlsplit(config["SITE_URL"] or f"http://{config['TRUSTED_HOSTS'][0].lstrip('.')}")
    request.host = site.netloc  # what request.host_url and url_for(_external=True) now use
    request_ctx.url_adapter = current_app.url_map.bind(
        site.netloc, script_name=request.root_path or "/", url_scheme=site.scheme)
    log.info("request refused: its Host header is not one of TRUSTED_HOSTS")
    raise refusal


def init_app(app: Flask) -> None:
    """Refuse untrusted hosts first, and add the security headers to every response this app sends."""
    # First of all before_request functions: none of the others may run for a refused host (they could
    # build URLs), and the extensions registered theirs before this runs.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_untrusted_host)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        """Set CSP, nosniff, framing, referrer and (in production) HSTS headers."""
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        # Never no-referrer: Flask-WTF checks the Referer on HTTPS form posts.
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
        if app.config["HSTS_ENABLED"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
