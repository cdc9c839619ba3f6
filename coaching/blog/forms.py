"""The post editor's and the import's forms: a post's fields, its cover image, a file of posts."""

from __future__ import annotations

from flask import current_app
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from coaching.blog import editor, images
from coaching.blog.models import FIGURE_TEXT_MAX_LENGTH, SLUG_MAX_LENGTH, TAG_MAX_LENGTH, TITLE_MAX_LENGTH
from coaching.blog.rendering import MARKDOWN_MAX_DEPTH, line_nested_too_deeply, slugify
from coaching.web.forms import SiteForm, strip_text

SLUG_MESSAGE = "Use only lowercase letters, numbers and hyphens in the web address, like my-first-post"


def _lower(value):
    """Lowercase text input (a web address is lowercase)."""
    return value.lower() if isinstance(value, str) else value


def _stored_upload_only(value):
    """Keep a carried-over image name only if it is one this site stored; anything else is dropped."""
    return value if isinstance(value, str) and editor.stored_upload(value) else ""


def _not_nested_too_deeply(form, field) -> None:
    """Refuse Markdown nested deeper than the renderer can follow, naming the line."""
    line = line_nested_too_deeply(field.data or "")
    if line is not None:
        raise ValidationError(f"Line {line} of the text is nested more than {MARKDOWN_MAX_DEPTH} levels deep "
                              "(lists, quotes or indents). Use fewer levels")


class CoverImage:
    """Accept a JPEG, PNG or WebP image, judged by its first bytes (never its name), up to UPLOAD_MAX_BYTES."""

    def __call__(self, form, field) -> None:
        """Raise a message saying what kind and size of image will do."""
        if not field.data:
            return
        limit = current_app.config["UPLOAD_MAX_BYTES"]
        data = field.data.stream.read(limit + 1)
        field.data.stream.seek(0)
        if len(data) > limit:
            raise ValidationError(f"The image must be {editor.upload_limit_text()} or smaller")
        if images.image_extension(data) is None:
            raise ValidationError(images.NOT_A_PICTURE)


class PostForm(SiteForm):
    """Write or edit a post. `current_post` is the post being edited (None for a new one)."""

    title = StringField("Title", filters=[strip_text], validators=[
        DataRequired("Enter a title for the post"),
        Length(max=TITLE_MAX_LENGTH,
               message=f"The title must be {TITLE_MAX_LENGTH} characters or fewer"),
    ])
    slug = StringField("Web address", filters=[strip_text, _lower], validators=[
        Optional(),
        Length(max=SLUG_MAX_LENGTH,
               message=f"The web address must be {SLUG_MAX_LENGTH} characters or fewer"),
        Regexp(f"^{editor.SLUG_PATTERN.pattern}$", message=SLUG_MESSAGE),
    ])
    excerpt = TextAreaField("Summary (optional)", filters=[strip_text], validators=[
        Length(max=1000, message="The summary must be 1,000 characters or fewer"),
    ])
    body = TextAreaField("Post text", validators=[DataRequired("Write the text of the post"), _not_nested_too_deeply])
    tags = StringField("Tags (optional)", filters=[strip_text])
    cover_file = FileField("Image file (optional)", validators=[CoverImage()])
    cover_upload = HiddenField(filters=[_stored_upload_only])
    remove_cover = BooleanField("Remove the cover image")
    cover_alt = StringField("Image description", filters=[strip_text], validators=[
        Length(max=FIGURE_TEXT_MAX_LENGTH,
               message=f"The image description must be {FIGURE_TEXT_MAX_LENGTH} characters or fewer"),
    ])
    cover_caption = StringField("Caption (optional)", filters=[strip_text], validators=[
        Length(max=FIGURE_TEXT_MAX_LENGTH,
               message=f"The caption must be {FIGURE_TEXT_MAX_LENGTH} characters or fewer"),
    ])
    cover_credit = StringField("Image credit (optional)", filters=[strip_text], validators=[
        Length(max=FIGURE_TEXT_MAX_LENGTH,
               message=f"The credit must be {FIGURE_TEXT_MAX_LENGTH} characters or fewer"),
    ])
    disclaimer = TextAreaField("Disclaimer (optional)", filters=[strip_text])

    def __init__(self, *args, current_post=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_post = current_post

    def validate(self, extra_validators=None) -> bool:
        """Suggest the web address from the title when it is left empty, then check every field."""
        if not self.slug.data and self.title.data:
            self.slug.data = slugify(self.title.data)[: SLUG_MAX_LENGTH].strip("-")
            self.slug.raw_data = [self.slug.data]  # so Optional() sees a value and the checks below run
        return super().validate(extra_validators)

    @property
    def has_cover(self) -> bool:
        """Whether the post will show a cover image once saved."""
        kept = self.current_post is not None and self.current_post.cover_image and not self.remove_cover.data
        return bool(self.cover_file.data or self.cover_upload.data or kept)

    def validate_slug(self, field) -> None:
        """The web address must be free: no other post, and no other page of the blog, may have it."""
        owner = editor.post_with_slug(field.data)
        if owner is not None and owner.id != getattr(self.current_post, "id", None):
            raise ValidationError(f"The web address {field.data} is already used by the post “{owner.title}”. "
                                  "Choose a different one")
        if editor.slug_is_reserved(field.data):
            raise ValidationError(f"The web address {field.data} is used by another page of the blog. "
                                  "Choose a different one")

    def validate_tags(self, field) -> None:
        """Each tag must fit its column."""
        if any(len(name) > TAG_MAX_LENGTH for name in editor.tag_names(field.data)):
            raise ValidationError(f"Each tag must be {TAG_MAX_LENGTH} characters or fewer. "
                                  "Separate tags with commas")

    def validate_cover_alt(self, field) -> None:
        """An image needs a description for people who can't see it."""
        if self.has_cover and not field.data:
            raise ValidationError("Describe the image for people who can't see it")


class ImportPostsForm(SiteForm):
    """A zip of posts exported from the admin, or a single Markdown file."""

    posts_file = FileField("File to import", validators=[
        FileRequired("Choose a .zip file of posts, or one .md file"),
    ])
