"""Rows, pictures and hostile text for tests: stored straight in the database or made by Pillow."""

from __future__ import annotations

import functools
import io
import uuid

import sqlalchemy as sa
from PIL import Image

from coaching.accounts import credentials
from coaching.accounts.models import AdminUser
from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries.models import Inquiry, InquiryNote, NoteKind
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import new_message_id


def row_count(app, model) -> int:
    """How many rows a model's table (or a Table) holds."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def add_inquiry(app, emails: tuple[OutboxStatus, ...] = (), notes: tuple[str, ...] = (), **fields) -> int:
    """Store an inquiry directly (bypassing the form), with coach notifications and notes: its id."""
    values = {
        "name": "Zoë O'Hara", "email": "zoe@example.org", "message": "I'd like to talk about my recovery.",
        "consent_at": utcnow(), "privacy_notice_version": "2026-11-25", "submission_token": uuid.uuid4().hex,
        **fields,
    }
    values.setdefault("created_at", values["consent_at"])
    with app.app_context():
        inquiry = Inquiry(**values)
        db.session.add(inquiry)
        for status in emails:
            db.session.add(OutboxMessage(
                inquiry=inquiry, kind=EmailKind.COACH_NOTIFICATION, message_id=new_message_id(),
                recipient="coach@hopefordystonia.example", reply_to=inquiry.email,
                subject=f"New inquiry from {inquiry.name}", body_text=inquiry.message, status=status,
            ))
        for text in notes:
            db.session.add(InquiryNote(inquiry=inquiry, body=text, kind=NoteKind.NOTE))
        db.session.commit()
        return inquiry.id


def every_stored_text(app) -> list[str]:
    """Every string value in every row of every table (to prove something is nowhere)."""
    texts = []
    with app.app_context(), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                texts.extend(value for value in row if isinstance(value, str))
    return texts


# --- Pictures made by Pillow ---

IMAGE_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}
GPS_IFD, ORIENTATION, CAMERA_MAKE, GPS_LATITUDE = 0x8825, 0x0112, 0x010F, 2
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Taken at 12 Mill Lane</x:xmpmeta>'


def picture(extension: str = "png", size: tuple[int, int] = (4, 3), *, located: bool = False,
            turned: bool = False) -> bytes:
    """An image file made by Pillow; `located` adds EXIF GPS, a camera make and XMP; `turned` says "rotate 90°"."""
    image = Image.new("RGB", size, (40, 120, 90))
    exif = Image.Exif()
    if located:
        exif[CAMERA_MAKE] = "PhoneCam"
        exif[GPS_IFD] = {1: "N", GPS_LATITUDE: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0)}
    if turned:
        exif[ORIENTATION] = 6
    options = {"exif": exif} if located or turned else {}
    if located and extension != "png":
        options["xmp"] = XMP
    output = io.BytesIO()
    image.save(output, format=IMAGE_FORMATS[extension], **options)
    return output.getvalue()


def noisy_png() -> bytes:
    """A 64 × 64 PNG of noise, several kilobytes, so cutting it short cuts into the pixels."""
    output = io.BytesIO()
    Image.effect_noise((64, 64), 60).save(output, format="PNG")
    return output.getvalue()


def opened(data: bytes) -> Image.Image:
    """The image in these bytes, decoded."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def billion_laughs() -> str:
    """A post file of 380 bytes whose title is nine levels of YAML aliases: 9**9 "lol"s (2.5 GB) once expanded."""
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for name, below in zip("bcdefghi", "abcdefgh", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{below}"] * 9) + "]")
    return "---\nslug: lol\n" + "\n".join(levels) + "\ntitle: *i\n---\nLaughing.\n"


def nested_list_markdown(depth: int) -> str:
    """A post file whose body is a Markdown list nested `depth` deep (four spaces a level)."""
    return "---\nslug: deep\ntitle: Deep\n---\n" + "\n".join("    " * level + "- x" for level in range(depth)) + "\n"


# Post files an import must refuse, each with the message that names the file ("bad.md") and the problem.
BAD_POST_FILES = {
    "aliases": (billion_laughs(), "bad.md: the front matter uses a YAML anchor or alias"),
    "impossible date": ("---\nslug: d\ntitle: T\npublished: 2020-13-45\n---\nx\n",
                        "bad.md: published must be a date like 2020-07-13, not 2020-13-45."),
    "not a date": ("---\nslug: d\ntitle: T\nupdated: someday\n---\nx\n",
                   "bad.md: updated must be a date like 2020-07-13, not someday."),
    "deep YAML": ("---\nslug: d\ntitle: " + "[" * 1000 + "]" * 1000 + "\n---\nx\n",
                  "bad.md: the front matter nests lists more than 10 levels deep."),
    "deep Markdown": (nested_list_markdown(300), "bad.md: line 25 nests lists or quotes more than 20 levels deep"),
    "title a list": ("---\nslug: t\ntitle: [a, b]\n---\nx\n", 'bad.md: title must be text, not a list'),
    "draft a word": ("---\nslug: t\ntitle: T\ndraft: later\n---\nx\n",
                     "bad.md: draft must be true or false, not later."),
    "tags of lists": ("---\nslug: t\ntitle: T\ntags: [[calm]]\n---\nx\n",
                      "bad.md: each of tags must be text, like [research, movement], not a list."),
    "too large": ("---\nslug: big\ntitle: Big\n---\n" + "word " * 210_000 + "\n",
                  "bad.md: it is larger than 1 MB, the most a post file may be."),
}


# --- Text that must never run, wherever it is shown (SEC-05) ---

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "{{7*7}}"]
# The same, with the javascript: URL written as a Markdown link (for post bodies).
HOSTILE_MARKDOWN = [f"[x]({text})" if text.startswith("javascript:") else text for text in HOSTILE]


# --- The coach's admin ---

ADMIN_EMAIL = "coach@example.org"
ADMIN_PASSWORD = "gentle-river-stone-lantern"


@functools.cache
def admin_password_hash() -> str:
    """The argon2 hash of ADMIN_PASSWORD, made once a session (each hash takes 64 MiB and ~0.15 s)."""
    from coaching.accounts.credentials import hash_password

    return hash_password(ADMIN_PASSWORD)


def add_admin(app) -> int:
    """Store the coach's admin account (id) as `flask create-admin` makes it, with the session's hash."""
    from coaching.accounts.credentials import normalise_email

    with app.app_context():
        user = AdminUser(email=normalise_email(ADMIN_EMAIL), password_hash=admin_password_hash())
        db.session.add(user)
        db.session.commit()
        return user.id


def enable_totp(app, user_id: int) -> tuple[str, list[str]]:
    """Turn the second factor on for an account; returns its secret and recovery codes."""
    with app.app_context():
        user = db.session.get(AdminUser, user_id)
        user.totp_secret = credentials.new_totp_secret()
        user.totp_enabled = True
        codes = credentials.new_recovery_codes(user)
        db.session.commit()
        return user.totp_secret, codes
