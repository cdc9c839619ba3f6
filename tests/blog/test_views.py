"""The blog as readers meet it: lists, tags, search, post pages, feed and old addresses."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from coaching.blog.models import PostStatus
from coaching.web.forms import MAX_QUERY_LENGTH
from tests.forms import text_of

SEED_SLUG = "psychedelics-and-neuroplasticity"
SEED_URL = f"/blog/{SEED_SLUG}"
WIX_PATH = "/post/psychedelics-and-neuroplasticity-a-glimpse-into-future-possibilities"
ATOM = "{http://www.w3.org/2005/Atom}"


def test_seed_post_keeps_everything_the_old_page_had(client, seeded):
    """Does the seed post show title, author, dates, read time, body, figure, caption, credit, disclaimer?"""
    response = client.get(SEED_URL)
    html = text_of(response)
    assert response.status_code == 200
    assert "<h1>Psychedelics and Neuroplasticity: A Glimpse Into Future Possibilities</h1>" in html
    assert "<li>Hope for Dystonia</li>" in html
    assert '<time datetime="2020-07-13">Jul 13, 2020</time>' in html
    assert "2 min read" in html
    assert 'Updated: <time datetime="2025-04-15">Apr 15, 2025</time>' in html
    assert "We are living in what many call a psychedelic renaissance." in html
    assert "I’d love to hear from you." in html
    assert re.search(r'<img src="/static/img/hyperconnected.svg\?v=\w+" alt="[^"]{20,}"', html)
    assert "Hyperconnected: your brain on psilocybin mushrooms." in html
    assert "Credit: Petri et al./Proceedings of the Royal Society Interface." in html
    disclaimer = re.search(r'<aside class="disclaimer".*?</aside>', html, re.S).group(0)
    assert "does not diagnose, treat, or cure any disease" in disclaimer
    assert "does not diagnose" not in html.split('<div class="post-body">')[1].split("</div>")[0]


def test_post_page_has_tags_share_links_and_a_way_to_get_in_touch(client, seeded):
    """Does a post link to its tags, offer plain share links and invite the reader to write?"""
    html = text_of(client.get(SEED_URL))
    assert 'href="/blog/tag/neuroplasticity"' in html
    assert 'href="/blog/tag/research"' in html
    assert "facebook.com/sharer" in html and "mailto:?subject=" in html
    assert 'href="/contact"' in html
    # No third-party scripts; the only one is the site's own error-summary helper, on every page.
    assert re.findall(r'<script src="([^"?]+)', html) == ["/static/js/error-summary.js"]


def test_post_page_has_canonical_open_graph_twitter_and_json_ld(client, seeded):
    """Does a post carry canonical, Open Graph, Twitter card and BlogPosting structured data?"""
    import json

    html = text_of(client.get(SEED_URL))
    assert f'<link rel="canonical" href="http://localhost{SEED_URL}">' in html
    assert '<meta property="og:title" content="Psychedelics and Neuroplasticity' in html
    assert '<meta property="og:image" content="http://localhost/static/img/hyperconnected.svg' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    raw = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    data = json.loads(raw)
    assert data["@type"] == "BlogPosting"
    assert data["headline"].startswith("Psychedelics and Neuroplasticity")
    assert data["datePublished"].startswith("2020-07-13")
    assert data["dateModified"].startswith("2025-04-15")


def test_updated_date_hidden_when_same_as_published(client, make_post):
    """Is "Updated" left out when a post was never updated after the day it was published?"""
    make_post("fresh-post")
    html = text_of(client.get("/blog/fresh-post"))
    assert "Updated:" not in html
    assert "Jan 1, 2021" in html


def test_neighbour_links_lead_to_older_and_newer_posts(client, make_post):
    """Does each post link to the post published just before and just after it?"""
    for day, slug in enumerate(["first", "second", "third"], start=1):
        make_post(slug, published=datetime(2022, 1, day, tzinfo=UTC))
    html = text_of(client.get("/blog/second"))
    assert 'href="/blog/third" rel="next"' in html
    assert 'href="/blog/first" rel="prev"' in html
    assert 'rel="prev"' not in text_of(client.get("/blog/first"))


def test_blog_index_lists_newest_first_ten_a_page(client, make_post):
    """Are posts listed newest first, ten a page, with numbered pages and bounds that 404?"""
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for number in range(12):
        make_post(f"post-{number:02d}", published=start + timedelta(days=number))
    first = text_of(client.get("/blog/"))
    assert first.count('class="post-summary"') == 10
    assert first.index("/blog/post-11") < first.index("/blog/post-10")
    assert "/blog/post-01" not in first
    assert 'href="/blog/?page=2"' in first and "Older posts" in first
    second = text_of(client.get("/blog/?page=2"))
    assert second.count('class="post-summary"') == 2
    assert "/blog/post-00" in second and 'aria-current="page"><span class="visually-hidden">Page </span>2' in second
    for bad in ("0", "3", "-1", "abc", "99999999999999999999"):
        assert client.get(f"/blog/?page={bad}").status_code == 404, bad


def test_pages_past_the_last_of_a_tag_or_a_search_are_not_found(client, seeded):
    """Do a tag's and a search's pages past the last answer 404, as the list's do, while their first pages answer?"""
    for url in ("/blog/tag/research", "/blog/search?q=neuroplasticity"):
        joiner = "&" if "?" in url else "?"
        assert client.get(url).status_code == 200, url
        assert client.get(f"{url}{joiner}page=2").status_code == 404, url
    assert client.get("/blog/search?q=zebra").status_code == 200  # no match is an empty page, not a missing one


