"""The post editor at /admin/posts, driven over HTTP as the coach would use it."""

from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import select

from coaching.blog.images import cleaned_image
from coaching.blog.models import Post, PostRedirect, PostStatus
from coaching.blog.post_files import parse_post_file
from coaching.extensions import db
from tests.factories import BAD_POST_FILES, HOSTILE_MARKDOWN, opened, picture, row_count
from tests.forms import csrf_token_of, editor_fields, post, post_closing_body, sign_in, submit, write_post

IMAGES = {kind: (picture(kind), mimetype) for kind, mimetype in (
    ("jpg", "image/jpeg"), ("png", "image/png"), ("webp", "image/webp"))}
FIVE_MB = 5 * 1024 * 1024


def stored(app, post_id: int) -> Post | None:
    """The post as the database has it now (tags and old addresses loaded)."""
    with app.app_context():
        post = db.session.get(Post, post_id)
        if post is not None:
            post.old_paths  # noqa: B018  (load it while the session is open)
        return post


def publish(client, post_id: int):
    """Press Publish on the post's editor page."""
    return post(client, csrf_token_of(client, f"/admin/posts/{post_id}/edit"), f"/admin/posts/{post_id}/publish")


def shows_field_error(html: str, message: str) -> bool:
    """Is the message in the error summary and beside the field, with the page marked as an error?"""
    return "<title>Error: " in html and "There is a problem" in html and html.count(str(escape(message))) >= 2


# --- Create, list, edit ---


def test_a_new_post_is_a_draft_listed_for_the_coach_but_not_public(app, admin_client, client):
    """Is a new post saved as a draft, listed under Drafts, and invisible to readers?"""
    post_id = write_post(admin_client, title="Breathing room", tags="calm, Movement, calm")
    post = stored(app, post_id)
    assert post.status is PostStatus.DRAFT and post.slug == "breathing-room"
    assert {tag.name for tag in post.tags} == {"calm", "Movement"}
    listing = admin_client.get("/admin/posts").get_data(as_text=True)
    assert listing.index("Breathing room") < listing.index("Published</h2>")
    assert client.get("/blog/breathing-room").status_code == 404
    editor = admin_client.get(f"/admin/posts/{post_id}/edit")
    assert editor.status_code == 200 and "Status: Draft" in editor.get_data(as_text=True)


def test_the_web_address_is_suggested_from_the_title_and_can_be_chosen(app, admin_client):
    """Is an empty web address made from the title, and a typed one kept (lowercased)?"""
    suggested = write_post(admin_client, title="Zoë’s  First Steps!")
    chosen = write_post(admin_client, title="Another", slug="My-Own-Words")
    assert stored(app, suggested).slug == "zoes-first-steps"
    assert stored(app, chosen).slug == "my-own-words"


def test_a_web_address_in_use_is_refused_naming_the_post_that_has_it(app, admin_client, make_post):
    """Is a clashing web address a field error that names the other post, with every value kept?"""
    make_post("calm-days", title="Calm days")
    response = submit(admin_client, title="Something new", slug="calm-days", body="Kept *body*",
                      excerpt="Kept summary", tags="kept-tag", disclaimer="Kept disclaimer")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert shows_field_error(html, "The web address calm-days is already used by the post “Calm days”")
    assert 'aria-invalid="true"' in html
    for kept in ("Something new", "Kept *body*", "Kept summary", "kept-tag", "Kept disclaimer"):
        assert kept in html
    assert row_count(app, Post) == 1


@pytest.mark.parametrize("slug", ["two words", "under_score", "-leading", "trailing-", "double--hyphen", "ça-va"])
def test_a_web_address_must_be_lowercase_letters_digits_and_hyphens(app, admin_client, slug):
    """Is a web address with other characters refused with an example of a good one?"""
    html = submit(admin_client, slug=slug).get_data(as_text=True)
    assert shows_field_error(html, "Use only lowercase letters, numbers and hyphens in the web address, like "
                                   "my-first-post")
    assert row_count(app, Post) == 0


def test_a_suggested_web_address_in_use_is_refused_too(app, admin_client, make_post):
    """Is a web address made from the title checked for a clash like a typed one?"""
    make_post("calm-days", title="Calm days")
    html = submit(admin_client, title="Calm Days").get_data(as_text=True)
    assert shows_field_error(html, "The web address calm-days is already used by the post “Calm days”")
    assert 'value="calm-days"' in html and row_count(app, Post) == 1


def test_a_web_address_the_blog_itself_uses_is_refused(app, admin_client):
    """Is /blog/search (the search page) refused as a post's address?"""
    html = submit(admin_client, title="Search").get_data(as_text=True)
    assert shows_field_error(html, "The web address search is used by another page of the blog")


