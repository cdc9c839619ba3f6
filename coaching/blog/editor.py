"""The coach's post editor: saving, publishing and deleting posts, and their cover images.

These functions add, change and flush; the caller (a view) commits, or rolls back when one raises, and only
after the commit deletes an image file the change left unused (discard_upload_if_unused).
Export and import of posts as Markdown files live in archive.py.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from coaching.blog.images import cleaned_image
from coaching.blog.models import Post, PostRedirect, PostStatus, Tag
from coaching.blog.rendering import set_body, slugify, written_excerpt
from coaching.database import utcnow
from coaching.extensions import db

UPLOAD_PREFIX = "uploads/"  # Post.cover_image values under <instance>/uploads/ start with this
UPLOAD_NAME = re.compile(r"[0-9a-f]{32}\.(?:jpg|png|webp)")
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# An image chosen in a preview and never saved is swept after this long: far longer than an
# admin session (12 hours at most), so no editor still open can lose the image it carries.
STALE_UPLOAD_AGE = timedelta(days=7)


class SlugTaken(Exception):
    """Another post took this web address while the form was being saved."""


# --- Cover images ---


def upload_limit_text() -> str:
    """The largest cover image allowed, as the coach reads it: "5 MB"."""
    return f"{current_app.config['UPLOAD_MAX_BYTES'] / 1048576:g} MB"


def upload_folder() -> Path:
    """Where uploaded images are kept: <instance>/uploads/."""
    return Path(current_app.instance_path) / "uploads"


def stored_upload(cover_image: str | None) -> Path | None:
    """The file behind an "uploads/<name>" cover value, if the value is well formed and the file exists."""
    if not cover_image or not cover_image.startswith(UPLOAD_PREFIX):
        return None
    name = cover_image.removeprefix(UPLOAD_PREFIX)
    path = upload_folder() / name
    return path if UPLOAD_NAME.fullmatch(name) and path.is_file() else None


def store_upload(data: bytes) -> str:
    """Keep an image, cleaned of metadata, under a new random name; returns its cover value "uploads/<name>".

    Raises ImageRejected, with a message for the coach, when the file can't be read as a picture.
    """
    picture, extension = cleaned_image(data)
    discard_stale_uploads()
    name = f"{secrets.token_hex(16)}.{extension}"
    write_upload(name, picture)
    return UPLOAD_PREFIX + name


def write_upload(name: str, data: bytes) -> None:
    """Write an image file into the uploads folder, making the folder if need be."""
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def discard_stale_uploads() -> int:
    """Delete uploaded images that no post shows and that are older than STALE_UPLOAD_AGE; returns how many."""
    folder = upload_folder()
    if not folder.is_dir():
        return 0
    in_use = set(db.session.scalars(select(Post.cover_image).where(Post.cover_image.startswith(UPLOAD_PREFIX))))
    cutoff = time.time() - STALE_UPLOAD_AGE.total_seconds()
    stale = [path for path in folder.iterdir() if UPLOAD_NAME.fullmatch(path.name)
             and UPLOAD_PREFIX + path.name not in in_use and path.stat().st_mtime < cutoff]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def discard_upload_if_unused(cover_image: str | None) -> None:
    """Delete an uploaded image file once no post shows it any more: call it after the commit that dropped it."""
    path = stored_upload(cover_image)
    if path and db.session.scalar(select(Post.id).where(Post.cover_image == cover_image).limit(1)) is None:
        path.unlink(missing_ok=True)


# --- Reading posts for the admin ---


def get_post(post_id: int) -> Post | None:
    """Any post, draft or published, by id, or None if there is none (deleted, or never made)."""
    return db.session.get(Post, post_id)


def posts_by_status() -> tuple[list[Post], list[Post]]:
    """Drafts (last saved first) and published posts (newest first)."""
    drafts = db.session.scalars(
        select(Post).where(Post.status == PostStatus.DRAFT).order_by(Post.modified_at.desc(), Post.id.desc())
    )
    return list(drafts), list(db.session.scalars(Post.published()))


def post_with_slug(slug: str) -> Post | None:
    """The post (draft or published) at this web address, if any."""
    return db.session.scalar(select(Post).where(Post.slug == slug))


def slug_is_reserved(slug: str) -> bool:
    """Whether /blog/<slug> belongs to another page of the blog (search, the feed), not to a post."""
    try:
        endpoint, _ = current_app.url_map.bind("localhost").match(f"/blog/{slug}", method="GET")
    except HTTPException:
        return True
    return endpoint != "blog.post"


def tag_names(text: str | None) -> list[str]:
    """Tag names from comma-separated text: trimmed, empty ones dropped, one per address."""
    names, slugs = [], set()
    for part in (text or "").split(","):
        name = " ".join(part.split())
        if name and slugify(name) not in slugs:
            slugs.add(slugify(name))
            names.append(name)
    return names


# --- Saving ---


def tags_named(names: list[str]) -> list[Tag]:
    """The Tag rows for these names, creating any that do not exist yet; "Calm" beside "calm" is one tag."""
    tags: dict[str, Tag] = {}
    for name in names:
        slug = slugify(name)
        if slug in tags:
            continue
        tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
        if tag is None:
            tag = Tag(name=name, slug=slug)
            db.session.add(tag)
        tags[slug] = tag
    return list(tags.values())


@dataclass
class PostValues:
    """What the editor form says a post should be."""

    title: str
    slug: str
    excerpt: str
    body: str
    tags: str
    cover_alt: str
    cover_caption: str
    cover_credit: str
    disclaimer: str
    cover_upload: str  # an image stored by store_upload() for this form, or ""
    remove_cover: bool

    @classmethod
    def from_form(cls, form) -> PostValues:
        """The values of a validated PostForm."""
        return cls(**{name: getattr(form, name).data for name in cls.__dataclass_fields__})


def form_values(post: Post | None) -> dict:
    """A post as the editor form shows it (the summary empty when it is the automatic one)."""
    if post is None:
        return {}
    return {
        "title": post.title, "slug": post.slug, "body": post.body_markdown,
        "excerpt": written_excerpt(post) or "",
        "tags": ", ".join(tag.name for tag in post.tags),
        "cover_alt": post.cover_alt or "", "cover_caption": post.cover_caption or "",
        "cover_credit": post.cover_credit or "", "disclaimer": post.disclaimer or "",
    }


def _content(post: Post) -> tuple:
    """Everything a reader sees of a post, to tell whether an edit changed it (the body as rendered, so
    a change of line endings or trailing space is no change)."""
    return (post.title, post.body_html, post.excerpt, post.cover_image, post.cover_alt, post.cover_caption,
            post.cover_credit, post.disclaimer, tuple(sorted(tag.slug for tag in post.tags)))


def save_post(post: Post | None, values: PostValues) -> Post:
    """Create a draft (post None) or update a post from the editor; a published post's content change moves
    its "Updated" date, and a slug change keeps the old address as a redirect.

    Flushes, so that a web address taken meanwhile by another save raises SlugTaken here, on SQLite and
    PostgreSQL alike; the session must then be rolled back. The caller commits.
    """
    if post is None:
        post = Post(author=current_app.config["SITE_NAME"], status=PostStatus.DRAFT)
        db.session.add(post)
    before, old_slug = _content(post) if post.id else None, post.slug
    with db.session.no_autoflush:  # the post is incomplete until set_body()
        post.title = values.title
        post.slug = values.slug or slugify(values.title)
        post.excerpt = values.excerpt
        if values.cover_upload:
            post.cover_image = values.cover_upload
        elif values.remove_cover:
            post.cover_image = None
        post.cover_alt = values.cover_alt or None
        post.cover_caption = values.cover_caption or None
        post.cover_credit = values.cover_credit or None
        post.disclaimer = (values.disclaimer or "").strip() or None
        post.tags = tags_named(tag_names(values.tags))
        set_body(post, values.body.replace("\r\n", "\n").strip() + "\n")
        _keep_old_address(post, old_slug)
    if before is not None and post.is_published and _content(post) != before:
        post.updated_at = utcnow()
    try:
        db.session.flush()
    except IntegrityError as exc:  # the form checked the address was free; another save took it since
        raise SlugTaken(values.slug) from exc
    return post


def _keep_old_address(post: Post, old_slug: str | None) -> None:
    """After a slug change, send the old /blog/ address of a post that has been public to the new one.

    A redirect at the post's own live address would never be reached, so it goes, whichever post it names.
    """
    live = db.session.scalar(select(PostRedirect).where(PostRedirect.old_path == f"/blog/{post.slug}"))
    if live is not None:
        live.post.old_paths.remove(live)
    if not old_slug or old_slug == post.slug or post.published_at is None:
        return
    old_path = f"/blog/{old_slug}"
    existing = db.session.scalar(select(PostRedirect).where(PostRedirect.old_path == old_path))
    if existing is not None:
        existing.post = post
    else:
        post.old_paths.append(PostRedirect(old_path=old_path))


def set_published(post: Post, public: bool) -> None:
    """Put a post on the site (dated now, the first time) or take it off (a draft again, its dates kept)."""
    if public and post.published_at is None:
        post.published_at = post.updated_at = utcnow()
    elif public:
        post.updated_at = post.updated_at or post.published_at
    post.status = PostStatus.PUBLISHED if public else PostStatus.DRAFT


def delete_post(post: Post) -> None:
    """Delete a post and its old addresses (its uploaded image goes after the commit: discard_upload_if_unused)."""
    db.session.delete(post)