def test_blog_index_shows_date_read_time_excerpt_and_tags(client, seeded):
    """Does each listed post show its date, read time, excerpt and tags?"""
    html = text_of(client.get("/blog/"))
    assert "Jul 13, 2020" in html and "2 min read" in html
    assert "We are living in what many call a psychedelic renaissance." in html
    assert 'href="/blog/tag/research"' in html


def test_empty_blog_says_so(client):
    """Does an empty blog say there are no posts yet rather than erroring?"""
    response = client.get("/blog/")
    assert response.status_code == 200
    assert "There are no posts yet" in text_of(response)


def test_tag_page_lists_only_posts_with_that_tag(client, make_post):
    """Does /blog/tag/<tag> list the posts carrying the tag and no others?"""
    make_post("with-tag", tags=["Movement"])
    make_post("without-tag", tags=["Mindfulness"])
    html = text_of(client.get("/blog/tag/movement"))
    assert "/blog/with-tag" in html and "/blog/without-tag" not in html
    assert "Posts tagged “Movement”" in html
    assert client.get("/blog/tag/no-such-tag").status_code == 404


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("neuroplasticity", True),
        ("NEUROPLASTICITY", True),
        ("Psilocybin renaissance", True),
        ("psychedelic zebra", False),
        ("100%", False),
        ("_", False),
    ],
)
def test_search_matches_every_word_in_titles_and_bodies(client, seeded, query, found):
    """Does search find posts containing every word, case-insensitively, with LIKE wildcards inert?"""
    html = text_of(client.get("/blog/search", query_string={"q": query}))
    assert (f"/blog/{SEED_SLUG}" in html) is found
    assert f'value="{query}"' in html.replace("&#37;", "%")


def test_search_echoes_the_query_and_helps_when_empty(client, seeded):
    """Is the query echoed, escaped, with a helpful empty state when nothing matches?"""
    html = text_of(client.get("/blog/search", query_string={"q": "<b>zebra</b>"}))
    assert "Search results for “&lt;b&gt;zebra&lt;/b&gt;”" in html
    assert "No posts match" in html and "browse all posts" in html
    assert "<b>zebra</b>" not in html
    assert "Type a word or two" in text_of(client.get("/blog/search"))


def test_the_search_box_takes_as_much_as_the_search_reads(client, seeded):
    """Does the search box stop at the length the search reads, and is a longer query cut to it, not refused?"""
    for url in ("/blog/", "/blog/search"):
        assert f'maxlength="{MAX_QUERY_LENGTH}"' in text_of(client.get(url)), url
    response = client.get("/blog/search", query_string={"q": "a" * MAX_QUERY_LENGTH + "zebra"})
    assert response.status_code == 200
    assert f'value="{"a" * MAX_QUERY_LENGTH}"' in text_of(response)


def test_search_matches_non_ascii_text(client, make_post):
    """Does search fold case beyond ASCII the same on every database (Zoë, ÉTÉ)?"""
    make_post("accents", title="Été with Zoë", body="Quiet practice.")
    assert "/blog/accents" in text_of(client.get("/blog/search", query_string={"q": "ÉTÉ zoë"}))


def test_drafts_are_invisible_everywhere(client, make_post):
    """Is a draft absent from lists, tags, search, feed and sitemap, and 404 at its address?"""
    make_post("secret-draft", title="Secret draft zebra", status=PostStatus.DRAFT,
              tags=["hidden"], published=None)
    make_post("public-post", tags=["hidden"])
    assert client.get("/blog/secret-draft").status_code == 404
    for url in ("/blog/", "/blog/tag/hidden", "/blog/search?q=zebra", "/blog/feed.xml",
                "/sitemap.xml", "/"):
        assert "secret-draft" not in text_of(client.get(url)), url
    make_post("lonely-draft", status=PostStatus.DRAFT, tags=["only-drafts"], published=None)
    assert client.get("/blog/tag/only-drafts").status_code == 404


def test_old_wix_address_redirects_permanently(client, seeded):
    """Does the Wix address of the seed post answer 301 to its new address?"""
    response = client.get(WIX_PATH)
    assert response.status_code == 301
    assert response.headers["Location"] == SEED_URL
    assert client.get(WIX_PATH + "/").status_code == 301
    assert client.get("/post/something-else").status_code == 404


def test_feed_is_valid_atom_of_published_posts(client, seeded, make_post):
    """Is /blog/feed.xml well-formed Atom listing published posts with absolute links?"""
    make_post("draft-in-feed", status=PostStatus.DRAFT, published=None)
    response = client.get("/blog/feed.xml")
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.find(f"{ATOM}title").text.startswith("Psychedelics and Neuroplasticity")
    assert entry.find(f"{ATOM}link").get("href") == f"http://localhost{SEED_URL}"
    assert entry.find(f"{ATOM}updated").text.startswith("2025-04-15")
    content = entry.find(f"{ATOM}content").text
    assert content.startswith("<p>We are living") and "Disclaimer: This article" in content


def test_pages_answer_conditional_requests(client, seeded):
    """Do post and list pages send an ETag and answer 304 when the reader already has them?"""
    for url in (SEED_URL, "/blog/", "/"):
        first = client.get(url)
        etag = first.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.data == b""
    post = client.get(SEED_URL)
    assert post.headers["Last-Modified"]
    assert client.get(SEED_URL, headers={"If-Modified-Since": post.headers["Last-Modified"]}).status_code == 304
