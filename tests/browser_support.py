"""Helpers for the Playwright browser tests: keyboard focus, screenshots, axe checks and the live server."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Every public page and state a reader reaches without signing in: for axe, layout-shift and target-size checks.
PUBLIC_PAGES = {
    "home": "/",
    "blog": "/blog/",
    "post": "/blog/psychedelics-and-neuroplasticity",
    "tag": "/blog/tag/research",
    "search-results": "/blog/search?q=neuroplasticity",
    "search-empty": "/blog/search?q=zebra",
    "search-start": "/blog/search",
    "roadmap": "/roadmap",
    "contact": "/contact",
    "contact-thanks": "/contact/thanks",
    "privacy": "/privacy",
    "not-found": "/no-such-page",
}


class ClosedBeforeSending:
    """WSGI wrapper for the live server: reads and closes each response body before Werkzeug sends it."""

    # Werkzeug's dev server skips close() on the body when the browser drops the connection
    # mid-response (serving.py, the finally block of execute), so a static file stays open until
    # garbage collection and its ResourceWarning fails a random later test.

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        body = self.app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()


def save_screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/ for a person to look at."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                          "best-practice"]},
    "rules": {"target-size": {"enabled": True}},
    "resultTypes": ["violations"],
}
WCAG_TAGS = {"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}


def failing_violations(violations: list[dict]) -> list[dict]:
    """Every WCAG violation, plus best-practice ones rated serious or critical."""
    return [v for v in violations
            if WCAG_TAGS & set(v["tags"]) or v["rule"] == "target-size"
            or v.get("impact") in {"serious", "critical"}]


def summarise(results) -> list[dict]:
    """The violations of an axe run, cut down to what a failure message needs."""
    return [{"rule": v["id"], "impact": v["impact"], "tags": v["tags"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results.response["violations"]]


def assert_axe_clean(page, name: str) -> None:
    """Screenshot the page (test-artifacts/screenshots/<name>.png) and check axe finds no failing violation."""
    from axe_playwright_python.sync_playwright import Axe

    save_screenshot(page, name)
    assert failing_violations(summarise(Axe().run(page, options=AXE_OPTIONS))) == [], name


def focused(page) -> dict:
    """What has keyboard focus: its tag, text, href and focus outline."""
    return page.evaluate("""() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return {tag: el.tagName, text: (el.innerText || '').trim(), href: el.getAttribute('href'),
                id: el.id, outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth)};
    }""")


def press_tab(page, key: str = "Tab") -> dict:
    """Press Tab (or Shift+Tab) and check the newly focused control shows a visible focus ring."""
    page.keyboard.press(key)
    state = focused(page)
    if state["tag"] != "BODY":  # past the last control, focus rests on the page before wrapping round
        assert state["outlineStyle"] != "none" and state["outlineWidth"] >= 2, state
    return state


def tab_to(page, href: str | None = None, element_id: str | None = None, text: str | None = None,
           limit: int = 80) -> dict:
    """Press Tab until the link to href (or the element with this id or text) has focus, ring visible."""
    for _ in range(limit):
        state = press_tab(page)
        if ((href is not None and state["href"] == href) or (element_id is not None and state["id"] == element_id)
                or (text is not None and state["text"] == text)):
            return state
    raise AssertionError(f"Tab never reached {href or element_id or text}")


def submit_contact_in_browser(page, click: str = "click") -> None:
    """Fill the contact form's required fields that are empty, tick consent, and press Send."""
    for label, value in (("Your name", "Pat"), ("Your email address", "pat@example.org"),
                         ("Your message", "Hello from a shaky hand.")):
        field = page.get_by_label(label)
        if not field.input_value():
            field.fill(value)
    page.get_by_label("I agree that Hope for Dystonia may store my message").check()
    getattr(page.get_by_role("button", name="Send my message"), click)()
