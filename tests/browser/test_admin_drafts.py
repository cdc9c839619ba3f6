"""Drafts that save themselves, in a real browser: the post editor, a reply and a note (static/js/drafts.js)."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from coaching.blog.models import Post, PostStatus
from coaching.blog.rendering import set_body
from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries.models import InquiryStatus
from coaching.mail.models import EmailKind, OutboxMessage
from tests.browser_support import assert_axe_clean
from tests.factories import ADMIN_EMAIL, ADMIN_PASSWORD, add_inquiry

pytestmark = pytest.mark.browser

RESTORED = "were restored from this browser"


def add_post(app, title: str, body: str = "The saved words.") -> int:
    """A draft post stored straight in the live site's database: its id."""
    with app.app_context():
        post = Post(slug=f"draft-test-{uuid.uuid4().hex[:10]}", title=title, author="Hope for Dystonia",
                    status=PostStatus.DRAFT, updated_at=utcnow())
        db.session.add(post)
        set_body(post, body)
        db.session.commit()
        return post.id


def stored_draft(page, key: str):
    """The draft this browser keeps for a form (None if there is none)."""
    return page.evaluate("key => JSON.parse(localStorage.getItem('hfd-draft:' + key))", key)


def wait_for_draft(page, key: str, text: str) -> None:
    """Wait until the browser's draft for this form holds the text (it is saved after typing pauses)."""
    page.wait_for_function("([key, text]) => (localStorage.getItem('hfd-draft:' + key) || '').includes(text)",
                           arg=[key, text])


def replies_to(app, inquiry_id: int) -> int:
    """How many replies to this inquiry are in the outbox."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.inquiry_id == inquiry_id, OutboxMessage.kind == EmailKind.ADMIN_REPLY))


def accept_leaving(page) -> list[str]:
    """Accept every "leave this page?" question, recording each dialog's type."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    return dialogs


def test_a_new_post_survives_a_reload_and_a_closed_tab_and_is_forgotten_once_saved(admin_page):
    """Is a post being written kept through a reload and a closed-and-reopened tab, then cleared after saving?"""
    page = admin_page
    accept_leaving(page)
    title = f"Kept through a crash {uuid.uuid4().hex[:6]}"
    page.goto("/admin/posts/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Post text").click()
    page.keyboard.type("Typed slowly, one word at a time.")
    wait_for_draft(page, "post-new", "one word at a time")
    kept = set(stored_draft(page, "post-new")["fields"])
    assert {"title", "body", "cover_alt"} <= kept
    assert not kept & {"csrf_token", "cover_upload", "cover_file", "action"}  # no token, hidden or file field

    page.reload()
    assert page.get_by_label("Title").input_value() == title
    assert page.get_by_label("Post text").input_value() == "Typed slowly, one word at a time."
    assert RESTORED in page.get_by_role("status").filter(has_text=RESTORED).inner_text()

    context = page.context
    page.close()
    reopened = context.new_page()
    accept_leaving(reopened)
    reopened.goto("/admin/posts/new")
    assert reopened.get_by_label("Title").input_value() == title
    assert reopened.get_by_label("Post text").input_value() == "Typed slowly, one word at a time."

    reopened.get_by_role("button", name="Save draft").click()
    reopened.wait_for_url("**/admin/posts/*/edit")
    assert stored_draft(reopened, "post-new") is None
    assert reopened.get_by_label("Title").input_value() == title
    assert reopened.get_by_text(RESTORED).count() == 0
    reopened.goto("/admin/posts/new")
    assert reopened.get_by_label("Title").input_value() == ""


