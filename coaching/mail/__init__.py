"""The outbox: emails stored with what caused them, then delivered, retried and resent.

It is generic (a kind, a recipient, a reply-to, a subject, the bodies and an optional link to an
inquiry) and imports no area of the site.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register `flask outbox`, start delivery whenever a commit stores an email, and track requests for it."""
    from coaching.mail import commands, kick_on_commit, request_activity

    app.cli.add_command(commands.outbox_group)
    kick_on_commit.watch_commits()
    # Background delivery waits for a quiet moment in this process (request_activity.py).
    app.wsgi_app = request_activity.TrackRequests(app.wsgi_app)
