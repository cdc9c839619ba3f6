"""The coach's inbox: finding inquiries, their status, notes and replies, erasure, export and purge.

These functions add to the session and leave the commit to the caller (a view, or the purge
command). SEC-13: log lines carry ids and counts only, never a name, address or message.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from flask import current_app
from sqlalchemy import Row, func, literal_column, or_, select, table

from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries.database_side import SEARCH_TABLE
from coaching.inquiries.intake import queue_inquiry_emails
from coaching.inquiries.models import (
    LISTED,
    Inquiry,
    InquiryNote,
    InquiryStatus,
    InquiryStatusCount,
    NoteKind,
    topic_label,
)
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import compose_email, resend
from coaching.web.forms import MAX_QUERY_LENGTH
from coaching.web.paging import Cursor, KeysetPage, newest_first_page
from coaching.web.templating import format_moment

log = logging.getLogger(__name__)

PER_PAGE = 25
PREVIEW_LENGTH = 100
# A search matching more inquiries than this is not counted, and its pages are found by reading the list
# newest first until a page is full (quick: so many matches are close together). One matching fewer is
# found through the trigram index, then counted and paged from what it found.
SEARCH_COUNT_LIMIT = 1000
TRIGRAM = 3  # the index holds runs of three characters: a shorter search reads the table
ROWS_READ_ONE_BY_ONE = 10_000  # a list this long is searched row by row in about 40 ms (SQLite, 100,000 rows)
STATUS_LABELS = {
    InquiryStatus.NEW: "New",
    InquiryStatus.READ: "Read",
    InquiryStatus.REPLIED: "Replied",
    InquiryStatus.ARCHIVED: "Archived",
    InquiryStatus.SPAM: "Spam",
}
EMAIL_LABELS = {
    EmailKind.COACH_NOTIFICATION: "Notification to you",
    EmailKind.VISITOR_ACKNOWLEDGEMENT: "Acknowledgement to the sender",
    EmailKind.ADMIN_REPLY: "Your reply",
}


@dataclass(frozen=True)
class StatusAction:
    """A status button: the status it sets, its text, and the timeline entry it writes."""

    status: InquiryStatus
    button: str
    event: str


ACTIONS = {
    "mark-replied": StatusAction(InquiryStatus.REPLIED, "Mark as replied", "Marked as replied"),
    "archive": StatusAction(InquiryStatus.ARCHIVED, "Archive", "Archived"),
    "restore": StatusAction(InquiryStatus.READ, "Move back to the inbox", "Moved back to the inbox"),
    "spam": StatusAction(InquiryStatus.SPAM, "Mark as spam", "Marked as spam"),
    "not-spam": StatusAction(InquiryStatus.READ, "Not spam", "Marked as not spam"),
}
AVAILABLE_ACTIONS = {
    InquiryStatus.NEW: ("mark-replied", "archive", "spam"),
    InquiryStatus.READ: ("mark-replied", "archive", "spam"),
    InquiryStatus.REPLIED: ("archive", "spam"),
    InquiryStatus.ARCHIVED: ("restore", "spam"),
    InquiryStatus.SPAM: ("not-spam",),
}
NOTE_LABELS = {NoteKind.NOTE: "Note", NoteKind.REPLY: "Reply sent", NoteKind.EVENT: "Change"}
CSV_COLUMNS = ("id", "received", "status", "name", "email", "phone", "topic", "message", "consent_at",
               "privacy_notice_version")
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What a row of the list shows (with coach_notified): every other column stays in the database.
LIST_COLUMNS = (Inquiry.id, Inquiry.created_at, Inquiry.name, Inquiry.status, Inquiry.topic, Inquiry.message,
                Inquiry.fill_seconds)


@dataclass(frozen=True)
class InboxFilter:
    """Which inquiries a list or export shows: one status (None: all but spam) and a search."""

    status: InquiryStatus | None = None
    query: str = ""

    @classmethod
    def from_request(cls, args, saved_query: str = "") -> InboxFilter:
        """The status from ?status= (an unknown one means the default view) and the search the coach saved.

        The search never comes from the URL: it may be a visitor's name or address (PRIV-03).
        """
        try:
            status = InquiryStatus(args.get("status", ""))
        except ValueError:
            status = None
        return cls(status, clean_query(saved_query))

    def url_args(self) -> dict[str, str]:
        """The query arguments that reproduce this filter's status (for links and pagination)."""
        return {"status": self.status.value} if self.status is not None else {}


