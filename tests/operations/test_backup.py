"""REL-08: `flask backup` copies the live database (and uploaded images) consistently; the copy runs a site."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from coaching.database import utcnow
from coaching.inquiries.models import Inquiry
from coaching.operations.backup import BackupError, make_backup
from tests.apps import dispose, make_test_app, require_service, reset_postgres
from tests.factories import add_admin, add_inquiry, picture, row_count
from tests.forms import sign_in


def lists_inquiries(app, names: list[str]) -> bool:
    """Whether the coach, signed in to this app, sees every one of these names in the inbox."""
    client = app.test_client()
    assert sign_in(client).status_code == 303
    page = client.get("/admin/inquiries").get_data(as_text=True)
    return all(f">{name}</a>" in page for name in names)


def backup_while_writing(app, folder: Path):
    """Make a backup while another thread keeps storing inquiries; the backup and how many were stored before."""
    before = row_count(app, Inquiry)
    stop = threading.Event()

    def keep_writing():
        # Dated a day back, so however many arrive, the stocked inquiries stay on the inbox's first page of 25.
        earlier = utcnow() - timedelta(days=1)
        number = 0
        while not stop.is_set():
            add_inquiry(app, name=f"Live {number}", created_at=earlier)
            number += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        with app.app_context():
            made = make_backup(folder)
    finally:
        stop.set()
        writer.join(10)
    return made, before


@pytest.fixture
def stocked(app) -> list[str]:
    """Give the app the coach's account, two inquiries and one uploaded image; the inquirers' names."""
    add_admin(app)
    names = ["Ada Backup", "Ben Backup"]
    for name in names:
        add_inquiry(app, name=name)
    uploads = Path(app.instance_path) / "uploads"
    uploads.mkdir(parents=True)
    (uploads / ("c" * 32 + ".png")).write_bytes(picture("png"))
    return names


@pytest.mark.sqlite_only
def test_a_sqlite_backup_taken_during_writes_is_whole_and_runs_a_site(app, stocked, tmp_path):
    """Is a SQLite copy made while inquiries arrive one self-contained file that passes integrity_check and runs?"""
    made, before = backup_while_writing(app, tmp_path / "backup")
    assert made.database == tmp_path / "backup" / "database.sqlite3"
    assert sorted(path.name for path in made.folder.iterdir()) == ["database.sqlite3", "uploads"]
    copy = sqlite3.connect(made.database)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert copy.execute("SELECT count(*) FROM inquiries").fetchone()[0] >= before
    finally:
        copy.close()
    assert made.images == 1 and (made.folder / "uploads" / ("c" * 32 + ".png")).read_bytes() == picture("png")
    restored = make_test_app(f"sqlite:///{made.database}")
    try:
        assert lists_inquiries(restored, stocked)
    finally:
        dispose(restored)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_postgresql_backup_restores_into_an_empty_database(app, stocked, app_factory, tmp_path):
    """Does pg_dump's copy, made while inquiries arrive, restore with pg_restore into a site that lists them?"""
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        require_service("pg_dump and pg_restore are not installed (apt-get install postgresql-client)")
    made, before = backup_while_writing(app, tmp_path / "backup")
    assert made.database.name == "database.dump" and made.database.stat().st_size > 0 and made.images == 1
    url = app.config["DATABASE_URL"]
    dispose(app)
    reset_postgres(url)  # the live database is gone: only the backup is left
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={url}", str(made.database)], check=True)
    restored = app_factory()
    assert row_count(restored, Inquiry) >= before
    assert lists_inquiries(restored, stocked)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_without_pg_dump_the_message_is_clear_and_no_folder_is_left(app, tmp_path, monkeypatch):
    """If pg_dump can't be found, does the backup say how to install it and leave no half-made folder?"""
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with app.app_context(), pytest.raises(BackupError, match="pg_dump was not found: install"):
        make_backup(tmp_path / "half")
    assert not (tmp_path / "half").exists()


def test_the_command_reports_where_the_backup_went(app, stocked, tmp_path):
    """Does `flask backup --to FOLDER` say where the database and the images went?"""
    result = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "nightly")])
    assert result.exit_code == 0, result.output
    assert f"Backed up the database to {tmp_path / 'nightly' / 'database.'}" in result.output
    assert f"and 1 image to {tmp_path / 'nightly' / 'uploads'}." in result.output


def test_backups_go_to_a_dated_folder_in_the_instance_by_default(app, stocked):
    """Without --to, does a backup land in instance/backups/<date-time>/?"""
    result = app.test_cli_runner().invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    [folder] = (Path(app.instance_path) / "backups").iterdir()
    assert folder.name[:4].isdigit() and (folder / "uploads").is_dir()


def test_an_existing_folder_is_never_overwritten(app, stocked, tmp_path):
    """Is a backup into a folder that already exists refused with a message, the folder left alone?"""
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "keep.txt").write_text("earlier backup")
    result = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "old")])
    assert result.exit_code == 1 and "already exists: choose a new folder" in result.output
    assert [path.name for path in (tmp_path / "old").iterdir()] == ["keep.txt"]


def test_an_in_memory_database_has_nothing_to_back_up(tmp_path):
    """Is a backup of an in-memory SQLite database refused with a message, no folder left behind?"""
    app = make_test_app("sqlite://")
    try:
        with app.app_context(), pytest.raises(BackupError, match="in memory only"):
            make_backup(tmp_path / "half")
        assert not (tmp_path / "half").exists()
    finally:
        dispose(app)
