"""Nothing the coach types is lost when her session ends: kept for her sign-in, then put back in its form."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from coaching.accounts.models import AdminUser
from coaching.admin.models import PendingSubmission
from coaching.blog.models import Post
from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries.models import InquiryStatus
from tests.factories import ADMIN_PASSWORD, add_inquiry, enable_totp, every_stored_text, row_count
from tests.forms import csrf_token_of, post, post_code, sign_in, text_of

POST = {"title": "Slow mornings", "body": "Written over an hour, KEEP-EVERY-WORD.\n\nSecond paragraph.",
        "tags": "movement", "action": "save"}


def let_session_lapse(client) -> None:
    """Make the admin session look idle for longer than ADMIN_IDLE_MINUTES."""
    with client.session_transaction() as session:
        session["admin_seen"] -= 31 * 60


def test_a_post_saved_after_the_session_ended_comes_back_after_signing_in(app, admin_client, admin_user):
    """Is a post saved after the idle limit kept, and is the editor filled with it after signing in again?"""
    token = csrf_token_of(admin_client, "/admin/posts/new")
    let_session_lapse(admin_client)
    response = post(admin_client, token, "/admin/posts/new", **POST)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/login?next=/admin/resume"
    assert row_count(app, Post) == 0 and row_count(app, PendingSubmission) == 1
    login_page = text_of(admin_client.get(response.headers["Location"]))
    assert "it is kept: sign in again" in html.unescape(login_page)
    signed_in = sign_in(admin_client, next_url="/admin/resume")
    assert signed_in.headers["Location"] == "/admin/resume"
    editor = admin_client.get("/admin/resume")
    page = html.unescape(text_of(editor))
    assert editor.status_code == 200 and editor.headers["Cache-Control"] == "no-store"
    assert "Nothing has been saved yet, and nothing you typed was lost" in page
    assert 'value="Slow mornings"' in page and "KEEP-EVERY-WORD" in page and 'value="movement"' in page
    assert row_count(app, PendingSubmission) == 0  # erased once shown
    # Saving it now works, and the kept copy is gone for good.
    saved = post(admin_client, re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
                 "/admin/posts/new", **POST)
    assert saved.status_code == 303 and row_count(app, Post) == 1
    assert admin_client.get("/admin/resume").headers["Location"] == "/admin/inquiries"


def test_a_reply_and_a_note_come_back_on_the_inquiry_page(app, admin_client, admin_user):
    """Are a reply and a note sent after the session ended put back in their boxes on the inquiry page?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    for path, fields, marker in (
        ("reply", {"subject": "Re: hello", "body": "REPLY-TEXT typed slowly"}, "REPLY-TEXT typed slowly"),
        ("notes", {"note": "NOTE-TEXT to remember"}, "NOTE-TEXT to remember"),
    ):
        token = csrf_token_of(admin_client, f"/admin/inquiries/{inquiry_id}")
        let_session_lapse(admin_client)
        assert post(admin_client, token, f"/admin/inquiries/{inquiry_id}/{path}", **fields).status_code == 303
        sign_in(admin_client, next_url="/admin/resume")
        page = text_of(admin_client.get("/admin/resume"))
        assert marker in page and "Nothing has been saved yet" in page
    with app.app_context():
        assert db.session.scalar(select(PendingSubmission)) is None
    assert "REPLY-TEXT" not in " ".join(every_stored_text(app))


def test_second_factor_still_applies_before_anything_comes_back(app, admin_client, admin_user):
    """With TOTP on, is the kept post shown only after the code, and not after the password alone?"""
    secret, _ = enable_totp(app, admin_user)
    token = csrf_token_of(admin_client, "/admin/posts/new")
    let_session_lapse(admin_client)
    post(admin_client, token, "/admin/posts/new", **POST)
    assert sign_in(admin_client, next_url="/admin/resume").headers["Location"] == "/admin/login/code"
    assert admin_client.get("/admin/resume").status_code == 302  # not signed in yet
    assert post_code(admin_client, pyotp.TOTP(secret).now()).headers["Location"] == "/admin/resume"
    assert "KEEP-EVERY-WORD" in text_of(admin_client.get("/admin/resume"))


def test_signed_out_elsewhere_keeps_the_text_too(app, admin_client, admin_user):
    """When the session was ended from another device, is what she sends here still kept for her?"""
    token = csrf_token_of(admin_client, "/admin/posts/new")
    with app.app_context():
        db.session.execute(update(AdminUser).values(session_version=AdminUser.session_version + 1))
        db.session.commit()
    response = post(admin_client, token, "/admin/posts/new", **POST)
    assert response.headers["Location"] == "/admin/login?next=/admin/resume"
    sign_in(admin_client, next_url="/admin/resume")
    assert "KEEP-EVERY-WORD" in text_of(admin_client.get("/admin/resume"))


