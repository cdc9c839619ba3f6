"""The inbox's logic (coaching/inquiries/inbox.py): filters, search, erasure, export and `flask purge-inquiries`."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries import inbox
from coaching.inquiries.inbox import InboxFilter
from coaching.inquiries.models import ErasureRecord, Inquiry, InquiryNote, InquiryStatus
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import new_message_id
from tests.factories import add_inquiry, every_stored_text


def ids_shown(app, inbox_filter: InboxFilter, page: int = 1) -> list[int]:
    """The ids on one page of the list."""
    with app.app_context():
        return [inquiry.id for inquiry in inbox.page_of_inquiries(inbox_filter, page).items]


def test_list_is_newest_first_in_pages_of_25(app):
    """Are inquiries listed newest first, 25 a page?"""
    now = utcnow()
    ids = [add_inquiry(app, created_at=now - timedelta(hours=hours)) for hours in range(30)]
    assert ids_shown(app, InboxFilter()) == ids[:25]
    assert ids_shown(app, InboxFilter(), page=2) == ids[25:]


def test_spam_is_left_out_unless_asked_for_and_counts_match(app):
    """Does the default list leave out spam, does a status filter show only that status, and do counts agree?"""
    by_status = {status: add_inquiry(app, status=status) for status in InquiryStatus}
    assert set(ids_shown(app, InboxFilter())) == {i for s, i in by_status.items() if s is not InquiryStatus.SPAM}
    for status, inquiry_id in by_status.items():
        assert ids_shown(app, InboxFilter(status=status)) == [inquiry_id]
    with app.app_context():
        assert inbox.status_counts() == {"new": 1, "read": 1, "replied": 1, "archived": 1, "spam": 1, "all": 4}


@pytest.mark.parametrize("query", ["ZOË", "o'hara", "EXAMPLE.ORG", "recovery", "talk about"])
def test_search_is_case_insensitive_over_name_email_and_message(app, query):
    """Does a search find an inquiry by its name, email or message, in any letter case?"""
    wanted = add_inquiry(app)
    add_inquiry(app, name="Sam", email="sam@elsewhere.test", message="Hello.")
    assert ids_shown(app, InboxFilter(query=query)) == [wanted]


def test_search_treats_wildcards_as_text_and_narrows_counts(app):
    """Are % and _ in a search plain characters, and do the counts follow the search?"""
    wanted = add_inquiry(app, message="I improved 50% in_a year.")
    add_inquiry(app, message="I improved 50 percent in one year.", status=InquiryStatus.ARCHIVED)
    assert ids_shown(app, InboxFilter(query="50%")) == [wanted]
    assert ids_shown(app, InboxFilter(query="in_a")) == [wanted]
    with app.app_context():
        counts = inbox.status_counts("improved")
    assert counts["new"] == 1 and counts["archived"] == 1 and counts["all"] == 2


def test_filter_takes_status_from_the_url_and_the_search_only_from_the_session():
    """Does an unknown status mean the default view, is ?q= ignored, and is a saved search trimmed and capped?"""
    assert InboxFilter.from_request({"status": "nonsense", "q": "ignored"}, "  zoë   o'hara ") == InboxFilter(
        None, "zoë o'hara")
    assert InboxFilter.from_request({"status": "spam"}, "zoë").url_args() == {"status": "spam"}
    assert len(InboxFilter.from_request({}, "x" * 500).query) == 200


def test_preview_is_about_100_characters_on_one_line():
    """Is a preview one line, about 100 characters, cut at a word with an ellipsis?"""
    message = "First line.\n\nSecond line " + "word " * 60
    shown = inbox.preview(message)
    assert "\n" not in shown and shown.startswith("First line. Second line word")
    assert 50 < len(shown) <= 101 and shown.endswith("word…")
    assert inbox.preview("Short.") == "Short."


@pytest.mark.parametrize(("states", "status", "expected"), [
    ((OutboxStatus.SENT,), InquiryStatus.NEW, "Emailed to you"),
    ((OutboxStatus.PENDING,), InquiryStatus.NEW, "Not yet emailed"),
    ((OutboxStatus.FAILED,), InquiryStatus.READ, "Not yet emailed"),
    ((), InquiryStatus.SPAM, "Held (spam)"),
])
def test_notification_state_is_said_in_words(app, states, status, expected):
    """Does each row say in words whether the coach's notification went out?"""
    inquiry_id = add_inquiry(app, emails=states, status=status)
    with app.app_context():
        assert inbox.notification_state(db.session.get(Inquiry, inquiry_id)) == expected


