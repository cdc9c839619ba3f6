"""Public pages rendered once per change of content, not once per request.

A public page's view is marked with @public_page. Its finished response (headers and body) is kept in
the worker's memory under the content version it was rendered at, and served from there, before Flask
handles the request at all, for as long as that version is current. The version is a counter in the
database, raised in the same transaction as any change to the models the areas name with
refresh_on_changes_to() (a post saved, published, deleted or imported), so the very next request in
every worker, on every server, sees the change. A reader's If-None-Match is answered with a 304 from
the kept response, without rendering.

Flask-Caching would keep the same entries in Redis or files; the entries here are only ever valid for
one version, which every request reads anyway, so a per-process dictionary serves them without the
round trip and the pickling, and a new worker fills its own after one request per page.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app, g, make_response, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import event, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.http import is_resource_modified, parse_date, parse_etags

from coaching.extensions import db
from coaching.web.models import ContentVersion
from coaching.web.request_ids import REQUEST_ID_HEADER, request_id_for
from coaching.web.version_reader import VersionReader

VERSION_KEY = "coaching.page_cache.version"  # in the WSGI environ: the version a public page was rendered at
WATCHED_KEY = "coaching.page_cache.watched"  # in app.extensions: the model classes whose changes count
MAX_ENTRIES = 1000  # pages (with their query strings) a worker keeps; the least recently used go first
# Headers a 304 leaves out (its body is empty); everything else, security headers included, is as on the 200.
NOT_ON_304 = {"content-length", "content-type"}


@dataclass(frozen=True)
class KeptPage:
    """A finished response, valid while the content version it was rendered at is current."""

    version: int
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str | None
    last_modified: datetime | None


def current_version() -> int | None:
    """The content version now (0 before anything was saved), or None if it can't be read."""
    try:
        return db.session.scalar(select(ContentVersion.version).where(ContentVersion.id == 1)) or 0
    except SQLAlchemyError:
        db.session.rollback()
        return None


def public_cache_control() -> str:
    """Cache-Control for public pages: any cache may keep them briefly, then serve stale while it checks."""
    config = current_app.config
    return (f"public, max-age={config['PUBLIC_PAGE_MAX_AGE']}, "
            f"stale-while-revalidate={config['PUBLIC_PAGE_STALE_SECONDS']}")


