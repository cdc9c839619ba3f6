"""What is deployed here, read once for `flask check-deploy`: the settings the app would start with,
gunicorn's, the database engine and the folders, without starting the app or gunicorn.

The settings are layered as coaching.load_config layers them (class defaults, instance/config.py, the
environment); config.finalise is then applied to a copy, and its refusal is kept to be reported.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url

from coaching.config import Config, ConfigError, apply_environment, finalise
from coaching.operations.gunicorn_settings import (
    BindAddress,
    GunicornSettings,
    GunicornSettingsError,
    classify_bind,
    read_gunicorn_settings,
)


@dataclass(frozen=True)
class Finding:
    """Something unsafe, and what to do about it."""

    problem: str
    fix: str


@dataclass
class Outcome:
    """What one check saw: findings, or a short note of what passed (or why it could not look)."""

    title: str
    findings: list[Finding] = field(default_factory=list)
    fine: str = ""
    unchecked: bool = False


@dataclass
class Deployment:
    """Everything the checks look at, read once from the instance folder, the environment and gunicorn."""

    instance_path: Path
    instance_existed: bool
    settings: dict  # defaults, then instance/config.py, then the environment: what the operator set
    effective: dict  # settings after config.finalise (as far as it got): what the app would run with
    from_instance_file: set[str]
    refusals: list[str]
    gunicorn: GunicornSettings | None = None
    binds: list[BindAddress] = field(default_factory=list)  # one for each address gunicorn binds
    gunicorn_error: str | None = None  # why gunicorn would refuse its settings
    uploads: Path | None = None
    backups: Path | None = None
    engine: Engine | None = None  # as Flask-SQLAlchemy makes it for the app (not connected)
    database_error: str | None = None  # why no engine could be made

    def source(self, name: str) -> str:
        """Where a setting's value came from, as an operator would go and change it."""
        if name in os.environ:
            return "set in the environment"
        if name in self.from_instance_file:
            return f"set in {self.instance_path / 'config.py'}"
        return "the default"

    @property
    def development(self) -> bool:
        """Whether the app would run in local mode (production checks off)."""
        return bool(self.settings.get("DEVELOPMENT") or self.settings.get("TESTING"))

    @property
    def workers(self) -> int | None:
        """How many gunicorn workers would serve the site (None when gunicorn's settings can't be read)."""
        return self.gunicorn.workers if self.gunicorn else None


def read_deployment(instance_path: Path, gunicorn_config: Path | None) -> Deployment:
    """Read the settings the app would start with and gunicorn's, without starting either."""
    # Flask itself reads FLASK_DEBUG into DEBUG when an app is made; this bare app is never served.
    app = Flask("coaching", instance_path=str(instance_path), instance_relative_config=True)
    instance_existed = instance_path.is_dir()
    refusals: list[str] = []
    # The layers of coaching.load_config (there is no test mapping here), stopping short of finalise
    # so that its refusal is reported instead of stopping this command.
    app.config.from_object(Config)
    defaults = dict(app.config)
    try:
        app.config.from_pyfile("config.py", silent=True)
    except Exception as exc:
        refusals.append(f"{instance_path / 'config.py'} can't be run: {type(exc).__name__}: {exc}")
    from_file = {name for name, value in app.config.items() if name not in defaults or defaults[name] != value}
    try:
        apply_environment(app.config, os.environ)
    except ConfigError as exc:
        refusals.append(str(exc))
    settings = dict(app.config)
    effective = dict(settings)
    try:
        with tempfile.TemporaryDirectory() as scratch:  # where finalise may write a development key
            finalise(effective, Path(scratch))
    except ConfigError as exc:
        refusals.append(str(exc))
    deployment = Deployment(instance_path, instance_existed, settings, effective, from_file, refusals)
    _read_gunicorn(deployment, gunicorn_config)
    with app.app_context():
        from coaching.blog.editor import upload_folder
        from coaching.operations.backup import default_folder

        deployment.uploads = upload_folder()
        deployment.backups = default_folder().parent
    _make_engine(deployment)
    return deployment


def _read_gunicorn(deployment: Deployment, config_file: Path | None) -> None:
    """gunicorn's settings and where each bind address can be reached from."""
    try:
        deployment.gunicorn = read_gunicorn_settings(config_file)
        deployment.binds = [classify_bind(address) for address in deployment.gunicorn.binds]
    except GunicornSettingsError as exc:
        deployment.gunicorn_error = str(exc)


def _make_engine(deployment: Deployment) -> None:
    """The app's database engine (not connected), its URL as Flask-SQLAlchemy would make it."""
    uri = deployment.effective.get("SQLALCHEMY_DATABASE_URI") or deployment.settings["DATABASE_URL"]
    options = dict(deployment.effective.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    try:
        url = database_url(uri, deployment.instance_path)
        if url.get_backend_name() == "postgresql":
            options["connect_args"] = {"connect_timeout": 5, **options.get("connect_args", {})}
        deployment.engine = create_engine(url, **options)
    except Exception as exc:  # a malformed URL, a driver that isn't installed
        deployment.database_error = f"DATABASE_URL can't be used: {type(exc).__name__}: {exc}"


def database_url(uri: str, instance_path: Path) -> URL:
    """A database URI with a relative SQLite path put in the instance folder.

    As Flask-SQLAlchemy 3 does it (SQLAlchemy._apply_driver_defaults), but without creating the folder:
    a mistyped --instance must not make one.
    """
    url = make_url(uri)
    if url.drivername not in {"sqlite", "sqlite+pysqlite"} or url.database in (None, "", ":memory:"):
        return url
    is_uri = url.query.get("uri", False)
    name = url.database[5:] if is_uri else url.database
    if os.path.isabs(name):
        return url
    name = os.path.join(instance_path, name)
    return url.set(database=f"file:{name}" if is_uri else name)


def sqlite_file(deployment: Deployment) -> Path | None:
    """The SQLite database's file (None for another database, or one in memory)."""
    url = deployment.engine.url if deployment.engine else None
    if url is None or url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database.removeprefix("file:") if url.query.get("uri") else url.database)


