"""Online backups (REL-08): a consistent copy of the live database and the uploaded images, site still running.

SQLite is copied with its backup API (a consistent snapshot even while the site writes) and checked
with PRAGMA integrity_check; PostgreSQL is copied with pg_dump (one snapshot, custom format, for
pg_restore). Each backup is a folder: database.sqlite3 or database.dump, and uploads/.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy.engine import URL

from coaching.blog.editor import upload_folder
from coaching.database import utcnow
from coaching.extensions import db


class BackupError(Exception):
    """A backup could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    """Where a backup was written, and what it holds."""

    folder: Path
    database: Path
    images: int


def default_folder() -> Path:
    """A new folder for a backup made now: <instance>/backups/<UTC date and time>."""
    return Path(current_app.instance_path) / "backups" / utcnow().strftime("%Y-%m-%d-%H%M%S")


def make_backup(folder: Path | None = None) -> Backup:
    """Copy the database and the uploaded images into a new folder (it must not exist yet)."""
    folder = folder or default_folder()
    if folder.exists():
        raise BackupError(f"{folder} already exists: choose a new folder, so no earlier backup is overwritten.")
    url = db.engine.url
    folder.mkdir(parents=True)
    try:
        if url.get_backend_name() == "sqlite":
            database = _copy_sqlite(url, folder / "database.sqlite3")
        elif url.get_backend_name() == "postgresql":
            database = _dump_postgres(url, folder / "database.dump")
        else:
            raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported.")
        images = _copy_uploads(folder / "uploads")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # never leave a half-made backup that looks whole
        raise
    return Backup(folder, database, images)


def _copy_sqlite(url: URL, target: Path) -> Path:
    """Copy a SQLite database page by page with the backup API, as one self-contained, checked file."""
    if not url.database or url.database == ":memory:":
        raise BackupError("The database is in memory only: there is no file to back up.")
    source = sqlite3.connect(url.database)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        result = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if result != "ok":
        raise BackupError(f"The copy failed SQLite's integrity check ({result}); the database needs attention.")
    return target


def _dump_postgres(url: URL, target: Path) -> Path:
    """Dump a PostgreSQL database with pg_dump (custom format); the password goes by environment, not argv."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump was not found: install the PostgreSQL client tools of the server's version "
                          "(Debian: apt-get install postgresql-client).")
    address = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    environment = os.environ | ({"PGPASSWORD": url.password} if url.password else {})
    result = subprocess.run(  # noqa: S603  (a fixed program and arguments, no shell)
        [pg_dump, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={address}"],
        env=environment, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip() or result.returncode}")
    return target


def _copy_uploads(target: Path) -> int:
    """Copy the uploaded cover images; how many."""
    source = upload_folder()
    if not source.is_dir():
        target.mkdir()
        return 0
    shutil.copytree(source, target)
    return sum(1 for path in target.iterdir() if path.is_file())
