"""The inquiry inbox (being built)."""

from __future__ import annotations

from flask import render_template

from . import bp


@bp.get("/")
@bp.get("/inquiries")
def inquiries():
    """Inquiries, newest first."""
    return render_template("admin/inquiries.html")
