"""SEC-01: security headers on every response, pages, errors and static files alike."""

from __future__ import annotations

from flask import Flask, Response

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


def init_app(app: Flask) -> None:
    """Add the security headers to every response this app sends."""

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
