"""The coach's inbox: finding inquiries, their status, notes and replies, erasure, export and purge.

These functions add to the session and leave the commit to the caller (a view, or the purge
command). SEC-13: log lines carry ids and counts only, never a name, address or message.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import selectinload

from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries.intake import queue_inquiry_emails
from coaching.inquiries.models import ErasureRecord, Inquiry, InquiryNote, InquiryStatus, NoteKind, topic_label
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import compose_email, resend
from coaching.web.forms import MAX_QUERY_LENGTH
from coaching.web.templating import format_moment

log = logging.getLogger(__name__)

PER_PAGE = 25
PREVIEW_LENGTH = 100
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


def filtered(inbox_filter: InboxFilter):
    """A select() of the inquiries the filter shows, newest first."""
    if inbox_filter.status is None:
        query = select(Inquiry).where(Inquiry.status != InquiryStatus.SPAM)
    else:
        query = select(Inquiry).where(Inquiry.status == inbox_filter.status)
    if inbox_filter.query:
        query = query.where(_matches(inbox_filter.query))
    return query.order_by(Inquiry.created_at.desc(), Inquiry.id.desc())


def page_of_inquiries(inbox_filter: InboxFilter, page: int) -> Pagination:
    """One page of the filtered list (404 past the last), with what each row needs to say."""
    query = filtered(inbox_filter).options(
        selectinload(Inquiry.emails).load_only(OutboxMessage.kind, OutboxMessage.status))
    return db.paginate(query, page=page, per_page=PER_PAGE, error_out=True)


def status_counts(query: str = "") -> dict[str, int]:
    """How many inquiries (matching the search, if any) have each status, and "all" but spam."""
    statement = select(Inquiry.status, func.count()).group_by(Inquiry.status)
    if query:
        statement = statement.where(_matches(query))
    counts = {status.value: 0 for status in InquiryStatus}
    counts.update({status.value: number for status, number in db.session.execute(statement)})
    counts["all"] = sum(counts.values()) - counts[InquiryStatus.SPAM.value]
    return counts


def count_new() -> int:
    """How many inquiries are new (not yet opened): one COUNT on the status index."""
    return db.session.scalar(select(func.count()).select_from(Inquiry).where(Inquiry.status == InquiryStatus.NEW))


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


def notification_state(inquiry: Inquiry) -> str:
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


# --- Erasure (PRIV-02) ---


def _sent_from(address: str):
    """The condition for inquiries sent from this address, in any letter case."""
    return func.lower(Inquiry.email) == address.lower()


def inquiries_from(address: str) -> list[Inquiry]:
    """Every inquiry sent from this address (in any letter case), newest first."""
    return list(db.session.scalars(
        select(Inquiry).where(_sent_from(address))
        .order_by(Inquiry.created_at.desc(), Inquiry.id.desc())
    ))


def unlinked_emails_to(address: str):
    """The condition for queued emails to or from this address that belong to no inquiry."""
    text = address.lower()
    return (OutboxMessage.inquiry_id.is_(None)
            & or_(func.lower(OutboxMessage.recipient) == text, func.lower(OutboxMessage.reply_to) == text))


def _emails_erased_with(inquiry_ids: list[int], address: str | None):
    """The condition for the emails that go with these inquiries (and, with an address, its unlinked ones)."""
    condition = OutboxMessage.inquiry_id.in_(inquiry_ids)
    return or_(condition, unlinked_emails_to(address)) if address else condition


def erase(inquiry_ids: list[int], reason: str, admin_id: int | None, address: str | None = None) -> ErasureRecord:
    """Delete these inquiries with their emails and notes, and write an audit record of ids and counts.

    With an address, emails to or from it that belong to no inquiry go too.
    """
    ids = sorted(inquiry_ids)
    notes = db.session.execute(delete(InquiryNote).where(InquiryNote.inquiry_id.in_(ids))).rowcount
    emails = db.session.execute(delete(OutboxMessage).where(_emails_erased_with(ids, address))).rowcount
    inquiries = db.session.execute(delete(Inquiry).where(Inquiry.id.in_(ids))).rowcount
    record = ErasureRecord(reason=reason, inquiry_ids=",".join(map(str, ids)), inquiries=inquiries,
                           emails=emails, notes=notes, admin_id=admin_id, erased_at=utcnow())
    db.session.add(record)
    log.info("erasure (%s) by admin %s: %d inquiries [%s], %d emails, %d notes", reason,
             admin_id if admin_id is not None else "-", inquiries, record.inquiry_ids, emails, notes)
    return record


def erase_inquiry(inquiry: Inquiry, admin_id: int) -> ErasureRecord:
    """Erase one inquiry with its emails and notes."""
    return erase([inquiry.id], "one inquiry", admin_id)


def erase_address(address: str, admin_id: int) -> ErasureRecord:
    """Erase everything held about one email address."""
    ids = list(db.session.scalars(select(Inquiry.id).where(_sent_from(address))))
    return erase(ids, "email address", admin_id, address=address)


def erasure_counts(inquiry_list: list[Inquiry], address: str | None = None) -> tuple[int, int]:
    """How many emails and notes erasing these inquiries (and the address, if given) would remove."""
    ids = [item.id for item in inquiry_list]
    emails = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(_emails_erased_with(ids, address)))
    notes = db.session.scalar(select(func.count()).select_from(InquiryNote).where(InquiryNote.inquiry_id.in_(ids)))
    return emails, notes


def purge_expired(now: datetime | None = None) -> ErasureRecord | None:
    """Erase inquiries older than INQUIRY_RETENTION_DAYS; None if there were none."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["INQUIRY_RETENTION_DAYS"])
    ids = list(db.session.scalars(select(Inquiry.id).where(Inquiry.created_at < cutoff)))
    if not ids:
        return None
    return erase(ids, "retention", admin_id=None)


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
