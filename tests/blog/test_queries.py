"""Reading published posts: neighbours, old addresses and structured data."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from coaching.blog import queries
from coaching.blog.models import Post, PostRedirect, PostStatus
from coaching.extensions import db

SAME_DAY = datetime(2022, 5, 5, tzinfo=UTC)


def test_neighbours_break_ties_on_the_same_date(app, make_post):
    """Do posts published at the same moment still each have a distinct older and newer neighbour?"""
    for slug in ("a", "b", "c"):
        make_post(slug, published=SAME_DAY)
    with app.app_context():
        middle = db.session.scalar(select(Post).where(Post.slug == "b"))
        older, newer = queries.neighbours(middle)
        assert (older.slug, newer.slug) == ("a", "c")


def test_old_addresses_of_drafts_do_not_redirect(app, make_post):
    """Does an old address of an unpublished post lead nowhere (404), not to the draft?"""
    post_id = make_post("hidden", status=PostStatus.DRAFT)
    with app.app_context():
        db.session.add(PostRedirect(old_path="/post/hidden-old", post_id=post_id))
        db.session.commit()
        assert queries.redirect_target("/post/hidden-old") is None
    assert app.test_client().get("/post/hidden-old").status_code == 404


def test_structured_data_names_the_post(app, seeded):
    """Is the BlogPosting data complete: headline, dates, author, image, keywords?"""
    with app.test_request_context():
        post = db.session.scalar(select(Post))
        data = queries.post_structured_data(post, "https://x.example/p", "https://x.example/i.svg")
    assert data["@context"] == "https://schema.org"
    assert data["author"]["name"] == "Hope for Dystonia"
    assert data["image"] == "https://x.example/i.svg"
    assert data["keywords"] == ["neuroplasticity", "research"]
    assert 250 < data["wordCount"] < 400


def test_what_readers_cannot_see_comes_back_as_none(app, make_post):
    """Is a draft, an unknown or drafts-only tag, or a page past the last None to the services, not an HTTP error?"""
    make_post("public", tags=["shared"])
    make_post("hidden", status=PostStatus.DRAFT, tags=["secret"])
    with app.test_request_context():
        assert queries.get_published_post("public").slug == "public"
        assert queries.get_published_post("hidden") is None
        assert queries.get_published_post("never-written") is None
        assert queries.page_of_posts(1).total == 1 and queries.page_of_posts(2) is None
        tag, page = queries.page_of_tag("shared", 1)
        assert tag.slug == "shared" and page.total == 1
        assert queries.page_of_tag("shared", 2) is None
        assert queries.page_of_tag("secret", 1) is None and queries.page_of_tag("no-such-tag", 1) is None
        assert queries.search_posts("short body", 1).total == 1 and queries.search_posts("short body", 2) is None
        assert queries.search_posts("zebra", 1).total == 0  # no match is an empty first page, not a missing one
