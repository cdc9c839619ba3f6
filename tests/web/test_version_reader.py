"""The page cache's own reads of the content version: fresh on every read, safe when the database fails."""

from __future__ import annotations

from sqlalchemy import text

from coaching.blog.models import Post
from coaching.extensions import db

POST_PAGE = "/blog/read-post"


def reader_of(app):
    """The app's page-cache version reader (made on first use)."""
    cache = app.extensions["page_cache"]
    cache._version()
    return cache.reader


def test_a_kept_connection_sees_each_new_commit(app, make_post):
    """Does the reader's kept connection see a version committed elsewhere at once, read after read?"""
    post_id = make_post("read-post")
    reader = reader_of(app)
    first = reader.read()
    for title in ("Second", "Third"):
        with app.app_context():
            db.session.get(Post, post_id).title = title
            db.session.commit()
        assert reader.read() == first + 1
        first += 1


def test_a_broken_connection_is_replaced_and_the_page_still_served(app, client, make_post):
    """When the kept connection breaks, is the page rendered as usual, and is the next read on a new connection?"""
    make_post("read-post", title="Still here")
    reader = reader_of(app)
    assert client.get(POST_PAGE).status_code == 200
    broken = reader.local.connection
    broken.close()
    page = client.get(POST_PAGE)
    assert page.status_code == 200 and "Still here" in page.get_data(as_text=True)
    assert reader.read() is not None
    assert reader.local.connection is not broken


def test_an_unreadable_version_means_a_rendered_page_not_an_error(app, client, make_post):
    """When the version can't be read (its table is gone), does the reader answer None and the page still render?"""
    make_post("read-post", title="Rendered anyway")
    reader = reader_of(app)
    with app.app_context():
        db.session.execute(text("DROP TABLE content_version"))
        db.session.commit()
    assert reader.read() is None
    page = client.get(POST_PAGE)
    assert page.status_code == 200 and "Rendered anyway" in page.get_data(as_text=True)


def test_disposing_the_engine_closes_the_readers_connections(app):
    """Are the reader's connections closed when the engine is disposed (tests, a worker shutting down)?"""
    reader = reader_of(app)
    reader.read()
    assert len(reader.opened) == 1
    with app.app_context():
        db.engine.dispose()
    assert reader.opened == []
    assert reader.read() is not None  # a fresh connection after the dispose


def test_the_reader_holds_no_transaction_open(app):
    """Is the reader's connection left outside any transaction between reads (no snapshot kept on PostgreSQL)?"""
    reader = reader_of(app)
    reader.read()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            assert reader.local.connection.in_transaction is False  # sqlite3's own flag
            return
        waiting = db.session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"))
    assert waiting == 0
