"""Friendly error pages in the site's layout, for every error a visitor can meet."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Flask, current_app, redirect, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from coaching.extensions import db
from coaching.web.request_ids import current_request_id

MOVED_PAGES_KEY = "coaching.moved_pages"  # in app.extensions: the areas' lookups of old addresses
MESSAGES = {
    400: ("Something in that request didn't make sense",
          "The page couldn't understand what was sent. Going back and trying again usually helps."),
    403: ("This page isn't open to you",
          "You don't have permission to see this page."),
    404: ("Page not found",
          "There's no page at this address. It may have moved, or the link may have a typo."),
    405: ("That didn't work here",
          "This page can't be used that way. Going back and trying again usually helps."),
    413: ("That was too much to send at once",
          "What you sent is larger than the site accepts. Please shorten it and try again."),
    429: ("Please wait a moment",
          "There have been a lot of requests from your connection. Please wait a few minutes and "
          "try again."),
    500: ("Sorry, something went wrong on our side",
          "The problem has been logged. Please try again in a moment."),
}


def render_error(code: int, incident_id: str | None = None):
    """The error page for an HTTP status code, in the site's layout."""
    heading, explanation = MESSAGES.get(code, MESSAGES[500])
    html = render_template(
        "errors/error.html", code=code, heading=heading, explanation=explanation,
        incident_id=incident_id,
    )
    return html, code


def handle_http_error(error: HTTPException):
    """Known HTTP errors get their friendly page; others fall back to the generic one."""
    if error.code is None or error.code < 400:
        return error
    if error.code >= 500:
        return handle_server_error(error)
    if error.code == 404 and request.method in ("GET", "HEAD"):
        for new_address_of in current_app.extensions.get(MOVED_PAGES_KEY, ()):
            moved_to = new_address_of(request.path.rstrip("/") or "/")
            if moved_to is not None:  # an old address of a page (a post's Wix address, a renamed slug)
                return redirect(moved_to, code=301)
    return render_error(error.code if error.code in MESSAGES else 400)


def log_incident(what: str, error: BaseException) -> str:
    """Roll back the session and log the error under a new incident id (shown to the visitor); the id."""
    db.session.rollback()
    incident_id = current_request_id() or uuid.uuid4().hex[:12]  # the request's id: in its log lines and header
    current_app.logger.error("incident %s: %s", incident_id, what, exc_info=error)
    return incident_id


def handle_server_error(error: Exception):
    """Roll back, log with an incident id, and show a page that gives nothing away."""
    original = getattr(error, "original_exception", None) or error
    return render_error(500, log_incident("unhandled error", original))


def redirect_moved_pages(app: Flask, new_address_of: Callable[[str], str | None]) -> None:
    """Let an area answer a 404 with a 301: new_address_of(path) gives a page's new URL, or None."""
    app.extensions.setdefault(MOVED_PAGES_KEY, []).append(new_address_of)


def init_app(app: Flask) -> None:
    """Attach the handlers to the app."""
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_server_error)
