"""The editor's services: image checks, tags, the export format and all-or-nothing imports."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from coaching.blog import archive, editor
from coaching.blog.images import cleaned_image
from coaching.blog.models import Post, PostRedirect, PostStatus, Tag
from coaching.blog.post_files import CONTENT_DIR, PostFileError, import_post_files, parse_post_file
from coaching.extensions import db
from tests.factories import noisy_png, picture

UPLOADED = "uploads/" + "a" * 32 + ".png"
SEED_OLD_PATH = "/post/psychedelics-and-neuroplasticity-a-glimpse-into-future-possibilities"


def test_images_previewed_but_never_saved_are_swept_after_a_week(app, make_post):
    """Does a new upload delete week-old images no post shows, and keep newer ones and those a post shows?"""
    week_and_a_day_ago = time.time() - 8 * 24 * 3600
    names = {kind: f"{kind[0] * 32}.png" for kind in ("abandoned", "current", "fresh")}
    make_post("shown", cover_image="uploads/" + names["current"])
    with app.test_request_context():
        folder = editor.upload_folder()
        folder.mkdir(parents=True)
        for name in names.values():
            (folder / name).write_bytes(picture("png", (1, 1)))
        for kind in ("abandoned", "current"):
            os.utime(folder / names[kind], (week_and_a_day_ago, week_and_a_day_ago))
        stored = editor.store_upload(picture("png", (1, 1)))
        assert sorted(path.name for path in folder.iterdir()) == sorted(
            [names["current"], names["fresh"], stored.removeprefix("uploads/")])


def test_a_post_that_is_not_there_is_none(app, make_post):
    """Does get_post answer None, not an HTTP error, for an id no post has (or has any more)?"""
    post_id = make_post("here", status=PostStatus.DRAFT)
    with app.app_context():
        assert editor.get_post(post_id).slug == "here"
        assert editor.get_post(post_id + 1) is None


def test_tags_are_read_from_comma_separated_text():
    """Are tags trimmed, spaces tidied, empty ones dropped and repeats (by address) kept once?"""
    assert editor.tag_names(" calm, Calm ,, movement   work ,") == ["calm", "movement work"]
    assert editor.tag_names("") == editor.tag_names(None) == []


def test_export_writes_the_front_matter_of_the_seed_files(app, seeded):
    """Does the seed post export with the same front-matter values as its file in coaching/blog/content/?"""
    seed_path = CONTENT_DIR / "psychedelics-and-neuroplasticity.md"
    original = parse_post_file(seed_path.read_text(encoding="utf-8"), seed_path.name)
    with app.test_request_context():
        text = archive.post_file_text(db.session.scalar(select(Post)))
    exported = parse_post_file(text, "export")
    for key in ("slug", "old_paths", "tags", "title", "author", "published", "updated", "image", "image_alt",
                "image_caption", "image_credit", "disclaimer"):
        assert exported.meta[key] == original.meta[key], key
    assert exported.body == original.body
    assert text.startswith("---\nslug: psychedelics-and-neuroplasticity\nold_paths:\n")


def zip_of(files: dict[str, bytes | str]) -> bytes:
    """A zip holding these files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, content in files.items():
            zipped.writestr(name, content)
    return buffer.getvalue()


GOOD = "---\nslug: good\ntitle: Good\n---\nFine.\n"