@pytest.mark.parametrize(("value", "cell"), [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+1", "'+1"), ("-2", "'-2"), ("@x", "'@x"),
    ("\tTab", "'\tTab"), ("\rReturn", "'\rReturn"), ("Plain = fine", "Plain = fine"), (None, ""), (7, "7"),
])
def test_spreadsheet_cells_cannot_be_formulas(value, cell):
    """SEC-05: does a cell starting with = + - @ (or tab, CR) get a leading apostrophe?"""
    assert inbox.spreadsheet_safe(value) == cell


def test_export_has_a_bom_every_column_and_only_the_filtered_rows(app):
    """Is the CSV UTF-8 with a BOM, one row per filtered inquiry (all pages), with every column?"""
    for _ in range(30):
        add_inquiry(app)
    add_inquiry(app, name="Spam Bot", status=InquiryStatus.SPAM)
    with app.app_context():
        text = inbox.export_csv(InboxFilter())
        spam_only = inbox.export_csv(InboxFilter(status=InquiryStatus.SPAM))
    assert text.startswith("\ufeffid,received,status,name,email,phone,topic,message,consent_at,privacy_notice_version")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(rows) == 30 and {row["name"] for row in rows} == {"Zoë O'Hara"}
    assert rows[0]["privacy_notice_version"] == "2026-11-25" and rows[0]["status"] == "new"
    assert [row["name"] for row in csv.DictReader(io.StringIO(spam_only.removeprefix("\ufeff")))] == ["Spam Bot"]


def test_erasing_an_address_removes_its_inquiries_emails_and_notes_only(app, admin_user):
    """PRIV-02: does erasing an address remove its inquiries, emails and notes, keeping others and an audit record?"""
    first = add_inquiry(app, email="Leave.Me@example.net", emails=(OutboxStatus.SENT,), notes=("Called back",))
    second = add_inquiry(app, email="leave.me@example.net", emails=(OutboxStatus.FAILED,))
    kept = add_inquiry(app, email="stay@example.org", emails=(OutboxStatus.SENT,), notes=("Keep",))
    with app.app_context():
        for recipient in ("leave.me@example.net", "coach@hopefordystonia.example"):  # emails of no inquiry
            db.session.add(OutboxMessage(kind=EmailKind.ADMIN_REPLY, message_id=new_message_id(),
                                         recipient=recipient, subject="Hello", body_text="Hello."))
        db.session.commit()
        assert inbox.erasure_counts(inbox.inquiries_from("leave.me@EXAMPLE.net"), "leave.me@example.net") == (
            3, 1)
        record = inbox.erase_address("LEAVE.ME@example.net", admin_user)
        db.session.commit()
        assert (record.inquiries, record.emails, record.notes) == (2, 3, 1)
        assert record.inquiry_ids == f"{first},{second}" and record.reason == "email address"
        assert db.session.scalars(select(Inquiry.id)).all() == [kept]
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
        assert db.session.scalar(select(func.count()).select_from(InquiryNote)) == 1
    assert not any("leave.me" in text.lower() for text in every_stored_text(app))


def test_purge_erases_only_inquiries_past_retention(app_factory):
    """PRIV-02: does purging erase inquiries older than INQUIRY_RETENTION_DAYS with their emails and notes?"""
    app = app_factory(INQUIRY_RETENTION_DAYS=30)
    now = utcnow()
    old = add_inquiry(app, created_at=now - timedelta(days=31), emails=(OutboxStatus.SENT,), notes=("Old",))
    recent = add_inquiry(app, created_at=now - timedelta(days=29), emails=(OutboxStatus.SENT,))
    with app.app_context():
        record = inbox.purge_expired()
        db.session.commit()
        assert (record.reason, record.inquiry_ids, record.inquiries, record.emails, record.notes) == (
            "retention", str(old), 1, 1, 1)
        assert record.admin_id is None
        assert db.session.scalars(select(Inquiry.id)).all() == [recent]
        assert inbox.purge_expired() is None


def test_purge_inquiries_command(app):
    """PRIV-02: does `flask purge-inquiries` erase year-old inquiries, say how many, and keep an audit record?"""
    now = utcnow()
    for days in (400, 366):
        add_inquiry(app, created_at=now - timedelta(days=days), emails=(OutboxStatus.SENT,))
    recent = add_inquiry(app, created_at=now - timedelta(days=364))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["purge-inquiries"])
    assert result.exit_code == 0, result.output
    assert result.output == "Erased 2 inquiries older than 365 days, with 2 emails and 0 notes.\n"
    assert "Zoë" not in result.output
    again = runner.invoke(args=["purge-inquiries"])
    assert again.output == "No inquiries older than 365 days; nothing erased.\n"
    with app.app_context():
        assert db.session.scalars(select(Inquiry.id)).all() == [recent]
        records = db.session.scalars(select(ErasureRecord)).all()
        assert [(r.reason, r.inquiries) for r in records] == [("retention", 2)]
    assert "purge-inquiries" in runner.invoke(args=["--help"]).output
