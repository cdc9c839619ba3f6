"""The coach's inbox over HTTP: list, one inquiry, status buttons, notes, replies, erasure and export."""

from __future__ import annotations

import base64
import csv
import html
import io
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.sql import visitors

from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries import inbox
from coaching.inquiries.models import ErasureRecord, Inquiry, InquiryStatus, NoteKind
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import deliver_pending
from coaching.web.paging import Cursor
from tests.apps import statements_run
from tests.factories import HOSTILE, add_inquiry, every_stored_text
from tests.forms import csrf_token_of, post, sign_in, submit_contact, text_of


def search(client, token: str, query: str, status: str | None = None):
    """Search the inbox as the search box does (a POST), optionally within one status."""
    return post(client, token, "/admin/inquiries/search" + (f"?status={status}" if status else ""), q=query)


def load(app, inquiry_id: int) -> Inquiry | None:
    """An inquiry with its emails and notes loaded, for reading after the context ends."""
    with app.app_context():
        inquiry = db.session.get(Inquiry, inquiry_id)
        if inquiry is not None:
            inquiry.emails, inquiry.notes  # noqa: B018  (load them while the session is open)
        return inquiry


def test_list_rows_show_name_topic_time_preview_and_notification(admin_client, app):
    """Does each row show the name (a link), topic, when, a short preview and, in words, the notification state?"""
    long_message = "My hands shake when I write. " * 20
    sent = add_inquiry(app, name="Ada", topic="roadmap", message=long_message, emails=(OutboxStatus.SENT,))
    add_inquiry(app, name="Ben", emails=(OutboxStatus.PENDING,))
    page = text_of(admin_client.get("/admin/"))
    assert f'<a href="/admin/inquiries/{sent}">Ada</a>' in page
    assert "The Recovery Roadmap" in page and "Not given" in page
    with app.app_context():
        received = db.session.get(Inquiry, sent).created_at
    assert received.strftime("%d %b %Y, %H:%M UTC") in page
    assert "My hands shake when I write. My hands" in page and long_message.strip() not in page
    assert "Emailed to you" in page and "Not yet emailed" in page
    assert page.index("Ben") < page.index("Ada")  # newest first
    assert f'<a href="/admin/inquiries/{sent}">Ada</a>' in text_of(admin_client.get("/admin/inquiries"))


def cards(page: str) -> list[str]:
    """The names on a list page, in order."""
    return re.findall(r'<h3 class="inquiry-card-name"><a href="/admin/inquiries/[0-9]+">([^<]*)</a>', page)


def link(page: str, rel: str) -> str | None:
    """The URL of the page's Newer (rel="prev") or Older (rel="next") link, if it has one."""
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(found[1]) if found else None


def test_pages_of_25_keep_the_filter_and_search(admin_client, app, token):
    """Are there 25 a page, with Older and Newer links that carry a cursor and keep the status (and the saved
    search), never the search text?"""
    now = utcnow()
    for minutes in range(30):
        add_inquiry(app, name=f"Needle {minutes:02d}", created_at=now - timedelta(minutes=minutes))
    add_inquiry(app, name="Other person", message="Nothing alike.")
    searched = search(admin_client, token, "needle", status="new")
    assert searched.status_code == 303 and searched.headers["Location"] == "/admin/inquiries?status=new"
    first = text_of(admin_client.get(searched.headers["Location"]))
    assert cards(first) == [f"Needle {minutes:02d}" for minutes in range(25)]
    assert link(first, "prev") is None and "30 inquiries, newest first." in first
    older = link(first, "next")
    assert older.startswith("/admin/inquiries?") and "status=new" in older and "cursor=" in older
    assert "needle" not in older.lower() and "page=" not in older
    second = text_of(admin_client.get(older))
    assert cards(second) == [f"Needle {minutes:02d}" for minutes in range(25, 30)] and link(second, "next") is None
    assert "This page shows 5, received" in second
    assert re.search(r"<title>Inquiries: New, received [^<]+ and earlier \|", second)
    assert '<a href="/admin/inquiries?status=new">Newest</a>' in second
    assert cards(text_of(admin_client.get(link(second, "prev")))) == cards(first)


@pytest.mark.parametrize("query", ["page=1", "page=3", "page=0", "page=abc", "page=%C2%B2", "page=1" + "0" * 40])
def test_old_page_links_open_the_first_page(admin_client, app, query):
    """Does an old ?page=N link (any N, even one that is not a number) open the first page instead of failing?"""
    now = utcnow()
    for minutes in range(30):
        add_inquiry(app, name=f"Person {minutes:02d}", created_at=now - timedelta(minutes=minutes))
    response = admin_client.get(f"/admin/inquiries?{query}")
    assert response.status_code == 200
    assert cards(text_of(response)) == [f"Person {minutes:02d}" for minutes in range(25)]


