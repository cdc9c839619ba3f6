"""The coach in a real browser: signing in and out by keyboard, and every admin page passing axe."""

from __future__ import annotations

import pytest

from tests.browser_support import assert_axe_clean, press_tab, save_screenshot, tab_to
from tests.factories import ADMIN_EMAIL, ADMIN_PASSWORD, HOSTILE, picture
from tests.forms import submit_contact

pytestmark = pytest.mark.browser


def test_coach_signs_in_and_out_by_keyboard(page):
    """A11Y-02/07: can the coach sign in and out with the keyboard alone (password paste allowed)?"""
    keyboard_sign_in(page)
    tab_to(page, text="Sign out")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/login")
    assert "You have signed out." in page.content()


@pytest.mark.parametrize("width", [375, 1280])
def test_sign_in_states_have_no_axe_violations(page, width):
    """A11Y-09: are the sign-in page and its error state free of axe violations?"""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin/login")
    assert_axe_clean(page, f"admin-login-{width}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#error-summary")
    assert_axe_clean(page, f"admin-login-errors-{width}")


@pytest.mark.parametrize("width", [375, 1280])
def test_account_pages_have_no_axe_violations(admin_page, width):
    """A11Y-09: are the account page and the two-step set-up page free of axe violations?"""
    page = admin_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin/account")
    assert_axe_clean(page, f"admin-account-{width}")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.wait_for_url("**/admin/account/two-factor")
    assert_axe_clean(page, f"admin-two-factor-{width}")


