"""`flask create-admin`: the coach's account from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from coaching.extensions import db


@click.command("create-admin")
@click.argument("email")
@with_appcontext
def create_admin_command(email: str) -> None:
    """Create the admin account EMAIL, or reset its password (asked twice, hidden; or one line piped in)."""
    from coaching.accounts.credentials import PasswordRejected, create_or_reset_admin

    if sys.stdin.isatty():
        password = click.prompt("Password (12 or more characters)", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user, created = create_or_reset_admin(email, password)
    except PasswordRejected as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    action = "Created" if created else "Reset the password of (and signed out)"
    click.echo(f"{action} the admin account {user.email}.")
