"""Recording an inquiry and queueing its emails in one transaction, so none is ever lost."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner
from markupsafe import escape
from sqlalchemy import insert, select

from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries.forms import ContactForm
from coaching.inquiries.models import Inquiry, InquiryStatus, topic_label
from coaching.inquiries.spam_digest import note_spam_for_digest
from coaching.mail.kick_on_commit import queue_emails
from coaching.mail.models import EmailKind, OutboxMessage
from coaching.mail.outbox import email_values
from coaching.web.templating import absolute_url

log = logging.getLogger(__name__)

LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
LINK_MARKUP = re.compile(r"\[url[=\]]|\[link=|<a\s[^>]*href", re.IGNORECASE)


@dataclass(frozen=True)
class IntakeResult:
    """What recording a submission stored: the new inquiry's id and status."""

    inquiry_id: int
    status: InquiryStatus


def _signer() -> TimestampSigner:
    """Signs the time a form was shown, so the minimum fill time can't be faked by editing it."""
    return TimestampSigner(current_app.config["SECRET_KEY"], salt="contact-form-started")


def _new_token() -> str:
    """A one-time submission token (REL-10: the same token twice is one inquiry)."""
    return secrets.token_urlsafe(24)


def new_form_stamps() -> tuple[str, str]:
    """A freshly shown form's stamps: when it was shown (signed), and a one-time submission token."""
    return _signer().sign(str(int(utcnow().timestamp()))).decode(), _new_token()


def prepare_new_form(form: ContactForm) -> None:
    """Stamp a freshly shown form with when it was shown and a one-time submission token."""
    form.form_started.data, form.submission_token.data = new_form_stamps()


def fill_seconds(form: ContactForm, now: datetime) -> int | None:
    """Seconds from the form being shown to it being sent, or None if the page's stamp is unreadable."""
    try:
        started = int(_signer().unsign(form.form_started.data or "").decode())
    except (BadSignature, ValueError):
        return None  # an old or odd page: no timing judgement rather than a false positive
    return max(0, int(now.timestamp()) - started)


def spam_reason(form: ContactForm) -> str | None:
    """Why a submission is surely automated, or None.

    Only strong signals count. Speed alone never does: people with dystonia often write elsewhere,
    dictate, or paste, so a fast send is kept, delivered and merely flagged (see unusual_speed).
    """
    if form.website.data:
        return "honeypot field filled"  # a field people can't see or reach; only programs fill it
    message = form.message.data or ""
    if LINK_MARKUP.search(message):
        # Forum markup for links: spam tools write it; nobody typing in a plain-text box does.
        return "link markup for another website (BBCode or HTML)"
    links = len(LINK.findall(message))
    if links >= current_app.config["CONTACT_SPAM_LINKS"]:
        return f"{links} links in the message"
    return None


def record_inquiry(form: ContactForm, now: datetime | None = None) -> IntakeResult:
    """Insert the inquiry and its outgoing emails (the caller commits); Core inserts, no unit of work.

    The emails are rendered first, with a one-off marker where the coach's link to the inquiry goes
    (its id is known only once inserted), so the database's write lock, taken by the first insert and
    held to the commit, covers two inserts and nothing else.
    A token already recorded (a double-click, a resent form) fails the insert with IntegrityError
    (the unique constraint, with no SELECT first): the caller rolls back and asks already_recorded.
    """
    now = now or utcnow()
    reason = spam_reason(form)
    values = {
        "name": form.name.data, "email": form.email.data, "phone": form.phone.data or None,
        "topic": form.topic.data or None, "message": form.message.data, "consent_at": now,
        "privacy_notice_version": current_app.config["PRIVACY_NOTICE_VERSION"],
        "status": InquiryStatus.SPAM if reason else InquiryStatus.NEW, "spam_reason": reason,
        "fill_seconds": fill_seconds(form, now), "submission_token": form.submission_token.data or _new_token(),
        "created_at": now,
    }
    emails, marker = [], f"inquiry-link-{secrets.token_hex(16)}"  # unguessable: a visitor can't type it
    if reason is None:
        stored = Inquiry(**values)  # the row as it will be inserted, for the templates; never added to the session
        emails = inquiry_emails(stored, inquiry_url=marker)
    inquiry_id = db.session.execute(insert(Inquiry.__table__).returning(Inquiry.__table__.c.id), values).scalar_one()
    if reason is None:
        link = absolute_url("admin.inquiry", inquiry_id=inquiry_id)
        queue_emails([_with_link(email, marker, link) | {"inquiry_id": inquiry_id} for email in emails])
    else:
        note_spam_for_digest(now)
    return IntakeResult(inquiry_id, values["status"])