def clean_query(text: str) -> str:
    """A search as typed, with runs of spaces made one and cut to MAX_QUERY_LENGTH."""
    return " ".join(text.split())[:MAX_QUERY_LENGTH]


def _matches(query: str):
    """Case-insensitive substring match on name, email or message, alike on SQLite and PostgreSQL."""
    text = query.lower()
    return or_(*(func.lower(column).contains(text, autoescape=True)
                 for column in (Inquiry.name, Inquiry.email, Inquiry.message)))


def _fts_phrase(query: str) -> str:
    """The search as one FTS5 phrase: every character literal, a double quote doubled."""
    return '"' + query.replace('"', '""') + '"'


def _shown(inbox_filter: InboxFilter):
    """The condition for the filter's status: that one, or all but spam."""
    return LISTED if inbox_filter.status is None else Inquiry.status == inbox_filter.status


def filtered(inbox_filter: InboxFilter):
    """A select() of every inquiry the filter shows, newest first (the export: all pages at once)."""
    query = select(Inquiry).where(_shown(inbox_filter))
    if inbox_filter.query:
        query = query.where(_matches(inbox_filter.query))
    return query.order_by(Inquiry.created_at.desc(), Inquiry.id.desc())


@dataclass(frozen=True)
class Matches:
    """What a search matched: each inquiry's id and status, unless `many` (more than SEARCH_COUNT_LIMIT) did."""

    statuses: Mapping[int, InquiryStatus] = field(default_factory=dict)
    many: bool = False


def search_matches(query: str, among=None) -> Matches:
    """The inquiries a search matches (of those `among`, a condition on status, if given), reading at most
    SEARCH_COUNT_LIMIT + 1 of them.

    SQLite: the FTS5 table (database_side.py) names candidates and _matches decides; PostgreSQL: _matches itself,
    which its pg_trgm indexes serve. Either way the index changes the speed, never the result.
    """
    limit = SEARCH_COUNT_LIMIT + 1
    if len(query) >= TRIGRAM and db.session.get_bind().dialect.name == "sqlite":
        rowid = literal_column(f"{SEARCH_TABLE}.rowid")
        statement = (select(Inquiry.id, Inquiry.status, _matches(query).label("hit"))
                     .select_from(table(SEARCH_TABLE)).join(Inquiry, Inquiry.id == rowid)
                     .where(literal_column(SEARCH_TABLE).op("MATCH")(_fts_phrase(query))))
        rows = db.session.execute((statement if among is None else statement.where(among)).limit(limit)).all()
        if len(rows) > SEARCH_COUNT_LIMIT:
            return Matches(many=True)
        return Matches({inquiry_id: status for inquiry_id, status, hit in rows if hit})
    statement = select(Inquiry.id, Inquiry.status).where(_matches(query))
    rows = db.session.execute((statement if among is None else statement.where(among)).limit(limit)).all()
    return Matches(many=True) if len(rows) > SEARCH_COUNT_LIMIT else Matches(dict(rows))


def page_of_inquiries(inbox_filter: InboxFilter, cursor: Cursor | None = None,
                      matches: Matches | None = None) -> KeysetPage:
    """The page of the filtered list that the cursor names (None: the first): rows of LIST_COLUMNS and
    coach_notified, what each row needs to say (not whole inquiries, which cost far more to build).

    A search pages through what it matched (search_matches, over every status when given, else over those shown).
    When more than SEARCH_COUNT_LIMIT match, the list is read newest first and each row tested (quick: so many
    matches fill a page soon), unless the statuses shown hold many rows: then their matches are looked for through
    the index first, as a term frequent in spam may be rare everywhere else.
    """
    shown = _shown(inbox_filter)
    query = select(*LIST_COLUMNS, _coach_notified().label("coach_notified")).where(shown)
    if inbox_filter.query:
        if matches is None or (matches.many and _rows_shown(inbox_filter) > ROWS_READ_ONE_BY_ONE):
            matches = search_matches(inbox_filter.query, among=shown)
        query = query.where(_matches(inbox_filter.query) if matches.many else Inquiry.id.in_(list(matches.statuses)))
    return newest_first_page(query, Inquiry.created_at, Inquiry.id, cursor, PER_PAGE)


