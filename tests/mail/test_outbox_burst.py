"""A burst of emails and the web process's background pass, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import logging
import time

from sqlalchemy import func, select

from coaching.database import utcnow
from coaching.extensions import db
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import deliver_all_due, kick_delivery, new_message_id

BURST = 120  # more than two passes' worth (a pass takes at most 50)


def queue_burst(app, count: int = BURST) -> None:
    """Queue this many emails to the coach directly in the database, all due now.

    Through the `app` fixture, which doesn't deliver after commits: the test's own kick is the only pass.
    """
    with app.app_context():
        db.session.add_all(OutboxMessage(
            kind=EmailKind.COACH_NOTIFICATION, message_id=new_message_id(), recipient="coach@hopefordystonia.example",
            reply_to=None, subject=f"Burst message {number}", body_text="Hello.\n",
        ) for number in range(count))
        db.session.commit()


def outcomes(app) -> dict[tuple[OutboxStatus, int], int]:
    """How many rows stand at each (status, attempts)."""
    with app.app_context():
        found = db.session.execute(select(OutboxMessage.status, OutboxMessage.attempts, func.count())
                                   .group_by(OutboxMessage.status, OutboxMessage.attempts)).all()
        return {(status, attempts): count for status, attempts, count in found}


def test_one_kick_delivers_a_whole_burst(app, smtp_app, smtp_server):
    """Does one background pass keep going, batch after batch, until all 120 queued emails are sent?"""
    queue_burst(app)
    app = smtp_app(smtp_server.port, OUTBOX_DELIVER_AFTER_REQUEST=True)
    report = kick_delivery(app).result(timeout=120)
    assert (report.sent, report.retried, report.failed) == (BURST, 0, 0)
    assert outcomes(app) == {(OutboxStatus.SENT, 1): BURST}
    assert len(smtp_server.received) == BURST


def test_a_pass_against_a_server_refusing_everything_ends(app, smtp_app, smtp_server):
    """With every email refused (451), does the pass stop after one batch that sent nothing, rescheduling it?"""
    refusals = smtp_server.data_failures = 10**6
    queue_burst(app)
    app = smtp_app(smtp_server.port, OUTBOX_DELIVER_AFTER_REQUEST=True)
    started = utcnow()
    elapsed = time.monotonic()
    report = kick_delivery(app).result(timeout=120)
    elapsed = time.monotonic() - elapsed
    batch = 50  # one pass's worth: a pass that sends nothing ends the background run
    assert (report.sent, report.retried, report.failed) == (0, batch, 0)
    assert outcomes(app) == {(OutboxStatus.PENDING, 1): batch, (OutboxStatus.PENDING, 0): BURST - batch}
    with app.app_context():
        tried = select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.attempts == 1)
        assert db.session.scalar(tried) > started
    assert smtp_server.received == []
    assert refusals - smtp_server.data_failures == batch  # one attempt each: no spinning
    assert elapsed < 60, f"the pass took {elapsed:.1f} s"


def test_a_background_pass_stops_after_its_batches(smtp_app, smtp_server, caplog):
    """Does a run stop after its number of batches (20 by default), say so in the log, and leave the rest?"""
    caplog.set_level(logging.WARNING, logger="coaching.mail.outbox")
    app = smtp_app(smtp_server.port)
    queue_burst(app)
    with app.app_context():
        report = deliver_all_due(batches=2)
    assert report.sent == 100
    assert outcomes(app) == {(OutboxStatus.SENT, 1): 100, (OutboxStatus.PENDING, 0): BURST - 100}
    assert "background pass stopped after 2 passes" in caplog.text
