"""`flask check-deploy`: a good production set passes; each unsafe setting is named with its fix.

Each test starts from GOOD (the settings README's "Running in production" asks for) on a migrated,
backed-up SQLite database in a temporary instance folder, with gunicorn bound to 127.0.0.1, and changes
one thing. The command runs through click's CliRunner with an explicit environment: every variable it
reads is cleared first, so the machine's own environment never leaks in.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from flask import Flask
from flask_migrate import upgrade

from coaching import create_app
from coaching.config import ROOT, Config
from coaching.database import utcnow
from coaching.operations import gunicorn_settings, server_checks
from coaching.operations.backup import make_backup
from coaching.operations.deploy_check import DEFAULT_GUNICORN_CONFIG, check_deploy_command
from coaching.operations.deployment import read_deployment
from coaching.operations.gunicorn_settings import read_gunicorn_settings
from tests.apps import TEST_SECRET_KEY, dispose

GOOD = {
    "SECRET_KEY": "9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
    "COACH_EMAIL": "coach@hopefordystonia.com",
    "SITE_URL": "https://hopefordystonia.com",
    "MAIL_SERVER": "smtp.hopefordystonia.com",
    "MAIL_PORT": "587",
    "MAIL_USE_TLS": "true",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "PROXY_FIX_HOPS": "1",
}
CHECKS = [
    "Start-up", "Debug mode", "Production mode", "Secret key", "Coach's address", "Mail server", "Mail encryption",
    "Rate limits", "Site address", "Visitors' addresses", "Cookies", "Database disk", "Permissions", "Migrations",
    "Backups", "gunicorn bind",
]
PREFIXES = ("RATELIMIT_", "WTF_", "MAIL_", "REMEMBER_COOKIE_", "SESSION_COOKIE_", "FLASK_")
# Every variable the settings or gunicorn's defaults are read from.
READ = ({name for name in dir(Config) if name.isupper()} | set(Flask(__name__).config)
        | {"FLASK_DEBUG", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "PORT"})
SLOWLORIS_FIX = ["slowloris", "hang every worker", "127.0.0.1:8000", "nginx buffers whole requests"]


def environment(**values: str | None) -> dict[str, str | None]:
    """The command's whole environment as CliRunner takes it: all it reads cleared (None), then GOOD, then values."""
    cleared = {name: None for name in READ | {name for name in os.environ if name.startswith(PREFIXES)}}
    return cleared | GOOD | values


def flat(text: str) -> str:
    """Output with its line wrapping undone, so a sentence can be looked for whole."""
    return " ".join(text.split())


def statuses(output: str) -> dict[str, str]:
    """Each check's title and its mark: "ok", "FAIL" or "??"."""
    marks = {}
    for line in output.splitlines():
        mark, _, rest = line.partition(" ")
        if mark in {"ok", "FAIL", "??"}:
            marks[rest.strip().partition(":")[0]] = mark
    return marks


@pytest.fixture(scope="module")
def migrated_instance(tmp_path_factory) -> Path:
    """An instance folder with a SQLite database migrated to head and one backup of it, made once per module."""
    folder = tmp_path_factory.mktemp("deploy") / "instance"
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": "sqlite:///coaching.sqlite3"},
                     instance_path=folder)
    try:
        with app.app_context():
            upgrade()
            make_backup()
    finally:
        dispose(app)
    return folder


@pytest.fixture
def site(migrated_instance, tmp_path):
    """A fresh copy of the instance and a gunicorn config on 127.0.0.1; site.run(*options, **environment)."""
    site = SimpleNamespace(instance=tmp_path / "instance", gunicorn_config=tmp_path / "gunicorn.conf.py")
    shutil.copytree(migrated_instance, site.instance)
    site.gunicorn_config.write_text('bind = "127.0.0.1:8000"\nworkers = 2\n')

    def run(*options: str, gunicorn_config: Path | None = site.gunicorn_config, **values: str | None):
        arguments = ["--instance", str(site.instance), *options]
        if gunicorn_config is not None:
            arguments += ["--gunicorn-config", str(gunicorn_config)]
        result = CliRunner().invoke(check_deploy_command, arguments, env=environment(**values))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        result.text = flat(result.output)
        result.marks = statuses(result.output)
        return result

    site.run = run
    return site