def _with_link(email: dict, marker: str, link: str) -> dict:
    """An email's outbox values with the marker replaced by the link (escaped in the HTML body)."""
    return {**email, "body_text": email["body_text"].replace(marker, link),
            "body_html": email["body_html"].replace(marker, str(escape(link)))}


def already_recorded(form: ContactForm) -> bool:
    """Whether the form's submission token belongs to a stored inquiry (after a failed insert, rolled back)."""
    token = form.submission_token.data
    return bool(token) and db.session.scalar(
        select(Inquiry.id).where(Inquiry.submission_token == token)) is not None


def inquiry_emails(inquiry: Inquiry, inquiry_url: str | None = None) -> list[dict]:
    """The coach's notification and, unless turned off, the visitor's acknowledgement, as outbox row values."""
    emails = [coach_notification(inquiry, inquiry_url)]
    if current_app.config["SEND_ACKNOWLEDGEMENT"]:
        emails.append(visitor_acknowledgement(inquiry))
    return emails


def queue_inquiry_emails(inquiry: Inquiry) -> None:
    """Queue the emails of an inquiry in the session (the inbox's "Not spam"); the caller commits."""
    db.session.add_all(OutboxMessage(inquiry=inquiry, **email) for email in inquiry_emails(inquiry))


def coach_notification(inquiry: Inquiry, inquiry_url: str | None = None) -> dict:
    """The coach's email about a new inquiry: Reply-To the visitor, the message unless turned off.

    inquiry_url, when given, stands in for the link to the inquiry (record_inquiry's marker).
    """
    context = {
        "inquiry": inquiry,
        "topic": topic_label(inquiry.topic),
        "include_message": current_app.config["NOTIFY_INCLUDE_MESSAGE"],
        "inquiry_url": inquiry_url or absolute_url("admin.inquiry", inquiry_id=inquiry.id),
        "unusual": unusual_speed(inquiry),
        "speed_explanation": SPEED_EXPLANATION,
    }
    return email_values(
        EmailKind.COACH_NOTIFICATION, current_app.config["COACH_EMAIL"], inquiry.email,
        f"New inquiry from {inquiry.name}", "coach_notification", **context,
    )


def visitor_acknowledgement(inquiry: Inquiry) -> dict:
    """A short "your message arrived" email, with none of the visitor's words (no spam relay)."""
    config = current_app.config
    return email_values(
        EmailKind.VISITOR_ACKNOWLEDGEMENT, inquiry.email, config["PRACTICE_EMAIL"],
        f"Your message to {config['SITE_NAME']} has arrived", "visitor_acknowledgement",
    )


SPEED_EXPLANATION = ("faster than anyone types, so it was probably pasted, dictated or filled in by the browser. "
                     "It may also come from a program, so take care with any links in it.")


def unusual_speed(inquiry: Inquiry) -> str | None:
    """"Sent 2 s after the page opened" when a message came faster than typing allows (delivered all the same)."""
    seconds = inquiry.fill_seconds
    if seconds is None or seconds >= current_app.config["CONTACT_MIN_FILL_SECONDS"]:
        return None
    return f"Sent {seconds} s after the page opened"
