"""The coach's inquiry page over HTTP: where she lands after a change, the folds, the nav count, draft signals."""

from __future__ import annotations

import re

import pytest

from coaching.extensions import db
from coaching.inquiries.models import InquiryStatus
from coaching.mail.models import OutboxMessage, OutboxStatus
from tests.apps import statements_run
from tests.factories import add_inquiry
from tests.forms import csrf_token_of, post, sign_in, submit, text_of, write_post


def section(page: str, section_id: str) -> str:
    """The HTML of the <section id=...> of a page, up to its end."""
    start = page.index(f'<section id="{section_id}"')
    return page[start:page.index("</section>", start)]


def top_of(page: str) -> str:
    """The page above the inquiry's content (header, navigation and the flash messages there)."""
    return page[:page.index('<p class="breadcrumb">')]


def saved_drafts(page: str) -> list[str]:
    """The drafts a page tells the browser to forget."""
    return re.findall(r'<meta name="hfd-draft-saved" content="([^"]+)">', page)


@pytest.mark.parametrize(("path", "fields", "section_id", "message"), [
    ("notes", {"note": "Called her back."}, "timeline", "Your note has been added to the timeline."),
    ("reply", {"subject": "Hello", "body": "Thank you for writing."}, "reply", "Your reply is on its way."),
])
def test_after_a_note_or_reply_she_lands_where_she_was_with_the_confirmation_there(
        app, admin_client, token, path, fields, section_id, message):
    """Does adding a note or sending a reply answer 303 to #timeline or #reply, confirming inside that section?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    response = post(admin_client, token, f"/admin/inquiries/{inquiry_id}/{path}", **fields)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/inquiries/{inquiry_id}#{section_id}"
    page = text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))
    landed = section(page, section_id)
    assert re.search(r'<div class="[^"]*section-confirmation[^"]*" role="status"><p[^>]*>' + re.escape(message), landed)
    assert message not in top_of(page)
    assert message not in text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))  # shown once


def test_status_buttons_still_confirm_at_the_top(app, admin_client, token):
    """Does a status button (at the top of the page) still lead to the page itself, confirmed at the top?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    response = post(admin_client, token, f"/admin/inquiries/{inquiry_id}/status/archive")
    assert response.headers["Location"] == f"/admin/inquiries/{inquiry_id}"
    assert "Archived." in top_of(text_of(admin_client.get(response.headers["Location"])))


def test_the_reply_box_comes_right_after_their_message(app, admin_client):
    """Is the reply form the section right after the visitor's message, before consent, emails and timeline?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ, emails=(OutboxStatus.SENT,))
    page = text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))
    order = [page.index(f'id="{heading}-heading"') for heading in ("message", "reply", "consent", "emails", "timeline")]
    assert order == sorted(order)
    between = page[page.index('<div class="inquiry-message">'):page.index('id="reply-heading"')]
    assert between.count("<section") == 1 and "<form" not in between


def test_email_details_fold_behind_their_kind_and_status_with_resend_outside(app, admin_client):
    """Does each email fold To, Subject, Attempts and Last error behind a summary of kind and status in words?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ, emails=(OutboxStatus.FAILED, OutboxStatus.PENDING))
    with app.app_context():
        failed = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)).one()
        failed.last_error = "451 try again later"
        failed.attempts = 10
        db.session.commit()
    emails = section_between(text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}")), "emails-heading")
    folds = re.findall(r'<details class="email-details">\s*<summary>([^<]*)</summary>(.*?)</details>', emails, re.S)
    assert [summary for summary, _ in folds] == ["Notification to you: Failed: not sent",
                                                 "Notification to you: Waiting to be sent"]
    failed_fold = folds[0][1]
    for label in ("To", "Subject", "Attempts", "Last error"):
        assert f"<dt>{label}</dt>" in failed_fold
    assert "451 try again later" in failed_fold and "<dt>Status</dt>" not in failed_fold
    after_fold = emails[emails.index("</details>"):]
    assert "Resend" in after_fold[:after_fold.index("</li>")]  # the button stays in view
    assert "<details open" not in emails and "Resend" not in "".join(fold for _, fold in folds)


def section_between(page: str, heading_id: str) -> str:
    """The HTML of the section labelled by this heading."""
    start = page.index(f'aria-labelledby="{heading_id}"')
    return page[start:page.index("</section>", start)]


def statements_of(app, client, url: str) -> list[str]:
    """The SQL statements one GET of this URL runs, lowered."""
    with statements_run(app) as seen:
        assert client.get(url).status_code == 200
    return [statement.lower() for statement in seen]


def test_the_admin_navigation_says_how_many_new_inquiries_wait(app, admin_client):
    """Does the nav read "Inquiries (3 new)", counting only new ones, from one read of the kept counts a page?"""
    for _ in range(3):
        add_inquiry(app)
    add_inquiry(app, status=InquiryStatus.READ)
    add_inquiry(app, status=InquiryStatus.SPAM)
    page = text_of(admin_client.get("/admin/posts"))
    assert re.search(r'<nav aria-label="Admin">.*?<a href="/admin/inquiries">Inquiries \(3 new\)</a>', page, re.S)
    for url in ("/admin/posts", "/admin/account"):
        statements = statements_of(app, admin_client, url)
        assert len([sql for sql in statements if "inquiry_status_counts" in sql]) == 1
        assert not [sql for sql in statements if "count(" in sql and "inquiries" in sql]


