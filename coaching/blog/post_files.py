"""Post files: Markdown with YAML front matter, checked field by field, and imported (`flask seed`, zip import)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import NoReturn

import yaml
from flask import current_app
from sqlalchemy import select

from coaching.blog.editor import tags_named
from coaching.blog.models import Post, PostRedirect, PostStatus
from coaching.blog.rendering import MARKDOWN_MAX_DEPTH, line_nested_too_deeply, set_body
from coaching.database import utcnow
from coaching.extensions import db

CONTENT_DIR = Path(__file__).resolve().parent / "content"

# What a post file may hold. A long post is 50 KB and its front matter 2 KB; past these, a file is a mistake
# or an attack: YAML is slow to read (a megabyte of front matter takes 30 seconds and 350 MB), and
# Python-Markdown follows each level of nesting one call deeper, so 250 nested lists exhaust Python's stack.
POST_FILE_MAX_BYTES = 1024 * 1024
FRONT_MATTER_MAX_BYTES = 64 * 1024
FRONT_MATTER_MAX_VALUES = 1000
FRONT_MATTER_MAX_DEPTH = 10
TEXT_FIELDS = ("slug", "title", "author", "excerpt", "image", "image_alt", "image_caption", "image_credit",
               "disclaimer", "status")
DATE_FIELDS = ("published", "updated")
LIST_FIELDS = {"tags": "[research, movement]", "old_paths": "[/post/an-old-address]"}


class PostFileError(ValueError):
    """A Markdown post file is malformed; the message names the file and the problem."""


@dataclass
class PostFile:
    """A post read from a Markdown file with YAML front matter."""

    meta: dict
    body: str
    name: str


class _Refused(Exception):
    """FrontMatterLoader will not read this front matter; the message says why, for the coach."""


# An alias repeats a value without writing it out again, so nine lines of them make a title of 387 million
# words (2.5 GB once turned into text); a post never needs one.
class FrontMatterLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses anchors, aliases, too many values and deep nesting, and reads 2020-13-45 as text."""

    def __init__(self, stream):
        """A loader for one front matter, its count of values at zero."""
        super().__init__(stream)
        self.depth = self.values = 0

    def compose_node(self, parent, index):
        """The next value, refused before it is built if it is an anchor (&name) or alias (*name), or too much."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused("the front matter uses a YAML anchor or alias (& or *): write each value out in full.")
        self.values += 1
        if self.values > FRONT_MATTER_MAX_VALUES:
            raise _Refused(f"the front matter holds more than {FRONT_MATTER_MAX_VALUES:,} values, far more "
                           "than a post needs.")
        self.depth += 1
        try:
            if self.depth > FRONT_MATTER_MAX_DEPTH:
                raise _Refused(f"the front matter nests lists more than {FRONT_MATTER_MAX_DEPTH} levels deep.")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_yaml_timestamp(self, node):
        """A date or time; as text if it only looks like one (2020-13-45), for the check to name."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, AttributeError):  # a day that does not exist, or "!!timestamp" on other text
            return self.construct_scalar(node)


FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", FrontMatterLoader.construct_yaml_timestamp)


def check_post_file_size(name: str, size: int) -> None:
    """Refuse a post file of more than POST_FILE_MAX_BYTES, naming it."""
    if size > POST_FILE_MAX_BYTES:
        raise PostFileError(f"{name}: it is larger than {POST_FILE_MAX_BYTES // 1048576} MB, the most a post "
                            "file may be.")


