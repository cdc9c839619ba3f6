"""A reader in a real browser: home, blog, a post, a tag and back, by mouse and by keyboard alone."""

from __future__ import annotations

import pytest

from tests.browser_support import focused, tab_to

pytestmark = pytest.mark.browser

POST_PATH = "/blog/psychedelics-and-neuroplasticity"


def test_reader_goes_home_blog_post_tag_and_back_by_mouse(page):
    """Can a reader click from home to the blog, into the seed post, onto a tag, and back?"""
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Blog").click()
    page.wait_for_url("**/blog/")
    page.get_by_role("link", name="Psychedelics and Neuroplasticity: A Glimpse Into Future Possibilities").click()
    page.wait_for_url(f"**{POST_PATH}")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Psychedelics and Neuroplasticity")
    assert page.get_by_role("img").first.get_attribute("alt")
    page.get_by_role("list", name="Tags").get_by_role("link", name="research").click()
    page.wait_for_url("**/blog/tag/research")
    assert "Posts tagged" in page.get_by_role("heading", level=1).inner_text()
    page.go_back()
    page.wait_for_url(f"**{POST_PATH}")


def test_reader_goes_home_blog_post_tag_and_back_by_keyboard(page):
    """A11Y-02: with Tab and Enter alone, does the same journey work, skip link first, then back?"""
    page.goto("/")
    page.keyboard.press("Tab")
    first = focused(page)
    assert first["text"] == "Skip to main content"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"
    page.goto("/")
    tab_to(page, "/blog/")
    page.keyboard.press("Enter")
    page.wait_for_url("**/blog/")
    tab_to(page, POST_PATH)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{POST_PATH}")
    tab_to(page, "/blog/tag/research")
    page.keyboard.press("Enter")
    page.wait_for_url("**/blog/tag/research")
    # The browser's own Back (Alt+Left), which headless Chromium does not bind to keys.
    page.go_back()
    page.wait_for_url(f"**{POST_PATH}")
    tab_to(page, "/blog/")


def test_search_works_by_keyboard(page):
    """Can a reader type a search and press Enter to see matching posts?"""
    page.goto("/blog/")
    page.get_by_label("Search the blog").fill("neuroplasticity")
    page.keyboard.press("Enter")
    page.wait_for_url("**/blog/search?q=neuroplasticity")
    assert page.get_by_role("status").inner_text() == "1 post found."


def test_post_lines_stay_near_70_characters(page):
    """Are the post's lines of text at most about 70 characters long at desktop width?"""
    page.goto(POST_PATH)
    longest = page.evaluate("""() => {
        const paragraph = document.querySelector('.post-body p');
        const text = paragraph.firstChild;
        const range = document.createRange();
        const lines = new Map();
        for (let i = 0; i < text.length; i++) {
            range.setStart(text, i); range.setEnd(text, i + 1);
            const top = Math.round(range.getBoundingClientRect().top);
            lines.set(top, (lines.get(top) || 0) + 1);
        }
        return Math.max(...lines.values());
    }""")
    assert 45 <= longest <= 75, longest


def test_reading_works_without_javascript(browser, live_server):
    """Do home, blog, post, tag and search all work with JavaScript switched off?"""
    context = browser.new_context(java_script_enabled=False, base_url=live_server)
    page = context.new_page()
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Blog").click()
    page.get_by_role("link", name="Psychedelics and Neuroplasticity: A Glimpse Into Future Possibilities").click()
    page.get_by_role("list", name="Tags").get_by_role("link", name="neuroplasticity").click()
    page.wait_for_url("**/blog/tag/neuroplasticity")
    page.goto("/blog/")
    page.get_by_label("Search the blog").fill("renaissance")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/blog/search?q=renaissance")
    assert "1 post found." in page.content()
    context.close()
