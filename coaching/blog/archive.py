"""Posts as Markdown files, in the format of coaching/blog/content/*.md: export all as a zip, import all or nothing."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, time
from pathlib import PurePosixPath

import yaml
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import selectinload

from coaching.blog.editor import SLUG_PATTERN, UPLOAD_NAME, UPLOAD_PREFIX, stored_upload, write_upload
from coaching.blog.images import ImageRejected, cleaned_image, image_extension
from coaching.blog.models import (
    FIGURE_TEXT_MAX_LENGTH,
    OLD_PATH_MAX_LENGTH,
    SLUG_MAX_LENGTH,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Post,
)
from coaching.blog.post_files import (
    POST_FILE_MAX_BYTES,
    PostFile,
    PostFileError,
    check_post_file_size,
    import_post_file,
    parse_post_file,
)
from coaching.blog.rendering import written_excerpt
from coaching.extensions import db

# What an import may hold, so a small zip cannot unpack into something huge (each post file: content.py).
IMPORT_MAX_BYTES = 50 * 1024 * 1024
IMPORT_MAX_FILES = 2000


class _NoAliasDumper(yaml.SafeDumper):
    """yaml.SafeDumper that writes a value twice rather than as an alias, which the importer refuses."""

    def ignore_aliases(self, data):
        """Never an alias."""
        return True


def _front_matter_time(moment: datetime) -> object:
    """A date as the seed files write it (2020-07-13) when it is midnight UTC, else the full time."""
    moment = moment.astimezone(UTC)
    return moment.date() if moment.time() == time() else moment


def post_file_text(post: Post) -> str:
    """A post as a Markdown file with YAML front matter, as parse_post_file() reads it."""
    meta: dict = {"slug": post.slug}
    if post.old_paths:
        meta["old_paths"] = sorted(redirect.old_path for redirect in post.old_paths)
    if post.tags:
        meta["tags"] = [tag.name for tag in post.tags]
    meta.update(title=post.title, author=post.author)
    if post.published_at:
        meta["published"] = _front_matter_time(post.published_at)
    if post.updated_at and post.updated_at != post.published_at:
        meta["updated"] = _front_matter_time(post.updated_at)
    for key, value in [("image", post.cover_image), ("image_alt", post.cover_alt),
                       ("image_caption", post.cover_caption), ("image_credit", post.cover_credit),
                       ("disclaimer", post.disclaimer)]:
        if value:
            meta[key] = value
    if written_excerpt(post):
        meta["excerpt"] = post.excerpt
    if not post.is_published:
        meta["draft"] = True
    front = yaml.dump(meta, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{front}---\n\n{post.body_markdown.strip()}\n"


def export_archive() -> bytes:
    """Every post as <slug>.md, with the uploaded images they show under uploads/, in one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        images_written = set()
        for post in db.session.scalars(select(Post).options(selectinload(Post.old_paths)).order_by(Post.slug)):
            archive.writestr(f"{post.slug}.md", post_file_text(post))
            image = stored_upload(post.cover_image)
            if image is not None and post.cover_image not in images_written:
                archive.write(image, post.cover_image)
                images_written.add(post.cover_image)
    return buffer.getvalue()


def import_upload(filename: str, data: bytes) -> dict[str, int]:
    """Create or update posts (by slug) from an exported zip or one .md file, all or nothing.

    Raises PostFileError, naming the file, if anything in it cannot be imported; the caller then rolls back,
    and nothing is changed. Otherwise the caller commits.
    """
    texts, images = _read_import(filename, data)
    sources = [_checked_post_file(name, text, images) for name, text in texts]
    seen: dict[str, str] = {}
    for source in sources:
        slug = str(source.meta["slug"])
        if slug in seen:
            raise PostFileError(f"{source.name} and {seen[slug]} both have the slug {slug}.")
        seen[slug] = source.name
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with db.session.no_autoflush:
        for source in sources:
            try:
                counts[import_post_file(source)] += 1
            except (ValueError, TypeError, SQLAlchemyError) as exc:
                reason = ("one of its addresses already belongs to another post" if isinstance(exc, IntegrityError)
                          else "a value is too long or not allowed" if isinstance(exc, SQLAlchemyError) else exc)
                raise PostFileError(f"{source.name}: it could not be imported ({reason}).") from exc
    for cover_image in {str(source.meta.get("image")) for source in sources} & set(images):
        if stored_upload(cover_image) is None:
            write_upload(cover_image.removeprefix(UPLOAD_PREFIX), images[cover_image])
    return counts


