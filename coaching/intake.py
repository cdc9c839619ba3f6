"""Recording an inquiry and queueing its emails in one transaction, so none is ever lost."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy import select

from .database import utcnow
from .extensions import db
from .forms import ContactForm, topic_label
from .models import EmailKind, Inquiry, InquiryStatus, OutboxMessage
from .outbox import compose_email
from .templating import absolute_url

log = logging.getLogger(__name__)


@dataclass
class IntakeResult:
    """What recording a submission did: the inquiry, and whether this request created it."""

    inquiry: Inquiry
    created: bool


def _signer() -> TimestampSigner:
    """Signs the time a form was shown, so the minimum fill time can't be faked by editing it."""
    return TimestampSigner(current_app.config["SECRET_KEY"], salt="contact-form-started")


def _new_token() -> str:
    """A one-time submission token (REL-10: the same token twice is one inquiry)."""
    return secrets.token_urlsafe(24)


def prepare_new_form(form: ContactForm) -> None:
    """Stamp a freshly shown form with when it was shown and a one-time submission token."""
    form.form_started.data = _signer().sign(str(int(utcnow().timestamp()))).decode()
    form.submission_token.data = _new_token()


def spam_reason(form: ContactForm, now: datetime) -> str | None:
    """Why a submission looks automated (honeypot filled, sent implausibly fast), or None."""
    if form.website.data:
        return "honeypot field filled"
    try:
        started = int(_signer().unsign(form.form_started.data or "").decode())
    except (BadSignature, ValueError):
        return None  # an old or odd page: no timing judgement rather than a false positive
    if now.timestamp() - started < current_app.config["CONTACT_MIN_FILL_SECONDS"]:
        return "sent faster than a person can type"
    return None


def record_inquiry(form: ContactForm, now: datetime | None = None) -> IntakeResult:
    """Add the inquiry and its outgoing emails to the session (the caller commits).

    A token already recorded (a double-click, a resent form) returns the existing inquiry.
    """
    now = now or utcnow()
    token = form.submission_token.data or _new_token()
    existing = db.session.scalar(select(Inquiry).where(Inquiry.submission_token == token))
    if existing is not None:
        return IntakeResult(existing, created=False)
    reason = spam_reason(form, now)
    inquiry = Inquiry(
        name=form.name.data,
        email=form.email.data,
        phone=form.phone.data or None,
        topic=form.topic.data or None,
        message=form.message.data,
        consent_at=now,
        privacy_notice_version=current_app.config["PRIVACY_NOTICE_VERSION"],
        status=InquiryStatus.SPAM if reason else InquiryStatus.NEW,
        spam_reason=reason,
        submission_token=token,
        created_at=now,
    )
    db.session.add(inquiry)
    db.session.flush()  # the id goes into the coach's link
    if reason is None:
        queue_inquiry_emails(inquiry)
    return IntakeResult(inquiry, created=True)


def queue_inquiry_emails(inquiry: Inquiry) -> None:
    """Queue the coach's notification and, unless turned off, the visitor's acknowledgement."""
    config = current_app.config
    db.session.add(coach_notification(inquiry))
    if config["SEND_ACKNOWLEDGEMENT"]:
        db.session.add(visitor_acknowledgement(inquiry))


def coach_notification(inquiry: Inquiry) -> OutboxMessage:
    """The coach's email about a new inquiry: Reply-To the visitor, the message unless turned off."""
    context = {
        "inquiry": inquiry,
        "topic": topic_label(inquiry.topic),
        "include_message": current_app.config["NOTIFY_INCLUDE_MESSAGE"],
        "inquiry_url": absolute_url("admin.inquiry", inquiry_id=inquiry.id),
    }
    return compose_email(
        inquiry, EmailKind.COACH_NOTIFICATION, current_app.config["COACH_EMAIL"], inquiry.email,
        f"New inquiry from {inquiry.name}", "coach_notification", **context,
    )


def visitor_acknowledgement(inquiry: Inquiry) -> OutboxMessage:
    """A short "your message arrived" email, with none of the visitor's words (no spam relay)."""
    config = current_app.config
    return compose_email(
        inquiry, EmailKind.VISITOR_ACKNOWLEDGEMENT, inquiry.email, config["PRACTICE_EMAIL"],
        f"Your message to {config['SITE_NAME']} has arrived", "visitor_acknowledgement",
    )