TAMPERED_CURSORS = [
    "", "x", "not a cursor", "%00", "%F0%9F%98%80", "====", "!!!!", "a" * 45, "a" * 5000,
    *(base64.urlsafe_b64encode(plain.encode()).decode().rstrip("=") for plain in (
        "o1.1", "x1764000000000000.5", "o1764000000000000.0", "o1764000000000000.2147483648",
        "o999999999999999999.5", "n-999999999999999999.5", "o1764000000000000", "o1.2.3", "o١٢.5", "o 1.5")),
    base64.urlsafe_b64encode(b"\xff\xfe\x00o1.5").decode(),
]


@pytest.mark.parametrize("cursor", TAMPERED_CURSORS)
def test_a_tampered_cursor_opens_the_first_page(admin_client, app, cursor):
    """Is a malformed, out-of-range or edited ?cursor= the first page (200), never a 500?"""
    now = utcnow()
    for minutes in range(30):
        add_inquiry(app, name=f"Person {minutes:02d}", created_at=now - timedelta(minutes=minutes))
    for status in ("", "&status=spam"):
        response = admin_client.get(f"/admin/inquiries?cursor={cursor}{status}")
        assert response.status_code == (400 if "%00" in cursor else 200), cursor  # a NUL: web/security.py
    if "%00" not in cursor:
        assert cards(text_of(admin_client.get(f"/admin/inquiries?cursor={cursor}")))[0] == "Person 00"


def test_a_cursor_past_the_end_or_edited_shows_part_of_the_same_list(admin_client, app):
    """Does a well-formed cursor naming no row show the rows next to that place, or the first page past the end?"""
    now = utcnow()
    for minutes in range(30):
        add_inquiry(app, name=f"Person {minutes:02d}", created_at=now - timedelta(minutes=minutes))
    past_the_end = Cursor(now - timedelta(days=1), 1).encode()
    assert cards(text_of(admin_client.get(f"/admin/inquiries?cursor={past_the_end}")))[0] == "Person 00"
    between = Cursor(now - timedelta(minutes=26, seconds=30), 1).encode()
    assert cards(text_of(admin_client.get(f"/admin/inquiries?cursor={between}"))) == [
        f"Person {minutes:02d}" for minutes in range(27, 30)]


def list_statements(app, client, url: str) -> list[tuple[str, bool]]:
    """The SQL statements one GET of a list page runs (checked to answer 200), lowered, each with whether it (or a
    subquery) has an OFFSET: SQLite's compiler writes "OFFSET ?" bound to 0 after every LIMIT, so the text can't say."""
    seen = []

    def record(_conn, _cursor, statement, _parameters, context, _executemany) -> None:
        clause = context.compiled.statement if context.compiled is not None else None
        offset = clause is not None and any(isinstance(element, sa.Select) and element._offset_clause is not None
                                            for element in visitors.iterate(clause))
        seen.append((" ".join(statement.lower().split()), offset))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize(("status", "query", "count_limit"), [
    (None, None, 1000), ("read", None, 1000), (None, "walking", 1000), ("new", "walk", 1000), (None, "walking", 10)])
