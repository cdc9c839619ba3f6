"""The blog: post list, tags, search, post pages, uploaded images and the Atom feed."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, send_from_directory, url_for

from coaching.blog import editor, queries
from coaching.web.forms import MAX_QUERY_LENGTH
from coaching.web.page_cache import public_page
from coaching.web.paging import page_number
from coaching.web.templating import absolute_url, conditional_page

bp = Blueprint("blog", __name__, url_prefix="/blog")
bp.add_app_template_global(queries.post_structured_data, "structured_data")
bp.add_app_template_global(queries.feed_content, "feed_content")


@bp.context_processor
def search_box_limit() -> dict:
    """The longest search the blog reads, for its search box's maxlength."""
    return {"max_query_length": MAX_QUERY_LENGTH}


@bp.app_template_global()
def stored_image_url(image: str | None, external: bool = False) -> str | None:
    """The URL of a stored image: an upload ("uploads/…", served by blog.media) or a static file ("img/…")."""
    if not image:
        return None
    if image.startswith(editor.UPLOAD_PREFIX):
        endpoint, values = "blog.media", {"name": image.removeprefix(editor.UPLOAD_PREFIX)}
    else:
        endpoint, values = "static", {"filename": image}
    return absolute_url(endpoint, **values) if external else url_for(endpoint, **values)


@bp.get("/")
@public_page
def index():
    """Published posts, newest first, ten a page."""
    page = queries.page_of_posts(page_number())
    if page is None:
        abort(404)
    return conditional_page(render_template("blog/index.html", page=page))


@bp.get("/tag/<slug>")
@public_page
def tag(slug: str):
    """Published posts carrying one tag."""
    found = queries.page_of_tag(slug, page_number())
    if found is None:
        abort(404)
    tag, page = found
    return conditional_page(render_template("blog/tag.html", tag=tag, page=page))


@bp.get("/search")
@public_page
def search():
    """Posts matching the words of ?q=, with the query echoed back."""
    query = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    page = queries.search_posts(query, page_number()) if query else None
    if query and page is None:
        abort(404)
    return conditional_page(render_template("blog/search.html", query=query, page=page))


@bp.get("/<slug>")
@public_page
def post(slug: str):
    """One post, with everything the old site showed and links to its neighbours."""
    post = queries.get_published_post(slug)
    if post is None:
        abort(404)
    older, newer = queries.neighbours(post)
    html = render_template("blog/post.html", post=post, older=older, newer=newer)
    return conditional_page(html, last_modified=post.modified_at)


@bp.get("/media/<name>")
def media(name: str):
    """An image uploaded in the admin. Its name is random and never reused, so it may be cached for a year."""
    if not editor.UPLOAD_NAME.fullmatch(name):
        abort(404)
    return send_from_directory(editor.upload_folder(), name, max_age=31_536_000)


@bp.get("/feed.xml")
@public_page
def feed():
    """An Atom feed of the newest published posts."""
    feed = render_template("blog/feed.xml", entries=queries.published_posts(20))
    return conditional_page(feed, mimetype="application/atom+xml")
