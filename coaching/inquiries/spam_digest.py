"""The coach's daily spam summary: at most one email a day saying how many messages went to spam.

Nothing put in spam is ever silent: each automatic spam verdict keeps one pending summary email
up to date (its count, never a word of the messages), due at SPAM_DIGEST_HOUR in the practice's
TIME_ZONE. The outbox delivers it like any other email, so a false positive is found within a day.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import func, select

from coaching.extensions import db
from coaching.inquiries.models import Inquiry, InquiryStatus
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import new_message_id
from coaching.web.templating import absolute_url


def next_digest_time(now: datetime) -> datetime:
    """The next SPAM_DIGEST_HOUR o'clock in the practice's time zone after `now` (as UTC-aware)."""
    zone = ZoneInfo(current_app.config["TIME_ZONE"])
    local_now = now.astimezone(zone)
    hour = time(current_app.config["SPAM_DIGEST_HOUR"])
    day = local_now.date() if local_now.time() < hour else local_now.date() + timedelta(days=1)
    return datetime.combine(day, hour, zone).astimezone(now.tzinfo)


def _waiting_digest() -> OutboxMessage | None:
    """The summary not yet sent (none, or one still waiting for its hour or a retry)."""
    return db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.kind == EmailKind.SPAM_DIGEST, OutboxMessage.status == OutboxStatus.PENDING,
               OutboxMessage.attempts == 0)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )


def note_spam_for_digest(now: datetime) -> OutboxMessage:
    """Count a message just put in spam into the waiting summary, opening one if none waits (caller commits)."""
    digest = _waiting_digest()
    if digest is None:
        # The hour after the last summary's, so two never go out on one day.
        last_due = db.session.scalar(select(func.max(OutboxMessage.next_attempt_at))
                                     .where(OutboxMessage.kind == EmailKind.SPAM_DIGEST))
        due = next_digest_time(max(now, last_due) if last_due else now)
        digest = OutboxMessage(kind=EmailKind.SPAM_DIGEST, message_id=new_message_id(),
                               recipient=current_app.config["COACH_EMAIL"], reply_to=None,
                               next_attempt_at=due, created_at=now, subject="", body_text="")
        db.session.add(digest)
    db.session.flush()
    since = digest.created_at
    count = db.session.scalar(
        select(func.count()).select_from(Inquiry)
        .where(Inquiry.status == InquiryStatus.SPAM, Inquiry.created_at >= since)
    )
    plural = "message was" if count == 1 else "messages were"
    digest.subject = f"{count} {plural} put in spam on your website"
    context = {"count": count, "plural": plural, "since": since,
               "spam_url": absolute_url("admin.inquiries", status=InquiryStatus.SPAM.value)}
    digest.body_text = render_template("email/spam_digest.txt", **context)
    digest.body_html = render_template("email/spam_digest.html", **context)
    return digest
