"""Delivering queued email: claim a due message, send it with a timeout, record what happened.

Email is data first: intake writes an OutboxMessage in the same transaction as the inquiry,
and this module delivers it later (in a background pass that the commit which stored it starts,
see kick_on_commit.py, taking each step in a quiet moment, see request_activity.py; or from
`flask outbox run`).
Each message is claimed with one conditional UPDATE before any SMTP talk, so two workers
never send the same message; a failed attempt is retried with doubling delays until
OUTBOX_MAX_ATTEMPTS, then the message is marked failed for the admin to resend. An address
with a non-ASCII local part goes over SMTPUTF8; to a server without it, such a recipient fails
at once and such a Reply-To is left off, each saying so in last_error.

SEC-13: log lines name the message's id, kind, attempt and outcome, and an exception's class
and SMTP code; never an address, name, subject, body, or an SMTP server's own words.
"""

from __future__ import annotations

import copy
import logging
import os
import smtplib
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid, parseaddr
from pathlib import Path

from flask import Flask, current_app, has_app_context, render_template
from flask_mail import Message
from sqlalchemy import and_, or_, text, update

from coaching.database import utcnow
from coaching.extensions import db
from coaching.mail.models import WAITING_SQL, OutboxMessage, OutboxStatus
from coaching.mail.request_activity import activity
from coaching.mail.smtp_connection import OutgoingMessage, TimeoutConnection, needs_smtputf8

log = logging.getLogger(__name__)

DEFAULT_MESSAGE_ID_DOMAIN = "hopefordystonia.local"
MAX_RETRY_DELAY = timedelta(hours=1)
PASS_LIMIT = 50  # messages one pass takes (`flask outbox deliver`, and each batch of a background pass)
BACKGROUND_BATCHES = 20  # a background pass stops after this many full passes (1,000 messages) even if more are due
_HEADER_BREAKERS = ("\r", "\n", "\0")
# For the admin (the inquiry page shows last_error): an address only SMTPUTF8 can carry, and no SMTPUTF8.
NOT_CARRIED = "not sent: the address has characters the mail server can't carry (it doesn't offer SMTPUTF8)"
REPLY_TO_LEFT_OFF = ("sent without Reply-To: that address has characters the mail server can't carry "
                     "(it doesn't offer SMTPUTF8)")


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    def __iadd__(self, other: DeliveryReport) -> DeliveryReport:
        """Add another pass's counts to these."""
        self.sent, self.retried, self.failed = (self.sent + other.sent, self.retried + other.retried,
                                                self.failed + other.failed)
        return self


@dataclass(frozen=True)
class _Claimed:
    """A message this worker has claimed, read before the claim's commit (no SMTP inside a transaction)."""

    id: int
    kind: str
    attempt: int
    message: Message | None  # None when its headers were refused
    refusal: str | None


