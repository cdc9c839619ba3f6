"""Post content: Markdown rendered safely, read time, excerpts, slugs and Markdown files."""

from __future__ import annotations

import pytest

from coaching.content import (
    PostFileError,
    count_words,
    make_excerpt,
    parse_post_file,
    render_markdown,
    slugify,
)


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
