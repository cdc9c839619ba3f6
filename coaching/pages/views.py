"""The practice's own pages: home, the Recovery Roadmap, and the files crawlers ask for."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for

from coaching.blog import queries
from coaching.web.page_cache import public_page
from coaching.web.templating import absolute_url, conditional_page

bp = Blueprint("pages", __name__)


@bp.get("/")
@public_page
def home():
    """Who the practice is for, what it offers, the latest posts and the way to get in touch."""
    return conditional_page(render_template("pages/home.html", latest=queries.latest_posts(3)))


@bp.get("/roadmap")
@public_page
def roadmap():
    """The Recovery Roadmap overview."""
    return conditional_page(render_template("pages/roadmap.html"))


@bp.get("/sitemap.xml")
@public_page
def sitemap():
    """Every public page and published post, for search engines."""
    sitemap = render_template("pages/sitemap.xml", posts=queries.published_posts())
    return conditional_page(sitemap, mimetype="application/xml")


@bp.get("/robots.txt")
@public_page
def robots():
    """Let crawlers read everything public and tell them where the sitemap is."""
    lines = ["User-agent: *", "Disallow: /admin/", f"Sitemap: {absolute_url('pages.sitemap')}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says; point them at the real icon."""
    return Response(status=301, headers={"Location": url_for("static", filename="img/favicon.svg")})


@bp.get("/privacy")
@public_page
def privacy():
    """What is kept from the contact form, why, for how long, who sees it, and how to erase it."""
    return conditional_page(render_template("pages/privacy.html"))
