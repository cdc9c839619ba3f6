"""Layout for shaky hands and slow connections: no layout shift while fonts load, error links that show the
whole field, Tab from consent to Send, 44 px stand-alone links, and an admin without the public footer."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser_support import ARTIFACTS, PUBLIC_PAGES, focused, press_tab
from tests.factories import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.browser

# Static URLs carry ?v=<hash>, so a glob ending in .woff2 would match none of them.
FONT_URL = re.compile(r"\.woff2(\?|$)")
FONT_DELAY_SECONDS = 0.45

# The browser's own layout-shift entries (what Lighthouse reports as CLS), read once shifts have settled.
LAYOUT_SHIFT = """() => new Promise(resolve => {
    let total = 0;
    new PerformanceObserver(list => {
        for (const entry of list.getEntries()) { if (!entry.hadRecentInput) { total += entry.value; } }
    }).observe({type: "layout-shift", buffered: true});
    setTimeout(() => resolve(total), 250);
})"""
FONTS_SETTLED = """() => document.fonts.ready.then(() => new Promise(
    resolve => requestAnimationFrame(() => requestAnimationFrame(resolve))))"""

IN_VIEWPORT = """selectors => selectors.map(selector => {
    const box = document.querySelector(selector).getBoundingClientRect();
    return {selector, top: box.top, bottom: box.bottom, inside: box.top >= 0 && box.bottom <= window.innerHeight};
})"""

STAND_ALONE_LINKS = """() => Array.from(document.querySelectorAll('a[href]'))
    .filter(a => a.parentElement.textContent.trim() === a.textContent.trim() && a.getClientRects().length)
    .map(a => { const box = a.getBoundingClientRect();
                return {text: a.textContent.trim(), height: box.height,
                        left: box.left, right: box.right, top: box.top + scrollY, bottom: box.bottom + scrollY}; })"""


def slow_fonts(page) -> None:
    """Hold every font request back for a moment, as on a slow phone connection."""

    def delay(route):
        time.sleep(FONT_DELAY_SECONDS)  # only the font requests are routed, so only they wait
        route.continue_()

    page.route(FONT_URL, delay)  # routing also turns the HTTP cache off: every page fetches its fonts afresh


def rendered_fonts(page, selector: str) -> list[str]:
    """The fonts the browser really drew the first element matching selector with (Chrome DevTools Protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return [font["familyName"] for font in fonts]


def cumulative_layout_shift(page, path: str) -> float:
    """Load the page and add up its layout shifts (those not caused by input) once its fonts have settled."""
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.evaluate(FONTS_SETTLED)
    return page.evaluate(LAYOUT_SHIFT)


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("name", list(PUBLIC_PAGES))
def test_page_does_not_shift_while_fonts_load(page, name, width):
    """Is the cumulative layout shift at most 0.02 while the page loads with slow fonts?"""
    page.set_viewport_size({"width": width, "height": 640 if width == 375 else 900})
    slow_fonts(page)
    shift = cumulative_layout_shift(page, PUBLIC_PAGES[name])
    assert shift <= 0.02, f"{name} at {width} px: CLS {shift:.3f}"
    # The late font is never swapped in: the page keeps the size-matched local fallback (Liberation Sans here).
    assert rendered_fonts(page, "h1") != ["Atkinson Hyperlegible"]


@pytest.mark.parametrize("name", list(PUBLIC_PAGES))
def test_page_does_not_shift_with_fonts_in_the_cache(page, name):
    """On a later visit, with the fonts cached and used, is the layout shift at most 0.02 on a phone?"""
    page.set_viewport_size({"width": 375, "height": 640})
    page.goto(PUBLIC_PAGES[name])
    page.wait_for_load_state("networkidle")
    shift = cumulative_layout_shift(page, PUBLIC_PAGES[name])
    assert rendered_fonts(page, "h1") == ["Atkinson Hyperlegible"]
    assert shift <= 0.02, f"{name}: CLS {shift:.3f}"


def test_each_font_is_fetched_once(page):
    """Is each font file requested once, so a preload is the very request the stylesheet uses?"""
    page.goto(PUBLIC_PAGES["post"])
    page.wait_for_load_state("networkidle")
    fonts = [url for url in page.requests_made if FONT_URL.search(url)]
    assert fonts
    assert len(fonts) == len(set(fonts))


def contact_form_with_errors(page) -> None:
    """Open the contact form on a small phone (375 × 640) and send it empty, so every field has an error."""
    page.set_viewport_size({"width": 375, "height": 640})
    page.goto("/contact")
    page.get_by_role("button", name="Send my message").click()
    page.wait_for_selector("#error-summary")


@pytest.mark.parametrize(("field_id", "label"), [("message", "label[for=message]"),
                                                  ("consent", "label[for=consent]")])
def test_error_summary_link_shows_label_field_and_message(page, field_id, label):
    """A11Y-05: does following an error summary link bring the field, its label and its message into view?"""
    contact_form_with_errors(page)
    page.locator(f"#error-summary a[href='#{field_id}']").click()
    assert focused(page)["id"] == field_id
    page.wait_for_timeout(100)  # let any scrolling finish
    boxes = page.evaluate(IN_VIEWPORT, [label, f"#{field_id}", f"#{field_id}-error"])
    # The viewport the reader sees (a full-page screenshot would resize it and lose the scroll position).
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"contact-error-link-{field_id}-375.png"))
    assert [box for box in boxes if not box["inside"]] == []