def test_a_failed_save_keeps_every_value_and_explains_each_problem(app, admin_client):
    """A11Y-05/06: with the title and text missing, does the form come back filled, each error beside its field?"""
    response = submit(admin_client, title="", body="", slug="kept-address", excerpt="Kept summary",
                      tags="one, two", cover_caption="Kept caption", cover_credit="Kept credit",
                      disclaimer="Kept disclaimer")
    html = response.get_data(as_text=True)
    assert shows_field_error(html, "Enter a title for the post")
    assert shows_field_error(html, "Write the text of the post")
    for kept in ("kept-address", "Kept summary", "one, two", "Kept caption", "Kept credit", "Kept disclaimer"):
        assert kept in html
    assert 'aria-describedby="title-error"' in html
    assert row_count(app, Post) == 0


def test_editing_saves_the_changes(app, admin_client, make_post):
    """Does the editor show the post's values and save what is changed?"""
    post_id = make_post("gentle", title="Gentle", body="Old text.", tags=["calm"])
    fields = editor_fields(admin_client, f"/admin/posts/{post_id}/edit")
    assert [fields[name] for name in ("title", "slug", "body", "tags")] == ["Gentle", "gentle", "Old text.", "calm"]
    response = submit(admin_client, f"/admin/posts/{post_id}/edit", body="New *text*.", excerpt="By hand.")
    assert response.status_code == 303
    post = stored(app, post_id)
    assert post.body_html == "<p>New <em>text</em>.</p>" and post.excerpt == "By hand."
    assert "Your changes are saved" in admin_client.get(response.headers["Location"]).get_data(as_text=True)


# --- Addresses and dates ---


def test_renaming_a_published_post_keeps_its_old_address_as_a_301(app, admin_client, client, make_post):
    """Does the old /blog/ address of a renamed published post answer 301 to the new one?"""
    post_id = make_post("first-name")
    submit(admin_client, f"/admin/posts/{post_id}/edit", slug="second-name")
    response = client.get("/blog/first-name")
    assert response.status_code == 301 and response.headers["Location"].endswith("/blog/second-name")
    assert client.get("/blog/second-name").status_code == 200
    submit(admin_client, f"/admin/posts/{post_id}/edit", slug="first-name")  # and back again
    with app.app_context():
        paths = set(db.session.scalars(select(PostRedirect.old_path)))
    assert paths == {"/blog/second-name"}  # never a redirect at the live address
    assert client.get("/blog/first-name").status_code == 200
    assert client.get("/blog/second-name").headers["Location"].endswith("/blog/first-name")


def test_taking_a_retired_address_removes_its_redirect(app, admin_client, client, make_post):
    """When another post takes an address that used to redirect, does the redirect go and the new post answer?"""
    old = make_post("shared-name")
    submit(admin_client, f"/admin/posts/{old}/edit", slug="moved-on")
    newcomer = write_post(admin_client, title="Shared name")
    publish(admin_client, newcomer)
    with app.app_context():
        assert db.session.scalar(select(PostRedirect).where(PostRedirect.old_path == "/blog/shared-name")) is None
    assert client.get("/blog/shared-name").status_code == 200


TAKEN_MEANWHILE = "The web address taken has just been taken by another post. Choose a different one"


@pytest.fixture
def checked_before_it_was_taken(monkeypatch):
    """The form finds every web address free, as if another save took it between the check and this save."""
    monkeypatch.setattr("coaching.blog.editor.post_with_slug", lambda slug: None)


def test_an_address_taken_by_a_concurrent_save_is_the_field_error(app, admin_client, make_post,
                                                                   checked_before_it_was_taken):
    """When another save takes the web address after the form checked it, is that the slug's error, nothing saved?"""
    make_post("taken", title="First")
    response = submit(admin_client, title="Second", slug="taken", body="Mine.")
    assert response.status_code == 200 and shows_field_error(response.get_data(as_text=True), TAKEN_MEANWHILE)
    assert "Second" in response.get_data(as_text=True)  # what she typed is still in the form
    assert row_count(app, Post) == 1


def test_a_rename_that_loses_the_race_keeps_the_post_and_its_image(app, admin_client, make_post,
                                                                    checked_before_it_was_taken):
    """When a rename to an address taken meanwhile fails, are the post as it was and its image file both kept?"""
    make_post("taken")
    post_id = write_post(admin_client, title="Mine", cover_alt="A dot", image=(picture("png", (1, 1)), "p.png"))
    name = uploaded_name(app, post_id)
    response = submit(admin_client, f"/admin/posts/{post_id}/edit", slug="taken", title="Renamed",
                      remove_cover="y", cover_alt="")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and shows_field_error(page, TAKEN_MEANWHILE) and "Edit “Mine”" in page
    kept = stored(app, post_id)
    assert (kept.slug, kept.title, kept.cover_image) == ("mine", "Mine", f"uploads/{name}")
    assert (Path(app.instance_path) / "uploads" / name).exists()


