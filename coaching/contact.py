"""Getting in touch with the practice."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("contact", __name__)


@bp.get("/contact")
def form():
    """How to reach the coach (the inquiry form arrives with issue 4; until then, email)."""
    return render_template("contact/form.html")
