"""`flask seed`: the practice's posts from coaching/blog/content/."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from coaching.blog.post_files import CONTENT_DIR, PostFileError, import_post_files
from coaching.extensions import db


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Import the practice's posts from coaching/blog/content/ (safe to run again: it duplicates nothing)."""
    try:
        counts = import_post_files(CONTENT_DIR)
    except PostFileError as exc:
        db.session.rollback()  # all or nothing: none of the files is imported
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(
        f"Posts: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged."
    )
