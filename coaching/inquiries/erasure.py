"""Erasure (PRIV-02): everything held about one inquiry or one address, and retention's purge; audited by counts."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select

from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries.models import (
    ErasureRecord,
    Inquiry,
    InquiryNote,
)
from coaching.mail.models import OutboxMessage

log = logging.getLogger(__name__)


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