def test_a_stranger_gets_nothing_kept(app, client, admin_user):
    """Is nothing kept for someone who never signed in (with or without a form token), and nothing saved?"""
    no_session = client.post("/admin/posts/new", data=POST)
    page = html.unescape(text_of(no_session))
    assert no_session.status_code == 400 and "You were signed out, so this wasn't saved" in page
    assert "KEEP-EVERY-WORD" in page  # shown back to whoever typed it, so it can be copied
    token = csrf_token_of(client, "/admin/login")
    anonymous = post(client, token, "/admin/posts/new", **POST)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/admin/login")
    assert row_count(app, PendingSubmission) == 0 and row_count(app, Post) == 0


def test_another_account_cannot_take_what_was_kept(app, admin_client, admin_user):
    """Is a kept submission shown only to the admin it was kept for, even in the same browser?"""
    token = csrf_token_of(admin_client, "/admin/posts/new")
    let_session_lapse(admin_client)
    post(admin_client, token, "/admin/posts/new", **POST)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-admin", "helper@example.org"], input="another-long-pass-phrase\n").exit_code == 0
    sign_in(admin_client, email="helper@example.org", password="another-long-pass-phrase", next_url="/admin/resume")
    assert "KEEP-EVERY-WORD" not in text_of(admin_client.get("/admin/resume", follow_redirects=True))
    assert row_count(app, PendingSubmission) == 1


def test_passwords_are_never_kept(app, admin_client, admin_user):
    """After the session ended, is a password change kept without any password, and does she land on Account?"""
    token = csrf_token_of(admin_client, "/admin/account")
    let_session_lapse(admin_client)
    post(admin_client, token, "/admin/account/password", current_password=ADMIN_PASSWORD,
         new_password="NEW-SECRET-pass-phrase", confirm_password="NEW-SECRET-pass-phrase")
    stored = " ".join(every_stored_text(app))
    assert "NEW-SECRET" not in stored and ADMIN_PASSWORD not in stored
    sign_in(admin_client, next_url="/admin/resume")
    response = admin_client.get("/admin/resume")
    assert response.headers["Location"] == "/admin/account"
    assert "Nothing was changed" in html.unescape(text_of(admin_client.get("/admin/account")))


def test_kept_submissions_are_erased_after_a_day(app, admin_client, admin_user):
    """Is a kept submission older than a day erased (and so not shown) when she signs in?"""
    token = csrf_token_of(admin_client, "/admin/posts/new")
    let_session_lapse(admin_client)
    post(admin_client, token, "/admin/posts/new", **POST)
    with app.app_context():
        db.session.execute(update(PendingSubmission).values(created_at=utcnow() - timedelta(days=1, minutes=1)))
        db.session.commit()
    sign_in(admin_client, next_url="/admin/resume")
    assert admin_client.get("/admin/resume").headers["Location"] == "/admin/inquiries"
    assert row_count(app, PendingSubmission) == 0


def test_a_stale_form_token_while_signed_in_gives_the_form_back_filled(app, admin_client, admin_user):
    """A11Y-06: a form opened before she signed in again (old token) comes back filled, not a bare 400?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    response = post(admin_client, "stale-token", f"/admin/inquiries/{inquiry_id}/reply",
                    subject="Re: hi", body="STALE-TOKEN-REPLY")
    page = html.unescape(text_of(response))
    assert response.status_code == 400 and "STALE-TOKEN-REPLY" in page
    assert "couldn't accept that form" in page and "nothing you typed was lost" in page


def test_signing_in_without_a_next_address_still_brings_back_what_was_kept(app, admin_client, admin_user):
    """Does signing in from a plain /admin/login (no ?next=) go to the kept form first?"""
    token = csrf_token_of(admin_client, "/admin/posts/new")
    let_session_lapse(admin_client)
    post(admin_client, token, "/admin/posts/new", **POST)
    assert sign_in(admin_client).headers["Location"] == "/admin/resume"


@pytest.mark.parametrize("path", ["/admin/login", "/admin/forgot-password"])
def test_a_rejected_token_on_sign_in_pages_keeps_the_address(client, admin_user, path):
    """A11Y-01: with a stale token, do the sign-in and forgot-password forms come back with the address typed?"""
    response = client.post(path, data={"csrf_token": "stale", "email": "coach-typed@example.org",
                                       "password": "TYPED-SECRET-passphrase"})
    page = html.unescape(text_of(response))
    assert response.status_code == 400 and "<h1>" in page
    assert 'value="coach-typed@example.org"' in page and "nothing was sent yet" in page
    assert "TYPED-SECRET" not in page