def _coach_notified():
    """Whether the inquiry's notification to the coach has been sent: one indexed look-up a row, read with it."""
    return (select(OutboxMessage.id)
            .where(OutboxMessage.inquiry_id == Inquiry.id, OutboxMessage.kind == EmailKind.COACH_NOTIFICATION,
                   OutboxMessage.status == OutboxStatus.SENT)
            .exists())


def _rows_shown(inbox_filter: InboxFilter) -> int:
    """How many inquiries the filter's status shows, before any search (from the kept counts)."""
    return _stored_counts()[inbox_filter.status.value if inbox_filter.status else "all"]


def _with_all(counts: Mapping[InquiryStatus, int]) -> dict[str, int]:
    """Counts by status value for every status, and "all": every status but spam."""
    by_value = {status.value: counts.get(status, 0) for status in InquiryStatus}
    by_value["all"] = sum(by_value.values()) - by_value[InquiryStatus.SPAM.value]
    return by_value


def _stored_counts() -> dict[str, int]:
    """The counts the database keeps (inquiry_status_counts), by status value, with "all"."""
    return _with_all(dict(db.session.execute(select(InquiryStatusCount.status, InquiryStatusCount.total)).all()))


def status_counts(query: str = "", matches: Matches | None = None) -> dict[str, int] | None:
    """How many inquiries have each status, and "all" but spam, as the database keeps them (no scan).

    With a search: how many of its matches have each status, or None if it matched too many to count.
    """
    if not query:
        return _stored_counts()
    if matches is None:
        matches = search_matches(query)
    return None if matches.many else _with_all(Counter(matches.statuses.values()))


@dataclass(frozen=True)
class InboxListing:
    """A page of the inbox list and the counts beside it (None: a search that matched too many to count)."""

    page: KeysetPage
    counts: dict[str, int] | None


def inbox_listing(inbox_filter: InboxFilter, cursor: Cursor | None) -> InboxListing:
    """What the inbox list shows: the page the cursor names and the status counts, a search's found once."""
    matches = search_matches(inbox_filter.query) if inbox_filter.query else None
    return InboxListing(page_of_inquiries(inbox_filter, cursor, matches), status_counts(inbox_filter.query, matches))


def count_new() -> int:
    """How many inquiries are new (not yet opened), as the database keeps it: one row read."""
    return db.session.scalar(select(InquiryStatusCount.total).where(
        InquiryStatusCount.status == InquiryStatus.NEW)) or 0


def preview(message: str, length: int = PREVIEW_LENGTH) -> str:
    """The start of a message on one line, cut at a word near `length` characters."""
    text = " ".join(message.split())
    if len(text) <= length:
        return text
    cut = text[:length]
    space = cut.rfind(" ")
    if space > length // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def notification_state(inquiry: Inquiry | Row) -> str:
    """Whether the coach's notification went out, in words (not colour alone)."""
    if inquiry.coach_notified:
        return "Emailed to you"
    if inquiry.status is InquiryStatus.SPAM:
        return "Held (spam)"
    return "Not yet emailed"


def delivery_state(email: OutboxMessage) -> str:
    """Where an email stands, in words."""
    if email.status is OutboxStatus.SENT:
        return f"Sent {format_moment(email.sent_at)}"
    if email.status is OutboxStatus.FAILED:
        return "Failed: not sent"
    if email.status is OutboxStatus.SENDING:
        return "Being sent now"
    if email.attempts:
        return f"Waiting to be sent again at {format_moment(email.next_attempt_at)}"
    return "Waiting to be sent"


def available_actions(status: InquiryStatus) -> list[tuple[str, str]]:
    """The status buttons that make sense for an inquiry in this status: (action, button text)."""
    return [(action, ACTIONS[action].button) for action in AVAILABLE_ACTIONS[status]]


def mailto_link(inquiry: Inquiry, subject: str) -> str:
    """A mailto: address for answering from the coach's own email program."""
    return f"mailto:{quote(inquiry.email, safe='@')}?subject={quote(subject)}"


def default_reply_subject() -> str:
    """What a reply's subject starts as."""
    return f"Re: your message to {current_app.config['SITE_NAME']}"