@pytest.mark.parametrize(("field_id", "label"), [("message", "label[for=message]"),
                                                  ("consent", "label[for=consent]")])
def test_error_link_without_javascript_still_shows_label_and_message(browser, live_server, field_id, label):
    """A11Y-05: with JavaScript off, does the link's jump still leave the label and message in view?"""
    context = browser.new_context(java_script_enabled=False, base_url=live_server)
    page = context.new_page()
    contact_form_with_errors(page)
    page.locator(f"#error-summary a[href='#{field_id}']").click()
    page.wait_for_timeout(100)
    boxes = page.evaluate(IN_VIEWPORT, [label, f"#{field_id}", f"#{field_id}-error"])
    context.close()
    assert [box for box in boxes if not box["inside"]] == []


def test_tab_from_consent_goes_to_send(page):
    """A11Y-02: is Send the next stop after the consent box, with the privacy link before it?"""
    page.goto("/contact")
    page.locator("#consent").focus()
    assert press_tab(page)["text"] == "Send my message"
    assert press_tab(page, "Shift+Tab")["id"] == "consent"
    assert press_tab(page, "Shift+Tab")["href"] == "/privacy"


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("path", [*PUBLIC_PAGES.values(), "/admin/login"])
def test_stand_alone_links_are_at_least_44_px_tall(page, path, width):
    """A11Y-04: is every link that stands alone in its block (not inside a sentence) at least 44 CSS px tall?"""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(path)
    links = page.evaluate(STAND_ALONE_LINKS)
    assert links, path
    assert [link for link in links if link["height"] < 44] == []
    assert too_close(links) == []


def too_close(links: list[dict]) -> list[tuple[str, str]]:
    """Pairs of links less than 8 px apart (across or down, whichever gap is larger)."""
    pairs = []
    for index, one in enumerate(links):
        for other in links[index + 1:]:
            across = max(other["left"] - one["right"], one["left"] - other["right"])
            down = max(other["top"] - one["bottom"], one["top"] - other["bottom"])
            if max(across, down) < 8:
                pairs.append((one["text"], other["text"]))
    return pairs


@pytest.mark.parametrize("path", ["/contact", "/admin/login"])
def test_error_summary_links_are_big_and_apart(page, path):
    """A11Y-04: are the error summary's links at least 44 px tall and 8 px apart, on a phone?"""
    page.set_viewport_size({"width": 375, "height": 640})
    page.goto(path)
    page.locator("main button[type=submit]").last.click()
    page.wait_for_selector("#error-summary")
    summary = page.locator("#error-summary").inner_text()
    links = [link for link in page.evaluate(STAND_ALONE_LINKS) if link["text"] in summary]
    assert len(links) >= 2
    assert [link for link in links if link["height"] < 44] == []
    assert too_close(links) == []


def test_sign_in_and_admin_pages_have_no_public_footer(page):
    """Do the sign-in page and the admin leave out the public footer with its call to action and disclaimer?"""
    page.goto("/admin/login")
    pages = {"sign-in": page.content()}
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/inquiries")
    for path in ("/admin/inquiries", "/admin/posts", "/admin/account"):
        page.goto(path)
        pages[path] = page.content()
    assert [name for name, html in pages.items() if "site-footer" in html or "does not diagnose" in html] == []
