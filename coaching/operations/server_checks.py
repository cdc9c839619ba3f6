"""The checks of `flask check-deploy` on the machine: the database's disk and schema, folders, backups, gunicorn."""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from coaching.config import ROOT
from coaching.operations.deployment import Deployment, Finding, Outcome, sqlite_file

MIGRATIONS = ROOT / "coaching" / "migrations"
MOUNTS_FILE = Path("/proc/mounts")
BACKUP_MAX_AGE = timedelta(days=2)
BACKUP_NAME = "%Y-%m-%d-%H%M%S"  # as backup.default_folder names its folders (UTC)
# Filesystems whose locking SQLite can't rely on (its documentation: "SQLite Over a Network").
NETWORK_FILESYSTEMS = {
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "lustre", "gpfs", "afs", "ocfs2", "davfs",
    "fuse.sshfs", "sshfs", "fuse.glusterfs", "fuse.ceph", "fuse.cephfs", "fuse.s3fs", "fuse.rclone", "fuse.davfs2",
    "fuse.gcsfuse", "fuse.juicefs",
}
SLOWLORIS = (
    "gunicorn's sync workers each hold one connection until its whole request has arrived, so as many "
    "clients as there are workers ({workers} here), each trickling its headers a byte at a time "
    "(slowloris), hang every worker and the site stops answering."
)
NGINX = "put nginx in front of it: nginx buffers whole requests, so the workers only ever see complete ones."


def check_database_filesystem(deployment: Deployment) -> Outcome:
    """Is a SQLite database kept on a local disk (not a network filesystem, not in memory)?"""
    outcome = Outcome("Database disk")
    url = deployment.engine.url if deployment.engine else None
    path = sqlite_file(deployment)
    if url is None:
        outcome.fine, outcome.unchecked = "DATABASE_URL can't be used (see Migrations)", True
    elif url.get_backend_name() != "sqlite":
        outcome.fine = f"{url.get_backend_name()}: not a file on this machine"
    elif path is None:
        outcome.findings.append(Finding(
            "DATABASE_URL names an in-memory SQLite database: each worker has its own, and every inquiry is lost "
            "when the site restarts.",
            "Set DATABASE_URL to a file (the default, sqlite:///coaching.sqlite3, keeps it in instance/) or to "
            "PostgreSQL."))
    else:
        mount = mount_of(path)
        if mount is None:
            outcome.fine, outcome.unchecked = f"{MOUNTS_FILE} can't be read, so {path}'s filesystem is unknown", True
        elif mount[2] in NETWORK_FILESYSTEMS:
            device, mount_point, kind = mount
            outcome.findings.append(Finding(
                f"The SQLite database {path} is on a network filesystem ({kind}, {device} mounted at "
                f"{mount_point}). SQLite's locking is unreliable there and WAL needs memory shared on one "
                "machine, so the workers' writes can corrupt the database.",
                "Keep the database on a local disk of the machine that runs gunicorn (DATABASE_URL=sqlite:////"
                "var/lib/hope-for-dystonia/coaching.sqlite3), or use PostgreSQL; copy backups to the share instead."))
        else:
            outcome.fine = f"{path} is on {mount[2]} (mounted at {mount[1]})"
    return outcome


def mount_of(path: Path) -> tuple[str, str, str] | None:
    """The (device, mount point, filesystem type) holding a path, from /proc/mounts; None if unreadable."""
    try:
        lines = MOUNTS_FILE.read_text().splitlines()
    except OSError:
        return None
    target = path.resolve()
    while not target.exists() and target != target.parent:  # a file not made yet: its folder's mount
        target = target.parent
    best = None
    for line in lines:
        fields = [re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), part) for part in line.split()[:3]]
        # The deepest mount point holding the path, and of several there the last mounted.
        if len(fields) == 3 and target.is_relative_to(fields[1]) and (best is None or len(fields[1]) >= len(best[1])):
            best = tuple(fields)
    return best


def check_permissions(deployment: Deployment) -> Outcome:
    """Can other users of the machine write where the site keeps its data and its settings?"""
    instance = deployment.instance_path
    outcome = Outcome("Permissions", fine="nothing of the site's can be written by other users")
    if not deployment.instance_existed:
        outcome.findings.append(Finding(
            f"The instance folder {instance} does not exist, so the site has never run here or this is not "
            "where it keeps its data.",
            "Give check-deploy the site's instance folder (--instance PATH), or run `flask db upgrade` to make it."))
    places = [
        (instance, "the instance folder (database, settings, secret key, mail files)"),
        (deployment.uploads, "the uploads folder (the posts' images)"),
        (deployment.backups, "the backups folder"),
        (instance / "config.py", "instance/config.py, which the site runs as Python"),
        (sqlite_file(deployment), "the database file"),
    ]
    for path, what in places:
        if path is None or not path.exists():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & stat.S_IWOTH:
            outcome.findings.append(Finding(
                f"{path}, {what}, can be written by every user of this machine (mode {mode:04o}): any of them "
                "can change or replace what the site serves and runs.",
                f"chmod o-w {path} (or chmod {mode & ~0o007:04o} to shut other users out), and let the site's "
                "user own it."))
    return outcome