def test_renaming_a_draft_that_was_never_public_leaves_no_redirect(app, admin_client):
    """Does a never-published draft's address change without leaving an old address behind?"""
    post_id = write_post(admin_client, title="Unseen")
    submit(admin_client, f"/admin/posts/{post_id}/edit", slug="still-unseen")
    assert stored(app, post_id).old_paths == []


def test_publishing_sets_the_dates_and_unpublishing_hides_the_post(app, admin_client, client):
    """Does Publish date the post now (updated = published), and Unpublish take it off the site, dates kept?"""
    post_id = write_post(admin_client, title="Going live")
    response = publish(admin_client, post_id)
    assert response.status_code == 303
    live = stored(app, post_id)
    assert live.is_published and live.published_at is not None and live.updated_at == live.published_at
    assert (datetime.now(UTC) - live.published_at).total_seconds() < 60
    assert client.get("/blog/going-live").status_code == 200
    unpublish = post(admin_client, csrf_token_of(admin_client, "/admin/posts"), f"/admin/posts/{post_id}/unpublish")
    assert unpublish.status_code == 303
    assert client.get("/blog/going-live").status_code == 404
    assert stored(app, post_id).published_at == live.published_at
    publish(admin_client, post_id)
    assert stored(app, post_id).published_at == live.published_at


@pytest.mark.parametrize("action", ["publish", "unpublish", "delete"])
def test_state_changes_refuse_get_or_ask_first(admin_client, make_post, action):
    """SEC-03/A11Y-08: do Publish and Unpublish refuse GET, and does GET on delete only ask?"""
    post_id = make_post("steady")
    response = admin_client.get(f"/admin/posts/{post_id}/{action}")
    assert response.status_code == (200 if action == "delete" else 405)
    assert stored(admin_client.application, post_id).is_published


CONTENT_CHANGES = {"title": "A new title", "body": "New words.", "excerpt": "A new summary.", "tags": "fresh",
                   "cover_caption": "A caption", "cover_credit": "A credit", "disclaimer": "A disclaimer"}


@pytest.mark.parametrize("field", list(CONTENT_CHANGES))
def test_updated_date_moves_when_a_published_posts_content_changes(app, admin_client, make_post, field):
    """Does changing what readers see of a published post move its "Updated" date to now?"""
    post_id = make_post("dated")
    submit(admin_client, f"/admin/posts/{post_id}/edit", **{field: CONTENT_CHANGES[field]})
    post = stored(app, post_id)
    assert (datetime.now(UTC) - post.updated_at).total_seconds() < 60
    assert post.published_at == datetime(2021, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("status", "changes"), [
    (PostStatus.PUBLISHED, {}),
    (PostStatus.PUBLISHED, {"slug": "new-address"}),
    (PostStatus.PUBLISHED, {"body": "A short body about movement and calm.\r\n\r\n"}),
    (PostStatus.DRAFT, {"body": "Draft words change freely."}),
])
def test_updated_date_stays_without_a_published_content_change(app, admin_client, make_post, status, changes):
    """Does saving unchanged content, a new address, or any edit of a draft leave the "Updated" date alone?"""
    post_id = make_post("steady", status=status)
    assert submit(admin_client, f"/admin/posts/{post_id}/edit", **changes).status_code == 303
    assert stored(app, post_id).updated_at == datetime(2021, 1, 1, tzinfo=UTC)


def test_delete_asks_first_then_removes_the_post_and_its_old_addresses(app, admin_client, client, make_post):
    """Does delete show a confirmation, then (on POST) remove the post, its old addresses and its page?"""
    post_id = make_post("doomed", title="Doomed post")
    submit(admin_client, f"/admin/posts/{post_id}/edit", slug="doomed-renamed")
    page = admin_client.get(f"/admin/posts/{post_id}/delete").get_data(as_text=True)
    assert "Delete “Doomed post”?" in page and "can't be undone" in page and 'method="post"' in page
    assert stored(app, post_id) is not None
    response = post(admin_client, csrf_token_of(admin_client, f"/admin/posts/{post_id}/delete"),
                    f"/admin/posts/{post_id}/delete")
    assert response.status_code == 303 and response.headers["Location"] == "/admin/posts"
    assert stored(app, post_id) is None
    assert row_count(app, PostRedirect) == 0
    assert client.get("/blog/doomed-renamed").status_code == 404
    assert client.get("/blog/doomed").status_code == 404
    assert admin_client.get(f"/admin/posts/{post_id}/edit").status_code == 404


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "edit"), ("POST", "edit"), ("POST", "publish"), ("POST", "unpublish"),
    ("GET", "delete"), ("POST", "delete"),
])
def test_a_post_that_is_not_there_is_the_not_found_page(app, admin_client, make_post, method, path):
    """Does every page of a post that does not exist (or no longer does) answer 404, with the site's page?"""
    post_id = make_post("present") + 1
    token = csrf_token_of(admin_client, "/admin/posts/new")
    url = f"/admin/posts/{post_id}/{path}"
    response = admin_client.get(url) if method == "GET" else post(admin_client, token, url, title="T", body="B")
    assert response.status_code == 404 and "<h1>" in response.get_data(as_text=True)


