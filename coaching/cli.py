"""`flask` commands: `flask --help` lists them with these docstrings."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from .content import CONTENT_DIR, PostFileError, import_post_files
from .extensions import db
from .outbox import DeliveryReport, deliver_pending


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Import the practice's posts from coaching/content/ (safe to run again: it duplicates nothing)."""
    try:
        counts = import_post_files(CONTENT_DIR)
    except PostFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Posts: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged."
    )


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


def init_app(app: Flask) -> None:
    """Register the commands with the app's CLI."""
    app.cli.add_command(seed_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(outbox_group)
    app.cli.add_command(purge_inquiries_command)
    app.cli.add_command(backup_command)


@click.command("create-admin")
@click.argument("email")
@with_appcontext
def create_admin_command(email: str) -> None:
    """Create the admin account EMAIL, or reset its password (asked twice, hidden; or one line piped in)."""
    from .accounts import PasswordRejected, create_or_reset_admin

    if sys.stdin.isatty():
        password = click.prompt("Password (12 or more characters)", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user, created = create_or_reset_admin(email, password)
    except PasswordRejected as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    action = "Created" if created else "Reset the password of (and signed out)"
    click.echo(f"{action} the admin account {user.email}.")


@click.command("purge-inquiries")
@with_appcontext
def purge_inquiries_command() -> None:
    """Erase inquiries older than INQUIRY_RETENTION_DAYS (default 365), with their emails and notes.

    Run it daily (cron, a systemd timer). An audit record keeps the ids and counts, never the content.
    Forms the coach sent after her session ended, kept for more than a day, go too.
    """
    from .inquiries import purge_expired
    from .pending_submissions import purge_old

    days = current_app.config["INQUIRY_RETENTION_DAYS"]
    record = purge_expired()
    purge_old()
    db.session.commit()
    if record is None:
        click.echo(f"No inquiries older than {days} days; nothing erased.")
        return
    click.echo(f"Erased {record.inquiries} inquiries older than {days} days, "
               f"with {record.emails} emails and {record.notes} notes.")


@click.command("backup")
@click.option("--to", "folder", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="A new folder for the backup (default: instance/backups/<date-time>).")
@with_appcontext
def backup_command(folder: Path | None) -> None:
    """Copy the live database and the uploaded images into a new folder, the site still running."""
    from .backup import BackupError, make_backup

    try:
        made = make_backup(folder)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up the database to {made.database} and {made.images} "
               f"image{'' if made.images == 1 else 's'} to {made.folder / 'uploads'}.")
