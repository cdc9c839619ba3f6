"""Posts as content: Markdown to sanitised HTML, read time, slugs, and import from Markdown files."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import markdown
import nh3
import yaml
from sqlalchemy import select

from .database import utcnow
from .extensions import db
from .models import Post, PostRedirect, PostStatus, Tag

CONTENT_DIR = Path(__file__).resolve().parent / "content"
EXCERPT_LENGTH = 280

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "figcaption", "figure",
    "h2", "h3", "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"scope"},
    "ol": {"start"},
}


class PostFileError(ValueError):
    """A Markdown post file is malformed; the message names the file and the problem."""


def render_markdown(source: str) -> str:
    """Render Markdown to HTML that is safe to show: no scripts, handlers, styles or odd URLs."""
    raw = markdown.markdown(source, extensions=["extra", "sane_lists"], output_format="html")
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment, with whitespace collapsed."""
    text = html.unescape(nh3.clean(fragment, tags=set()))
    return re.sub(r"\s+", " ", text).strip()


def count_words(text: str) -> int:
    """Words in plain text, as a reader would count them."""
    return len(re.findall(r"\w+(?:['’-]\w+)*", text))


def make_excerpt(body_html: str, limit: int = EXCERPT_LENGTH) -> str:
    """A summary from the first paragraph, cut at a word boundary when it is long."""
    match = re.search(r"<p>(.*?)</p>", body_html, re.S)
    text = html_to_text(match.group(1) if match else body_html)
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:—-") + "…"


def written_excerpt(post: Post) -> str | None:
    """The post's summary if someone wrote it; None when it is the one make_excerpt() derives."""
    return post.excerpt if post.excerpt and post.excerpt != make_excerpt(post.body_html) else None


def slugify(text: str) -> str:
    """A lowercase ASCII address segment made from a title or tag name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "post"


def set_body(post: Post, body_markdown: str) -> None:
    """Store the Markdown and what derives from it: HTML, word count, search text, a missing excerpt."""
    post.body_markdown = body_markdown
    post.body_html = render_markdown(body_markdown)
    if not post.excerpt:
        post.excerpt = make_excerpt(post.body_html)
    text = html_to_text(post.body_html)
    post.word_count = count_words(text)
    post.search_text = " ".join([post.title, post.excerpt, text]).casefold()


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
class PostFile:
    """A post read from a Markdown file with YAML front matter."""

    meta: dict
    body: str
    name: str


def parse_post_file(text: str, name: str = "post") -> PostFile:
    """Split a Markdown file into its front matter and body, checking the required fields."""
    match = re.match(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", text, re.S)
    if not match:
        raise PostFileError(f"{name}: it must start with front matter between two '---' lines.")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise PostFileError(f"{name}: the front matter is not valid YAML ({exc}).") from exc
    missing = [key for key in ("title", "slug") if not meta.get(key)]
    if missing:
        raise PostFileError(f"{name}: the front matter needs {', '.join(missing)}.")
    return PostFile(meta=meta, body=match.group(2).strip() + "\n", name=name)


def _as_datetime(value: object) -> datetime | None:
    """A front-matter date or datetime as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def apply_post_file(post: Post, source: PostFile) -> None:
    """Fill a post from a parsed Markdown file (new or existing)."""
    meta = source.meta
    post.slug = str(meta["slug"])
    post.title = str(meta["title"])
    post.author = str(meta.get("author") or "Hope for Dystonia")
    post.status = PostStatus.DRAFT if meta.get("draft") or meta.get("status") == "draft" else (
        PostStatus.PUBLISHED
    )
    post.published_at = _as_datetime(meta.get("published")) or post.published_at or (
        utcnow() if post.status is PostStatus.PUBLISHED else None
    )
    post.updated_at = _as_datetime(meta.get("updated")) or post.published_at
    post.cover_image = meta.get("image")
    post.cover_alt = meta.get("image_alt")
    post.cover_caption = meta.get("image_caption")
    post.cover_credit = meta.get("image_credit")
    post.disclaimer = meta.get("disclaimer")
    post.tags = tags_named([str(tag) for tag in meta.get("tags") or []])
    post.excerpt = meta.get("excerpt") or ""
    set_body(post, source.body)
    known = {redirect.old_path for redirect in post.old_paths}
    for old_path in meta.get("old_paths") or []:
        if old_path not in known:
            post.old_paths.append(PostRedirect(old_path=old_path))
            known.add(old_path)


def import_post_file(source: PostFile) -> str:
    """Create or refresh the post a parsed file describes (by slug): "created", "updated" or "unchanged".

    Call it with autoflush off (a half-filled post must not be flushed); it flushes the finished post,
    so a tag it creates is found by the next file.
    """
    post = db.session.scalar(select(Post).where(Post.slug == str(source.meta["slug"])))
    created = post is None
    if created:
        post = Post()
        db.session.add(post)
    apply_post_file(post, source)
    changed = created or db.session.is_modified(post) or any(
        item in db.session.new for item in [*post.tags, *post.old_paths]
    )
    db.session.flush()
    return "created" if created else "updated" if changed else "unchanged"


def import_post_files(directory: Path = CONTENT_DIR) -> dict[str, int]:
    """Create or refresh the posts in a folder of Markdown files; running it again changes nothing."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with db.session.no_autoflush:
        for path in sorted(directory.glob("*.md")):
            source = parse_post_file(path.read_text(encoding="utf-8"), path.name)
            counts[import_post_file(source)] += 1
    db.session.commit()
    return counts