def test_a_deep_page_runs_the_same_few_statements_as_the_first(admin_client, app, token, monkeypatch, status, query,
                                                              count_limit):
    """Do page 1 and the last of many pages run the same small number of SQL statements, none with OFFSET and
    none counting inquiries (a search counted on what it found, or matching too many to count)?"""
    monkeypatch.setattr(inbox, "SEARCH_COUNT_LIMIT", count_limit)
    now = utcnow()
    for number in range(160):
        add_inquiry(app, name=f"Person {number}", created_at=now - timedelta(minutes=number // 3),
                    status=InquiryStatus.NEW if number % 2 else InquiryStatus.READ, message="Talk about walking.")
    if query:
        search(admin_client, token, query, status=status)
    url = "/admin/inquiries" + (f"?status={status}" if status else "")
    first = list_statements(app, admin_client, url)
    pages, page = 1, text_of(admin_client.get(url))
    while link(page, "next"):
        deep_url, pages = link(page, "next"), pages + 1
        page = text_of(admin_client.get(deep_url))
    assert pages >= 4
    deep = list_statements(app, admin_client, deep_url)
    assert len(first) == len(deep) <= 6, deep
    for statement, offset in first + deep:
        assert not offset, statement
        assert not ("count(" in statement and "from inquiries" in statement), statement


def test_status_links_show_counts_and_spam_stays_out_by_default(admin_client, app):
    """Do the status links show counts, and is spam shown only when asked for?"""
    add_inquiry(app, name="Real person")
    add_inquiry(app, name="Spammy", status=InquiryStatus.SPAM)
    add_inquiry(app, name="Filed away", status=InquiryStatus.ARCHIVED)
    default = text_of(admin_client.get("/admin/inquiries"))
    assert "All but spam (2)" in default and "New (1)" in default and "Spam (1)" in default
    assert "Archived (1)" in default and "Read (0)" in default
    assert "Real person" in default and "Filed away" in default and "Spammy" not in default
    spam = text_of(admin_client.get("/admin/inquiries?status=spam"))
    assert "Spammy" in spam and "Real person" not in spam and "Held (spam)" in spam


def test_search_finds_by_name_email_or_message(admin_client, app, token):
    """Does the search find names, addresses and messages regardless of letter case, accents included?"""
    add_inquiry(app, name="Ada Lovelace", email="ada@example.org", message="About botox.")
    add_inquiry(app, name="Ben", email="ben@example.org", message="About walking.")
    add_inquiry(app, name="Émilie Zoë", email="emilie@example.org", message="Über das Gehen.")
    for query, found in (("LOVELACE", "Ada"), ("ben@", "Ben"), ("Walking", "Ben"), ("émilie", "Émilie"),
                         ("ZOË", "Émilie"), ("über", "Émilie")):
        search(admin_client, token, query)
        page = text_of(admin_client.get("/admin/inquiries"))
        assert page.count('class="inquiry-card ') == 1 and f">{found}" in page, query
        assert f"matching “{query}”" in page and f'value="{query}"' in page
    search(admin_client, token, "nobody")
    assert "No inquiries here." in text_of(admin_client.get("/admin/inquiries"))


def test_search_stays_out_of_every_url(admin_client, app, token):
    """PRIV-03: is the search posted and kept in the session, never in a link, a redirect or a ?q= that is read?"""
    add_inquiry(app, name="Ada Lovelace", email="ada@example.org")
    add_inquiry(app, name="Ben")
    response = search(admin_client, token, "lovelace")
    assert "lovelace" not in response.headers["Location"].lower()
    page = text_of(admin_client.get("/admin/inquiries"))
    assert ">Ada" in page and ">Ben" not in page
    assert not [url for url in re.findall(r'(?:href|action)="([^"]*)"', page) if "lovelace" in url.lower()]
    assert 'method="post" role="search"' in page and 'name="q"' in page
    ignored = text_of(admin_client.get("/admin/inquiries?q=ben"))
    assert ">Ada" in ignored and ">Ben" not in ignored  # a ?q= in a URL is never read


def test_the_inbox_reads_the_kept_counts_once_for_its_links_and_the_navigation(admin_client, app):
    """Does the inbox read the kept counts once a page, for its status links and the nav's "(2 new)" alike?"""
    add_inquiry(app, name="Ada")
    add_inquiry(app, name="Ben")
    add_inquiry(app, name="Cleo", status=InquiryStatus.READ)
    with statements_run(app) as seen:
        page = text_of(admin_client.get("/admin/inquiries"))
    assert "Inquiries (2 new)</a>" in page and "New (2)</a>" in page and "Read (1)</a>" in page
    assert len([sql for sql in seen if "inquiry_status_counts" in sql.lower()]) == 1


def test_a_search_leaves_the_navigation_counting_every_new_inquiry(admin_client, app, token):
    """With a search, does the nav still count every new inquiry, not only those the search matched?"""
    add_inquiry(app, name="Ada")
    add_inquiry(app, name="Ben")
    search(admin_client, token, "ada")
    page = text_of(admin_client.get("/admin/inquiries"))
    assert "Inquiries (2 new)</a>" in page and "New (1)</a>" in page and ">Ben" not in page


def test_clear_the_search_and_sign_out_forget_it(admin_client, app, token):
    """Does "Clear the search" show everything again, and does signing out forget the search?"""
    add_inquiry(app, name="Ada")
    add_inquiry(app, name="Ben")
    search(admin_client, token, "ada", status="new")
    page = text_of(admin_client.get("/admin/inquiries?status=new"))
    assert ">Ben" not in page and 'name="clear"' in page and "Clear the search" in page
    cleared = post(admin_client, token, "/admin/inquiries/search?status=new", q="ada", clear="yes")
    assert cleared.headers["Location"] == "/admin/inquiries?status=new"
    page = text_of(admin_client.get("/admin/inquiries?status=new"))
    assert ">Ada" in page and ">Ben" in page and "Clear the search" not in page
    search(admin_client, token, "ada")
    search(admin_client, token, "   ")  # an empty search clears too
    assert ">Ben" in text_of(admin_client.get("/admin/inquiries"))
    search(admin_client, token, "ada")
    post(admin_client, token, "/admin/logout")
    sign_in(admin_client)
    assert ">Ben" in text_of(admin_client.get("/admin/inquiries"))


def test_too_long_search_comes_back_with_a_message_and_the_text(admin_client, app, token):
    """Does a search over 200 characters come back (400) with the error named and what was typed kept?"""
    add_inquiry(app, name="Ada")
    typed = "word " * 50
    response = search(admin_client, token, typed)
    page = text_of(response)
    assert response.status_code == 400 and "Search for 200 characters or fewer" in page
    assert 'id="error-summary"' in page and typed.strip() in page and ">Ada" in page


def test_detail_shows_every_field_consent_and_delivery_history(admin_client, app):
    """Does an inquiry's page show every field, the consent record, and each email's attempts, error and Resend?"""
    inquiry_id = add_inquiry(app, name="Ada", email="ada@example.org", phone="+44 7700 900123", topic="speaking",
                             message="Line one.\nLine two.", emails=(OutboxStatus.SENT, OutboxStatus.FAILED))
    with app.app_context():
        failed = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)).one()
        failed.attempts, failed.last_error, failed_id = 10, "SMTPServerDisconnected", failed.id
        db.session.commit()
        inquiry = db.session.get(Inquiry, inquiry_id)
        consent = inquiry.consent_at.strftime("%d %b %Y, %H:%M UTC")
    page = text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))
    for shown in ("Ada", "ada@example.org", "+44 7700 900123", "Speaking or media", "Line one.\nLine two.",
                  consent, "privacy notice version <strong>2026-11-25</strong>", "Notification to you",
                  "Sent ", "Failed: not sent", "<dd>10</dd>", "SMTPServerDisconnected"):
        assert shown in page, shown
    assert page.count(">Resend<") == 1
    assert f'action="/admin/inquiries/{inquiry_id}/emails/{failed_id}/resend"' in page
    assert 'href="mailto:ada@example.org?subject=Re%3A%20your%20message%20to%20Hope%20for%20Dystonia"' in page
    assert admin_client.get("/admin/inquiries/999").status_code == 404


