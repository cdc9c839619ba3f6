"""The Hope for Dystonia website: create_app() builds it."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from coaching import accounts, admin, blog, inquiries, logs, mail, operations, pages, web
from coaching.config import ROOT, Config, apply_environment, finalise
from coaching.extensions import csrf, db, limiter, login_manager, migrate
from coaching.extensions import mail as mailer


def create_app(test_config: Mapping | None = None, instance_path: str | Path | None = None) -> Flask:
    """Build the app: settings, extensions, what every page shares, then each area of the site.

    The instance folder (database, secret key, mail files) is ./instance unless one is given.
    """
    app = Flask(
        __name__,
        instance_path=str(instance_path or ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, test_config)
    register_extensions(app)
    web.init_app(app)
    pages.init_app(app)
    blog.init_app(app)
    inquiries.init_app(app)
    mail.init_app(app)
    accounts.init_app(app)
    operations.init_app(app)
    admin.init_app(app)  # last: the areas above have attached their admin views to its blueprint
    configure_logging(app)
    return app


def load_config(app: Flask, test_config: Mapping | None) -> None:
    """Class defaults, then instance/config.py, then the environment, then the test mapping."""
    app.config.from_object(Config)
    app.config.from_pyfile("config.py", silent=True)
    apply_environment(app.config, os.environ)
    if test_config is not None:
        app.config.update(test_config)
    finalise(app.config, Path(app.instance_path))


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions of extensions.py to this app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "coaching" / "migrations"))
    mailer.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    # No templates use current_user; Flask-Login's context processor would read the session on every page.
    login_manager.init_app(app, add_context_processor=False)
    if app.config["PROXY_FIX_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_HOPS"],
                                x_proto=app.config["PROXY_FIX_HOPS"])


def configure_logging(app: Flask) -> None:
    """Log at INFO to stderr (where gunicorn and `flask run` collect it), one line per event, in LOG_FORMAT."""
    if not app.testing:
        logs.install(app.config["LOG_FORMAT"])
    app.logger.setLevel(logging.INFO)
    production = not (app.config["DEVELOPMENT"] or app.testing)
    if production and app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        app.logger.warning(
            "RATELIMIT_STORAGE_URI is memory://: each worker process counts limits alone. "
            "With more than one worker, set it to redis://…"
        )