def deliver_pending(now: datetime | None = None, limit: int = PASS_LIMIT,
                    wait_turn: Callable[[], None] | None = None) -> DeliveryReport:
    """Make one pass over due messages, oldest first: claim, send, record. Commits as it goes.

    Due means pending with next_attempt_at <= now, or sending with an expired claim (a worker
    that died mid-send). `now` defaults to the clock; tests pass it to step through backoff.
    wait_turn, if given, is called before the query and before each message (the background pass
    waits there for a quiet moment in the web process).
    """
    report = DeliveryReport()
    wait_turn = wait_turn or (lambda: None)  # `flask outbox` and tests go straight on
    wait_turn()
    for message_id in _due_ids(now or utcnow(), limit):
        wait_turn()
        moment = now or utcnow()
        claimed = _claim(message_id, moment)
        if claimed is None:
            continue  # another worker got there first
        outcome = _deliver(claimed, moment)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def deliver_all_due(batches: int = BACKGROUND_BATCHES, wait_turn: Callable[[], None] | None = None) -> DeliveryReport:
    """Pass after pass until a pass finds nothing to do (or after `batches` passes): all counts together.

    It stops early when a pass sent nothing but had to retry (the server is down or hung), and the
    bound covers a zero retry delay and a stream of new messages arriving as fast as they go out.
    """
    total = DeliveryReport()
    for _ in range(batches):
        report = deliver_pending(wait_turn=wait_turn)
        total += report
        if not (report.sent or report.retried or report.failed):
            return total  # nothing was due (or other workers claimed it all)
        if report.retried and not report.sent:
            # The server took nothing this pass (down, hung, refusing): a further batch would only
            # spend MAIL_TIMEOUT a message; the retry schedule and `flask outbox run` take it from here.
            return total
    log.warning("outbox: background pass stopped after %d passes; what is still due waits for the next "
                "pass (`flask outbox run`, or the next email queued)", batches)
    return total


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the given number of failed attempts: doubling, at most an hour."""
    first = current_app.config["OUTBOX_RETRY_SECONDS"]
    exponent = min(max(attempts, 1) - 1, 32)  # 2**32 retry-seconds is far past the cap already
    return min(timedelta(seconds=first * 2**exponent), MAX_RETRY_DELAY)


def resend(message: OutboxMessage) -> None:
    """Queue a failed message again from scratch (the admin's Resend button); the caller commits."""
    if message.status is not OutboxStatus.FAILED:
        raise ValueError(f"only a failed message can be resent, not a {message.status.value} one")
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.claimed_until = None


def compose_email(inquiry, kind, recipient: str, reply_to: str | None, subject: str, template: str, /,
                  sender_name: str | None = None, **context) -> OutboxMessage:
    """A queued email row, its plain and HTML bodies rendered from templates/email/<template>.txt/.html.

    sender_name replaces the From name of MAIL_DEFAULT_SENDER (the address stays the site's).
    """
    return OutboxMessage(inquiry=inquiry, **email_values(kind, recipient, reply_to, subject, template,
                                                         sender_name=sender_name, **context))


def email_values(kind, recipient: str, reply_to: str | None, subject: str, template: str, /,
                 sender_name: str | None = None, **context) -> dict:
    """An outbox row's columns as compose_email fills them, for a Core insert (kick_on_commit.queue_emails)."""
    return {"kind": kind, "message_id": new_message_id(), "recipient": recipient, "reply_to": reply_to,
            "subject": subject, "sender_name": sender_name,
            "body_text": render_template(f"email/{template}.txt", **context),
            "body_html": render_template(f"email/{template}.html", **context)}


def new_message_id(domain: str | None = None) -> str:
    """A Message-ID for a new outbox row, on the sender's domain; kept for every retry."""
    if domain is None:
        domain = _sender_domain() or DEFAULT_MESSAGE_ID_DOMAIN
    return make_msgid(domain=domain)


# One worker thread per process: passes run one after another, so a web process never holds
# two SMTP conversations at once (a small practice's mail provider rate-limits), and a burst
# of submissions queues at most one more pass rather than a thread each. Separate processes
# (gunicorn workers, `flask outbox run`) may deliver at the same time: the claim keeps them apart.
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
_queued_lock = threading.Lock()
_queued: Future | None = None


def kick_delivery(app: Flask | None = None) -> Future | None:
    """Start a background pass that delivers all that is due (if OUTBOX_DELIVER_AFTER_REQUEST); return at once.

    A commit that stores an email calls it (kick_on_commit.py): code that queues email need not.
    `app` defaults to the current one (the background thread needs the real object, not the proxy).
    """
    global _queued
    app = app or current_app._get_current_object()
    if not app.config["OUTBOX_DELIVER_AFTER_REQUEST"]:
        return None
    with _queued_lock:
        if _queued is not None and not (_queued.running() or _queued.done()):
            return _queued  # a pass that has not started yet will see what was just committed
        try:
            _queued = _executor.submit(_background_pass, app)
        except RuntimeError:  # the interpreter is shutting down; `flask outbox run` or the next kick delivers
            log.warning("outbox: could not start a background delivery pass (shutting down)")
            return None
        _queued.add_done_callback(_log_background_failure)
        return _queued


def _background_pass(app: Flask) -> DeliveryReport:
    """Deliver everything due, batch by batch, in its own app context, each step in a quiet moment."""
    with app.app_context():
        return deliver_all_due(wait_turn=activity.wait_until_quiet)


def _log_background_failure(future: Future) -> None:
    """Log a background pass that raised, by class and place only (database errors quote row values)."""
    if future.cancelled() or future.exception() is None:
        return
    exc = future.exception()
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f"{frame.filename}:{frame.lineno}" if frame else "unknown place"
    log.error("outbox: background delivery pass failed: %s at %s", type(exc).__name__, where)


def _due(now: datetime):
    """The SQL condition for a message that may be claimed at `now`."""
    return and_(
        # Written as the index's own literal condition: with bound values SQLite can't tell the partial
        # index ix_outbox_messages_waiting covers the query, and walks every message ever sent instead.
        text(WAITING_SQL),
        or_(
            and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now),
        ),
    )