def submit_with_enter(page) -> None:
    """Press Enter on the focused button and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def keyboard_sign_in(page) -> None:
    """Sign in from the sign-in page with the keyboard alone: email, password, then the Sign in button."""
    page.goto("/admin/login")
    tab_to(page, element_id="email")
    page.keyboard.type(ADMIN_EMAIL)
    assert press_tab(page)["id"] == "password"
    page.keyboard.insert_text(ADMIN_PASSWORD)  # as a password manager's paste would
    assert press_tab(page)["text"] == "Sign in"
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/inquiries")


def test_coach_works_through_a_morning_by_keyboard(page, live_app, live_mailbox, tmp_path):
    """A11Y-02: by keyboard alone, can the coach sign in, note, reply, archive, export, publish and sign out?"""
    from coaching.mail.outbox import deliver_pending

    visitor = live_app.test_client()
    submit_contact(visitor, {"name": "Morning Visitor", "email": "morning.visitor@example.org",
                             "message": "Could we talk about the Roadmap?", "consent": "y"})
    keyboard_sign_in(page)

    tab_to(page, text="Morning Visitor")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/inquiries/*")
    tab_to(page, element_id="note")
    page.keyboard.type("Called back on Tuesday; prefers mornings.")
    tab_to(page, text="Add note")
    submit_with_enter(page)
    assert "Called back on Tuesday; prefers mornings." in page.content()

    tab_to(page, element_id="body")
    page.keyboard.type("Thank you for writing. Mornings suit me too.")
    tab_to(page, text="Send reply")
    submit_with_enter(page)
    with live_app.app_context():
        deliver_pending()
    replies = [mail.message for mail in live_mailbox.received
               if mail.rcpt_tos == ["morning.visitor@example.org"] and "Mornings suit me too" in mail.content.decode()]
    assert len(replies) == 1
    assert live_app.config["COACH_EMAIL"] in replies[0]["Reply-To"]

    tab_to(page, text="Archive")
    submit_with_enter(page)
    assert "Archived" in page.content()
    save_screenshot(page, "admin-inquiry-after-flow")

    tab_to(page, href="/admin/inquiries")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/inquiries")
    tab_to(page, text="Download this list as a spreadsheet (CSV)")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    csv_path = tmp_path / "inquiries.csv"
    download.value.save_as(csv_path)
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")

    tab_to(page, href="/admin/posts")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/posts")
    tab_to(page, text="Write a new post")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/posts/new")
    tab_to(page, element_id="title")
    page.keyboard.type("Small steps each morning")
    tab_to(page, element_id="body")
    page.keyboard.type("Start with one slow breath.")
    image = tmp_path / "dot.png"
    image.write_bytes(picture("png"))
    tab_to(page, element_id="cover_file")
    # The file itself is picked in the browser's own dialog, which no page can script; Playwright's file
    # chooser event for the Space press proved flaky in headless Chromium, so the file is set on the
    # control that the keyboard reached.
    page.locator("#cover_file").set_input_files(str(image))
    tab_to(page, element_id="cover_alt")
    page.keyboard.type("A single calm dot")
    tab_to(page, text="Save draft")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/posts/*/edit")
    tab_to(page, text="Publish")
    submit_with_enter(page)

    public = live_app.test_client().get("/blog/small-steps-each-morning")
    assert public.status_code == 200
    assert 'alt="A single calm dot"' in public.get_data(as_text=True)

    tab_to(page, text="Sign out")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/login")


@pytest.mark.parametrize("width", [375, 1280])
def test_inbox_and_editor_have_no_axe_violations(admin_page, live_app, width):
    """A11Y-09: are the inbox list, an inquiry, the posts list and the editor (with errors) axe-clean?"""
    submit_contact(live_app.test_client(), {"name": "Axe Visitor", "email": "axe@example.org",
                                            "message": "Hello", "consent": "y"})
    page = admin_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin/inquiries")
    assert_axe_clean(page, f"admin-inquiries-{width}")
    page.get_by_label("Search names, email addresses and messages").fill("axe visitor")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=matching “axe visitor”")
    assert "axe" not in page.url.lower()  # PRIV-03: the search never reaches the address bar
    assert_axe_clean(page, f"admin-inquiries-searched-{width}")
    page.get_by_role("button", name="Clear the search").click()
    page.wait_for_selector("text=All but spam", state="attached")
    assert page.get_by_role("button", name="Clear the search").count() == 0
    page.get_by_role("link", name="Axe Visitor").first.click()
    page.wait_for_url("**/admin/inquiries/*")
    assert_axe_clean(page, f"admin-inquiry-{width}")
    page.get_by_role("link", name="Erase this inquiry").click()
    page.wait_for_url("**/confirm-erase")
    assert_axe_clean(page, f"admin-erase-confirm-{width}")
    page.goto("/admin/inquiries/erase-by-address")
    assert_axe_clean(page, f"admin-erase-address-{width}")
    page.goto("/admin/posts/import")
    assert_axe_clean(page, f"admin-posts-import-{width}")
    page.goto("/admin/posts")
    assert_axe_clean(page, f"admin-posts-{width}")
    page.goto("/admin/posts/new")
    assert_axe_clean(page, f"admin-editor-{width}")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_selector("#error-summary")
    assert_axe_clean(page, f"admin-editor-errors-{width}")


def add_a_page_of_old_inquiries(live_app) -> None:
    """Make sure the live inbox has more than a page: 30 archived inquiries from last year, added once."""
    from datetime import timedelta

    from coaching.database import utcnow
    from coaching.extensions import db
    from coaching.inquiries.models import Inquiry, InquiryStatus
    from tests.factories import add_inquiry

    with live_app.app_context():
        if db.session.query(Inquiry).filter(Inquiry.name.startswith("Paging person")).count():
            return
    for number in range(30):
        add_inquiry(live_app, name=f"Paging person {number:02d}", status=InquiryStatus.ARCHIVED,
                    created_at=utcnow() - timedelta(days=400, minutes=number))


@pytest.mark.parametrize("width", [375, 1280])
def test_the_inbox_pages_walk_by_keyboard_with_large_links_and_no_axe_violations(admin_page, live_app, width):
    """A11Y-02/04/09: can the coach go Older, Newer and back to Newest by keyboard, each link at least 44 × 44 px,
    every page axe-clean?"""
    add_a_page_of_old_inquiries(live_app)
    page = admin_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin/inquiries")
    while True:  # to the last page
        tab_to(page, text="Older", limit=200)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "cursor=" in page.url
        if page.get_by_role("link", name="Older").count() == 0:
            break
    assert "Paging person 29" in page.inner_text("main")
    assert_axe_clean(page, f"admin-inquiries-last-page-{width}")
    for name in ("Newest", "Newer"):
        box = page.get_by_role("link", name=name, exact=True).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, (name, box)
    tab_to(page, text="Newer", limit=200)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("link", name="Older").count() == 1
    if page.get_by_role("link", name="Newest").count():  # not yet the first page: go straight there
        tab_to(page, text="Newest", limit=200)
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.get_by_role("link", name="Newer").count() == 0 and page.get_by_role("link", name="Newest").count() == 0


def test_hostile_text_is_inert_everywhere_a_browser_shows_it(admin_page, live_app):
    """SEC-05: does hostile text in every inquiry field and in a post raise no dialog in the admin or on the site?"""
    from coaching.blog.models import Post, PostStatus
    from coaching.blog.rendering import set_body
    from coaching.database import utcnow
    from coaching.extensions import db

    hostile = " ".join(HOSTILE)
    submit_contact(live_app.test_client(), {
        "name": "Hostile " + hostile[:150], "email": "hostile@example.org", "phone": "",
        "message": hostile + " [x](javascript:alert(1))", "consent": "y"})
    with live_app.app_context():
        post = Post(slug="hostile-post", title="Hostile " + hostile, author="Hope for Dystonia",
                    status=PostStatus.PUBLISHED, published_at=utcnow(), updated_at=utcnow())
        db.session.add(post)
        set_body(post, hostile + "\n\n[click](javascript:alert(1))\n\n<svg onload=alert(1)>")
        db.session.commit()
        post_id = post.id
    dialogs = []
    page = admin_page
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/admin/inquiries")
    page.get_by_role("link", name="Hostile").first.click()
    page.wait_for_url("**/admin/inquiries/*")
    assert "<script>alert(1)</script>" in page.inner_text("main")
    for url in ("/admin/posts", f"/admin/posts/{post_id}/edit", "/blog/hostile-post", "/blog/", "/"):
        page.goto(url)
        assert page.locator("main a[href^='javascript']").count() == 0, url
    assert dialogs == []
    page.evaluate("() => alert('control')")  # the listener does see a real dialog
    assert dialogs == ["control"]
