"""What every page shares: security headers, error pages, template helpers, paging and the form base.

It knows no area of the site: the areas use it, never the other way round.
"""

from __future__ import annotations

from flask import Flask

from coaching.database import DatabaseIdConverter
from coaching.web import errors, page_cache, request_ids, security, templating


def init_app(app: Flask) -> None:
    """The URL converter, security hooks, template helpers and error pages (before any area's routes)."""
    # Every <int:…> in a route is a database id: capped to what the id columns hold (set before any route).
    app.url_map.converters["int"] = DatabaseIdConverter
    request_ids.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    page_cache.init_app(app)  # last: the outermost WSGI layer