def test_a_reply_survives_a_failed_send_and_a_reload_and_is_gone_once_sent(admin_page, live_app):
    """A11Y-06: is a reply kept when sending fails (no subject) and after a reload, and forgotten once sent?"""
    inquiry_id = add_inquiry(live_app, name="Draft Reader", status=InquiryStatus.READ)
    key, words = f"reply-{inquiry_id}", "Mornings suit me best; shall we talk on Tuesday?"
    page = admin_page
    page.goto(f"/admin/inquiries/{inquiry_id}")
    page.get_by_label("Subject").fill("")
    page.get_by_label("Your reply").fill(words)
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_selector("#error-summary")
    assert page.title().startswith("Error: ")
    assert page.get_by_label("Your reply").input_value() == words
    wait_for_draft(page, key, words)
    assert stored_draft(page, key)["fields"]["subject"] == ""  # the server's values win, and become the draft

    page.goto(f"/admin/inquiries/{inquiry_id}")
    assert page.get_by_label("Your reply").input_value() == words
    notice = page.locator(f"#draft-notice-{key}")
    assert RESTORED in notice.inner_text() and notice.get_attribute("role") == "status"

    page.get_by_label("Subject").fill("About mornings")
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_url(f"**/admin/inquiries/{inquiry_id}#reply")
    assert stored_draft(page, key) is None
    assert page.get_by_label("Your reply").input_value() == ""
    assert "Your reply is on its way." in page.locator("#reply [role=status]").first.inner_text()
    page.reload()
    assert page.get_by_text(RESTORED).count() == 0


