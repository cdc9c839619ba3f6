"""SEC-01: security headers on every response, pages, errors and static files alike; requests for
hosts not in TRUSTED_HOSTS refused with the friendly 400 page; SEC-12: bodies over the size limit
refused with the friendly 413 page however they are sent."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Request, Response, abort, current_app, request
from flask.globals import request_ctx
from werkzeug.exceptions import RequestEntityTooLarge, SecurityError
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

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


class BodyWithinLimit(LimitedStream):
    """A body sent without Content-Length (chunked), read to one byte past the limit: past it is a 413.

    Werkzeug's own stream for such bodies stops reading at the limit and reports the body as
    complete, so a form with 2 MB after its fields was accepted with everything past 1 MB dropped.
    """

    def __init__(self, stream, limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)
        self.allowed = limit

    def readinto(self, buffer) -> int:
        """Read as LimitedStream does; raise RequestEntityTooLarge once more than the limit has come."""
        size = super().readinto(buffer) or 0
        if self.tell() > self.allowed:
            raise RequestEntityTooLarge()
        return size


class SiteRequest(Request):
    """Flask's request, with the size limit (MAX_CONTENT_LENGTH, or a view's own) kept for chunked bodies too."""

    @cached_property
    def stream(self):
        """The body as a stream: Werkzeug's, unless the server streams it without a length (chunked)."""
        limit = self.max_content_length
        if not self.shallow and limit is not None and self.content_length is None \
                and "wsgi.input_terminated" in self.environ:
            return BodyWithinLimit(self.environ["wsgi.input"], limit)
        return super().stream


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


def refuse_nul_characters() -> None:
    """A NUL in the address or its query is never a real link: a 400 here, before any view or query sees it.

    PostgreSQL refuses NUL in text (a 500 from every query that used the value) and file paths can't hold it.
    """
    if "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        abort(400)


def init_app(app: Flask) -> None:
    """Refuse untrusted hosts first and oversize bodies however sent; add the security headers to every response."""
    app.request_class = SiteRequest
    # First of all before_request functions: none of the others may run for a refused host (they could
    # build URLs), and the extensions registered theirs before this runs.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_untrusted_host)
    app.before_request_funcs[None].insert(1, refuse_nul_characters)

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
