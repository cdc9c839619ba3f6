"""The coach in a real browser: a post saved after her session ended comes back after she signs in again."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select

from coaching.blog.models import Post
from coaching.extensions import db
from tests.browser_support import assert_axe_clean
from tests.factories import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.browser

TITLE = "Written slowly, between sessions"
BODY = "Typed over a long while. RESUMED-IN-THE-BROWSER.\n\nA second paragraph."


@contextlib.contextmanager
def idle_limit(app, minutes: int):
    """Set ADMIN_IDLE_MINUTES on the live site for the duration of the block."""
    before = app.config["ADMIN_IDLE_MINUTES"]
    app.config["ADMIN_IDLE_MINUTES"] = minutes
    try:
        yield
    finally:
        app.config["ADMIN_IDLE_MINUTES"] = before


@pytest.mark.parametrize("width", [375, 1280])
def test_post_saved_after_the_session_ended_is_back_after_signing_in(admin_page, live_app, width):
    """Does the editor come back filled after signing in again, with a notice, and then save for real?"""
    page = admin_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin/posts/new")
    title = f"{TITLE} ({width})"
    page.get_by_label("Title").fill(title)
    page.get_by_label("Post text").fill(BODY)
    with idle_limit(live_app, -1):  # any gap counts as too long: the session has run out
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_url("**/admin/login?next=/admin/resume")
    assert "it is kept: sign in again" in page.content()
    assert_axe_clean(page, f"admin-resume-sign-in-{width}")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/resume")
    assert page.get_by_label("Title").input_value() == title
    assert "RESUMED-IN-THE-BROWSER" in page.get_by_label("Post text").input_value()
    assert "Nothing has been saved yet" in page.content()
    assert_axe_clean(page, f"admin-resume-editor-{width}")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/admin/posts/*/edit")
    with live_app.app_context():
        assert db.session.scalar(select(Post).where(Post.title == title)) is not None


@pytest.mark.parametrize("width", [375, 1280])
def test_a_post_from_a_browser_without_a_session_shows_what_was_typed(page, width):
    """With no session at all (a closed browser), is what was typed shown back to copy, passing axe?"""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/")
    with page.expect_navigation():
        page.evaluate("""() => {
            const form = Object.assign(document.createElement("form"), {method: "post", action: "/admin/posts/new"});
            for (const [name, value] of [["title", "A title"], ["body", "NO-SESSION-WORDS\\nline two"]]) {
                form.append(Object.assign(document.createElement("textarea"), {name, value}));
            }
            document.body.append(form);
            form.submit();
        }""")
    assert "You were signed out, so this wasn't saved" in page.content()
    assert "NO-SESSION-WORDS" in page.get_by_label("Body").input_value()
    assert_axe_clean(page, f"admin-signed-out-{width}")
