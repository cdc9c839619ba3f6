"""The post editor (being built)."""

from __future__ import annotations

from flask import render_template

from . import bp


@bp.get("/posts")
def posts():
    """Drafts and published posts."""
    return render_template("admin/posts.html")
