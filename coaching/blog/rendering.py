"""A post's body: Markdown to sanitised HTML, words, read time, excerpts and slugs."""

from __future__ import annotations

import html
import re
import unicodedata

import markdown
import nh3

from coaching.blog.models import Post

EXCERPT_LENGTH = 280
MARKDOWN_MAX_DEPTH = 20
# How a Markdown line opens its nesting (quote marks, list markers, indents), and what counts as a level of it.
NESTING_PREFIX = re.compile(r"(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])|[ \t])*")
NESTING_LEVEL = re.compile(r">|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])|\t| {4}")

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


class MarkdownTooDeep(ValueError):
    """Markdown nested more deeply than Python-Markdown can follow without exhausting the stack."""


def render_markdown(source: str) -> str:
    """Render Markdown to HTML that is safe to show: no scripts, handlers, styles or odd URLs."""
    try:
        raw = markdown.markdown(source, extensions=["extra", "sane_lists"], output_format="html")
    except RecursionError as exc:  # what line_nested_too_deeply() cannot see, such as HTML blocks of Markdown in others
        raise MarkdownTooDeep("the text is nested too deeply to show: use fewer levels of lists, quotes or "
                              "blocks") from exc
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


def line_nested_too_deeply(body: str) -> int | None:
    """The number of the first line of Markdown nested more than MARKDOWN_MAX_DEPTH levels (quotes, lists, indents)."""
    for number, line in enumerate(body.split("\n"), 1):
        if line.strip() and len(NESTING_LEVEL.findall(NESTING_PREFIX.match(line).group())) > MARKDOWN_MAX_DEPTH:
            return number
    return None