def with_good(name: str, content: bytes | str) -> bytes:
    """A zip of one good post file and this one."""
    return zip_of({"good.md": GOOD, name: content})


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("notes.txt", b"hello", "notes.txt: choose a .zip file of posts, or one .md file."),
    ("posts.zip", zip_of({"readme.txt": "hi"}), "posts.zip: there are no .md post files in it."),
    ("posts.zip", with_good("plain.md", "No front matter"), "plain.md: it must start with front matter"),
    ("posts.zip", with_good("yaml.md", "---\ntitle: [oops\n---\nx\n"), "yaml.md: the front matter is not"),
    ("posts.zip", with_good("list.md", "---\n- a\n- b\n---\nx\n"), "list.md: the front matter must be"),
    ("posts.zip", with_good("number.md", "---\n42\n---\nx\n"), "number.md: the front matter must be"),
    ("posts.zip", with_good("text.md", "---\njust text\n---\nx\n"), "text.md: the front matter must be"),
    ("posts.zip", with_good("bad.md", "---\nslug: Bad Slug\ntitle: T\n---\nx\n"),
     "bad.md: the slug must use only lowercase letters"),
    ("posts.zip", with_good("tags.md", "---\nslug: t\ntitle: T\ntags: calm\n---\nx\n"),
     "tags.md: tags must be a list"),
    ("posts.zip", with_good("path.md", "---\nslug: p\ntitle: T\nold_paths: [post/x]\n---\nx\n"),
     "path.md: each of old_paths must start with /"),
    ("posts.zip", with_good("date.md", "---\nslug: d\ntitle: T\npublished: someday\n---\nx\n"),
     "date.md: published must be a date like 2020-07-13, not someday."),
    ("posts.zip", with_good("alt.md", "---\nslug: a\ntitle: T\nimage: img/x.svg\n---\nx\n"),
     "alt.md: image_alt is needed with an image"),
    ("posts.zip", with_good("pic.md", f"---\nslug: p\ntitle: T\nimage: {UPLOADED}\nimage_alt: A\n---\nx\n"),
     f"pic.md: its image {UPLOADED} is missing"),
    ("posts.zip", with_good(UPLOADED, b"not an image"), f"{UPLOADED}: it is not the JPEG"),
    ("posts.zip", with_good(UPLOADED, noisy_png()[:2000]), f"{UPLOADED}: The image could not be read"),
    ("posts.zip", with_good("again.md", GOOD), "again.md and good.md both have the slug good."),
    ("posts.zip", with_good("latin1.md", "---\nslug: l\ntitle: Zoë\n---\nx\n".encode("latin-1")),
     "latin1.md: it is not a text file saved as UTF-8."),
    ("posts.zip", with_good("clash.md", f"---\nslug: c\ntitle: T\nold_paths: [{SEED_OLD_PATH}]\n---\nx\n"),
     "clash.md: it could not be imported (one of its addresses already belongs to another post)"),
])
def test_a_bad_import_names_the_file_and_changes_nothing(app, seeded, filename, data, message):
    """Does each kind of broken import raise an error naming the file, with the database as it was?"""
    with app.test_request_context():
        before = db.session.scalar(select(func.count()).select_from(Post))
        with pytest.raises(PostFileError) as error:
            archive.import_upload(filename, data)
        assert message in str(error.value)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Post)) == before
        assert db.session.scalar(select(Post).where(Post.slug == "good")) is None
    assert not (Path(app.instance_path) / "uploads").exists()


def test_an_import_updates_posts_by_slug_and_counts_what_changed(app, seeded):
    """Is a post with a known slug updated in place, a new one created, and a repeat import unchanged?"""
    changed = (CONTENT_DIR / "psychedelics-and-neuroplasticity.md").read_text(encoding="utf-8").replace(
        "We are living", "Today we are living")
    upload = zip_of({"p.md": changed, "good.md": GOOD})
    with app.test_request_context():
        assert archive.import_upload("posts.zip", upload) == {"created": 1, "updated": 1, "unchanged": 0}
        assert archive.import_upload("posts.zip", upload) == {"created": 0, "updated": 0, "unchanged": 2}
        post = db.session.scalar(select(Post).where(Post.slug == "psychedelics-and-neuroplasticity"))
        assert post.body_markdown.startswith("Today we are living")


def test_an_import_keeps_one_of_each_repeated_tag_or_address(app):
    """Do "Calm" and "calm", or an old address listed twice, import as one tag and one address?"""
    text = "---\nslug: r\ntitle: R\ntags: [Calm, calm, Rest]\nold_paths: [/post/r, /post/r]\n---\nx\n"
    with app.test_request_context():
        archive.import_upload("r.md", text.encode())
        post = db.session.scalar(select(Post))
        assert sorted(tag.name for tag in post.tags) == ["Calm", "Rest"]
        assert [redirect.old_path for redirect in post.old_paths] == ["/post/r"]