def public_page(view: Callable) -> Callable:
    """Mark a view as a public page: the same for every visitor, kept until the content changes.

    Its template must not touch the session (base.html leaves out flashed messages when g.public_page),
    so the response carries no Set-Cookie and no Vary: Cookie and a shared cache may keep it too.
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        version = current_version()  # read before rendering: a save meanwhile makes this entry stale at once
        g.public_page = True
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = public_cache_control()
        if version is not None and response.status_code == 200 and current_app.config["PAGE_CACHE_ENABLED"]:
            request.environ[VERSION_KEY] = version
        return response

    return wrapper


def refresh_on_changes_to(app: Flask, *models: type) -> None:
    """Raise the content version whenever a flush adds, changes or deletes one of these models."""
    app.extensions.setdefault(WATCHED_KEY, set()).update(models)
    watched.update(models)
    if not event.contains(db.session, "after_flush", _raise_version_if_content_changed):
        event.listen(db.session, "after_flush", _raise_version_if_content_changed)


# Every app in a process shares db.session, so the listener and the classes it watches are per process.
watched: set[type] = set()


def _raise_version_if_content_changed(session: Session, _flush_context) -> None:
    """after_flush: in the same transaction as a change to watched content, raise the version (make it, if new)."""
    changed = [row for row in (*session.new, *session.deleted) if isinstance(row, tuple(watched))]
    changed += [row for row in session.dirty if isinstance(row, tuple(watched)) and session.is_modified(row)]
    if not changed:
        return
    connection = session.connection()
    raised = connection.execute(update(ContentVersion).where(ContentVersion.id == 1)
                                .values(version=ContentVersion.version + 1))
    if raised.rowcount == 0:  # a database made by create_all() (the tests): the row is made on first change
        connection.execute(ContentVersion.__table__.insert().values(id=1, version=1))


class PageCache:
    """WSGI middleware: answers GET and HEAD for kept public pages before the app is called."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.kept: OrderedDict[tuple[str, str, str], KeptPage] = OrderedDict()
        self.lock = threading.Lock()
        self.reader: VersionReader | None = None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Serve a kept page whose version is still current; otherwise run the app and keep what it marks."""
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        key = (environ.get("HTTP_HOST", ""), environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        page = self.kept.get(key)
        if page is not None:
            if page.version == self._version():
                with self.lock:
                    if key in self.kept:
                        self.kept.move_to_end(key)
                return self._serve(page, environ, start_response, method)
            with self.lock:
                self.kept.pop(key, None)
        return self._run_and_keep(key, environ, start_response, method)

    def _version(self) -> int | None:
        """The content version, read over this thread's own connection (no app context, no ORM: it is on every hit)."""
        if self.reader is None:
            with self.app.app_context():
                self.reader = VersionReader(db.engine)
        return self.reader.read()

    def _serve(self, page: KeptPage, environ: dict, start_response: Callable, method: str) -> Iterable[bytes]:
        """The kept response, or a 304 with the same headers when the reader already has this version."""
        request_id = (REQUEST_ID_HEADER, request_id_for(environ, bool(self.app.config["PROXY_FIX_HOPS"])))
        conditional = "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ
        if conditional and not is_resource_modified(environ, etag=page.etag, last_modified=page.last_modified):
            start_response("304 NOT MODIFIED", [*((name, value) for name, value in page.headers
                                                  if name.lower() not in NOT_ON_304), request_id])
            return []
        start_response(page.status, [*page.headers, request_id])
        return [] if method == "HEAD" else [page.body]

    def _run_and_keep(self, key, environ: dict, start_response: Callable, method: str) -> Iterable[bytes]:
        """Run the app; keep a complete 200 that a public page marked, unless it sets or varies on a cookie."""
        started: dict = {}

        def remember_start(status, headers, exc_info=None):
            started.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, remember_start)
        version = environ.get(VERSION_KEY)
        if version is None or method != "GET" or not started.get("status", "").startswith("200"):
            return body
        try:
            content = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        headers = [(name, value) for name, value in started["headers"] if name.lower() != "x-request-id"]
        names = {name.lower(): value for name, value in headers}
        if "set-cookie" not in names and "cookie" not in names.get("vary", "").lower():
            page = KeptPage(version, started["status"], headers, content, _strong_etag(names.get("etag")),
                            parse_date(names.get("last-modified")))
            with self.lock:
                self.kept[key] = page
                self.kept.move_to_end(key)
                while len(self.kept) > MAX_ENTRIES:
                    self.kept.popitem(last=False)
        return [content]


def _strong_etag(value: str | None) -> str | None:
    """The tag inside an ETag header ("abc" → abc), for matching If-None-Match; None without one."""
    if not value:
        return None
    etags = parse_etags(value)
    return next(iter(etags.as_set()), None)


class PublicPageSessions(SecureCookieSessionInterface):
    """Flask's cookie sessions, except a public page that left the session unchanged sends nothing of it.

    Flask marks the session read whenever anything looks at it (Flask-Login's after-request hook
    does, on every response), which adds Vary: Cookie; and it re-sends a permanent session's cookie
    on every response. Either would make a public page private to one visitor.
    """

    def save_session(self, app: Flask, session, response) -> None:
        """Save as Flask does, except for a public page that didn't change the session: no cookie, no Vary."""
        if g.get("public_page") and not session.modified:
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    """Put the page cache in front of the app (outermost, so a kept page costs no request handling)."""
    app.session_interface = PublicPageSessions()
    app.wsgi_app = app.extensions["page_cache"] = PageCache(app, app.wsgi_app)
