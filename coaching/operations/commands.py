"""`flask backup`: a consistent copy of the live site (REL-08)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext


@click.command("backup")
@click.option("--to", "folder", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="A new folder for the backup (default: instance/backups/<date-time>).")
@with_appcontext
def backup_command(folder: Path | None) -> None:
    """Copy the live database and the uploaded images into a new folder, the site still running."""
    from coaching.operations.backup import BackupError, make_backup

    try:
        made = make_backup(folder)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up the database to {made.database} and {made.images} "
               f"image{'' if made.images == 1 else 's'} to {made.folder / 'uploads'}.")