def test_opening_the_last_new_inquiry_leaves_the_plain_nav_link(app, admin_client):
    """Does opening the only new inquiry drop the count from the nav on that very page?"""
    inquiry_id = add_inquiry(app)
    assert "Inquiries (1 new)" in text_of(admin_client.get("/admin/posts"))
    page = text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))
    assert '<a href="/admin/inquiries">Inquiries</a>' in page and "new)" not in page


def test_view_on_the_site_reads_as_three_words(app, admin_client, make_post):
    """Does the posts list's link read "View on the site", its words in one flex item so no space is lost?"""
    make_post("calm-days", title="Calm days")
    page = text_of(admin_client.get("/admin/posts"))
    [link] = re.findall(r'<p class="admin-post-view"><a href="/blog/calm-days">(.*?)</a></p>', page)
    assert link.startswith("<span>") and link.endswith("</span>")  # one child: an inline-flex link keeps its spaces
    assert re.sub(r'<span class="visually-hidden">[^<]*</span>|<[^>]+>', "", link) == "View on the site"
    assert "“Calm days”" in link


# --- What the page tells the browser about its drafts (static/js/drafts.js) ---


def test_each_form_names_its_draft_and_whether_the_server_sent_it_back(app, admin_client, token):
    """Do the reply and note forms carry their draft names, marked as from the server only when sent back?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    fresh = text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))
    assert f'data-draft-key="reply-{inquiry_id}">' in fresh and f'data-draft-key="note-{inquiry_id}">' in fresh
    assert "data-draft-from-server" not in fresh
    assert f'id="draft-notice-reply-{inquiry_id}" role="status"' in fresh
    failed = text_of(post(admin_client, token, f"/admin/inquiries/{inquiry_id}/reply", subject="", body="Kept."))
    assert f'data-draft-key="reply-{inquiry_id}" data-draft-from-server>' in failed
    assert f'data-draft-key="note-{inquiry_id}">' in failed
    assert saved_drafts(failed) == []


@pytest.mark.parametrize(("path", "fields", "key"), [
    ("notes", {"note": "Called her back."}, "note"),
    ("reply", {"subject": "Hello", "body": "Thank you."}, "reply"),
])
def test_the_page_after_a_save_names_the_saved_draft_once(app, admin_client, token, path, fields, key):
    """Does the page after a note or reply tell the browser, once, which draft is saved, and a failure never?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    post(admin_client, token, f"/admin/inquiries/{inquiry_id}/{path}", **dict.fromkeys(fields, ""))
    assert saved_drafts(text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))) == []
    post(admin_client, token, f"/admin/inquiries/{inquiry_id}/{path}", **fields)
    assert saved_drafts(text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))) == [f"{key}-{inquiry_id}"]
    assert saved_drafts(text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))) == []


def test_saving_a_post_names_its_draft_and_a_preview_or_error_does_not(app, admin_client):
    """Is "post-new" or "post-<id>" forgotten after a save, but not after a preview or a failed save?"""
    post_id = write_post(admin_client)
    assert saved_drafts(text_of(admin_client.get(f"/admin/posts/{post_id}/edit"))) == ["post-new"]
    editor = text_of(admin_client.get(f"/admin/posts/{post_id}/edit"))
    assert f'data-draft-key="post-{post_id}" data-draft-warn>' in editor and saved_drafts(editor) == []
    preview = text_of(submit(admin_client, f"/admin/posts/{post_id}/edit", action="preview", body="Changed."))
    assert f'data-draft-key="post-{post_id}" data-draft-from-server data-draft-warn>' in preview
    failed = text_of(submit(admin_client, f"/admin/posts/{post_id}/edit", title=""))
    assert "data-draft-from-server" in failed
    assert saved_drafts(text_of(admin_client.get(f"/admin/posts/{post_id}/edit"))) == []
    assert submit(admin_client, f"/admin/posts/{post_id}/edit", body="Changed.").status_code == 303
    assert saved_drafts(text_of(admin_client.get(f"/admin/posts/{post_id}/edit"))) == [f"post-{post_id}"]


def test_the_admin_scripts_load_from_the_site_only(app, admin_client):
    """Do admin pages load drafts.js and submit-once.js as files (CSP allows no inline script)?"""
    page = text_of(admin_client.get("/admin/posts/new"))
    for name in ("drafts", "submit-once"):
        assert re.search(rf'<script src="/static/js/{name}\.js\?v=\w+" defer></script>', page)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)


@pytest.mark.parametrize(("path", "fields", "sent_back", "fresh"), [
    ("reply", {"subject": "Re: hello", "body": "Typed slowly."}, "reply", "note"),
    ("notes", {"note": "To remember."}, "note", "reply"),
])
def test_a_form_brought_back_after_signing_in_again_wins_over_its_draft(
        app, admin_client, admin_user, path, fields, sent_back, fresh):
    """Is only the form that /admin/resume fills (after the session ended) marked as the server's values?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    token = csrf_token_of(admin_client, f"/admin/inquiries/{inquiry_id}")
    with admin_client.session_transaction() as session:
        session["admin_seen"] -= 31 * 60  # idle past ADMIN_IDLE_MINUTES
    assert post(admin_client, token, f"/admin/inquiries/{inquiry_id}/{path}", **fields).status_code == 303
    sign_in(admin_client, next_url="/admin/resume")
    page = text_of(admin_client.get("/admin/resume"))
    assert f'data-draft-key="{sent_back}-{inquiry_id}" data-draft-from-server>' in page
    assert f'data-draft-key="{fresh}-{inquiry_id}">' in page
    assert saved_drafts(page) == []