def test_an_edit_kept_for_a_post_deleted_since_comes_back_as_a_new_post(app, admin_client, make_post):
    """After signing in again, is an edit sent for a post deleted meanwhile shown, filled, as a new post?"""
    post_id = make_post("short-lived", title="Short lived")
    fields = {**editor_fields(admin_client, f"/admin/posts/{post_id}/edit"), "body": "KEPT-WORDS", "action": "save"}
    with admin_client.session_transaction() as session:
        session["admin_seen"] -= 31 * 60  # idle past ADMIN_IDLE_MINUTES
    signed_out = admin_client.post(f"/admin/posts/{post_id}/edit", data=fields)
    assert signed_out.headers["Location"] == "/admin/login?next=/admin/resume"
    with app.app_context():
        db.session.delete(db.session.get(Post, post_id))
        db.session.commit()
    sign_in(admin_client, next_url="/admin/resume")
    resumed = admin_client.get("/admin/resume")
    page = resumed.get_data(as_text=True)
    assert resumed.status_code == 200 and "KEPT-WORDS" in page and "Write a new post" in page
    assert 'action="/admin/posts/new"' in page


# --- Preview ---


def test_preview_shows_the_rendered_text_and_saves_nothing(app, admin_client, make_post):
    """Does Preview show the server-rendered Markdown in a labelled region, keep every value, and save nothing?"""
    post_id = make_post("draft-me", body="Old body.")
    before = stored(app, post_id)
    response = submit(admin_client, f"/admin/posts/{post_id}/edit", action="preview", title="",
                      body="## Heading\n\n*Soft* words\n\n- one", excerpt="Unsaved summary")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'aria-labelledby="preview-heading"' in html and "Preview (not saved yet)" in html
    assert "<h2>Heading</h2>" in html and "<em>Soft</em>" in html and "<li>one</li>" in html
    assert "Unsaved summary" in html and "## Heading" in html
    assert "There is a problem" not in html  # a preview is not a save: an empty title is fine here
    after = stored(app, post_id)
    assert (after.title, after.body_markdown, after.excerpt) == (before.title, before.body_markdown, before.excerpt)
    assert row_count(app, Post) == 1


def test_preview_of_a_new_post_creates_nothing(app, admin_client):
    """Does previewing a post that was never saved leave the database empty?"""
    assert submit(admin_client, action="preview", body="Hello").status_code == 200
    assert row_count(app, Post) == 0


# --- Cover images ---


def uploaded_name(app, post_id: int) -> str:
    """The file name of a post's uploaded cover image."""
    cover = stored(app, post_id).cover_image
    assert re.fullmatch(r"uploads/[0-9a-f]{32}\.(jpg|png|webp)", cover), cover
    return cover.removeprefix("uploads/")


@pytest.mark.parametrize("kind", list(IMAGES))
def test_a_real_image_is_stored_and_served(app, admin_client, client, kind):
    """Is a JPEG, PNG or WebP stored under instance/uploads/ and served to readers with the right type?"""
    data, mimetype = IMAGES[kind]
    post_id = write_post(admin_client, title="With a picture", cover_alt="Green squares",
                         image=(data, f"photo.{'bin' if kind == 'webp' else kind}"))
    name = uploaded_name(app, post_id)
    assert name.endswith("." + kind)  # judged by the content, not the name it came with
    kept = (Path(app.instance_path) / "uploads" / name).read_bytes()
    assert kept == cleaned_image(data)[0]
    publish(admin_client, post_id)
    page = client.get("/blog/with-a-picture").get_data(as_text=True)
    assert f'<img src="/blog/media/{name}" alt="Green squares"' in page
    assert f'<meta property="og:image" content="http://localhost/blog/media/{name}">' in page
    served = client.get(f"/blog/media/{name}")
    assert served.status_code == 200 and served.data == kept and served.mimetype == mimetype
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in served.headers["Cache-Control"]
    served.close()