def test_a_reply_survives_a_lost_connection_and_an_ended_session(admin_page, live_app):
    """A11Y-06: is a reply kept when the request never arrives, and when her session had ended before Send?"""
    inquiry_id = add_inquiry(live_app, name="Patchy Signal", status=InquiryStatus.READ)
    key, words = f"reply-{inquiry_id}", "Written on a train with patchy signal."
    page = admin_page
    page.goto(f"/admin/inquiries/{inquiry_id}")
    page.get_by_label("Your reply").fill(words)
    page.route("**/reply", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_load_state()
    page.unroute("**/reply")
    assert replies_to(live_app, inquiry_id) == 0
    page.goto(f"/admin/inquiries/{inquiry_id}")
    assert page.get_by_label("Your reply").input_value() == words
    assert RESTORED in page.locator(f"#draft-notice-{key}").inner_text()

    page.context.clear_cookies()  # the session ends while the page is open
    with page.expect_navigation():
        page.get_by_role("button", name="Send reply").click()  # refused, whichever page says so
    assert replies_to(live_app, inquiry_id) == 0
    page.goto("/admin/login")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/inquiries")
    page.goto(f"/admin/inquiries/{inquiry_id}")
    assert page.get_by_label("Your reply").input_value() == words
    assert stored_draft(page, key)["fields"]["body"] == words


def test_a_note_is_kept_until_it_is_added(admin_page, live_app):
    """Is a half-written note kept through a reload, and forgotten once it is on the timeline?"""
    inquiry_id = add_inquiry(live_app, name="Note Reader", status=InquiryStatus.READ)
    page = admin_page
    page.goto(f"/admin/inquiries/{inquiry_id}")
    page.get_by_label("Add a private note").fill("Prefers a call after lunch.")
    wait_for_draft(page, f"note-{inquiry_id}", "after lunch")
    page.reload()
    assert page.get_by_label("Add a private note").input_value() == "Prefers a call after lunch."
    page.get_by_role("button", name="Add note").click()
    page.wait_for_url(f"**/admin/inquiries/{inquiry_id}#timeline")
    assert stored_draft(page, f"note-{inquiry_id}") is None
    assert "Your note has been added" in page.locator("#timeline [role=status]").first.inner_text()


def test_discarding_a_restored_draft_puts_back_the_saved_post(admin_page, live_app):
    """Does "Discard these changes" put back the saved values, forget the draft, and say so?"""
    post_id = add_post(live_app, "The saved title")
    key = f"post-{post_id}"
    page = admin_page
    accept_leaving(page)
    page.goto(f"/admin/posts/{post_id}/edit")
    page.get_by_label("Title").fill("An unsaved title")
    wait_for_draft(page, key, "An unsaved title")
    page.goto(f"/admin/posts/{post_id}/edit")
    assert page.get_by_label("Title").input_value() == "An unsaved title"
    discard = page.get_by_role("button", name="Discard these changes")
    box = discard.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    discard.click()
    assert page.get_by_label("Title").input_value() == "The saved title"
    assert page.get_by_label("Post text").input_value() == "The saved words."
    assert stored_draft(page, key) is None
    assert "discarded" in page.locator(f"#draft-notice-{key}").inner_text()
    page.reload()
    assert page.get_by_text(RESTORED).count() == 0 and page.get_by_label("Title").input_value() == "The saved title"


def test_leaving_the_editor_with_unsaved_changes_asks_first_and_not_after_saving(admin_page, live_app):
    """Does leaving the editor with changes ask first (beforeunload), but not when saving, nor after?"""
    post_id = add_post(live_app, "Leave me gently")
    page = admin_page
    dialogs = accept_leaving(page)
    page.goto(f"/admin/posts/{post_id}/edit")
    page.goto("/admin/posts")
    assert dialogs == []  # nothing changed: no question
    page.goto(f"/admin/posts/{post_id}/edit")
    page.get_by_label("Post text").click()
    page.keyboard.press("End")
    page.keyboard.type(" And one more line.")
    page.goto("/admin/posts")
    assert dialogs == ["beforeunload"]

    page.goto(f"/admin/posts/{post_id}/edit")  # the draft is back: unsaved, so saving must not ask
    assert page.get_by_label("Post text").input_value().endswith("And one more line.")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/admin/posts/{post_id}/edit")
    page.wait_for_selector("text=Your draft is saved.")
    page.goto("/admin/posts")
    assert dialogs == ["beforeunload"]


def test_a_double_click_sends_one_reply(admin_page, live_app, monkeypatch):
    """REL-10: do two presses of Send reply, the second while the first is on its way, send one reply?"""
    # The reply is committed, then the answer takes a second: time for a second press to reach a second request.
    # The delay sits where delivery now starts: the commit that stored the reply calls kick_delivery.
    kicks = []

    def slow_kick(app=None):
        kicks.append(app)
        time.sleep(1)

    monkeypatch.setattr("coaching.mail.outbox.kick_delivery", slow_kick)
    inquiry_id = add_inquiry(live_app, name="Double Clicker", status=InquiryStatus.READ)
    page = admin_page
    page.goto(f"/admin/inquiries/{inquiry_id}")
    page.get_by_label("Your reply").fill("Only once, please.")
    box = page.get_by_role("button", name="Send reply").bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.dblclick(*centre)
    page.wait_for_timeout(300)
    page.mouse.click(*centre)
    page.wait_for_url(f"**/admin/inquiries/{inquiry_id}#reply")
    assert replies_to(live_app, inquiry_id) == 1
    assert len(kicks) == 1  # the delay really held the first answer back; the second press stored nothing


@pytest.mark.parametrize("width", [375, 1280])
def test_restored_draft_notices_have_no_axe_violations(admin_page, live_app, width):
    """A11Y-09: are the editor and the inquiry page axe-clean while showing a restored-draft notice?"""
    post_id = add_post(live_app, f"Axe draft {width}")
    inquiry_id = add_inquiry(live_app, name="Axe Draft", status=InquiryStatus.READ)
    page = admin_page
    accept_leaving(page)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/admin/posts/{post_id}/edit")
    page.get_by_label("Title").fill("A title not saved yet")
    wait_for_draft(page, f"post-{post_id}", "not saved yet")
    page.goto(f"/admin/posts/{post_id}/edit")
    page.get_by_role("button", name="Discard these changes").wait_for()
    assert_axe_clean(page, f"admin-editor-restored-draft-{width}")

    page.goto(f"/admin/inquiries/{inquiry_id}")
    page.get_by_label("Your reply").fill("A reply not sent yet.")
    page.get_by_label("Add a private note").fill("A note not added yet.")
    wait_for_draft(page, f"note-{inquiry_id}", "not added yet")
    wait_for_draft(page, f"reply-{inquiry_id}", "not sent yet")
    page.goto(f"/admin/inquiries/{inquiry_id}")
    assert page.get_by_role("button", name="Discard these changes").count() == 2
    assert_axe_clean(page, f"admin-inquiry-restored-drafts-{width}")


def test_a_draft_older_than_30_days_is_dropped(admin_page, live_app):
    """Is a draft kept more than 30 days ago forgotten rather than restored?"""
    post_id = add_post(live_app, "Old news")
    page = admin_page
    page.goto("/admin/posts")
    page.evaluate("""([key, age]) => localStorage.setItem('hfd-draft:' + key, JSON.stringify(
        {savedAt: Date.now() - age, fields: {title: "A title from long ago"}}))""",
                  [f"post-{post_id}", 31 * 24 * 3600 * 1000])
    page.goto(f"/admin/posts/{post_id}/edit")
    assert page.get_by_label("Title").input_value() == "Old news"
    assert stored_draft(page, f"post-{post_id}") is None and page.get_by_text(RESTORED).count() == 0