def assert_only_failing(result, *titles: str) -> None:
    """Exit 1, exactly these checks failing and every other one passing."""
    assert result.exit_code == 1, result.output
    assert set(result.marks) == set(CHECKS), result.output
    assert {title for title, mark in result.marks.items() if mark == "FAIL"} == set(titles), result.output
    assert f"found by {len(titles)} of {len(CHECKS)} checks; fix them before starting the site." in result.text


def test_a_good_production_setup_passes_every_check(site):
    """Does check-deploy pass a documented good production setup, saying so for each check, and exit 0?"""
    result = site.run()
    assert result.exit_code == 0, result.output
    assert result.marks == dict.fromkeys(CHECKS, "ok"), result.output
    assert "ok Backups: the newest backup," in result.text
    assert "ok gunicorn bind: 127.0.0.1:8000 (the gunicorn config" in result.text
    assert "ok Migrations: the database is at the newest migration" in result.text
    assert result.output.rstrip().endswith("check-deploy: all 16 checks passed.")


UNSAFE_SETTINGS = [
    pytest.param({"FLASK_DEBUG": "1"}, ["Debug mode"], ["Debug mode is on", "FLASK_DEBUG=1", "Unset FLASK_DEBUG"],
                 id="SEC-11-flask-debug"),
    pytest.param({"DEBUG": "true"}, ["Debug mode"], ["Debug mode is on (DEBUG, set in the environment)",
                                                      "Unset FLASK_DEBUG and DEBUG"], id="SEC-11-debug"),
    pytest.param({"DEVELOPMENT": "true"}, ["Production mode", "Cookies"],
                 ["DEVELOPMENT is true (set in the environment)", "set DEVELOPMENT=false",
                  "SESSION_COOKIE_SECURE is false (off because DEVELOPMENT or TESTING is on)"], id="development"),
    pytest.param({"TESTING": "true"}, ["Production mode", "Cookies"], ["TESTING is true", "set TESTING=false"],
                 id="testing"),
    pytest.param({"SECRET_KEY": None}, ["Start-up", "Secret key"],
                 ["The site would refuse to start", "SECRET_KEY is not set", "token_hex(32)"], id="no-secret-key"),
    pytest.param({"SECRET_KEY": "d41d8cd98f00b204e98"}, ["Secret key"],
                 ["SECRET_KEY is only 19 characters long (at least 32", "SECRET_KEY=$(python -c"], id="short-key"),
    pytest.param({"SECRET_KEY": "dev"}, ["Secret key"], ["SECRET_KEY is 'dev', a well-known example value",
                                                         "token_hex(32)"], id="dev-key"),
    pytest.param({"SECRET_KEY": "changeme"}, ["Secret key"], ["'changeme', a well-known"], id="changeme-key"),
    pytest.param({"SECRET_KEY": TEST_SECRET_KEY}, ["Secret key"], [f"{TEST_SECRET_KEY!r}, a well-known"],
                 id="the-tests-key"),
    pytest.param({"SECRET_KEY": "ab" * 32}, ["Secret key"], ["uses only 2 different characters", "token_hex(32)"],
                 id="typed-key"),
    pytest.param({"COACH_EMAIL": None}, ["Start-up", "Coach's address"],
                 ["COACH_EMAIL is not set", "Set COACH_EMAIL to the address the coach reads"], id="no-coach-email"),
    *[pytest.param({"COACH_EMAIL": address}, ["Coach's address"],
                   [f"COACH_EMAIL is {address}, at", "reserved for examples", "Set COACH_EMAIL to the address"],
                   id=f"coach-at-{address.partition('@')[2]}")
      for address in ["coach@example.com", "coach@example.org", "ruth@mail.example.net",
                      "coach@hopefordystonia.example", "coach@site.test", "coach@nowhere.invalid", "coach@localhost"]],
    pytest.param({"PRACTICE_EMAIL": "hello@example.com"}, ["Coach's address"],
                 ["PRACTICE_EMAIL is hello@example.com", "visitors are shown it", "Set PRACTICE_EMAIL"],
                 id="practice-email"),
    pytest.param({"MAIL_SERVER": None}, ["Mail server"],
                 ["MAIL_SERVER is not set", "written as a file into", "Set MAIL_SERVER"], id="no-mail-server"),
    pytest.param({"MAIL_USE_TLS": "false"}, ["Mail encryption"],
                 ["MAIL_SERVER smtp.hopefordystonia.com is reached without encryption", "MAIL_USE_TLS=true",
                  "MAIL_USE_SSL=true"], id="smtp-in-clear"),
    pytest.param({"RATELIMIT_STORAGE_URI": "memory://"}, ["Rate limits"],
                 ["RATELIMIT_STORAGE_URI is memory:// and gunicorn runs 2 workers", "once per worker",
                  "RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0"], id="SEC-08-memory-storage"),
    pytest.param({"RATELIMIT_STORAGE_URI": None}, ["Rate limits"], ["memory://", "RATELIMIT_STORAGE_URI=redis://"],
                 id="SEC-08-default-storage"),
    pytest.param({"RATELIMIT_ENABLED": "false"}, ["Rate limits"],
                 ["RATELIMIT_ENABLED is false", "set RATELIMIT_ENABLED=true"], id="SEC-08-limits-off"),
    pytest.param({"SITE_URL": None}, ["Start-up", "Site address"],
                 ["SITE_URL is not set", "SITE_URL=https://hopefordystonia.com"], id="no-site-url"),
    pytest.param({"SITE_URL": "http://hopefordystonia.com"}, ["Site address"],
                 ["SITE_URL is http://hopefordystonia.com, not https", "Serve the site over HTTPS"], id="http-site"),
    pytest.param({"PROXY_FIX_HOPS": "0"}, ["Visitors' addresses"],
                 ["PROXY_FIX_HOPS is 0 while gunicorn listens only on 127.0.0.1:8000", "Set PROXY_FIX_HOPS=1"],
                 id="SEC-08-no-proxy-fix"),
    pytest.param({"SESSION_COOKIE_SECURE": "false"}, ["Cookies"],
                 ["SESSION_COOKIE_SECURE is false (set in the environment)", "set SESSION_COOKIE_SECURE=true"],
                 id="SEC-02-session-cookie"),
    pytest.param({"REMEMBER_COOKIE_SECURE": "false"}, ["Cookies"],
                 ["REMEMBER_COOKIE_SECURE is false", "set REMEMBER_COOKIE_SECURE=true"], id="SEC-02-remember-cookie"),
    pytest.param({"SESSION_COOKIE_SAMESITE": "None"}, ["Cookies"],
                 ["SESSION_COOKIE_SAMESITE is 'None'", "SESSION_COOKIE_SAMESITE=Lax"], id="SEC-02-samesite"),
    pytest.param({"DATABASE_URL": "sqlite://"}, ["Database disk", "Migrations"],
                 ["an in-memory SQLite database", "Set DATABASE_URL to a file", "has never been migrated"],
                 id="memory-database"),
    pytest.param({"DATABASE_URL": "postgresql://site@127.0.0.1:1/coaching"}, ["Migrations"],
                 ["The database at postgresql+psycopg://site@127.0.0.1:1/coaching can't be reached",
                  "Check DATABASE_URL"], id="database-down"),
    pytest.param({"DATABASE_URL": "nonsense:/coaching"}, ["Migrations"],
                 ["DATABASE_URL can't be used: ArgumentError", "Correct DATABASE_URL."], id="database-url-malformed"),
]


