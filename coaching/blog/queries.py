"""Reading published posts: pages of posts, tags, search, neighbours, old addresses, structured data.

What does not exist for the public (a draft, an unknown tag, a page past the last) comes back as None;
the views turn that into their 404.
"""

from __future__ import annotations

import html

from flask import current_app, url_for
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Row, and_, select

from coaching.blog.models import Post, PostRedirect, PostStatus, Tag
from coaching.extensions import db


def page_of_posts(page: int, tag: Tag | None = None) -> Pagination | None:
    """One page of published posts, newest first; None past the last page (page 1 always exists)."""
    query = Post.published()
    if tag is not None:
        query = query.where(Post.tags.contains(tag))
    return _paginate(query, page)


def search_posts(query_text: str, page: int) -> Pagination | None:
    """Published posts whose title, excerpt or body contain every word of the query; None past the last page."""
    words = query_text.casefold().split()
    condition = and_(*(Post.search_text.contains(word, autoescape=True) for word in words))
    return _paginate(Post.published().where(condition), page)


def _paginate(query, page: int) -> Pagination | None:
    """Paginate a select() by the site's page size; None for a page that does not exist (as error_out would 404)."""
    if page < 1:
        return None
    pagination = db.paginate(query, page=page, per_page=current_app.config["POSTS_PER_PAGE"], error_out=False)
    return pagination if pagination.items or page == 1 else None


def latest_posts(limit: int = 3) -> list[Post]:
    """The newest published posts, for the home page."""
    return list(db.session.scalars(Post.published().limit(limit)))


def get_published_post(slug: str) -> Post | None:
    """The published post at this slug, or None (drafts do not exist for the public)."""
    return db.session.scalar(
        select(Post).where(Post.slug == slug, Post.status == PostStatus.PUBLISHED)
    )


def page_of_tag(slug: str, page: int) -> tuple[Tag, Pagination] | None:
    """The tag at this slug and a page of the published posts carrying it; None if none do, there is no such
    tag, or the page is past the last."""
    tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
    if tag is None:
        return None
    posts_page = page_of_posts(page, tag=tag)
    if posts_page is None or posts_page.total == 0:  # a tag only drafts carry does not exist for the public
        return None
    return tag, posts_page


def neighbours(post: Post) -> tuple[Row | None, Row | None]:
    """The slug and title of the published posts just older and just newer than this one."""
    public = select(Post.slug, Post.title).where(Post.status == PostStatus.PUBLISHED)
    same_moment = Post.published_at == post.published_at
    older = db.session.execute(
        public.where((Post.published_at < post.published_at) | (same_moment & (Post.id < post.id)))
        .order_by(Post.published_at.desc(), Post.id.desc()).limit(1)
    ).first()
    newer = db.session.execute(
        public.where((Post.published_at > post.published_at) | (same_moment & (Post.id > post.id)))
        .order_by(Post.published_at.asc(), Post.id.asc()).limit(1)
    ).first()
    return older, newer


def published_posts(limit: int | None = None) -> list[Post]:
    """Every published post (or the newest `limit`), for the feed and sitemap."""
    query = Post.published()
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def redirect_target(path: str) -> Post | None:
    """The published post that used to live at this path, if any."""
    return db.session.scalar(
        select(Post)
        .join(PostRedirect)
        .where(PostRedirect.old_path == path, Post.status == PostStatus.PUBLISHED)
    )


def moved_post_url(path: str) -> str | None:
    """The address of the published post that used to live at this path (for a 301), if any."""
    post = redirect_target(path)
    return url_for("blog.post", slug=post.slug) if post is not None else None


def post_structured_data(post: Post, url: str, image_url: str | None) -> dict:
    """schema.org BlogPosting for a post, for search engines (JSON-LD)."""
    data = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.excerpt,
        "author": {"@type": "Organization", "name": post.author},
        "publisher": {"@type": "Organization", "name": current_app.config["SITE_NAME"]},
        "datePublished": post.published_at.isoformat() if post.published_at else None,
        "dateModified": post.last_changed.isoformat(),
        "mainEntityOfPage": url,
        "url": url,
        "keywords": [tag.name for tag in post.tags],
        "wordCount": post.word_count,
    }
    if image_url:
        data["image"] = image_url
    return {key: value for key, value in data.items() if value is not None}


def feed_content(post: Post) -> str:
    """A post's HTML for the feed, with its disclaimer kept (as a plain string: the feed escapes it)."""
    content = post.body_html
    if post.disclaimer:
        content += f"<p><em>Disclaimer: {html.escape(post.disclaimer)}</em></p>"
    return str(content)