def _event(inquiry: Inquiry, text: str, admin_id: int | None, kind: NoteKind = NoteKind.EVENT) -> InquiryNote:
    """Add an entry to the inquiry's timeline."""
    note = InquiryNote(inquiry=inquiry, kind=kind, body=text, author_id=admin_id, created_at=utcnow())
    db.session.add(note)
    return note


def open_inquiry(inquiry: Inquiry, admin_id: int) -> bool:
    """Mark a new inquiry read when the coach opens it; True if that changed it."""
    if inquiry.status is not InquiryStatus.NEW:
        return False
    inquiry.status = InquiryStatus.READ
    _event(inquiry, "Opened (marked as read)", admin_id)
    log.info("inquiry %d opened by admin %d", inquiry.id, admin_id)
    return True


def apply_action(inquiry: Inquiry, action: str, admin_id: int) -> tuple[str, bool]:
    """Apply a status button (see ACTIONS): what to tell the coach, and whether email was queued.

    "Not spam" also queues the notification (and acknowledgement) that was held back, unless
    the inquiry already has one.
    """
    if action not in AVAILABLE_ACTIONS[inquiry.status]:  # a second click, or another tab
        return f"Nothing was changed: this inquiry is {STATUS_LABELS[inquiry.status].lower()}.", False
    text, queued = ACTIONS[action].event, False
    inquiry.status = ACTIONS[action].status
    if action == "spam":
        inquiry.spam_reason = "marked as spam by the coach"
    elif action == "not-spam":
        inquiry.spam_reason = None
        if not any(email.kind is EmailKind.COACH_NOTIFICATION for email in inquiry.emails):
            queue_inquiry_emails(inquiry)
            queued = True
            text += "; the notification email that was held back is on its way"
    _event(inquiry, text, admin_id)
    log.info("inquiry %d: %s by admin %d", inquiry.id, action, admin_id)
    return f"{text}.", queued


def add_note(inquiry: Inquiry, text: str, admin_id: int) -> InquiryNote:
    """Keep a private note on the inquiry's timeline."""
    note = _event(inquiry, text, admin_id, kind=NoteKind.NOTE)
    log.info("inquiry %d: note added by admin %d", inquiry.id, admin_id)
    return note


def send_reply(inquiry: Inquiry, subject: str, body: str, admin_id: int) -> OutboxMessage:
    """Queue the coach's reply (From COACH_NAME at the site's address, Reply-To the coach, their message quoted
    below), record it, and mark the inquiry replied."""
    body = body.replace("\r\n", "\n")
    message = compose_email(inquiry, EmailKind.ADMIN_REPLY, inquiry.email, current_app.config["COACH_EMAIL"],
                            subject, "admin_reply", sender_name=current_app.config["COACH_NAME"], body=body,
                            inquiry=inquiry)
    db.session.add(message)
    _event(inquiry, body, admin_id, kind=NoteKind.REPLY)
    inquiry.status = InquiryStatus.REPLIED
    log.info("inquiry %d: reply queued by admin %d", inquiry.id, admin_id)
    return message


def resend_email(inquiry: Inquiry, message: OutboxMessage, admin_id: int) -> bool:
    """Queue a failed email of this inquiry again; False if it had not failed."""
    if message.status is not OutboxStatus.FAILED:
        return False
    resend(message)
    _event(inquiry, f"Sent again: {EMAIL_LABELS[message.kind].lower()} (email {message.id})", admin_id)
    log.info("inquiry %d: email %d queued again by admin %d", inquiry.id, message.id, admin_id)
    return True


# --- Export ---


def spreadsheet_safe(value) -> str:
    """A cell's text, with a leading apostrophe if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _when(value: datetime) -> str:
    """A date and time in UTC as spreadsheets read it."""
    return value.strftime("%Y-%m-%d %H:%M:%S")


def export_csv(inbox_filter: InboxFilter) -> str:
    """Every inquiry the filter shows (all pages) as CSV, UTF-8 with a BOM so spreadsheets read it right."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for inquiry in db.session.scalars(filtered(inbox_filter)):
        writer.writerow([spreadsheet_safe(value) for value in (
            inquiry.id, _when(inquiry.created_at), inquiry.status.value, inquiry.name, inquiry.email,
            inquiry.phone, topic_label(inquiry.topic) if inquiry.topic else "", inquiry.message,
            _when(inquiry.consent_at), inquiry.privacy_notice_version,
        )])
    return buffer.getvalue()