@pytest.mark.parametrize(("change", "failing", "expected"), UNSAFE_SETTINGS)
def test_each_unsafe_setting_is_named_with_its_fix(site, change, failing, expected):
    """Does one unsafe setting fail its check with a message naming the setting and the fix, the rest passing?"""
    result = site.run(**change)
    assert_only_failing(result, *failing)
    for text in expected:
        assert text in result.text


def test_settings_in_instance_config_are_read_and_the_environment_wins(site):
    """SEC-11: is instance/config.py read (DEBUG there is found), and does the environment override it?"""
    (site.instance / "config.py").write_text("DEBUG = True\nSECRET_KEY = 'dev'\n")
    result = site.run()
    assert_only_failing(result, "Debug mode")
    assert f"Debug mode is on (DEBUG, set in {site.instance / 'config.py'})" in result.text
    assert "found), then the environment." in result.text


def clear_environment(monkeypatch, **values: str) -> None:
    """Set this process's environment as environment() would give the command."""
    for name, value in environment(**values).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def test_the_settings_read_are_the_ones_the_app_starts_with(site, monkeypatch):
    """Does check-deploy layer settings as create_app does, and find uploads and backups where the app keeps them?"""
    (site.instance / "config.py").write_text("SITE_NAME = 'From instance'\nPOSTS_PER_PAGE = 3\nPROXY_FIX_HOPS = 2\n")
    clear_environment(monkeypatch, POSTS_PER_PAGE="7", TRUSTED_HOSTS="hopefordystonia.com,www.hopefordystonia.com")
    deployment = read_deployment(site.instance, site.gunicorn_config)
    deployment.engine.dispose()
    app = create_app(instance_path=site.instance)
    try:
        for name in ["SITE_NAME", "POSTS_PER_PAGE", "PROXY_FIX_HOPS", "SECRET_KEY", "DEBUG", "TRUSTED_HOSTS",
                     "SESSION_COOKIE_SECURE", "RATELIMIT_STORAGE_URI", "SQLALCHEMY_DATABASE_URI", "MAIL_USE_TLS"]:
            assert deployment.effective[name] == app.config[name], name
        assert deployment.effective["POSTS_PER_PAGE"] == 7 and deployment.effective["SITE_NAME"] == "From instance"
        with app.app_context():
            from coaching.blog.editor import upload_folder
            from coaching.extensions import db
            from coaching.operations.backup import default_folder

            assert deployment.uploads == upload_folder()
            assert deployment.backups == default_folder().parent
            assert str(db.engine.url) == str(deployment.engine.url)
    finally:
        dispose(app)


