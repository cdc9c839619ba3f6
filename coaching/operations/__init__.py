"""Running the site: /healthz and /readyz, backups, and `flask check-deploy` (a Flask plugin command, so not
registered here)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register /healthz, /readyz and `flask backup`."""
    from coaching.operations import commands, health

    health.init_app(app)
    app.cli.add_command(commands.backup_command)
