"""The coach's account: password and the optional second factor."""

from __future__ import annotations

from flask import render_template

from . import bp


@bp.get("/account")
def account():
    """The account page."""
    return render_template("admin/account.html")
