"""The coach's account: sign-in and out, second factor, throttling, password reset, the account page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register sign-in, the account page, the session's user loader and `flask create-admin`."""
    from coaching.accounts import admin_views, commands, signed_in, views  # noqa: F401  (admin_views attach)
    from coaching.extensions import login_manager

    login_manager.user_loader(signed_in.load_signed_in_admin)
    app.register_blueprint(views.bp)
    app.cli.add_command(commands.create_admin_command)
