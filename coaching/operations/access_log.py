"""gunicorn's access log for this site: no query strings or link tokens from the admin, the request id, LOG_FORMAT.

deploy/gunicorn.conf.py names AccessLogger as gunicorn's logger_class. Each access line says who asked
for what, how it went and how long it took, with the request's id (the X-Request-ID the app sends back),
so it can be matched with the app's own lines. What could identify a visitor or open the admin stays out:

- no query string on /admin paths (an old link or a hand-typed URL may carry a search or an address);
- the token of a password-reset link (/admin/reset-password/<token>) is written as "…";
- no Referer (it can carry another site's query string, or an admin address).

With LOG_FORMAT=json every line gunicorn writes, access and errors alike, is a JSON object, as the app's are.
"""

from __future__ import annotations

import os
import re

from gunicorn import glogging

from coaching.logs import formatter

PRIVATE_PREFIX = "/admin"
LINK_TOKEN = re.compile(r"^(/admin/reset-password/)[^/]+")


def logged_path(path: str, query: str) -> str:
    """The path (and query) as the access log may show it."""
    path = LINK_TOKEN.sub(r"\1…", path)
    if path.startswith(PRIVATE_PREFIX) or not query:
        return path
    return f"{path}?{query}"


class AccessLogger(glogging.Logger):
    """gunicorn's Logger with the site's request line, and JSON lines when LOG_FORMAT=json."""

    def setup(self, cfg) -> None:
        """gunicorn's handlers, given the site's JSON formatter when LOG_FORMAT=json."""
        super().setup(cfg)
        if os.environ.get("LOG_FORMAT", "text") == "json":
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(formatter("json"))

    def atoms(self, resp, req, environ, request_time) -> dict:
        """gunicorn's atoms, with the request line and path cleaned (see the module's docstring)."""
        atoms = super().atoms(resp, req, environ, request_time)
        path = logged_path(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["U"], atoms["q"], atoms["f"] = path.partition("?")[0], path.partition("?")[2], "-"
        for key in [key for key in atoms if key.startswith("{") and key.endswith("}e")]:
            del atoms[key]  # the environment holds the raw URI and the cookies
        atoms.pop("{cookie}i", None)
        atoms.pop("{referer}i", None)
        return atoms

    def access(self, resp, req, environ, request_time) -> None:
        """One line per request: gunicorn's format as text, or named fields as JSON."""
        if not self.access_log_enabled:
            return
        if os.environ.get("LOG_FORMAT", "text") != "json":
            super().access(resp, req, environ, request_time)
            return
        atoms = self.atoms(resp, req, environ, request_time)
        self.access_log.info("%s %s", atoms["m"], atoms["U"], extra={
            "request_id": atoms.get("{x-request-id}o", "-"), "method": atoms["m"], "path": atoms["U"],
            "query": atoms["q"], "status": atoms["s"], "bytes": atoms["B"], "duration_ms": atoms["M"],
            "remote": atoms["h"], "user_agent": atoms["a"],
        })

