"""Starting delivery from one place: a commit that stored an email to send starts a background pass.

Whatever stores an email (a view, a service a new feature calls, a `flask` command) only has to
commit: a session hook notes each flush that adds an OutboxMessage, or changes one that is still
pending (an admin's resend, the spam digest's count), and after that transaction commits calls
kick_delivery (which does nothing unless OUTBOX_DELIVER_AFTER_REQUEST). A rollback forgets the note.
Emails written with a Core insert instead (queue_emails: the contact form's, no unit of work) note it
themselves.
A delivery pass changes rows only with Core UPDATEs, never through the ORM, so its own commits
(in the background thread or `flask outbox run`) never start another pass.
"""

from __future__ import annotations

import logging

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, SessionTransaction

from coaching.extensions import db
from coaching.mail import outbox
from coaching.mail.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)
QUEUED_KEY = "outbox_email_queued"  # in Session.info: this transaction flushed an email waiting to go


def watch_commits() -> None:
    """Listen on the site's session; once per process, since every app shares db.session."""
    for name, listener in (("after_flush", _note_queued_email), ("after_commit", _kick_after_commit),
                           ("after_transaction_end", _forget_on_end)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def queue_emails(rows: list[dict]) -> None:
    """Insert outbox rows (outbox.email_values plus any inquiry_id) in one Core statement; the caller commits."""
    if not rows:
        return
    db.session.execute(insert(OutboxMessage.__table__), rows)
    db.session.info[QUEUED_KEY] = True


def _waiting(row: object) -> bool:
    """Whether a row in the session is an email still to be sent (its status read without any SQL)."""
    if not isinstance(row, OutboxMessage):
        return False
    # A new row without a status gets PENDING on insert; an expired one is counted: a pass with nothing to do is cheap.
    return inspect(row).dict.get("status", OutboxStatus.PENDING) is OutboxStatus.PENDING


def _note_queued_email(session: Session, _flush_context) -> None:
    """after_flush (new and dirty still hold what was flushed): note an email added or changed while pending."""
    if session.info.get(QUEUED_KEY):
        return
    if any(_waiting(row) for row in session.new) or any(
        _waiting(row) and session.is_modified(row) for row in session.dirty
    ):
        session.info[QUEUED_KEY] = True


def _kick_after_commit(session: Session) -> None:
    """after_commit: start a pass if this transaction stored an email; never raise (the commit has happened).

    It runs inside commit(), where the session may emit no SQL: kick_delivery only reads the app's
    config and hands a pass to the outbox thread, which opens its own app context and session.
    """
    if session.in_nested_transaction():
        return  # a savepoint: the note waits for the real commit
    if not session.info.pop(QUEUED_KEY, False):
        return
    try:
        outbox.kick_delivery()
    except Exception as exc:  # the email is stored; `flask outbox run` or the next commit sends it
        log.error("outbox: could not start a delivery pass after a commit: %s", type(exc).__name__)


def _forget_on_end(session: Session, transaction: SessionTransaction) -> None:
    """after_transaction_end: when the outermost transaction ends (rolled back, closed), drop any note.

    A savepoint rolled back inside a transaction that then commits keeps the note: at worst a pass
    that finds nothing to do.
    """
    if transaction.parent is None:
        session.info.pop(QUEUED_KEY, None)
