"""Inquiries: the contact form and intake, the coach's inbox, erasure and retention, the spam digest."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the contact form, the inbox's admin views and `flask purge-inquiries`."""
    from coaching.inquiries import admin_views, commands, views  # noqa: F401  (admin_views attach to admin.bp)

    app.register_blueprint(views.bp)
    app.cli.add_command(commands.purge_inquiries_command)
