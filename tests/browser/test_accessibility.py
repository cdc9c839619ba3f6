"""A11Y-09, A11Y-10, PRIV-03: every page passes axe at phone and desktop widths, reflows at 320 px,
and asks nothing of third parties."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser_support import AXE_OPTIONS, PUBLIC_PAGES, assert_axe_clean

pytestmark = pytest.mark.browser

@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("name", list(PUBLIC_PAGES))
def test_page_has_no_axe_violations(page, name, width):
    """A11Y-09: does axe (WCAG 2.2 A/AA, target-size on) find 0 violations on this page at this width?"""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(PUBLIC_PAGES[name])
    assert_axe_clean(page, f"{name}-{width}")


@pytest.mark.parametrize("name", list(PUBLIC_PAGES))
def test_page_reflows_at_320_px_without_sideways_scrolling(page, name):
    """A11Y-10: at 320 CSS px (400% zoom) does the page fit without horizontal scrolling?"""
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(PUBLIC_PAGES[name])
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0


@pytest.mark.parametrize("name", list(PUBLIC_PAGES))
def test_page_makes_no_third_party_requests(page, live_server, name):
    """PRIV-03: does the page load everything (fonts, styles, images) from this site only?"""
    page.goto(PUBLIC_PAGES[name])
    page.wait_for_load_state("networkidle")
    assert page.requests_made
    assert [url for url in page.requests_made if not url.startswith(live_server)] == []


def test_controls_are_at_least_44_px(page):
    """A11Y-04: are nav links, buttons, tags and share links at least 44×44 CSS px?"""
    page.goto("/blog/psychedelics-and-neuroplasticity")
    sizes = page.evaluate("""() => Array.from(document.querySelectorAll(
        'nav a, button, .button, .tag, .share-list a, .footer-links a, .skip-link'))
        .filter(el => el.offsetParent !== null || el.classList.contains('skip-link'))
        .map(el => ({text: el.innerText.trim(), w: el.getBoundingClientRect().width,
                     h: el.getBoundingClientRect().height}))""")
    assert len(sizes) >= 10
    small = [s for s in sizes if s["h"] < 44 or s["w"] < 44]
    assert small == []


def test_reduced_motion_is_respected(browser, live_server):
    """A11Y-08: with prefers-reduced-motion, are transitions and animations switched off?"""
    context = browser.new_context(reduced_motion="reduce", base_url=live_server)
    page = context.new_page()
    page.goto("/")
    duration = page.evaluate("getComputedStyle(document.querySelector('.button')).transitionDuration")
    context.close()
    assert duration in ("0s", "")


def test_post_prints_without_navigation_but_with_disclaimer(page):
    """Does a post print without navigation and share links but with its disclaimer?"""
    page.goto("/blog/psychedelics-and-neuroplasticity")
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".share-list").is_visible()
    assert page.locator(".disclaimer").is_visible()


def test_axe_check_catches_known_violations(page):
    """Does this axe setup really fail a page with a missing alt text and a 20 px button?"""
    page.set_content('<html lang="en"><title>t</title><main><img src="data:,">'
                     '<button style="width:20px;height:20px;padding:0">x</button>'
                     '<button style="width:20px;height:20px;padding:0">y</button></main></html>')
    rules = {v["id"] for v in Axe().run(page, options=AXE_OPTIONS).response["violations"]}
    assert {"image-alt", "target-size"} <= rules
