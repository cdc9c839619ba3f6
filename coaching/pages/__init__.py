"""The practice's own pages: home, the Recovery Roadmap, privacy, and robots.txt and the sitemap."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the pages' blueprint."""
    from coaching.pages import views

    app.register_blueprint(views.bp)