def test_opening_a_new_inquiry_marks_it_read_once(admin_client, app, admin_user):
    """Does opening a new inquiry mark it read (one timeline entry), and opening it again change nothing?"""
    inquiry_id = add_inquiry(app)
    admin_client.get(f"/admin/inquiries/{inquiry_id}")
    admin_client.get(f"/admin/inquiries/{inquiry_id}")
    inquiry = load(app, inquiry_id)
    assert inquiry.status is InquiryStatus.READ
    assert [(n.kind, n.body, n.author_id) for n in inquiry.notes] == [
        (NoteKind.EVENT, "Opened (marked as read)", admin_user)]


@pytest.mark.parametrize(("start", "action", "end", "event"), [
    (InquiryStatus.READ, "mark-replied", InquiryStatus.REPLIED, "Marked as replied"),
    (InquiryStatus.READ, "archive", InquiryStatus.ARCHIVED, "Archived"),
    (InquiryStatus.ARCHIVED, "restore", InquiryStatus.READ, "Moved back to the inbox"),
    (InquiryStatus.REPLIED, "spam", InquiryStatus.SPAM, "Marked as spam"),
])
def test_status_buttons(admin_client, app, admin_user, token, start, action, end, event):
    """Does each status button change the status, say so, and add a dated event to the timeline?"""
    inquiry_id = add_inquiry(app, status=start)
    response = post(admin_client, token, f"/admin/inquiries/{inquiry_id}/status/{action}")
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/inquiries/{inquiry_id}"
    assert f"{event}." in text_of(admin_client.get(response.headers["Location"]))
    inquiry = load(app, inquiry_id)
    assert inquiry.status is end
    assert [(n.kind, n.body, n.author_id) for n in inquiry.notes] == [(NoteKind.EVENT, event, admin_user)]


