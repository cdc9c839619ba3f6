"""The post editor: drafts and published posts; write, preview, publish, delete, export and import."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from coaching.admin import bp
from coaching.admin.after_save import draft_key, draft_saved
from coaching.admin.kept_forms import Pending
from coaching.admin.resume import restores
from coaching.blog import archive, editor
from coaching.blog.forms import ImportPostsForm, PostForm
from coaching.blog.images import ImageRejected
from coaching.blog.models import Post
from coaching.blog.post_files import PostFileError
from coaching.blog.rendering import MarkdownTooDeep, render_markdown
from coaching.database import utcnow
from coaching.extensions import db

# The room a form's text fields need beside its file (MAX_FORM_MEMORY_SIZE caps each at 500 kB anyway).
FORM_TEXT_ALLOWANCE = 1024 * 1024
UPLOAD_ENDPOINTS = {"admin.new_post", "admin.edit_post", "admin.import_posts"}


@bp.url_value_preprocessor
def allow_larger_uploads(endpoint: str | None, values: dict | None) -> None:
    """Let the coach send a cover image (or an import) bigger than the site's 1 MB request limit.

    It has to be a URL value preprocessor: those run before every before_request hook, and so before
    CSRFProtect reads the form. Strangers keep the site-wide limit; anything over the raised one gets the 413 page.
    """
    if endpoint in UPLOAD_ENDPOINTS and current_user.is_authenticated:
        importing = endpoint == "admin.import_posts"
        limit = archive.IMPORT_MAX_BYTES if importing else current_app.config["UPLOAD_MAX_BYTES"]
        request.max_content_length = limit + FORM_TEXT_ALLOWANCE


@bp.get("/posts")
def posts():
    """Drafts and published posts."""
    drafts, published = editor.posts_by_status()
    return render_template("blog/admin/posts.html", drafts=drafts, published=published)


@bp.route("/posts/new", methods=["GET", "POST"])
def new_post():
    """Write a new post (saved as a draft)."""
    return _editor(None)


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
def edit_post(post_id: int):
    """Edit a post, preview it, and publish or unpublish it."""
    return _editor(_post_or_404(post_id))


def _post_or_404(post_id: int) -> Post:
    """The post with this id, or the 404 page if there is none (deleted since the link was shown)."""
    post = editor.get_post(post_id)
    if post is None:
        abort(404)
    return post


def _editor(post: Post | None):
    """The editor form: Preview shows the text as readers will see it; Save stores it."""
    form = PostForm(current_post=post, data=editor.form_values(post) if request.method == "GET" else None)
    valid = form.validate_on_submit()
    if form.cover_file.data and not form.cover_file.errors:
        # Stored now and carried in the form, so neither a preview nor a mistake elsewhere loses the chosen image.
        try:
            form.cover_upload.data = editor.store_upload(form.cover_file.data.read())
        except ImageRejected as rejected:
            form.cover_file.errors = [*form.cover_file.errors, str(rejected)]
            valid = False
    if request.form.get("action") == "preview":
        for field in form:  # a preview is not a save: only a refused image (or unshowable text) is worth mentioning
            if field not in (form.cover_file, form.body):
                field.errors = []
        form.body.errors = [error for error in form.body.errors if "nested" in error]
        try:
            preview_html = None if form.body.errors else render_markdown(form.body.data or "")
        except MarkdownTooDeep as exc:
            form.body.errors.append(f"The preview could not be shown: {exc}")
            preview_html = None
        return _render_editor(form, post, preview_html=preview_html)
    if valid:
        old_cover = post.cover_image if post else None
        try:
            saved = editor.save_post(post, editor.PostValues.from_form(form))
        except MarkdownTooDeep as exc:
            db.session.rollback()  # the half-set post must not be flushed by the page's own queries
            form.body.errors.append(f"Nothing was saved: {exc}")
        except editor.SlugTaken:
            db.session.rollback()
            form.slug.errors.append(f"The web address {form.slug.data} has just been taken by another post. "
                                    "Choose a different one")
        else:
            db.session.commit()
            editor.discard_upload_if_unused(old_cover)  # only now: a failed save must not lose the image
            flash("Your changes are saved and on the site." if saved.is_published else "Your draft is saved.", "info")
            draft_saved(draft_key("post", post.id if post else None))  # the browser's copy is no longer needed
            return redirect(url_for("admin.edit_post", post_id=saved.id), code=303)
    return _render_editor(form, post)


@restores("admin.new_post", "admin.edit_post")
def _resume_editor(pending: Pending):
    """The editor filled with a post sent after the session ended (as a new post if that one was deleted since)."""
    post = editor.get_post(pending.view_args["post_id"]) if "post_id" in pending.view_args else None
    return _render_editor(PostForm(formdata=pending.formdata, current_post=post), post)


def _render_editor(form: PostForm, post: Post | None, preview_html: str | None = None):
    """The editor page for a new or existing post."""
    return render_template("blog/admin/post_form.html", form=form, post=post, preview_html=preview_html,
                           upload_limit=editor.upload_limit_text())


@bp.post("/posts/<int:post_id>/publish", endpoint="publish_post", defaults={"public": True})
@bp.post("/posts/<int:post_id>/unpublish", endpoint="unpublish_post", defaults={"public": False})
def set_published(post_id: int, public: bool):
    """Put a post on the site, or take it off (it stays here as a draft)."""
    post = _post_or_404(post_id)
    editor.set_published(post, public)
    db.session.commit()
    flash("The post is published: everyone can read it now." if public
          else "The post is now a draft: only you can see it.", "info")
    return redirect(url_for("admin.edit_post", post_id=post.id), code=303)


@bp.route("/posts/<int:post_id>/delete", methods=["GET", "POST"])
def delete_post(post_id: int):
    """Ask before deleting a post (GET); delete it (POST)."""
    post = _post_or_404(post_id)
    if request.method == "GET":
        return render_template("blog/admin/post_delete.html", post=post)
    title, cover = post.title, post.cover_image
    editor.delete_post(post)
    db.session.commit()
    editor.discard_upload_if_unused(cover)
    flash(f"“{title}” is deleted.", "info")
    return redirect(url_for("admin.posts"), code=303)


@bp.get("/posts/export.zip")
def export_posts():
    """Every post as a Markdown file, in one zip to keep or to import elsewhere."""
    return send_file(io.BytesIO(archive.export_archive()), mimetype="application/zip", as_attachment=True,
                     download_name=f"posts-{utcnow():%Y-%m-%d}.zip")


@bp.route("/posts/import", methods=["GET", "POST"])
def import_posts():
    """Bring posts back from an exported zip (or one .md file): all of them, or none if one is wrong."""
    form = ImportPostsForm()
    if form.validate_on_submit():
        upload = form.posts_file.data
        try:
            counts = archive.import_upload(upload.filename or "", upload.read())
        except PostFileError as exc:
            db.session.rollback()  # all or nothing: none of the files is kept
            form.posts_file.errors.append(f"Nothing was imported. {exc}")
        else:
            db.session.commit()
            flash(f"Import finished: {counts['created']} new, {counts['updated']} updated, "
                  f"{counts['unchanged']} unchanged.", "info")
            return redirect(url_for("admin.posts"), code=303)
    return render_template("blog/admin/post_import.html", form=form), 400 if form.errors else 200
