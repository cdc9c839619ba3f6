"""`flask purge-inquiries`: retention (PRIV-02)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from coaching.extensions import db


@click.command("purge-inquiries")
@with_appcontext
def purge_inquiries_command() -> None:
    """Erase inquiries older than INQUIRY_RETENTION_DAYS (default 365), with their emails and notes.

    Run it daily (cron, a systemd timer). An audit record keeps the ids and counts, never the content.
    Forms the coach sent after her session ended, kept for more than a day, go too, and on SQLite the search
    index is rewritten without the entries of anything erased since the last run.
    """
    from coaching.admin.kept_forms import purge_old
    from coaching.inquiries.database_side import rewrite_search_index
    from coaching.inquiries.erasure import purge_expired

    days = current_app.config["INQUIRY_RETENTION_DAYS"]
    record = purge_expired()
    purge_old()
    rewrite_search_index()
    db.session.commit()
    if record is None:
        click.echo(f"No inquiries older than {days} days; nothing erased.")
        return
    click.echo(f"Erased {record.inquiries} inquiries older than {days} days, "
               f"with {record.emails} emails and {record.notes} notes.")