def _due_ids(now: datetime, limit: int) -> list[int]:
    """Ids of messages due at `now`, longest-waiting first."""
    ids = list(db.session.scalars(
        db.select(OutboxMessage.id)
        .where(_due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ))
    db.session.commit()  # end the read transaction: each claim starts afresh
    return ids


def _claim(message_id: int, now: datetime) -> _Claimed | None:
    """Claim one message with a single conditional UPDATE and read it; None if another worker won.

    The UPDATE is its transaction's first statement, so SQLite waits on its busy timeout
    instead of failing a read-to-write upgrade, and PostgreSQL re-checks the WHERE after a
    competing claim commits: exactly one worker sees rowcount 1. Committed before any SMTP.
    """
    hold = timedelta(seconds=current_app.config["MAIL_TIMEOUT"] * 3 + 60)
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _due(now))
        .values(status=OutboxStatus.SENDING, claimed_until=now + hold, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return None
    row = db.session.get(OutboxMessage, message_id, populate_existing=True)
    message = _build_message(row)
    refusal = _header_problem(row, message)
    claimed = _Claimed(row.id, row.kind.value, row.attempts, None if refusal else message, refusal)
    db.session.commit()
    return claimed


def _build_message(row: OutboxMessage) -> Message:
    """The Flask-Mail message for a row, with the row's stable Message-ID."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    if row.sender_name:
        sender = (row.sender_name, _sender_address(sender))
    message = OutgoingMessage(
        subject=row.subject,
        sender=sender,
        recipients=[row.recipient],
        reply_to=row.reply_to,
        body=row.body_text,
        html=row.body_html,
    )
    message.msgId = row.message_id
    return message


def _header_problem(row: OutboxMessage, message: Message) -> str | None:
    """Why the message must never be sent (SEC-06: header injection), or None."""
    for field in ("recipient", "reply_to", "subject"):
        value = getattr(row, field) or ""
        if any(character in value for character in _HEADER_BREAKERS):
            return f"refused: line break or NUL in {field} (possible header injection); not sent"
    if message.has_bad_headers():
        return "refused: Flask-Mail found a line break in a header (possible header injection); not sent"
    return None


def _deliver(claimed: _Claimed, now: datetime) -> str:
    """Send a claimed message and record the outcome: "sent", "retried" or "failed"."""
    if claimed.refusal:
        _finish(claimed, status=OutboxStatus.FAILED, last_error=claimed.refusal)
        log.warning("outbox: message %d (%s) refused on attempt %d: unsafe header, not sent",
                    claimed.id, claimed.kind, claimed.attempt)
        return "failed"
    note = None
    try:
        if current_app.config.get("MAIL_SERVER"):
            with TimeoutConnection(current_app.extensions["mail"]) as connection:
                message, note = _fit_to_server(claimed.message, connection.offers_smtputf8())
                if message is not None:
                    connection.send(message)
        else:
            _write_mail_file(claimed, now)  # a file carries any address (as UTF-8)
    except Exception as exc:  # every failure is recorded; none escapes the pass
        return _record_failure(claimed, exc, now)
    if note == NOT_CARRIED:
        # Final at once: retrying can't help until the server changes (then the admin resends).
        _finish(claimed, status=OutboxStatus.FAILED, last_error=note)
        log.warning("outbox: message %d (%s) not sent on attempt %d: its recipient needs SMTPUTF8, "
                    "which the mail server doesn't offer", claimed.id, claimed.kind, claimed.attempt)
        return "failed"
    _finish(claimed, status=OutboxStatus.SENT, sent_at=now, last_error=note)
    log.info("outbox: message %d (%s) sent on attempt %d%s", claimed.id, claimed.kind, claimed.attempt,
             " without its Reply-To (the mail server doesn't offer SMTPUTF8)" if note else "")
    return "sent"


def _fit_to_server(message: OutgoingMessage, offers_smtputf8: bool) -> tuple[OutgoingMessage | None, str | None]:
    """The message as this server can carry it, and a note for the admin; (None, NOT_CARRIED) if it can't.

    Without SMTPUTF8, an address with a non-ASCII local part can't be sent: a recipient like that
    means the message can't go at all; a Reply-To like that is left off (the rest still arrives).
    """
    if offers_smtputf8 or not message.needs_smtputf8:
        return message, None
    if any(needs_smtputf8(address) for address in message.send_to):
        return None, NOT_CARRIED
    plain = copy.copy(message)  # the claimed message stays whole
    plain.reply_to = None
    return plain, REPLY_TO_LEFT_OFF


def _record_failure(claimed: _Claimed, exc: Exception, now: datetime) -> str:
    """Reschedule after a failed attempt, or give up after OUTBOX_MAX_ATTEMPTS."""
    error = _describe(exc)
    if not isinstance(exc, smtplib.SMTPException | OSError):
        error = f"unexpected {error}"
    if claimed.attempt >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        _finish(claimed, status=OutboxStatus.FAILED, last_error=error)
        log.error("outbox: message %d (%s) failed on attempt %d, giving up: %s",
                  claimed.id, claimed.kind, claimed.attempt, error)
        return "failed"
    retry_at = now + retry_delay(claimed.attempt)
    _finish(claimed, status=OutboxStatus.PENDING, next_attempt_at=retry_at, last_error=error)
    log.warning("outbox: message %d (%s) failed on attempt %d, retrying at %s: %s",
                claimed.id, claimed.kind, claimed.attempt, retry_at.isoformat(timespec="seconds"), error)
    return "retried"


def _describe(exc: BaseException) -> str:
    """An exception's class and SMTP code, never its text (servers echo addresses back)."""
    description = type(exc).__name__
    code = getattr(exc, "smtp_code", None)
    if code is None and isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code = next(iter(exc.recipients.values()))[0]
    if code is not None:
        description += f" (SMTP {code})"
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        description += f" (no answer within {current_app.config['MAIL_TIMEOUT']} s)"
    return description[:500]


def _finish(claimed: _Claimed, **values) -> None:
    """Record an attempt's outcome, only if this worker's claim still holds."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == claimed.id,
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.attempts == claimed.attempt,
        )
        .values(claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        log.warning("outbox: message %d (%s): claim for attempt %d expired before it finished; "
                    "outcome not recorded", claimed.id, claimed.kind, claimed.attempt)


def _write_mail_file(claimed: _Claimed, now: datetime) -> None:
    """Without MAIL_SERVER (local work), write the message as an .eml file instead of sending it."""
    configured = current_app.config.get("MAIL_FILE_DIR")
    directory = Path(configured) if configured else Path(current_app.instance_path) / "mail"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{now:%Y%m%dT%H%M%SZ}-{claimed.id}-{claimed.kind}.eml"
    partial = directory / f".{name}.partial"
    partial.write_bytes(claimed.message.as_bytes())
    partial.chmod(0o600)  # inquiries can describe someone's health
    os.replace(partial, directory / name)  # a reader never sees half a file
    shown = f"{directory / name}" if configured else f"instance/mail/{name}"
    log.info("mail: no MAIL_SERVER set; wrote outbox message %d to %s", claimed.id, shown)


def _sender_address(sender) -> str:
    """The address of a sender setting: a string ("Name <a@b>") or a (name, address) pair."""
    return sender[1] if isinstance(sender, tuple | list) else parseaddr(sender or "")[1]


def _sender_domain() -> str | None:
    """The domain of MAIL_DEFAULT_SENDER, if there is an app."""
    if not has_app_context():
        return None
    return _sender_address(current_app.config.get("MAIL_DEFAULT_SENDER")).rpartition("@")[2] or None