def test_a_button_that_no_longer_applies_changes_nothing(admin_client, app, token):
    """Does a second click (archiving an archived inquiry) change nothing, and an unknown action answer 404?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.ARCHIVED)
    response = post(admin_client, token, f"/admin/inquiries/{inquiry_id}/status/archive")
    assert "Nothing was changed" in text_of(admin_client.get(response.headers["Location"]))
    assert load(app, inquiry_id).notes == []
    assert post(admin_client, token, f"/admin/inquiries/{inquiry_id}/status/delete").status_code == 404


def test_notes_are_dated_and_kept(admin_client, app, admin_user, token):
    """Are private notes added to the timeline with their date, in order, and kept?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    for note in ("Called her back.", "She'll write after her appointment.\nFollow up in May."):
        response = post(admin_client, token, f"/admin/inquiries/{inquiry_id}/notes", note=note)
        assert response.status_code == 303
    inquiry = load(app, inquiry_id)
    assert [(n.kind, n.body, n.author_id) for n in inquiry.notes] == [
        (NoteKind.NOTE, "Called her back.", admin_user),
        (NoteKind.NOTE, "She'll write after her appointment.\nFollow up in May.", admin_user)]
    page = text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))
    assert page.index("Called her back.") < page.index("Follow up in May.")
    assert inquiry.notes[0].created_at.strftime("%d %b %Y, %H:%M UTC") in page


def test_an_empty_note_is_an_error_that_helps(admin_client, app, token):
    """A11Y-05: does an empty note give "Error:" in the title, a summary linking to the field, and aria-invalid?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    response = post(admin_client, token, f"/admin/inquiries/{inquiry_id}/notes", note="  ")
    page = text_of(response)
    assert response.status_code == 400 and "<title>Error: " in page
    assert '<a href="#note">Enter the note you want to keep</a>' in page and 'aria-invalid="true"' in page
    assert load(app, inquiry_id).notes == []


def test_reply_is_queued_recorded_and_marks_replied(app, admin_client, admin_user, token):
    """Does a reply queue an email to the visitor (Reply-To the coach), add it to the timeline and mark replied?"""
    inquiry_id = add_inquiry(app, email="ada@example.org", status=InquiryStatus.READ)
    reply = "Dear Ada,\n\nThank you for writing. <b>Yes</b>, I can help.\n\nRuth"
    response = post(admin_client, token, f"/admin/inquiries/{inquiry_id}/reply", subject="About coaching", body=reply)
    assert response.status_code == 303
    inquiry = load(app, inquiry_id)
    assert inquiry.status is InquiryStatus.REPLIED
    [email] = inquiry.emails
    assert (email.kind, email.recipient, email.reply_to, email.subject, email.status) == (
        EmailKind.ADMIN_REPLY, "ada@example.org", app.config["COACH_EMAIL"], "About coaching", OutboxStatus.PENDING)
    assert email.body_text.startswith(reply)
    assert "<p>Dear Ada,</p>" in email.body_html and "&lt;b&gt;Yes&lt;/b&gt;" in email.body_html
    assert [(n.kind, n.body, n.author_id) for n in inquiry.notes] == [(NoteKind.REPLY, reply, admin_user)]
    page = text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))
    assert "Your reply is on its way." in page and "Reply sent" in page and "Waiting to be sent" in page


@pytest.mark.parametrize(("fields", "error"), [
    ({"subject": "", "body": "Kept text."}, "Enter a subject for your reply"),
    ({"subject": "Hi\r\nBcc: x@example.org", "body": "Kept text."}, "Enter the subject on one line"),
    ({"subject": "Hi", "body": "Kept text." + "x" * 10_000}, "Your reply must be 10,000 characters or fewer"),
    ({"subject": "Hi", "body": ""}, "Enter your reply"),
])
def test_reply_errors_keep_what_was_typed(app, admin_client, token, fields, error):
    """A11Y-06, SEC-06: does an invalid reply come back with its error and every word typed, sending nothing?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    response = post(admin_client, token, f"/admin/inquiries/{inquiry_id}/reply", **fields)
    page = text_of(response)
    assert response.status_code == 400 and error in page and "There is a problem" in page
    assert html.escape(fields["body"], quote=False) in page
    inquiry = load(app, inquiry_id)
    assert inquiry.emails == [] and inquiry.status is InquiryStatus.READ


