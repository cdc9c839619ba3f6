"""Post content: Markdown rendered safely, read time, excerpts, slugs and Markdown files."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from coaching.blog.models import Post
from coaching.blog.post_files import PostFileError, apply_post_file, parse_post_file
from coaching.blog.rendering import count_words, make_excerpt, render_markdown, slugify
from tests.factories import BAD_POST_FILES


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<p style="color:red" onclick="alert(1)">x</p>',
    "<iframe src='https://evil.example'></iframe>",
])
def test_markdown_is_sanitised(hostile):
    """SEC-05: are scripts, handlers, styles, frames and javascript: URLs stripped from post HTML?"""
    html = render_markdown(hostile).lower()
    for danger in ("<script", "onerror", "onclick", "javascript:", "style=", "<iframe"):
        assert danger not in html


def test_markdown_keeps_ordinary_formatting():
    """Are headings, emphasis, lists, links and quotes kept, with safe rel on links?"""
    html = render_markdown("## Steps\n\n*Gently* does it.\n\n- one\n- two\n\n> quote\n\n[r](https://e.org)")
    assert "<h2>Steps</h2>" in html and "<em>Gently</em>" in html and "<li>one</li>" in html
    assert "<blockquote>" in html
    assert '<a href="https://e.org" rel="noopener noreferrer">r</a>' in html


def test_template_syntax_in_markdown_is_plain_text():
    """SEC-05: is {{7*7}} in a post left as text rather than evaluated?"""
    assert "{{7*7}}" in render_markdown("{{7*7}}")


def test_count_words_counts_like_a_reader():
    """Are contractions and hyphenated words one word each?"""
    assert count_words("I’d love nervous-system work, don't you?") == 6


def test_excerpt_comes_from_the_first_paragraph_cut_at_a_word():
    """Is the excerpt the first paragraph, cut at a word boundary with an ellipsis when long?"""
    assert make_excerpt("<p>Short one.</p><p>Second.</p>") == "Short one."
    long = make_excerpt("<p>" + "word " * 100 + "</p>", limit=50)
    assert long.endswith("…") and len(long) <= 51 and "wor…" not in long


@pytest.mark.parametrize(("title", "slug"), [
    ("Psychedelics and Neuroplasticity: A Glimpse", "psychedelics-and-neuroplasticity-a-glimpse"),
    ("Zoë’s  story!", "zoes-story"),
    ("ねこ", "post"),
])
def test_slugify_makes_readable_ascii_addresses(title, slug):
    """Are slugs lowercase ASCII words joined by hyphens, never empty?"""
    assert slugify(title) == slug


def test_post_file_front_matter_is_parsed():
    """Is a Markdown file split into front matter and body?"""
    source = parse_post_file("---\ntitle: T\nslug: t\ntags: [a, b]\n---\n\nBody text.\n")
    assert source.meta["tags"] == ["a", "b"]
    assert source.body == "Body text.\n"


@pytest.mark.parametrize(("text", "problem"), [
    ("no front matter", "must start with front matter"),
    ("---\ntitle: [unclosed\n---\nbody", "not valid YAML"),
    ("---\ntitle: T\n---\nbody", "needs slug"),
])
def test_bad_post_files_get_a_clear_message(text, problem):
    """Does a malformed post file get an error naming the file and the problem?"""
    with pytest.raises(PostFileError, match=f"bad.md: .*{problem}"):
        parse_post_file(text, "bad.md")


@pytest.mark.parametrize("front", ["- a\n- b", "42", "just text"], ids=["a list", "a number", "a string"])
def test_front_matter_that_is_not_key_value_lines_is_refused_by_name(front):
    """Is front matter that is a YAML list, a number or a string, not a mapping, a message naming the file?"""
    with pytest.raises(PostFileError) as error:
        parse_post_file(f"---\n{front}\n---\nBody.\n", "odd.md")
    assert str(error.value) == "odd.md: the front matter must be 'key: value' lines."


@pytest.mark.parametrize("case", list(BAD_POST_FILES))
def test_post_files_that_would_crash_the_import_are_refused_by_name(case):
    """Are aliases, impossible dates, deep nesting, wrong kinds of value and huge files each a plain message?"""
    text, message = BAD_POST_FILES[case]
    with pytest.raises(PostFileError) as error:
        parse_post_file(text, "bad.md")
    assert str(error.value).startswith(message)


def front_matter(lines: str) -> str:
    """A post file with a title, a slug and these front-matter lines."""
    return f"---\nslug: s\ntitle: T\n{lines}\n---\nBody.\n"


@pytest.mark.parametrize(("lines", "message"), [
    ("image_alt: &alt A dot", "the front matter uses a YAML anchor or alias (& or *)"),
    ("tags: [" + ", ".join(["calm"] * 1200) + "]", "the front matter holds more than 1,000 values"),
    ("excerpt: " + "word " * 14_000, "the front matter is longer than 64 KB"),
    ("published: 2021-02-29", "published must be a date like 2020-07-13, not 2021-02-29."),
    ("published: 2020-07-13 25:00:00", "published must be a date like 2020-07-13, not 2020-07-13 25:00:00."),
    ("published: [2020-07-13]", "published must be a date like 2020-07-13, not a list."),
    ("updated: 2020", "updated must be a date like 2020-07-13, not 2020."),
    ("published: !!timestamp soon", "published must be a date like 2020-07-13, not soon."),
    ("author: {name: Jo}", "author must be text, not a group of 'key: value' lines"),
    ("image_alt: yes", "image_alt must be text, not true or false"),
    ("disclaimer: !!binary aGk=", "disclaimer must be text, not binary data"),
    ("tags: calm", "tags must be a list, like [research, movement], not calm."),
    ("old_paths: /post/x", "old_paths must be a list, like [/post/an-old-address], not /post/x."),
    ("old_paths: [{a: 1}]", "each of old_paths must be text, like [/post/an-old-address], not a group of"),
    ("tags: [true]", "each of tags must be text, like [research, movement], not true or false."),
    ("draft: [yes]", "draft must be true or false, not a list."),
    ("excerpt: !!bool maybe", "the front matter is not valid YAML"),
    ("excerpt: !!int many", "the front matter is not valid YAML"),
    ("excerpt: " + "9" * 5000, "the front matter is not valid YAML"),
    ("? [a, b]\n: c", "the front matter is not valid YAML"),
])
def test_each_bad_front_matter_value_is_named_with_its_field(lines, message):
    """Does each wrong or dangerous value give a message naming the file and the field, never another error?"""
    with pytest.raises(PostFileError) as error:
        parse_post_file(front_matter(lines), "bad.md")
    assert str(error.value).startswith(f"bad.md: {message}")


def test_front_matter_values_are_made_uniform():
    """Are numbers as titles or tags kept as text, quoted dates and booleans read, and an empty list as none?"""
    meta = parse_post_file("---\nslug: 1984\ntitle: 1984\ntags: [2020, calm]\nold_paths:\n"
                           "published: 2020-07-13\nupdated: '2021-03-04T10:30:00+00:00'\nimage_alt: 2020-07-13\n"
                           "draft: 'False'\n---\nBody.\n").meta
    assert (meta["slug"], meta["title"], meta["tags"], meta["old_paths"]) == ("1984", "1984", ["2020", "calm"], [])
    assert meta["published"] == date(2020, 7, 13) and meta["updated"] == datetime(2021, 3, 4, 10, 30, tzinfo=UTC)
    assert meta["image_alt"] == "2020-07-13" and meta["draft"] is False


def test_a_file_at_the_limits_is_accepted():
    """Are a 1 MB file, a 64 KB front matter and lists nested 20 deep all still read?"""
    body = "\n".join("    " * level + "- x" for level in range(20)) + "\n"
    front = "slug: s\ntitle: T\nexcerpt: "
    front += "w" * (64 * 1024 - len(front))
    text = f"---\n{front}\n---\n{body}"
    text += "x" * (1024 * 1024 - len(text))
    assert len(text.encode()) == 1024 * 1024
    assert parse_post_file(text, "big.md").meta["excerpt"].startswith("www")
    assert "<li>x" in render_markdown(body)


def test_markdown_nested_too_deep_for_the_renderer_is_refused_not_a_crash():
    """Is Markdown that would exhaust Python's stack (HTML blocks of Markdown nested 500 deep) a plain error?"""
    with pytest.raises(ValueError, match="nested too deeply"):
        render_markdown('<div markdown="1">' * 500 + "x" + "</div>" * 500)


def test_a_post_file_without_an_author_is_by_the_site(app):
    """Is a post whose file names no author credited to SITE_NAME (not a name written into the code)?"""
    app.config["SITE_NAME"] = "Calm Steps Coaching"
    source = parse_post_file("---\nslug: no-author\ntitle: No author\npublished: 2026-01-02\n---\nText.\n")
    post = Post()
    with app.app_context():
        apply_post_file(post, source)
    assert post.author == "Calm Steps Coaching"
