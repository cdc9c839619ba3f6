"""The blog: public views, queries, Markdown rendering, post files, the editor and images, its admin views."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the blog, its admin views, `flask seed`, the 301s from old addresses, and what refreshes its pages."""
    from coaching.blog import admin_views, commands, queries, views  # noqa: F401  (admin_views attach to admin.bp)
    from coaching.blog.models import Post, PostRedirect, Tag
    from coaching.web import errors, page_cache

    app.register_blueprint(views.bp)
    app.cli.add_command(commands.seed_command)
    errors.redirect_moved_pages(app, queries.moved_post_url)
    page_cache.refresh_on_changes_to(app, Post, Tag, PostRedirect)