def parse_post_file(text: str, name: str = "post") -> PostFile:
    """Split a Markdown file into its front matter and body, checking every field the site reads."""
    check_post_file_size(name, len(text.encode("utf-8")))
    match = re.match(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", text, re.S)
    if not match:
        raise PostFileError(f"{name}: it must start with front matter between two '---' lines.")
    if len(match.group(1).encode("utf-8")) > FRONT_MATTER_MAX_BYTES:
        raise PostFileError(f"{name}: the front matter is longer than {FRONT_MATTER_MAX_BYTES // 1024} KB; "
                            "a post needs far less.")
    try:
        meta = yaml.load(match.group(1), Loader=FrontMatterLoader)  # a SafeLoader, made stricter
    except _Refused as refused:
        raise PostFileError(f"{name}: {refused}") from refused
    except (yaml.YAMLError, ValueError, LookupError, TypeError, RecursionError) as exc:
        # ValueError: an !!int too long to read; LookupError: !!bool on a word that is neither
        raise PostFileError(f"{name}: the front matter is not valid YAML ({exc}).") from exc
    meta = checked_front_matter(meta or {}, name)
    missing = [key for key in ("title", "slug") if not meta.get(key)]
    if missing:
        raise PostFileError(f"{name}: the front matter needs {', '.join(missing)}.")
    if line := line_nested_too_deeply(match.group(2)):
        line += text[:match.start(2)].count("\n")
        raise PostFileError(f"{name}: line {line} nests lists or quotes more than {MARKDOWN_MAX_DEPTH} levels "
                            "deep (four spaces of indent make a level). Use fewer levels.")
    return PostFile(meta=meta, body=match.group(2).strip() + "\n", name=name)


def checked_front_matter(meta: object, name: str) -> dict:
    """The front matter with each field the site reads checked and made uniform, or a PostFileError naming the field."""
    if not isinstance(meta, dict):
        raise PostFileError(f"{name}: the front matter must be 'key: value' lines.")
    meta = dict(meta)

    def refuse(problem: str) -> NoReturn:
        raise PostFileError(f"{name}: {problem}")

    for key in TEXT_FIELDS:
        value = meta.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float | date)):
            refuse(f'{key} must be text, not {_shown(value)}: write it in quotes, like {key}: "Your words here".')
        if value is not None:
            meta[key] = str(value)
    for key in DATE_FIELDS:
        value = meta.get(key)
        if isinstance(value, str) and value:
            with contextlib.suppress(ValueError):  # left as text, for the message to show
                value = datetime.fromisoformat(value)
        if not (value is None or value == "" or isinstance(value, date)):
            refuse(f"{key} must be a date like 2020-07-13, not {_shown(meta[key])}.")
        if key in meta:
            meta[key] = value or None
    for key, example in LIST_FIELDS.items():
        value = meta.get(key)
        value = [] if value is None or value == "" else value
        if not isinstance(value, list):
            refuse(f"{key} must be a list, like {example}, not {_shown(value)}.")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, str | int):
                refuse(f"each of {key} must be text, like {example}, not {_shown(item)}.")
        if key in meta:
            meta[key] = [str(item) for item in value]
    draft = meta.get("draft")
    if isinstance(draft, str) and draft.lower() in ("true", "false", "yes", "no"):
        draft = draft.lower() in ("true", "yes")
    if draft is not None and not isinstance(draft, bool):
        refuse(f"draft must be true or false, not {_shown(draft)}.")
    if "draft" in meta:
        meta["draft"] = bool(draft)
    return meta


def _shown(value: object) -> str:
    """A front-matter value as a message names it: its text, or what kind of thing it is."""
    if isinstance(value, bool):
        return "true or false"
    kinds = {list: "a list", dict: "a group of 'key: value' lines", bytes: "binary data", set: "a set"}
    for kind, described in kinds.items():
        if isinstance(value, kind):
            return described
    text = " ".join(str(value).split())
    return text if len(text) <= 40 else text[:40] + "…"


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
    post.author = str(meta.get("author") or current_app.config["SITE_NAME"])
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
    """Create or refresh the posts in a folder of Markdown files; running it again changes nothing.

    The caller commits; if it raises PostFileError, the caller rolls back, so nothing is imported.
    """
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with db.session.no_autoflush:
        for path in sorted(directory.glob("*.md")):
            source = parse_post_file(path.read_text(encoding="utf-8"), path.name)
            counts[import_post_file(source)] += 1
    return counts
