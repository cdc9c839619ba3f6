"""The inbox's logic (coaching/inquiries/inbox.py): filters, search, erasure, export and `flask purge-inquiries`."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries import erasure, inbox
from coaching.inquiries.inbox import InboxFilter
from coaching.inquiries.models import ErasureRecord, Inquiry, InquiryNote, InquiryStatus
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import new_message_id
from coaching.web.paging import Cursor
from tests.apps import statements_run
from tests.factories import add_admin, add_inquiry, every_stored_text
from tests.forms import submit_contact


def ids_shown(app, inbox_filter: InboxFilter, cursor: Cursor | None = None) -> list[int]:
    """The ids on one page of the list."""
    with app.app_context():
        return [inquiry.id for inquiry in inbox.page_of_inquiries(inbox_filter, cursor).items]


def pages_walked(app, inbox_filter: InboxFilter, older: bool = True, start: Cursor | None = None) -> list[list[int]]:
    """The ids on each page, following Older links from the first page (or Newer links from `start`)."""
    pages, cursor = [], start
    with app.app_context():
        while True:
            page = inbox.page_of_inquiries(inbox_filter, cursor)
            pages.append([inquiry.id for inquiry in page.items])
            cursor = page.older if older else page.newer
            if cursor is None:
                return pages
            assert len(pages) < 100, "the walk does not end"


def full_listing(app, inbox_filter: InboxFilter) -> list[int]:
    """Every id the filter shows, newest first, in one query (what the export lists)."""
    with app.app_context():
        return [inquiry.id for inquiry in db.session.scalars(inbox.filtered(inbox_filter))]


def counted_now(app) -> dict[str, int]:
    """How many inquiries have each status, counted over the table itself (what the kept counts must say)."""
    with app.app_context():
        stored = dict(db.session.execute(select(Inquiry.status, func.count()).group_by(Inquiry.status)).all())
    counts = {status.value: stored.get(status, 0) for status in InquiryStatus}
    counts["all"] = sum(counts.values()) - counts["spam"]
    return counts


def kept_counts(app) -> dict[str, int]:
    """The counts the inbox shows, with their source: the kept counts."""
    with app.app_context():
        return inbox.status_counts()


def test_list_is_newest_first_in_pages_of_25(app):
    """Are inquiries listed newest first, 25 a page, the Older cursor leading to the rest?"""
    now = utcnow()
    ids = [add_inquiry(app, created_at=now - timedelta(hours=hours)) for hours in range(30)]
    with app.app_context():
        first = inbox.page_of_inquiries(InboxFilter())
        assert [inquiry.id for inquiry in first.items] == ids[:25] and first.is_first and first.newer is None
        second = inbox.page_of_inquiries(InboxFilter(), first.older)
        assert [inquiry.id for inquiry in second.items] == ids[25:] and second.older is None
        assert [inquiry.id for inquiry in inbox.page_of_inquiries(InboxFilter(), second.newer).items] == ids[:25]


def shared_times(app, count: int = 200) -> None:
    """Store `count` inquiries in runs of four sharing a created_at, with mixed statuses and two kinds of message."""
    now, statuses = utcnow(), list(InquiryStatus)
    with app.app_context():
        db.session.add_all(Inquiry(
            name=f"Person {number}", email=f"person{number}@example.org", consent_at=now,
            message="Talk about walking." if number % 3 else "Talk about sleep.", privacy_notice_version="2026-11-25",
            created_at=now - timedelta(minutes=number // 4), status=statuses[number * 7 % 5],
            submission_token=uuid.uuid4().hex,
        ) for number in range(count))
        db.session.commit()


WALKED_FILTERS = [InboxFilter(), InboxFilter(status=InquiryStatus.READ), InboxFilter(status=InquiryStatus.SPAM),
                  InboxFilter(query="walking"), InboxFilter(InquiryStatus.NEW, "walking"), InboxFilter(query="ab"),
                  InboxFilter(query="nobody")]


@pytest.mark.parametrize("inbox_filter", WALKED_FILTERS, ids=repr)
@pytest.mark.parametrize(("count_limit", "read_one_by_one"), [(1000, 10_000), (10, 10_000), (10, 0)],
                         ids=["counted", "too-many-read-row-by-row", "too-many-looked-up-among-shown"])
def test_walking_every_page_visits_each_inquiry_once_in_order(app, monkeypatch, inbox_filter, count_limit,
                                                              read_one_by_one):
    """Do Older links visit every inquiry the filter shows exactly once, in the full listing's order (runs sharing a
    created_at, a status, a search counted or too many to count, however its matches are found), and do Newer links
    walk the same pages back?"""
    monkeypatch.setattr(inbox, "SEARCH_COUNT_LIMIT", count_limit)
    monkeypatch.setattr(inbox, "ROWS_READ_ONE_BY_ONE", read_one_by_one)
    shared_times(app)
    expected = full_listing(app, inbox_filter)
    assert (len(expected) > 25) is (inbox_filter.query != "nobody")  # several pages to walk
    pages = pages_walked(app, inbox_filter)
    assert [inquiry_id for page in pages for inquiry_id in page] == expected
    assert all(len(page) == 25 for page in pages[:-1]) and len(pages[-1]) <= 25
    if len(pages) > 1:
        with app.app_context():
            top_of_last = db.session.get(Inquiry, pages[-1][0])
            newer_than_last = Cursor(top_of_last.created_at, top_of_last.id, older=False)
        assert pages_walked(app, inbox_filter, older=False, start=newer_than_last) == pages[-2::-1]


def test_a_page_of_newer_rows_cut_short_by_an_erasure_is_the_first_page(app, admin_user):
    """When inquiries newer than a page were erased meanwhile, does Newer show a full first page?"""
    now = utcnow()
    ids = [add_inquiry(app, created_at=now - timedelta(minutes=minutes)) for minutes in range(40)]
    with app.app_context():
        second = inbox.page_of_inquiries(InboxFilter(), inbox.page_of_inquiries(InboxFilter()).older)
        erasure.erase(ids[:20], "one inquiry", admin_user)
        db.session.commit()
        newer = inbox.page_of_inquiries(InboxFilter(), second.newer)
        assert [inquiry.id for inquiry in newer.items] == ids[20:40] and newer.is_first
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


@pytest.mark.parametrize(("states", "status", "expected"), [
    ((OutboxStatus.SENT,), InquiryStatus.NEW, "Emailed to you"),
    ((OutboxStatus.FAILED, OutboxStatus.SENT), InquiryStatus.READ, "Emailed to you"),
    ((OutboxStatus.PENDING,), InquiryStatus.NEW, "Not yet emailed"),
    ((OutboxStatus.FAILED,), InquiryStatus.READ, "Not yet emailed"),
    ((), InquiryStatus.SPAM, "Held (spam)"),
])
def test_list_row_says_what_the_inquiry_says(app, states, status, expected):
    """Does a row of the list (columns read for the page, not the whole inquiry) say the same about its
    notification as the inquiry does?"""
    inquiry_id = add_inquiry(app, emails=states, status=status)
    with app.app_context():
        (row,) = inbox.page_of_inquiries(InboxFilter(status=status)).items
        assert row.id == inquiry_id and inbox.notification_state(row) == expected


def test_list_row_counts_only_the_coachs_notification_as_sent(app):
    """Does a row say "Not yet emailed" when only the acknowledgement to the sender has gone out?"""
    inquiry_id = add_inquiry(app, emails=(OutboxStatus.PENDING,))
    with app.app_context():
        db.session.add(OutboxMessage(
            inquiry_id=inquiry_id, kind=EmailKind.VISITOR_ACKNOWLEDGEMENT, message_id=new_message_id(),
            recipient="zoe@example.org", subject="Thank you", body_text="Thank you.", status=OutboxStatus.SENT))
        db.session.commit()
        (row,) = inbox.page_of_inquiries(InboxFilter()).items
        assert inbox.notification_state(row) == "Not yet emailed"


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
        assert erasure.erasure_counts(erasure.inquiries_from("leave.me@EXAMPLE.net"), "leave.me@example.net") == (
            3, 1)
        record = erasure.erase_address("LEAVE.ME@example.net", admin_user)
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
        record = erasure.purge_expired()
        db.session.commit()
        assert (record.reason, record.inquiry_ids, record.inquiries, record.emails, record.notes) == (
            "retention", str(old), 1, 1, 1)
        assert record.admin_id is None
        assert db.session.scalars(select(Inquiry.id)).all() == [recent]
        assert erasure.purge_expired() is None


def test_purge_inquiries_command(app):
    """PRIV-02: does `flask purge-inquiries` erase year-old inquiries, say how many, and keep an audit record?"""
    now = utcnow()
    for days in (400, 366):
        add_inquiry(app, created_at=now - timedelta(days=days), emails=(OutboxStatus.SENT,))
    recent = add_inquiry(app, created_at=now - timedelta(days=364))
    runner = app.test_cli_runner()
    with statements_run(app) as statements:
        result = runner.invoke(args=["purge-inquiries"])
    assert result.exit_code == 0, result.output
    rewrites = [sql for sql in statements if "('optimize')" in sql]
    assert len(rewrites) == (1 if app.config["DATABASE_URL"].startswith("sqlite") else 0)  # erased text leaves it
    assert result.output == "Erased 2 inquiries older than 365 days, with 2 emails and 0 notes.\n"
    assert "Zoë" not in result.output
    again = runner.invoke(args=["purge-inquiries"])
    assert again.output == "No inquiries older than 365 days; nothing erased.\n"
    with app.app_context():
        assert db.session.scalars(select(Inquiry.id)).all() == [recent]
        records = db.session.scalars(select(ErasureRecord)).all()
        assert [(r.reason, r.inquiries) for r in records] == [("retention", 2)]
    assert "purge-inquiries" in runner.invoke(args=["--help"]).output
    with app.app_context():
        assert inbox.search_matches("zoë").statuses.keys() == {recent}


# --- The kept status counts (inquiry_status_counts, kept by triggers) ---


def test_counts_stay_right_through_every_change(app_factory):
    """Do the kept counts equal a count over the table after the form (spam too), opening, every status button,
    a reply, a bulk update, a rolled-back change, erasing one inquiry and an address, and the purge?"""
    app = app_factory(INQUIRY_RETENTION_DAYS=30, CONTACT_RATE_LIMIT="100 per minute")
    admin = add_admin(app)
    now = utcnow()
    ids = {status: add_inquiry(app, status=status) for status in InquiryStatus}
    old = add_inquiry(app, created_at=now - timedelta(days=40), status=InquiryStatus.ARCHIVED)
    leaving = [add_inquiry(app, email="Leave@example.net", status=status)
               for status in (InquiryStatus.NEW, InquiryStatus.SPAM)]
    assert kept_counts(app) == counted_now(app) and counted_now(app)["all"] == 6
    client = app.test_client()
    base = {"name": "Pat", "email": "pat@example.org", "message": "Hello there.", "consent": "y"}
    for extra in ({}, {"website": "http://filled-by-a-bot.example"}):
        assert submit_contact(client, base | extra).status_code == 303
    assert kept_counts(app) == counted_now(app) and kept_counts(app)["spam"] == 3

    def change(step) -> None:
        with app.test_request_context():  # "not spam" queues emails, whose links need a request's URL
            step()
            db.session.commit()
        assert kept_counts(app) == counted_now(app), step

    def get(inquiry_id: int) -> Inquiry:
        return db.session.get(Inquiry, inquiry_id)

    change(lambda: inbox.open_inquiry(get(ids[InquiryStatus.NEW]), admin))
    for action, status in (("mark-replied", InquiryStatus.READ), ("archive", InquiryStatus.REPLIED),
                           ("restore", InquiryStatus.ARCHIVED), ("spam", InquiryStatus.NEW),
                           ("not-spam", InquiryStatus.SPAM)):
        change(lambda status=status, action=action: inbox.apply_action(get(ids[status]), action, admin))
    change(lambda: inbox.send_reply(get(ids[InquiryStatus.READ]), "Hi", "Hello.", admin))
    change(lambda: db.session.execute(update(Inquiry).where(Inquiry.status == InquiryStatus.SPAM)
                                      .values(status=InquiryStatus.ARCHIVED)))
    before = kept_counts(app)
    with app.app_context():
        get(ids[InquiryStatus.REPLIED]).status = InquiryStatus.SPAM
        db.session.flush()
        db.session.rollback()
    assert kept_counts(app) == before == counted_now(app)
    change(lambda: erasure.erase_inquiry(get(ids[InquiryStatus.REPLIED]), admin))
    change(lambda: erasure.erase_address("leave@EXAMPLE.net", admin))
    change(lambda: erasure.purge_expired())
    with app.app_context():
        assert db.session.get(Inquiry, old) is None and not any(db.session.get(Inquiry, i) for i in leaving)
        assert inbox.count_new() == counted_now(app)["new"]


def test_a_search_that_matches_too_many_is_not_counted(app, monkeypatch):
    """Is a search matching more than SEARCH_COUNT_LIMIT inquiries left uncounted, and one matching fewer counted?"""
    monkeypatch.setattr(inbox, "SEARCH_COUNT_LIMIT", 3)
    for status in (InquiryStatus.NEW, InquiryStatus.READ, InquiryStatus.SPAM, InquiryStatus.NEW):
        add_inquiry(app, status=status, message="About my recovery.")
    add_inquiry(app, message="Something else.", name="Kim Quillfeather")
    with app.app_context():
        assert inbox.status_counts("recovery") is None
        assert inbox.status_counts("quillfeather") == {
            "new": 1, "read": 0, "replied": 0, "archived": 0, "spam": 0, "all": 1}
        assert inbox.inbox_listing(InboxFilter(query="recovery"), None).counts is None


def test_a_word_frequent_in_spam_still_finds_its_few_matches_elsewhere(app, monkeypatch):
    """When a search matches too many to count, mostly spam, does the default list show exactly its other matches?"""
    monkeypatch.setattr(inbox, "SEARCH_COUNT_LIMIT", 3)
    monkeypatch.setattr(inbox, "ROWS_READ_ONE_BY_ONE", 0)
    for _ in range(5):
        add_inquiry(app, status=InquiryStatus.SPAM, message="Win at the casino tonight.")
    wanted = [add_inquiry(app, status=status, message="Not the Casino kind of person.")
              for status in (InquiryStatus.NEW, InquiryStatus.ARCHIVED)]
    add_inquiry(app, message="Something else.")
    with app.app_context():
        listing = inbox.inbox_listing(InboxFilter(query="casino"), None)
        assert listing.counts is None
        assert [inquiry.id for inquiry in listing.page.items] == wanted[::-1] == full_listing(
            app, InboxFilter(query="casino"))