@pytest.mark.parametrize("name", ["../secret.png", "x.png", "0" * 32 + ".svg", "0" * 32 + ".png"])
def test_the_media_route_serves_nothing_but_stored_uploads(client, name):
    """Does /blog/media/ answer 404 for names it did not make or files that are not there?"""
    assert client.get(f"/blog/media/{name}").status_code == 404


def test_an_uploaded_photo_is_kept_without_its_location(app, admin_client, client):
    """PRIV: is a phone photo's GPS position, camera and XMP gone from the file kept and served to readers?"""
    post_id = write_post(admin_client, title="Garden", cover_alt="A garden", image=(picture("jpg", located=True),
                                                                                     "IMG_0001.JPG"))
    publish(admin_client, post_id)
    served = client.get(f"/blog/media/{uploaded_name(app, post_id)}")
    assert served.status_code == 200 and b"Mill Lane" not in served.data and b"PhoneCam" not in served.data
    assert not opened(served.data).getexif()
    served.close()


def test_a_damaged_image_is_refused_beside_the_field_with_the_text_kept(app, admin_client):
    """Is a JPEG cut short refused with a message saying it could not be read, the other values kept?"""
    response = submit(admin_client, title="Kept title", body="Kept body", cover_alt="Kept alt",
                      image=(picture("jpg", (64, 64))[:300], "photo.jpg"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert shows_field_error(html, "The image could not be read: the file may be damaged or cut short")
    assert 'id="error-summary"' in html and "Kept body" in html and "Kept alt" in html
    assert row_count(app, Post) == 0
    assert not list((Path(app.instance_path) / "uploads").glob("*"))


def test_a_text_file_named_png_is_refused(app, admin_client):
    """Is a text file renamed .png refused by its content, with the other values kept and nothing stored?"""
    response = submit(admin_client, title="Kept title", cover_alt="Kept alt", image=(b"just some text\n", "fake.png"))
    html = response.get_data(as_text=True)
    assert shows_field_error(html, "The image must be a JPEG, PNG or WebP picture")
    assert "Kept title" in html and "Kept alt" in html
    assert row_count(app, Post) == 0
    assert not list((Path(app.instance_path) / "uploads").glob("*"))


def test_an_image_over_5_mb_gets_a_field_error(app, admin_client):
    """Is an image of 5 MB and a byte refused beside the field (not with a bare 413), the text kept?"""
    dot = picture("png", (1, 1))
    big = dot + b"\x00" * (FIVE_MB + 1 - len(dot))
    response = submit(admin_client, title="Kept title", body="Kept body", cover_alt="Alt", image=(big, "big.png"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert shows_field_error(html, "The image must be 5 MB or smaller")
    assert "Kept body" in html and row_count(app, Post) == 0


def test_an_image_of_exactly_5_mb_is_accepted(app, admin_client):
    """Is an image of exactly 5 MB accepted?"""
    dot = picture("png", (1, 1))
    big = dot + b"\x00" * (FIVE_MB - len(dot))
    post_id = write_post(admin_client, cover_alt="Alt", image=(big, "big.png"))
    kept = (Path(app.instance_path) / "uploads" / uploaded_name(app, post_id)).read_bytes()
    assert opened(kept).size == (1, 1) and len(kept) < 1000  # the padding after the picture is not kept


def test_a_request_far_over_the_limit_gets_the_friendly_413_page(admin_client, client):
    """Does a request well beyond the upload limit get the site's 413 page, and strangers keep the 1 MB limit?"""
    huge = b"\x00" * (FIVE_MB + 2 * 1024 * 1024)
    response = submit(admin_client, image=(huge, "huge.png"))
    assert response.status_code == 413 and "That was too much to send at once" in response.get_data(as_text=True)
    stranger = post_closing_body(client, "/admin/posts/new", {"cover_file": (io.BytesIO(b"\x00" * 2_000_000), "a.png")})
    assert stranger.status_code == 413


def test_an_image_needs_a_description_and_is_kept_while_it_is_written(app, admin_client):
    """Is alt text required with a new image, and is the chosen image kept (not chosen again) after the error?"""
    response = submit(admin_client, title="Pictured", image=(picture("png", (1, 1)), "p.png"))
    html = response.get_data(as_text=True)
    assert shows_field_error(html, "Describe the image for people who can't see it")
    assert row_count(app, Post) == 0
    carried = re.search(r'name="cover_upload" type="hidden" value="(uploads/[^"]+)"', html).group(1)
    assert f'src="/blog/media/{carried.removeprefix("uploads/")}"' in html
    data = {**editor_fields(admin_client, "/admin/posts/new"), "title": "Pictured", "body": "Words",
            "cover_alt": "A green dot", "cover_upload": carried, "action": "save"}
    assert admin_client.post("/admin/posts/new", data=data).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Post.cover_image)) == carried


def test_a_forged_carried_image_is_ignored(app, admin_client):
    """Is a carried-over image name that this site did not store dropped rather than saved?"""
    post_id = write_post(admin_client, cover_upload="uploads/../../etc/passwd")
    assert stored(app, post_id).cover_image is None


def test_an_existing_image_needs_its_description_and_can_be_removed(app, admin_client):
    """Is clearing the alt text of a post's image refused, and does "Remove" drop the image and its file?"""
    post_id = write_post(admin_client, cover_alt="A dot", image=(picture("png", (1, 1)), "p.png"))
    name = uploaded_name(app, post_id)
    url = f"/admin/posts/{post_id}/edit"
    assert shows_field_error(submit(admin_client, url, cover_alt="").get_data(as_text=True),
                             "Describe the image for people who can't see it")
    assert submit(admin_client, url, cover_alt="", remove_cover="y").status_code == 303
    assert stored(app, post_id).cover_image is None
    assert not (Path(app.instance_path) / "uploads" / name).exists()


# --- SEC-05: what the coach types is shown, never run ---


@pytest.mark.parametrize("hostile", HOSTILE_MARKDOWN)
def test_hostile_text_in_a_post_is_inert_everywhere(app, admin_client, client, hostile):
    """SEC-05: is hostile text in a post's title and body shown as text on the public page and in the admin?"""
    post_id = write_post(admin_client, title=f"Title {hostile}", slug="hostile", body=f"Body {hostile}",
                         tags=hostile.replace(",", ""))
    publish(admin_client, post_id)
    pages = {
        "public": client.get("/blog/hostile").get_data(as_text=True),
        "list": admin_client.get("/admin/posts").get_data(as_text=True),
        "editor": admin_client.get(f"/admin/posts/{post_id}/edit").get_data(as_text=True),
        "preview": submit(admin_client, f"/admin/posts/{post_id}/edit", action="preview").get_data(as_text=True),
    }
    for name, html in pages.items():
        assert active_content(html) == [], name
        assert f"Title {escape(hostile)}" in html, name  # the title, shown as the text it is
        assert "Title 49" not in html and "Body 49" not in html, name
    assert "{{7*7}}" in pages["public"] or hostile != "{{7*7}}"


class _ActiveContent(HTMLParser):
    """Everything in a page that could run: script elements (other than JSON-LD data), event-handler
    attributes, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("type") != "application/ld+json" and "src" not in attributes:
            self.found.append("inline script")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.found.append(f"{tag} {name}={value}")


def active_content(html: str) -> list[str]:
    """What in this page could run script."""
    parser = _ActiveContent()
    parser.feed(html)
    return parser.found


# --- Export and import ---


def test_export_is_a_zip_of_markdown_files_in_the_seed_format(app, admin_client, seeded, make_post):
    """Is the export a zip with one <slug>.md per post (drafts marked), readable by the site's own importer?"""
    make_post("unfinished", status=PostStatus.DRAFT, tags=["calm"])
    response = admin_client.get("/admin/posts/export.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert sorted(archive.namelist()) == ["psychedelics-and-neuroplasticity.md", "unfinished.md"]
        seed = parse_post_file(archive.read("psychedelics-and-neuroplasticity.md").decode(), "seed")
        draft = parse_post_file(archive.read("unfinished.md").decode(), "draft")
    assert seed.meta["old_paths"] == ["/post/psychedelics-and-neuroplasticity-a-glimpse-into-future-possibilities"]
    assert seed.meta["image"] == "img/hyperconnected.svg" and seed.meta["image_alt"].startswith("An illustration")
    assert str(seed.meta["published"]) == "2020-07-13" and str(seed.meta["updated"]) == "2025-04-15"
    assert "draft" not in seed.meta and draft.meta["draft"] is True and draft.meta["tags"] == ["calm"]


def import_file(client, data: bytes, filename: str):
    """Send a file to the import page."""
    token = csrf_token_of(client, "/admin/posts/import")
    return post_closing_body(client, "/admin/posts/import",
                             {"csrf_token": token, "posts_file": (io.BytesIO(data), filename)})


def test_export_then_import_into_an_empty_database_reproduces_the_posts(app, admin_client, seeded):
    """Does importing the export into an emptied site bring back every post, draft, address and image?"""
    pictured = write_post(admin_client, title="Pictured", body="Line one.\n\nLine two.", tags="calm, Research",
                          excerpt="Hand-made summary.", cover_alt="A dot", cover_caption="Cap", cover_credit="Cred",
                          disclaimer="Coaching, not treatment.", image=(picture("png", (1, 1)), "p.png"))
    publish(admin_client, pictured)
    submit(admin_client, f"/admin/posts/{pictured}/edit", slug="pictured-renamed", body="Line one, edited.")
    write_post(admin_client, title="Still a draft", body="Not ready.")
    fields = ("slug", "title", "author", "excerpt", "body_markdown", "body_html", "search_text", "word_count",
              "status", "published_at", "updated_at", "cover_image", "cover_alt", "cover_caption", "cover_credit",
              "disclaimer")

    def snapshot():
        with app.app_context():
            return sorted(tuple(getattr(post, name) for name in fields)
                          + (tuple(tag.name for tag in post.tags), tuple(sorted(r.old_path for r in post.old_paths)))
                          for post in db.session.scalars(select(Post)))

    before = snapshot()
    archive = admin_client.get("/admin/posts/export.zip").data
    image = Path(app.instance_path) / stored(app, pictured).cover_image
    kept = image.read_bytes()
    with app.app_context():
        for post in db.session.scalars(select(Post)):
            db.session.delete(post)
        db.session.commit()
    image.unlink()
    assert row_count(app, Post) == 0
    response = import_file(admin_client, archive, "posts.zip")
    assert response.status_code == 303
    assert "Import finished: 3 new, 0 updated, 0 unchanged." in admin_client.get("/admin/posts").get_data(as_text=True)
    assert snapshot() == before
    assert image.read_bytes() == kept
    again = import_file(admin_client, archive, "posts.zip")
    assert "0 new, 0 updated, 3 unchanged" in admin_client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_bad_file_in_an_import_is_named_and_nothing_is_imported(app, admin_client, make_post):
    """Does an import with one broken file name it, import none of the others, and leave existing posts alone?"""
    make_post("existing", title="Existing", body="Untouched.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("good.md", "---\nslug: good\ntitle: Good\n---\nFine.\n")
        archive.writestr("existing.md", "---\nslug: existing\ntitle: Changed\n---\nChanged.\n")
        archive.writestr("broken.md", "---\ntitle: No slug here\n---\nOops.\n")
    response = import_file(admin_client, buffer.getvalue(), "posts.zip")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert shows_field_error(html, "Nothing was imported. broken.md: the front matter needs slug.")
    assert row_count(app, Post) == 1
    with app.app_context():
        assert db.session.scalar(select(Post.title)) == "Existing"


def test_an_import_refused_by_the_database_keeps_none_of_its_files(app, admin_client, make_post):
    """When a later file's old address belongs to another post, is the zip's earlier, good file not kept either?"""
    owner = make_post("owner")
    with app.app_context():
        db.session.add(PostRedirect(old_path="/post/owned", post_id=owner))
        db.session.commit()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("good.md", "---\nslug: good\ntitle: Good\n---\nFine.\n")
        archive.writestr("clash.md", "---\nslug: clash\ntitle: Clash\nold_paths: [/post/owned]\n---\nx\n")
    response = import_file(admin_client, buffer.getvalue(), "posts.zip")
    assert response.status_code == 400
    assert shows_field_error(response.get_data(as_text=True), "Nothing was imported. clash.md: it could not be "
                             "imported (one of its addresses already belongs to another post).")
    assert row_count(app, Post) == 1 and row_count(app, PostRedirect) == 1


@pytest.mark.parametrize("packed", ["alone", "in a zip"])
@pytest.mark.parametrize("case", list(BAD_POST_FILES))
def test_a_post_file_that_would_crash_the_site_is_refused_beside_the_field(app, admin_client, make_post, case,
                                                                            packed):
    """Are aliases, impossible dates, deep nesting, wrong values and huge files a message beside the field naming
    the file and the field, with nothing imported, and never a 500?"""
    make_post("existing", title="Existing")
    text, message = BAD_POST_FILES[case]
    if packed == "alone":
        response = import_file(admin_client, text.encode(), "bad.md")
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("good.md", "---\nslug: good\ntitle: Good\n---\nFine.\n")
            archive.writestr("bad.md", text)
        response = import_file(admin_client, buffer.getvalue(), "posts.zip")
    assert response.status_code == 400
    assert shows_field_error(response.get_data(as_text=True), f"Nothing was imported. {message}")
    assert row_count(app, Post) == 1


def test_markdown_too_deep_to_render_is_refused_not_a_500(app, admin_client):
    """Is Markdown nested past what the renderer can follow (HTML blocks in HTML blocks) a message, not a 500?"""
    text = '---\nslug: deep\ntitle: Deep\n---\n' + '<div markdown="1">' * 500 + "x" + "</div>" * 500 + "\n"
    response = import_file(admin_client, text.encode(), "deep.md")
    assert response.status_code == 400
    assert shows_field_error(response.get_data(as_text=True), "Nothing was imported. deep.md: it could not be "
                             "imported (the text is nested too deeply")
    assert row_count(app, Post) == 0


def test_an_import_larger_than_the_site_wide_limit_goes_through(app, admin_client):
    """Is a zip of several megabytes (a post and its photo) accepted, though other forms stop at 1 MB?"""
    photo = picture("png", (1, 1)) + os.urandom(3 * 1024 * 1024)
    name = "uploads/" + "b" * 32 + ".png"
    text = f"---\nslug: big\ntitle: Big\nimage: {name}\nimage_alt: Noise\n---\nx\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("big.md", text)
        archive.writestr(name, photo)
    assert len(buffer.getvalue()) > 3 * 1024 * 1024
    assert import_file(admin_client, buffer.getvalue(), "posts.zip").status_code == 303
    assert (Path(app.instance_path) / name).read_bytes() == cleaned_image(photo)[0]


def test_a_single_markdown_file_can_be_imported(app, admin_client):
    """Can one .md file be imported on its own, as a draft when it says so?"""
    response = import_file(admin_client, b"---\nslug: solo\ntitle: Solo\ndraft: true\n---\nJust me.\n", "solo.md")
    assert response.status_code == 303
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert (post.slug, post.status) == ("solo", PostStatus.DRAFT)


def test_import_without_a_file_asks_for_one(admin_client, token):
    """Is pressing Import with no file chosen a field error, not a crash?"""
    html = post(admin_client, token, "/admin/posts/import").get_data(as_text=True)
    assert shows_field_error(html, "Choose a .zip file of posts, or one .md file")


def test_every_blog_form_that_succeeds_answers_303(app, admin_client, make_post):
    """Does every POST route of the blog, sent what it needs, redirect with 303 See Other (never Flask's 302)?"""
    app.config["WTF_CSRF_ENABLED"] = False
    routes = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods
              and app.view_functions[rule.endpoint].__module__.startswith("coaching.blog.")]
    assert len(routes) >= 6  # new, edit, publish, unpublish, delete, import
    for number, rule in enumerate(routes):
        post_id = make_post(f"standing-{number}", status=PostStatus.DRAFT)
        url = app.url_map.bind("localhost").build(rule.endpoint, {"post_id": post_id})
        upload = (io.BytesIO(f"---\nslug: imported-{number}\ntitle: Imported\n---\nx\n".encode()), "one.md")
        response = admin_client.post(url, data={"title": f"Looped {number}", "body": "Words.", "action": "save",
                                                "posts_file": upload})
        assert response.status_code == 303, (rule.rule, response.status_code)


# --- Guarded and protected ---


@pytest.mark.parametrize(("method", "url"), [
    ("GET", "/admin/posts"), ("GET", "/admin/posts/new"), ("POST", "/admin/posts/new"),
    ("GET", "/admin/posts/1/edit"), ("POST", "/admin/posts/1/edit"), ("POST", "/admin/posts/1/publish"),
    ("POST", "/admin/posts/1/unpublish"), ("GET", "/admin/posts/1/delete"), ("POST", "/admin/posts/1/delete"),
    ("GET", "/admin/posts/export.zip"), ("GET", "/admin/posts/import"), ("POST", "/admin/posts/import"),
])
def test_strangers_are_sent_to_sign_in(app, client, make_post, method, url):
    """SEC-04: does every posts route send an anonymous visitor to sign in (303 after a POST), changing nothing?"""
    app.config["WTF_CSRF_ENABLED"] = False
    make_post("x", status=PostStatus.DRAFT)
    response = client.open(url, method=method)
    assert response.status_code == (303 if method == "POST" else 302)
    assert response.headers["Location"].startswith("/admin/login")
    assert stored(app, 1).status is PostStatus.DRAFT and row_count(app, Post) == 1


def test_saving_without_a_csrf_token_is_refused(app, admin_client):
    """SEC-03: is a save without its CSRF token refused with nothing written?"""
    response = admin_client.post("/admin/posts/new", data={"title": "Sneaky", "body": "x", "action": "save"})
    assert response.status_code == 400 and row_count(app, Post) == 0


@pytest.mark.parametrize("action", ["preview", "save"])
def test_markdown_too_deep_in_the_editor_is_a_message_not_a_500(app, admin_client, action):
    """Is a body nested past what the renderer follows, previewed or saved in the editor, a field error keeping it?"""
    for body in ("> " * 40 + "deep", '<div markdown="1">' * 500 + "x" + "</div>" * 500):
        response = submit(admin_client, action=action, title="Deep", body=body)
        page = response.get_data(as_text=True)
        assert response.status_code in (200, 400) and "There is a problem" in page
        assert "nested" in page and "Deep" in page
    assert row_count(app, Post) == 0
