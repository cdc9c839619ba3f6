"""Running the site: backups, and `flask check-deploy` (a Flask plugin command, so not registered here)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register `flask backup`."""
    from coaching.operations import commands

    app.cli.add_command(commands.backup_command)