def check_migrations(deployment: Deployment) -> Outcome:
    """Is the database reachable, and its schema at the newest migration?"""
    outcome = Outcome("Migrations")
    upgrade = "Run `flask db upgrade` with the site's environment"
    if deployment.engine is None:
        outcome.findings.append(Finding(f"{deployment.database_error}", "Correct DATABASE_URL."))
        return outcome
    path = sqlite_file(deployment)
    shown = deployment.engine.url.render_as_string(hide_password=True)
    if path is not None and not path.exists():
        outcome.findings.append(Finding(f"The database file {path} does not exist: there is no database there yet.",
                                        f"{upgrade} (then `flask seed`), or point DATABASE_URL at the database."))
        return outcome
    heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    try:
        with deployment.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        outcome.findings.append(Finding(
            f"The database at {shown} can't be reached: {reason}.",
            "Check DATABASE_URL, that the database server is running and lets this machine in, then run "
            "`flask db upgrade`."))
        return outcome
    if current == heads:
        outcome.fine = f"the database is at the newest migration ({', '.join(sorted(heads))})"
    elif not current:
        outcome.findings.append(Finding(f"The database at {shown} has never been migrated (no alembic_version).",
                                        f"{upgrade}."))
    else:
        outcome.findings.append(Finding(
            f"The database at {shown} is at migration {', '.join(sorted(current))}, not the newest, "
            f"{', '.join(sorted(heads))}: the site would fail on the columns it lacks.",
            f"{upgrade} (back up first: `flask backup`)."))
    return outcome


def check_backups(deployment: Deployment) -> Outcome:
    """Is there a backup from the last two days in instance/backups/?"""
    folder = deployment.backups
    outcome = Outcome("Backups")
    made = []
    for backup in folder.iterdir() if folder.is_dir() else ():
        try:
            when = datetime.strptime(backup.name, BACKUP_NAME).replace(tzinfo=UTC)
        except ValueError:
            continue
        if any((backup / name).is_file() for name in ("database.sqlite3", "database.dump")):
            made.append((when, backup))
    fix = ("Run `flask backup` now and daily from cron (30 3 * * * cd /srv/site && .venv/bin/flask backup), and copy "
           "instance/backups/ off this machine. Backups made elsewhere with --to can't be seen here.")
    if not made:
        outcome.findings.append(Finding(
            f"There is no backup in {folder}: a failed disk or a mistaken erase would lose every inquiry and post.",
            fix))
        return outcome
    when, newest = max(made)
    age = datetime.now(UTC) - when
    if age > BACKUP_MAX_AGE:
        outcome.findings.append(Finding(
            f"The newest backup, {newest}, is {age.days} days old: everything since would be lost with the disk.",
            fix))
    else:
        outcome.fine = f"the newest backup, {newest.name}, is {age.total_seconds() / 3600:.0f} hours old"
    return outcome


def check_gunicorn_bind(deployment: Deployment) -> Outcome:
    """Is gunicorn bound to this machine only (or a private network), never to a public address?"""
    outcome = Outcome("gunicorn bind")
    if deployment.gunicorn_error:
        outcome.findings.append(Finding(deployment.gunicorn_error,
                                        "Correct the gunicorn config file or GUNICORN_CMD_ARGS."))
        return outcome
    source = deployment.gunicorn.bind_source
    if source == "GUNICORN_CMD_ARGS":
        fix = "Change --bind in GUNICORN_CMD_ARGS to 127.0.0.1:8000"
    elif source.startswith("gunicorn's default"):
        fix = ('Set bind = "127.0.0.1:8000" in the gunicorn config (deploy/gunicorn.conf.py does; it wins '
               "over PORT), or unset PORT")
    else:
        fix = f'Set bind = "127.0.0.1:8000" in {deployment.gunicorn.config_file}'
    for bound in deployment.binds:
        if bound.reach == "public":
            outcome.findings.append(Finding(
                f"gunicorn is bound to {bound.address} ({source}), {bound.description}, so anyone can connect to "
                f"it directly, around nginx. {SLOWLORIS.format(workers=deployment.workers)}",
                f"{fix}, and {NGINX}"))
    outcome.fine = f"{', '.join(bound.address for bound in deployment.binds)} ({source}): " + "; ".join(
        bound.description for bound in deployment.binds)
    return outcome


SERVER_CHECKS = (
    check_database_filesystem, check_permissions, check_migrations, check_backups, check_gunicorn_bind,
)
