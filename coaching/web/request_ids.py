"""A request id on every log line of a request, in the X-Request-ID response header, and on the 500 page.

Behind a trusted proxy (PROXY_FIX_HOPS above 0, e.g. nginx setting `X-Request-ID $request_id`), the id it
sends is used, so one id follows the request through nginx's log, the app's and gunicorn's access log.
Otherwise, or when what arrives is not a plain token, the app makes one. Kept public pages are answered
before Flask (page_cache.py), which puts a fresh id on each the same way.
"""

from __future__ import annotations

import logging
import re
import secrets

from flask import Flask, Response, current_app, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"
ACCEPTED = re.compile(r"[A-Za-z0-9._-]{1,128}")  # nothing that could break a log line or a header


def request_id_for(environ: dict, trust_proxy: bool) -> str:
    """The id for this request: the trusted proxy's, if it sent a plain token, else a new one."""
    incoming = environ.get(REQUEST_ID_ENVIRON, "") if trust_proxy else ""
    # 12 characters: the 500 page shows it as the reference to quote, and it should be short to type.
    return incoming if incoming and ACCEPTED.fullmatch(incoming) else secrets.token_hex(6)


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside a request."""
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Gives every log record a request_id attribute: the current request's, or "-" outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add record.request_id (never drops a record)."""
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


def _assign_request_id() -> None:
    """before_request: settle the request's id first, so every line logged for it carries it."""
    g.request_id = request_id_for(request.environ, bool(current_app.config["PROXY_FIX_HOPS"]))


def _send_request_id(response: Response) -> Response:
    """after_request: tell the client (and the proxy's log) the id."""
    if "request_id" in g:
        response.headers[REQUEST_ID_HEADER] = g.request_id
    return response


def init_app(app: Flask) -> None:
    """Give each request an id before any other hook runs, and send it back with the response."""
    app.before_request_funcs.setdefault(None, []).insert(0, _assign_request_id)
    app.after_request(_send_request_id)