def test_reply_arrives_from_the_site_with_reply_to_the_coach(smtp_server, smtp_app, admin_user):
    """REL-04: does the reply reach the visitor From the coach's name at the site, Reply-To her, quoting them?"""
    app = smtp_app(smtp_server.port, COACH_EMAIL="ruth@coach.example", COACH_NAME="Ruth Ōkawa",
                   MAIL_DEFAULT_SENDER=("Hope for Dystonia website", "website@hopefordystonia.example"))
    client = app.test_client()
    sign_in(client)
    inquiry_id = add_inquiry(app, name="Zoë", email="zoe@example.org", status=InquiryStatus.READ,
                             message="First line\nSecond line")
    token = csrf_token_of(client, "/admin/inquiries")
    post(client, token, f"/admin/inquiries/{inquiry_id}/reply", subject="Re: your message", body="Dear Zoë,\nYes.")
    with app.app_context():
        assert deliver_pending().sent == 1
    [mail] = smtp_server.received
    assert mail.rcpt_tos == ["zoe@example.org"]
    message = mail.message
    assert message["From"] == "Ruth Ōkawa <website@hopefordystonia.example>"
    assert message["Reply-To"] == "ruth@coach.example" and message["Subject"] == "Re: your message"
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain.startswith("Dear Zoë,\nYes.\n")
    assert "Zoë wrote:\n> First line\n> Second line\n" in plain
    assert "<blockquote>" in message.get_body(("html",)).get_content()
    assert load(app, inquiry_id).emails[0].status is OutboxStatus.SENT


def test_not_spam_sends_the_notification_that_was_held_back(smtp_server, smtp_app, admin_user):
    """Does "Not spam" on a held inquiry queue the coach's notification, which then arrives?"""
    app = smtp_app(smtp_server.port, SEND_ACKNOWLEDGEMENT=False)
    submit_contact(app.test_client(), {"name": "Pat", "email": "pat@example.org", "message": "Not a bot, honest.",
                                       "consent": "y", "website": "http://filled-by-a-bot.example"})
    with app.app_context():
        inquiry = db.session.scalars(select(Inquiry)).one()
        assert inquiry.status is InquiryStatus.SPAM and inquiry.emails == []
        inquiry_id = inquiry.id
    client = app.test_client()
    sign_in(client)
    page = text_of(client.get(f"/admin/inquiries/{inquiry_id}"))
    assert "held back as spam" in page and "Held (spam)" in page
    response = post(client, csrf_token_of(client, "/admin/inquiries"), f"/admin/inquiries/{inquiry_id}/status/not-spam")
    after = text_of(client.get(response.headers["Location"]))
    assert "the notification email that was held back is on its way" in after
    with app.app_context():
        assert deliver_pending().sent == 1
    [mail] = smtp_server.received
    assert mail.rcpt_tos == [app.config["COACH_EMAIL"]] and mail.message["Reply-To"] == "pat@example.org"
    inquiry = load(app, inquiry_id)
    assert inquiry.status is InquiryStatus.READ and inquiry.spam_reason is None and inquiry.coach_notified
    # A second "not spam" (another tab) queues nothing more.
    post(client, csrf_token_of(client, "/admin/inquiries"), f"/admin/inquiries/{inquiry_id}/status/not-spam")
    assert len(load(app, inquiry_id).emails) == 1