def test_a_refusing_app_is_still_checked_through_the_flask_command(site):
    """If the app refuses to start (no SECRET_KEY), does `flask check-deploy` still run and report that and the rest?"""
    values = {name: value for name, value in environment(SECRET_KEY=None, GUNICORN_CMD_ARGS="--bind 0.0.0.0:9000",
                                                         MAIL_SERVER=None).items() if value is not None}
    env = {name: value for name, value in os.environ.items() if name not in environment()} | values
    refused = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode != 0 and "SECRET_KEY is not set" in refused.stderr  # the app itself won't start
    result = subprocess.run(
        [sys.executable, "-m", "flask", "check-deploy", "--instance", str(site.instance),
         "--gunicorn-config", str(site.gunicorn_config)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    text = flat(result.stdout)
    assert "FAIL Start-up The site would refuse to start (`gunicorn app:app` would stop at once), saying: " \
           "SECRET_KEY is not set." in text
    assert "FAIL Secret key" in text and "FAIL Mail server" in text
    assert "gunicorn is bound to 0.0.0.0:9000 (GUNICORN_CMD_ARGS)" in text
    assert "ok Migrations" in text and "ok Backups" in text


PUBLIC_BINDS = [
    pytest.param('bind = "0.0.0.0:8000"', {}, "0.0.0.0:8000 (the gunicorn config", "every network interface",
                 id="all-ipv4"),
    pytest.param('bind = "[::]:8000"', {}, "[::]:8000 (the gunicorn config", "every network interface", id="all-ipv6"),
    pytest.param('bind = ":8000"', {}, ":8000 (the gunicorn config", "every network interface", id="empty-host"),
    pytest.param('bind = "8.8.4.4:8000"', {}, "8.8.4.4:8000 (the gunicorn config", "a public address",
                 id="public-ip"),
    pytest.param('bind = ["127.0.0.1:8000", "0.0.0.0:8443"]', {}, "0.0.0.0:8443 (the gunicorn config",
                 "every network interface", id="one-of-two"),
    pytest.param("workers = 2", {"PORT": "8000"}, "0.0.0.0:8000 (gunicorn's default when PORT is set)",
                 "unset PORT", id="port-without-bind"),
    pytest.param('bind = "127.0.0.1:8000"', {"GUNICORN_CMD_ARGS": "--bind 0.0.0.0:9000"},
                 "0.0.0.0:9000 (GUNICORN_CMD_ARGS)", "Change --bind in GUNICORN_CMD_ARGS", id="gunicorn-cmd-args"),
]


@pytest.mark.parametrize(("config", "change", "bound", "detail"), PUBLIC_BINDS)
def test_a_public_gunicorn_bind_is_refused_with_slowloris_explained(site, config, change, bound, detail):
    """Does check-deploy warn, explaining slowloris, when gunicorn is bound to 0.0.0.0, ::, or a public address?"""
    site.gunicorn_config.write_text(config + "\n")
    result = site.run(**change)
    # With PROXY_FIX_HOPS=1, a gunicorn anyone can reach also lets them forge X-Forwarded-For.
    assert_only_failing(result, "gunicorn bind", "Visitors' addresses")
    assert f"gunicorn is bound to {bound}" in result.text
    assert detail in result.text
    for text in SLOWLORIS_FIX:
        assert text in result.text
    assert "send their own X-Forwarded-For header" in result.text


def test_a_host_name_that_resolves_to_a_public_address_is_refused(site, monkeypatch):
    """Is a bind to a host name refused when the name resolves to a public address (looked up as gunicorn would)?"""
    monkeypatch.setattr(gunicorn_settings, "resolve", lambda host, port: ["93.184.215.14"])
    site.gunicorn_config.write_text('bind = "www.hopefordystonia.com:8000"\n')
    result = site.run()
    assert_only_failing(result, "gunicorn bind", "Visitors' addresses")
    assert "www.hopefordystonia.com resolves to 93.184.215.14: a public address" in result.text


@pytest.mark.parametrize(("config", "change"), [
    pytest.param('bind = "127.0.0.1:8000"', {}, id="ipv4-loopback"),
    pytest.param('bind = "[::1]:8000"', {}, id="ipv6-loopback"),
    pytest.param('bind = "unix:/run/x.sock"', {}, id="unix-socket"),
    pytest.param('bind = "fd://3"', {}, id="systemd-socket"),
    pytest.param('bind = "10.0.0.5:8000"', {}, id="private-10"),
    pytest.param('bind = "192.168.1.20:8000"', {}, id="private-192-168"),
    pytest.param('bind = "[fd12:3456::1]:8000"', {}, id="private-ipv6"),
    pytest.param('bind = "127.0.0.1:8000"', {"PORT": "8000"}, id="bind-wins-over-port"),
    pytest.param("workers = 2", {"GUNICORN_CMD_ARGS": "--bind unix:/run/x.sock"}, id="gunicorn-cmd-args"),
])
def test_a_local_or_private_gunicorn_bind_passes(site, config, change):
    """Does check-deploy pass gunicorn bound to 127.0.0.1, [::1], a unix socket, fd:// or a private network?"""
    site.gunicorn_config.write_text(config + "\n")
    result = site.run(**change)
    assert result.exit_code == 0, result.output
    assert result.marks["gunicorn bind"] == "ok"


def test_a_host_name_that_resolves_to_loopback_passes(site, monkeypatch):
    """Is a bind to a name that resolves only to loopback (localhost) accepted?"""
    monkeypatch.setattr(gunicorn_settings, "resolve", lambda host, port: ["127.0.0.1", "::1"])
    site.gunicorn_config.write_text('bind = "localhost:8000"\n')
    result = site.run()
    assert result.exit_code == 0, result.output
    assert "localhost resolves to 127.0.0.1, ::1: loopback" in result.text


@pytest.mark.parametrize(("config", "change", "workers"), [
    pytest.param('bind = "127.0.0.1:8000"', {"WEB_CONCURRENCY": "3"}, "3 workers (WEB_CONCURRENCY)",
                 id="web-concurrency"),
    pytest.param('bind = "127.0.0.1:8000"\nworkers = 2', {"GUNICORN_CMD_ARGS": "--workers 4"},
                 "4 workers (GUNICORN_CMD_ARGS)", id="gunicorn-cmd-args"),
    pytest.param('bind = "127.0.0.1:8000"\nworkers = 5', {}, "5 workers (the gunicorn config", id="config-file"),
])
def test_in_memory_rate_limits_with_several_workers_are_refused(site, config, change, workers):
    """SEC-08: with memory:// limits, are several workers found (config file, WEB_CONCURRENCY, GUNICORN_CMD_ARGS)?"""
    site.gunicorn_config.write_text(config + "\n")
    result = site.run(RATELIMIT_STORAGE_URI="memory://", **change)
    assert_only_failing(result, "Rate limits")
    assert f"RATELIMIT_STORAGE_URI is memory:// and gunicorn runs {workers}" in result.text


def test_in_memory_rate_limits_with_one_worker_pass(site):
    """SEC-08: is memory:// accepted when gunicorn runs a single worker (its default)?"""
    site.gunicorn_config.write_text('bind = "127.0.0.1:8000"\n')
    result = site.run(RATELIMIT_STORAGE_URI="memory://")
    assert result.exit_code == 0, result.output
    assert "ok Rate limits: memory://, with one gunicorn worker." in result.text


@pytest.mark.parametrize(("config", "change", "reason"), [
    pytest.param('workers = "many"', {}, "Invalid value for workers: many", id="bad-value"),
    pytest.param("bind = undefined_name", {}, "NameError: name 'undefined_name' is not defined", id="broken-file"),
    pytest.param('bind = "127.0.0.1:8000"', {"GUNICORN_CMD_ARGS": "--no-such-option"},
                 "unrecognized arguments: --no-such-option", id="bad-cmd-args"),
])
def test_gunicorn_settings_gunicorn_would_refuse_are_reported(site, config, change, reason):
    """Are gunicorn settings gunicorn itself would refuse reported with its reason, not a traceback?"""
    site.gunicorn_config.write_text(config + "\n")
    result = site.run(**change)
    assert_only_failing(result, "gunicorn bind")
    assert "gunicorn would refuse its settings" in result.text and reason in result.text
    assert "Correct the gunicorn config file or GUNICORN_CMD_ARGS." in result.text


@pytest.mark.parametrize("kind", ["nfs4", "cifs", "fuse.sshfs", "9p", "glusterfs"])
def test_a_sqlite_database_on_a_network_filesystem_is_refused(site, tmp_path, monkeypatch, kind):
    """Is a SQLite database on a network filesystem (found in /proc/mounts) refused, saying to use a local disk?"""
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw,relatime 0 0\nfiler:/export {tmp_path} {kind} rw,relatime 0 0\n")
    monkeypatch.setattr(server_checks, "MOUNTS_FILE", mounts)
    result = site.run()
    assert_only_failing(result, "Database disk")
    assert (f"The SQLite database {site.instance / 'coaching.sqlite3'} is on a network filesystem ({kind}, "
            f"filer:/export mounted at {tmp_path})") in result.text
    assert "Keep the database on a local disk" in result.text


def test_a_local_mount_point_with_a_space_is_read(site, tmp_path, monkeypatch):
    """Are /proc/mounts' escaped spaces (\\040) read, so the local disk the database is on is named?"""
    disk = tmp_path / "local disk"
    disk.mkdir()
    site.instance = Path(shutil.move(site.instance, disk / "instance"))
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\n/dev/vdb {tmp_path}/local\\040disk xfs rw 0 0\n")
    monkeypatch.setattr(server_checks, "MOUNTS_FILE", mounts)
    result = site.run()
    assert result.exit_code == 0, result.output
    assert f"ok Database disk: {site.instance / 'coaching.sqlite3'} is on xfs (mounted at {disk})" in result.text


def test_without_proc_mounts_the_disk_check_says_it_could_not_look(site, tmp_path, monkeypatch):
    """Without /proc/mounts, is the disk check marked as not looked at (??) rather than passed or failed?"""
    monkeypatch.setattr(server_checks, "MOUNTS_FILE", tmp_path / "no-such-file")
    result = site.run()
    assert result.exit_code == 0, result.output
    assert result.marks["Database disk"] == "??"
    assert "all 16 checks passed (1 could not look, marked ??)." in result.text


@pytest.mark.parametrize(("place", "what"), [
    pytest.param(".", "the instance folder (database, settings, secret key, mail files)", id="instance"),
    pytest.param("uploads", "the uploads folder (the posts' images)", id="uploads"),
    pytest.param("backups", "the backups folder", id="backups"),
    pytest.param("config.py", "instance/config.py, which the site runs as Python", id="instance-config"),
    pytest.param("coaching.sqlite3", "the database file", id="database"),
])
def test_folders_others_can_write_are_refused(site, place, what):
    """Is the instance folder, uploads, backups, instance/config.py or the database writable by others refused?"""
    path = (site.instance / place).resolve()
    if place == "uploads":
        path.mkdir()
    elif place == "config.py":
        path.write_text("SITE_NAME = 'Hope for Dystonia'\n")
    path.chmod(path.stat().st_mode | 0o002)
    result = site.run()
    assert_only_failing(result, "Permissions")
    assert f"{path}, {what}, can be written by every user of this machine" in result.text
    assert f"chmod o-w {path}" in result.text


def test_a_missing_instance_folder_is_reported(site, tmp_path):
    """Is an instance folder that doesn't exist reported (wrong --instance), with the database and backups missing?"""
    shutil.rmtree(site.instance)
    result = site.run()
    assert_only_failing(result, "Permissions", "Migrations", "Backups")
    assert f"The instance folder {site.instance} does not exist" in result.text
    assert "--instance PATH" in result.text
    assert f"The database file {site.instance / 'coaching.sqlite3'} does not exist" in result.text
    assert not site.instance.exists()  # looking made nothing


def set_revision(site, revision: str | None) -> None:
    """Put the database's alembic_version at a revision (None: drop the table, as if never migrated)."""
    connection = sqlite3.connect(site.instance / "coaching.sqlite3")
    try:
        with connection:
            if revision is None:
                connection.execute("DROP TABLE alembic_version")
            else:
                connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    finally:
        connection.close()


def test_a_database_behind_the_migrations_is_refused(site):
    """Is a database at an older migration than coaching/migrations' head refused, saying to run flask db upgrade?"""
    set_revision(site, "618db9ad2cee")
    result = site.run()
    assert_only_failing(result, "Migrations")
    assert "is at migration 618db9ad2cee, not the newest" in result.text
    assert "Run `flask db upgrade` with the site's environment" in result.text


def test_a_database_never_migrated_is_refused(site):
    """Is a database without alembic_version refused as never migrated?"""
    set_revision(site, None)
    result = site.run()
    assert_only_failing(result, "Migrations")
    assert "has never been migrated (no alembic_version)" in result.text and "flask db upgrade" in result.text


def test_no_backup_is_refused(site):
    """With no backup in instance/backups/, does check-deploy say to run flask backup daily?"""
    shutil.rmtree(site.instance / "backups")
    result = site.run()
    assert_only_failing(result, "Backups")
    assert f"There is no backup in {site.instance / 'backups'}" in result.text
    assert "Run `flask backup` now and daily from cron" in result.text


def test_a_backup_older_than_two_days_is_refused(site):
    """Is a newest backup older than 2 days refused, with its age?"""
    [backup] = (site.instance / "backups").iterdir()
    old = backup.with_name((utcnow() - timedelta(days=5)).strftime("%Y-%m-%d-%H%M%S"))
    backup.rename(old)
    result = site.run()
    assert_only_failing(result, "Backups")
    assert f"The newest backup, {old}, is 5 days old" in result.text


def test_the_shipped_gunicorn_config_passes_the_bind_check(site):
    """Does deploy/gunicorn.conf.py, check-deploy's default gunicorn config, bind 127.0.0.1 and pass?"""
    result = site.run(gunicorn_config=None)
    assert result.exit_code == 0, result.output
    assert f"gunicorn: {DEFAULT_GUNICORN_CONFIG}, then GUNICORN_CMD_ARGS (not set)." in result.text
    assert f"ok gunicorn bind: 127.0.0.1:8000 (the gunicorn config {DEFAULT_GUNICORN_CONFIG})" in result.text


def test_the_shipped_gunicorn_config_sizes_workers_from_the_cores(monkeypatch):
    """Does deploy/gunicorn.conf.py run 2 workers per core + 1 (at most 9), unless WEB_CONCURRENCY says otherwise?"""
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    cores = len(os.sched_getaffinity(0))
    settings = read_gunicorn_settings(DEFAULT_GUNICORN_CONFIG)
    assert settings.binds == ("127.0.0.1:8000",)
    assert settings.workers == min(2 * cores + 1, 9)
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert read_gunicorn_settings(DEFAULT_GUNICORN_CONFIG).workers == 3
