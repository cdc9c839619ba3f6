"""`flask outbox`: deliver queued emails, once or as a worker."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from coaching.extensions import db
from coaching.mail.outbox import DeliveryReport, deliver_pending


@click.group("outbox")
def outbox_group() -> None:
    """Deliver queued emails.

    Inquiry notifications and acknowledgements wait in the outbox table; without MAIL_SERVER
    they are written to instance/mail/ (or MAIL_FILE_DIR) as .eml files instead.
    """


def _summary(report: DeliveryReport) -> str:
    """One line of counts for a delivery pass."""
    return f"Outbox: {report.sent} sent, {report.retried} to retry, {report.failed} failed."


@outbox_group.command("deliver")
@with_appcontext
def outbox_deliver_command() -> None:
    """Deliver the emails due now, once.

    One pass, then exit (for cron, or to flush the queue by hand); prints what it did.
    """
    click.echo(_summary(deliver_pending()))


@outbox_group.command("run")
@click.option("--max-passes", type=click.IntRange(min=1), default=None,
              help="Stop after this many passes (default: run until stopped).")
@with_appcontext
def outbox_run_command(max_passes: int | None) -> None:
    """Keep delivering until stopped.

    A delivery worker: a pass every OUTBOX_POLL_SECONDS until Ctrl+C or SIGTERM, which stop
    it between passes (a message being sent is finished and recorded first).
    """
    poll = current_app.config["OUTBOX_POLL_SECONDS"]
    stop = threading.Event()
    # Stop between passes: a signal mid-pass lets the message being sent finish and be recorded.
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
    click.echo(f"Outbox: delivering due emails every {poll} s; press Ctrl+C (or send SIGTERM) to stop.")
    passes = 0
    try:
        while not stop.is_set():
            try:
                report = deliver_pending()
            except SQLAlchemyError as exc:
                # A database blip should not end the worker; the next pass tries again.
                click.echo(f"Outbox: pass failed ({type(exc).__name__}); trying again in {poll} s.", err=True)
                report = None
            finally:
                db.session.remove()  # a fresh session (and pooled connection) for each pass
            passes += 1
            if report and (report.sent or report.retried or report.failed):
                click.echo(_summary(report))
            if max_passes is not None and passes >= max_passes:
                break
            stop.wait(poll)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    click.echo(f"Outbox: stopped after {passes} pass{'' if passes == 1 else 'es'}.")
