"""Template helpers: dates as readers see them, cache-busting static URLs, conditional responses."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, has_app_context, make_response, request, url_for


def format_date(value: datetime | None) -> str:
    """A date as the old site showed it: "Jul 13, 2020"."""
    if value is None:
        return ""
    return f"{value:%b} {value.day}, {value.year}"


def format_moment(value: datetime | None) -> str:
    """A moment as the admin and the coach's emails show it, in the practice's TIME_ZONE: "12 Mar 2025, 14:05 GMT"."""
    if value is None:
        return ""
    local = value.astimezone(practice_zone())
    return f"{local:%d %b %Y}, {local:%H:%M} {zone_name(local)}"


def format_clock(value: datetime) -> str:
    """A time of day in the practice's TIME_ZONE, with the zone named: "14:05 GMT"."""
    local = value.astimezone(practice_zone())
    return f"{local:%H:%M} {zone_name(local)}"


def practice_zone() -> ZoneInfo:
    """The practice's own time zone (TIME_ZONE; UTC outside an app)."""
    return _zone(current_app.config["TIME_ZONE"] if has_app_context() else "UTC")


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    """The ZoneInfo for a name, looked up once."""
    return ZoneInfo(name)


def zone_name(local: datetime) -> str:
    """The zone's short name at that moment ("GMT", "BST", "CET"), or "UTC+04" where it has none."""
    abbreviation = local.tzname() or "UTC"
    return f"UTC{abbreviation}" if abbreviation[:1] in "+-" else abbreviation


@lru_cache(maxsize=512)
def _file_version(path: str, mtime_ns: int) -> str:
    """A short hash of a static file's content (the mtime in the key refreshes it after an edit)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def static_version(filename: str) -> str | None:
    """The content hash of a static file, or None if there is no such file."""
    folder = current_app.static_folder or ""
    if current_app.config["DEVELOPMENT"] or current_app.debug:
        return _current_version(str(Path(folder) / filename))  # files are being edited: look at each one every time
    return _deployed_version(folder, filename)


def _current_version(path: str) -> str | None:
    """The hash of the file as it is now (its mtime picks the cached hash), or None if it is missing."""
    try:
        return _file_version(path, Path(path).stat().st_mtime_ns)
    except OSError:
        return None


@lru_cache(maxsize=512)
def _deployed_version(folder: str, filename: str) -> str | None:
    """Outside development static files change only with a deploy, which restarts the app: hash each once
    (keyed by the names as given, so a page's nine static URLs build no Path)."""
    return _current_version(str(Path(folder) / filename))


def conditional_page(body: str, last_modified: datetime | None = None, mimetype: str = "text/html") -> Response:
    """A page (or feed) response with an ETag (and Last-Modified) that answers 304 when the reader has it."""
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Cache-Control"] = "no-cache"  # store, but check back each time
    if last_modified is not None:
        response.last_modified = last_modified
    response.add_etag()
    return response.make_conditional(request)


def init_app(app: Flask) -> None:
    """Register the filters and the static URL versioning."""
    app.add_template_filter(format_date, "date")
    app.add_template_global(format_moment, "when")
    app.add_template_global(absolute_url)

    @app.url_defaults
    def version_static_urls(endpoint: str, values: dict) -> None:
        """Add ?v=<content hash> to static URLs so they can be cached for a year."""
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version(values["filename"])
            if version:
                values["v"] = version

    @app.context_processor
    def site_context() -> dict:
        """Settings every template uses."""
        return {
            "site_name": app.config["SITE_NAME"],
            "practice_email": app.config["PRACTICE_EMAIL"],
        }


def absolute_url(endpoint: str, **values) -> str:
    """A full URL for links that leave the page (emails, canonical, feed, sitemap), built on SITE_URL.

    SITE_URL is required in production; only development and tests (without it) use the request's host.
    """
    site_url = current_app.config.get("SITE_URL")
    if site_url:
        return site_url.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