def test_resend_queues_a_failed_email_again(app, admin_client, admin_user, token):
    """REL-03: does Resend put a failed email back in the queue (and only a failed one), noting it on the timeline?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ, emails=(OutboxStatus.FAILED, OutboxStatus.SENT))
    failed, sent = load(app, inquiry_id).emails
    response = post(admin_client, token, f"/admin/inquiries/{inquiry_id}/emails/{failed.id}/resend")
    assert response.status_code == 303
    post(admin_client, token, f"/admin/inquiries/{inquiry_id}/emails/{sent.id}/resend")
    inquiry = load(app, inquiry_id)
    assert [(e.status, e.attempts) for e in inquiry.emails] == [(OutboxStatus.PENDING, 0), (OutboxStatus.SENT, 0)]
    assert [(n.kind, n.author_id) for n in inquiry.notes] == [(NoteKind.EVENT, admin_user)]
    assert f"email {failed.id}" in inquiry.notes[0].body
    other = add_inquiry(app)
    assert post(admin_client, token, f"/admin/inquiries/{other}/emails/{failed.id}/resend").status_code == 303
    assert post(admin_client, token, f"/admin/inquiries/{other}/emails/999/resend").status_code == 404


def test_erasing_one_inquiry_asks_first_and_keeps_only_ids(app, admin_client, admin_user, token):
    """PRIV-02, A11Y-08: is erasing confirmed first, and does it remove inquiry, emails and notes, auditing ids only?"""
    inquiry_id = add_inquiry(app, name="Erin Erased", message="Private words.", emails=(OutboxStatus.SENT,),
                             notes=("A private note.",))
    kept = add_inquiry(app, name="Kept Person")
    confirm = text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}/confirm-erase"))
    assert "Erase this inquiry?" in confirm and "1 inquiry, 1 email and 1 note" in confirm
    assert f'action="/admin/inquiries/{inquiry_id}/erase"' in confirm
    assert load(app, inquiry_id) is not None  # asking erased nothing
    assert admin_client.get(f"/admin/inquiries/{inquiry_id}/erase").status_code == 405
    response = post(admin_client, token, f"/admin/inquiries/{inquiry_id}/erase")
    assert response.status_code == 303 and response.headers["Location"] == "/admin/inquiries"
    assert load(app, inquiry_id) is None and load(app, kept) is not None
    stored = " ".join(every_stored_text(app))
    assert "Erin Erased" not in stored and "Private words." not in stored and "A private note." not in stored
    with app.app_context():
        [record] = db.session.scalars(select(ErasureRecord)).all()
        assert (record.reason, record.inquiry_ids, record.inquiries, record.emails, record.notes, record.admin_id) == (
            "one inquiry", str(inquiry_id), 1, 1, 1, admin_user)


def test_erasing_an_address_leaves_no_trace_in_any_table(app, admin_client, admin_user, token):
    """PRIV-02: after erasing by address (confirmed), is the address in no column of any table?"""
    address = "leave.me@example.net"
    now = utcnow()
    ids = [add_inquiry(app, name="Lee", email=email, created_at=now - timedelta(days=days),
                       emails=(OutboxStatus.SENT,), notes=("Note",)) for days, email in
           ((1, address), (2, "Leave.Me@Example.net"))]
    kept = add_inquiry(app, name="Kim", email="kim@example.org")
    for inquiry_id in ids:  # a reply and an event from the admin, too
        post(admin_client, token, f"/admin/inquiries/{inquiry_id}/reply", subject="Hello", body="A reply.")
    confirm = post(admin_client, token, "/admin/inquiries/erase-by-address", email=address)
    page = text_of(confirm)
    assert confirm.status_code == 200 and "2 inquiries, 4 emails and 4 notes" in page
    assert all(f"Inquiry {inquiry_id} from Lee" in page for inquiry_id in ids)
    assert address in every_stored_text(app)  # nothing erased yet
    response = post(admin_client, token, "/admin/inquiries/erase-by-address/confirm", email=address)
    assert response.status_code == 303
    assert not any(address in text.lower() for text in every_stored_text(app))
    assert load(app, kept) is not None
    with app.app_context():
        [record] = db.session.scalars(select(ErasureRecord)).all()
        assert (record.reason, record.inquiry_ids, record.inquiries, record.emails, record.notes) == (
            "email address", ",".join(map(str, sorted(ids))), 2, 4, 4)
    assert address not in text_of(admin_client.get(response.headers["Location"]))
    nothing = text_of(post(admin_client, token, "/admin/inquiries/erase-by-address", email=address))
    assert "Nothing is held about this address" in nothing and "Yes, erase" not in nothing


def test_erase_by_address_asks_for_a_real_address(admin_client, token):
    """A11Y-05: does the address form explain a missing or malformed address, keeping what was typed?"""
    assert "Erase everything about one email address" in text_of(admin_client.get("/admin/inquiries/erase-by-address"))
    response = post(admin_client, token, "/admin/inquiries/erase-by-address", email="not-an-address")
    page = text_of(response)
    assert response.status_code == 400 and "<title>Error: " in page
    assert "Enter an email address in the correct format, like name@example.com" in page
    assert 'value="not-an-address"' in page
    assert post(admin_client, token, "/admin/inquiries/erase-by-address/confirm", email="").status_code == 400


def test_csv_export_is_safe_for_spreadsheets_and_follows_the_filter(app, admin_client):
    """Is the export UTF-8 with a BOM, an attachment, not cached, with formulas neutralised and the filter kept?"""
    for name, message in (("=cmd|' /C calc'!A0", "+1"), ("-2", "@x"), ("Zoë", "Plain words.")):
        add_inquiry(app, name=name, message=message)
    add_inquiry(app, name="Spam Bot", status=InquiryStatus.SPAM)
    response = admin_client.get("/admin/inquiries/export.csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="inquiries-')
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(b"\xef\xbb\xbfid,received,status,name,")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert {(row["name"], row["message"]) for row in rows} == {
        ("'=cmd|' /C calc'!A0", "'+1"), ("'-2", "'@x"), ("Zoë", "Plain words.")}
    search(admin_client, csrf_token_of(admin_client, "/admin/inquiries"), "zoë")
    searched = admin_client.get("/admin/inquiries/export.csv").data.decode("utf-8-sig")
    assert [row["name"] for row in csv.DictReader(io.StringIO(searched))] == ["Zoë"]
    search(admin_client, csrf_token_of(admin_client, "/admin/inquiries"), "")
    spam = admin_client.get("/admin/inquiries/export.csv?status=spam").data.decode("utf-8-sig")
    assert [row["name"] for row in csv.DictReader(io.StringIO(spam))] == ["Spam Bot"]
    assert 'href="/admin/inquiries/export.csv?status=spam"' in text_of(admin_client.get("/admin/inquiries?status=spam"))


def assert_shown_as_text(page: str) -> None:
    """Each hostile string is in the page only as escaped text: no tag, attribute or link it could run as."""
    assert "<script>alert" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert 'href="javascript:' not in page and "javascript:" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "{{7*7}}" in page


def test_hostile_text_shows_as_text_in_the_list_detail_confirmation_and_csv(app, admin_client):
    """SEC-05: do script tags, attribute breakers, javascript: and {{7*7}} in every field show only as text?"""
    joined = " ".join(HOSTILE)
    inquiry_id = add_inquiry(app, name=joined, email=HOSTILE[1] + "@example.org", phone=HOSTILE[2],
                             topic=HOSTILE[3], message=joined, privacy_notice_version=HOSTILE[0])
    for url in ("/admin/inquiries", f"/admin/inquiries/{inquiry_id}", f"/admin/inquiries/{inquiry_id}/confirm-erase"):
        assert_shown_as_text(text_of(admin_client.get(url)))
    search(admin_client, csrf_token_of(admin_client, "/admin/inquiries"), HOSTILE[0])
    searched = text_of(admin_client.get("/admin/inquiries"))
    assert_shown_as_text(searched)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;”" in searched
    [row] = csv.DictReader(io.StringIO(admin_client.get("/admin/inquiries/export.csv").data.decode("utf-8-sig")))
    assert (row["name"], row["email"], row["phone"], row["topic"], row["message"]) == (
        joined, HOSTILE[1] + "@example.org", HOSTILE[2], HOSTILE[3], joined)


def test_hostile_reply_is_escaped_in_the_email_and_timeline(app, admin_client, token):
    """SEC-05: is hostile text in a reply escaped in the HTML email and on the timeline?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    post(admin_client, token, f"/admin/inquiries/{inquiry_id}/reply", subject="Hi", body="\n".join(HOSTILE))
    post(admin_client, token, f"/admin/inquiries/{inquiry_id}/notes", note="\n".join(HOSTILE))
    [email] = load(app, inquiry_id).emails
    assert "<script>" not in email.body_html and "&lt;script&gt;alert(1)&lt;/script&gt;" in email.body_html
    assert "<img" not in email.body_html
    assert_shown_as_text(text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}")))