def test_an_import_restores_uploaded_images_from_the_zip(app):
    """Is an uploaded cover image in the zip written back to instance/uploads/ with the post that shows it?"""
    text = f"---\nslug: pic\ntitle: Pic\nimage: {UPLOADED}\nimage_alt: A dot\n---\nx\n"
    dot = picture("png", (1, 1))
    with app.test_request_context():
        archive.import_upload("posts.zip", zip_of({"export/pic.md": text, f"export/{UPLOADED}": dot}))
        assert (Path(app.instance_path) / UPLOADED).read_bytes() == cleaned_image(dot)[0]
        assert editor.stored_upload(UPLOADED) is not None


def test_importing_a_folder_gives_files_that_share_a_new_tag_one_tag(app, tmp_path):
    """Do two seed files that introduce the same tag both get it, without a duplicate tag row?"""
    for slug in ("one", "two"):
        (tmp_path / f"{slug}.md").write_text(f"---\nslug: {slug}\ntitle: {slug}\ntags: [fresh]\n---\nx\n")
    with app.app_context():
        assert import_post_files(tmp_path)["created"] == 2
        assert db.session.scalar(select(func.count()).select_from(Tag)) == 1
        assert all(post.tags[0].slug == "fresh" for post in db.session.scalars(select(Post)))


def test_a_rename_takes_over_an_old_address_held_by_another_post(app, make_post):
    """When a renamed post's old address was an old address of another post, does it now lead to the renamed one?"""
    renamed, other = make_post("here"), make_post("elsewhere")
    with app.test_request_context():
        db.session.add(PostRedirect(old_path="/blog/here", post_id=other))
        db.session.commit()
        post = db.session.get(Post, renamed)
        values = editor.PostValues(title=post.title, slug="there", excerpt="", body=post.body_markdown, tags="",
                                    cover_alt="", cover_caption="", cover_credit="", disclaimer="",
                                    cover_upload="", remove_cover=False)
        editor.save_post(post, values)
        redirect = db.session.scalar(select(PostRedirect))
        assert (redirect.old_path, redirect.post_id) == ("/blog/here", renamed)
        assert db.session.scalar(select(func.count()).select_from(PostRedirect)) == 1


def test_the_editor_services_leave_the_commit_to_their_caller(app, make_post, tmp_path):
    """Do saving, publishing, deleting and importing posts keep nothing when their caller rolls back?"""
    kept, draft = make_post("kept", title="Kept"), make_post("draft", status=PostStatus.DRAFT)
    (tmp_path / "seeded.md").write_text("---\nslug: seeded\ntitle: Seeded\n---\nx\n")
    with app.test_request_context():
        post = db.session.get(Post, kept)
        editor.save_post(post, editor.PostValues(
            title="Changed", slug="changed", excerpt="", body="New.", tags="fresh", cover_alt="", cover_caption="",
            cover_credit="", disclaimer="", cover_upload="", remove_cover=False))
        editor.save_post(None, editor.PostValues(
            title="New", slug="new", excerpt="", body="New.", tags="", cover_alt="", cover_caption="",
            cover_credit="", disclaimer="", cover_upload="", remove_cover=False))
        editor.set_published(db.session.get(Post, draft), True)
        editor.delete_post(db.session.get(Post, kept))
        import_post_files(tmp_path)
        archive.import_upload("good.md", GOOD.encode())
        db.session.rollback()
    with app.app_context():
        assert db.session.scalars(select(Post.slug).order_by(Post.slug)).all() == ["draft", "kept"]
        assert db.session.get(Post, kept).title == "Kept" and not db.session.get(Post, draft).is_published
        assert db.session.scalar(select(func.count()).select_from(Tag)) == 0
