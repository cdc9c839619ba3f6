"""Public pages are rendered once per change of content: kept, served before Flask, refreshed at once."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, select

from coaching.blog import editor
from coaching.blog.models import Post
from coaching.extensions import db
from coaching.web.version_reader import VERSION_SQL
from tests.browser_support import PUBLIC_PAGES
from tests.forms import csrf_token_of

POST_PAGE = "/blog/kept-post"


@contextlib.contextmanager
def statements_run(app):
    """Collect the SQL statements run inside the block: the engine's, and the page cache's version reads.

    The page cache reads the version over a DBAPI connection of its own (web/version_reader.py), which
    SQLAlchemy's events don't see, so its reads are noted by name.
    """
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    cache = app.extensions["page_cache"]
    cache._version()  # make the reader, so its reads can be noted
    read = cache.reader.read

    def note(_connection, _cursor, statement, *_args):
        seen.append(statement)

    def note_version_read():
        seen.append(VERSION_SQL)
        return read()

    event.listen(engine, "before_cursor_execute", note)
    cache.reader.read = note_version_read
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
        cache.reader.read = read


@pytest.fixture
def kept_post(app, make_post):
    """A published post whose page the tests read and change."""
    return make_post("kept-post", title="The first title")


def change_title(app, post_id: int, title: str) -> None:
    """Change a post's title as the editor would, and commit (from any app on the database)."""
    with app.app_context():
        post = db.session.get(Post, post_id)
        post.title = title
        db.session.commit()


def test_a_public_page_is_served_from_the_kept_copy(app, client, kept_post):
    """Is the second request for a post answered from the kept page, with only the version read from the database?"""
    first = client.get(POST_PAGE)
    assert first.status_code == 200
    with statements_run(app) as statements:
        second = client.get(POST_PAGE)
    assert second.status_code == 200 and second.data == first.data
    assert len(statements) == 1 and "content_version" in statements[0]
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]


def test_a_change_shows_on_the_very_next_request_in_another_worker(app_factory, kept_post, app):
    """After a save through one worker, does another worker that kept the page serve the new one at once?"""
    other_worker = app_factory()
    reader = other_worker.test_client()
    assert "The first title" in reader.get(POST_PAGE).get_data(as_text=True)
    assert "The first title" in reader.get("/blog/").get_data(as_text=True)
    change_title(app, kept_post, "A second title")
    assert "A second title" in reader.get(POST_PAGE).get_data(as_text=True)
    assert "A second title" in reader.get("/blog/").get_data(as_text=True)


@pytest.mark.parametrize("change", ["unpublish", "delete"])
def test_an_unpublished_or_deleted_post_is_gone_on_the_next_request(app, client, kept_post, change):
    """Is a kept post page a 404 on the very next request after the post is unpublished or deleted?"""
    assert client.get(POST_PAGE).status_code == 200
    with app.app_context():
        post = db.session.get(Post, kept_post)
        if change == "unpublish":
            editor.set_published(post, False)
        else:
            editor.delete_post(post)
        db.session.commit()
    assert client.get(POST_PAGE).status_code == 404
    assert "Kept Post" not in client.get("/blog/").get_data(as_text=True)


def test_a_rolled_back_change_keeps_the_kept_page(app, client, kept_post):
    """Does a change that is rolled back leave the version (and so the kept page) as it was?"""
    client.get(POST_PAGE)
    with app.app_context():
        post = db.session.get(Post, kept_post)
        post.title = "Never saved"
        db.session.flush()
        db.session.rollback()
    with statements_run(app) as statements:
        page = client.get(POST_PAGE)
    assert "The first title" in page.get_data(as_text=True) and len(statements) == 1


def test_a_conditional_get_is_a_304_with_the_same_headers(app, client, kept_post):
    """Is If-None-Match with the page's ETag answered 304, without rendering, with the 200's headers?"""
    full = client.get(POST_PAGE)
    with statements_run(app) as statements:
        again = client.get(POST_PAGE, headers={"If-None-Match": full.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert len(statements) == 1
    for name in ("ETag", "Cache-Control", "Last-Modified", "Content-Security-Policy", "X-Content-Type-Options"):
        assert again.headers[name] == full.headers[name], name
    change_title(app, kept_post, "Changed since")
    assert client.get(POST_PAGE, headers={"If-None-Match": full.headers["ETag"]}).status_code == 200


def test_a_head_request_gets_the_kept_headers_without_a_body(client, kept_post):
    """Is a HEAD for a kept page answered with its headers and no body?"""
    full = client.get(POST_PAGE)
    head = client.head(POST_PAGE)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == full.headers["ETag"]


KEPT_PAGES = [path for name, path in PUBLIC_PAGES.items() if not name.startswith(("contact", "not-found"))]


@pytest.mark.parametrize("path", [*KEPT_PAGES, "/blog/feed.xml", "/sitemap.xml", "/robots.txt", POST_PAGE])
def test_public_pages_never_touch_the_session(seeded, kept_post, path):
    """Does a public page carry no Set-Cookie or Vary: Cookie, and public caching, even for a visitor with a session?"""
    visitor = seeded.test_client()
    csrf_token_of(visitor, "/contact")  # the contact form gives this visitor a session cookie
    for _ in range(2):  # rendered, then kept
        response = visitor.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
        assert "cookie" not in response.headers.get("Vary", "").lower(), path
        assert response.headers["Cache-Control"] == "public, max-age=10, stale-while-revalidate=60", path


def test_forms_and_the_admin_stay_private(client, admin_client):
    """Do the contact form and the admin keep their private caching (never public, never kept)?"""
    contact = client.get("/contact")
    assert "public" not in contact.headers.get("Cache-Control", "")
    assert "Set-Cookie" in contact.headers  # its form token lives in the session
    inbox = admin_client.get("/admin/inquiries")
    assert inbox.headers["Cache-Control"] == "no-store"


def test_a_page_kept_for_one_host_is_not_served_for_another(app, client, kept_post):
    """Is a page kept per host, so links built on the request's host (development) never cross hosts?"""
    client.get("/blog/", base_url="http://first.test")
    with statements_run(app) as statements:
        other = client.get("/blog/", base_url="http://second.test")
    assert other.status_code == 200 and len(statements) > 1  # rendered afresh for this host


def test_turning_the_cache_off_renders_every_time(app_factory, make_post):
    """With PAGE_CACHE_ENABLED off, is each request rendered (still without the session)?"""
    app = app_factory(PAGE_CACHE_ENABLED=False)
    client = app.test_client()
    client.get("/blog/")
    with statements_run(app) as statements:
        response = client.get("/blog/")
    assert response.status_code == 200 and len(statements) > 1
    assert "Set-Cookie" not in response.headers


def test_the_version_rises_once_per_commit_that_changes_a_post(app, kept_post):
    """Does a commit changing a post raise the content version, and one changing nothing leave it?"""
    from coaching.web.models import ContentVersion

    with app.app_context():
        before = db.session.scalar(select(ContentVersion.version))
        db.session.commit()
        assert db.session.scalar(select(ContentVersion.version)) == before
    change_title(app, kept_post, "Raised")
    with app.app_context():
        assert db.session.scalar(select(ContentVersion.version)) > before