def test_destructive_actions_are_post_only(app, admin_client):
    """SEC-03: do status changes, notes, replies, resend and erasure answer GET with 405 and change nothing?"""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ, emails=(OutboxStatus.FAILED,))
    message_id = load(app, inquiry_id).emails[0].id
    for path in ("status/archive", "status/spam", "status/mark-replied", "notes", "reply",
                 f"emails/{message_id}/resend", "erase"):
        assert admin_client.get(f"/admin/inquiries/{inquiry_id}/{path}").status_code == 405, path
    assert admin_client.get("/admin/inquiries/erase-by-address/confirm").status_code == 405
    inquiry = load(app, inquiry_id)
    assert inquiry.status is InquiryStatus.READ and inquiry.notes == []


def test_logs_hold_ids_and_counts_only(app, admin_client, token, caplog):
    """SEC-13: do the inbox's log lines leave out names, addresses, messages, notes and replies?"""
    caplog.set_level(logging.DEBUG)
    sentinels = ["Sentinel Name", "sentinel@example.org", "Sentinel message", "Sentinel note", "Sentinel reply"]
    inquiry_id = add_inquiry(app, name=sentinels[0], email=sentinels[1], message=sentinels[2])
    admin_client.get(f"/admin/inquiries/{inquiry_id}")
    post(admin_client, token, f"/admin/inquiries/{inquiry_id}/notes", note=sentinels[3])
    post(admin_client, token, f"/admin/inquiries/{inquiry_id}/reply", subject="Hi", body=sentinels[4])
    post(admin_client, token, f"/admin/inquiries/{inquiry_id}/status/archive")
    admin_client.get("/admin/inquiries/export.csv")
    post(admin_client, token, "/admin/inquiries/erase-by-address/confirm", email=sentinels[1])
    assert f"inquiry {inquiry_id}" in caplog.text and "erasure (email address)" in caplog.text
    for sentinel in sentinels:
        assert sentinel.lower() not in caplog.text.lower(), sentinel