def _read_import(filename: str, data: bytes) -> tuple[list[tuple[str, str]], dict[str, bytes]]:
    """The Markdown files (name, text) and uploaded images ("uploads/<name>": bytes) in an upload."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if not filename.lower().endswith(".md"):
            raise PostFileError(f"{filename or 'The file'}: choose a .zip file of posts, or one .md file.")
        check_post_file_size(filename, len(data))
        return [(filename, _as_text(filename, data))], {}
    texts, images, total = [], {}, 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > IMPORT_MAX_FILES:
            raise PostFileError(f"{filename}: it holds more than {IMPORT_MAX_FILES:,} files.")
        for info in members:
            path = PurePosixPath(info.filename)
            if path.parts[0] == "__MACOSX" or path.name.startswith("."):
                continue
            is_image = path.parent.name == "uploads" and UPLOAD_NAME.fullmatch(path.name)
            if path.suffix.lower() != ".md" and not is_image:
                continue
            limit = current_app.config["UPLOAD_MAX_BYTES"] if is_image else POST_FILE_MAX_BYTES
            with archive.open(info) as member:
                content = member.read(limit + 1)  # never more, whatever the zip says of its size
            total += len(content)
            if not is_image:
                check_post_file_size(info.filename, len(content))
            if len(content) > limit or total > IMPORT_MAX_BYTES:
                raise PostFileError(f"{info.filename}: it is larger than an import can hold.")
            if is_image:
                images[UPLOAD_PREFIX + path.name] = _cleaned_member(info.filename, content, path.suffix)
            else:
                texts.append((info.filename, _as_text(info.filename, content)))
    if not texts:
        raise PostFileError(f"{filename}: there are no .md post files in it.")
    return texts, images


def _cleaned_member(filename: str, content: bytes, suffix: str) -> bytes:
    """An image from the zip, cleaned of metadata like an upload, if it is the kind of picture its name says."""
    if image_extension(content) != suffix.lstrip("."):
        raise PostFileError(f"{filename}: it is not the JPEG, PNG or WebP image its name says.")
    try:
        return cleaned_image(content)[0]
    except ImageRejected as rejected:
        raise PostFileError(f"{filename}: {rejected}.") from rejected


def _as_text(name: str, content: bytes) -> str:
    """A Markdown file's bytes as text (UTF-8, a byte-order mark allowed, Windows line ends accepted)."""
    try:
        return content.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise PostFileError(f"{name}: it is not a text file saved as UTF-8.") from exc


def _checked_post_file(name: str, text: str, images: dict[str, bytes]) -> PostFile:
    """Parse a post file and check what the database and the site need of it, naming the file if not."""
    source = parse_post_file(text, name)  # every field of the right kind: text, dates, lists of text
    meta = source.meta

    def refuse(problem: str) -> None:
        raise PostFileError(f"{name}: {problem}")

    slug, title = meta["slug"], meta["title"]
    if len(slug) > SLUG_MAX_LENGTH or not SLUG_PATTERN.fullmatch(slug):
        refuse("the slug must use only lowercase letters, numbers and hyphens, like my-first-post.")
    if len(title) > TITLE_MAX_LENGTH:
        refuse(f"the title must be {TITLE_MAX_LENGTH} characters or fewer.")
    for key, longest in (("tags", TAG_MAX_LENGTH), ("old_paths", OLD_PATH_MAX_LENGTH)):
        if any(len(item) > longest for item in meta.get(key) or []):
            refuse(f"each of {key} must be {longest} characters or fewer.")
    if any(not path.startswith("/") for path in meta.get("old_paths") or []):
        refuse("each of old_paths must start with /, like /post/an-old-address.")
    for key in ("image_alt", "image_caption", "image_credit"):
        if len(meta.get(key) or "") > FIGURE_TEXT_MAX_LENGTH:
            refuse(f"{key} must be {FIGURE_TEXT_MAX_LENGTH} characters or fewer.")
    image = meta.get("image")
    if image and not meta.get("image_alt"):
        refuse("image_alt is needed with an image: describe the image for people who can't see it.")
    if image and image.startswith(UPLOAD_PREFIX) and image not in images and not stored_upload(image):
        refuse(f"its image {image} is missing. Import the whole zip, with its uploads folder.")
    return source
