"""The contact form and the inbox's forms, with messages that say what to do (the GOV.UK pattern)."""

from __future__ import annotations

import base64
import hashlib
import re

from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SearchField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from coaching.inquiries.models import TOPIC_LABELS
from coaching.web.forms import (
    MAX_QUERY_LENGTH,
    NoControlCharacters,
    SiteForm,
    drop_control_characters,
    email_validators,
    strip_text,
)

MESSAGE_MAX_LENGTH = 5000
NAME_MAX_LENGTH = 200


TOPICS = [SelectChoice("", "Choose a topic (optional)")] + [
    SelectChoice(value, label) for value, label in TOPIC_LABELS.items()
]


class MessageLength:
    """Refuse an over-long message, saying how long it is, so the writer knows how much to cut."""

    def __call__(self, form, field) -> None:
        """Raise a message giving the current and allowed length."""
        length = len(field.data or "")
        if length > MESSAGE_MAX_LENGTH:
            raise ValidationError(
                f"Your message must be {MESSAGE_MAX_LENGTH:,} characters or fewer. It is "
                f"{length:,} characters now, so please shorten it by {length - MESSAGE_MAX_LENGTH:,}."
            )


# A submission token as the site issues it: secrets.token_urlsafe(24), 32 URL-safe characters.
SUBMISSION_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


def issued_token_shape(value):
    """The submission token if shaped as the site issues it; any other is replaced by one derived from it.

    A wrong-shaped token (a megabyte, odd characters) comes from a broken or tampered page: the message
    is kept under the derived token (so a burst of clicks on that page is still one inquiry, REL-10),
    and a form that comes back carries it. The visitor is asked nothing: the field is hidden from them.
    """
    if not value or SUBMISSION_TOKEN.fullmatch(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


class ContactForm(SiteForm):
    """The "I'd love to hear from you" form. Field names are part of the site's interface."""

    name = StringField(
        "Your name",
        filters=[strip_text],
        validators=[
            DataRequired("Enter your name so I know what to call you"),
            Length(max=NAME_MAX_LENGTH, message=f"Your name must be {NAME_MAX_LENGTH} characters or fewer"),
            NoControlCharacters("Enter your name on one line, without line breaks or special characters"),
        ],
    )
    email = EmailField(
        "Your email address",
        filters=[strip_text],
        validators=email_validators("Enter your email address so I can reply"),
    )
    phone = TelField(
        "Phone number (optional)",
        filters=[strip_text],
        validators=[
            Optional(),
            NoControlCharacters("Enter a phone number using digits, spaces and + ( ) -, or leave it empty"),
            Regexp(r"^\+?[0-9 ()\-.]{5,40}$",
                   message="Enter a phone number using digits, spaces and + ( ) -, or leave it empty"),
        ],
    )
    topic = SelectField("What would you like to talk about? (optional)", choices=TOPICS, default="",
                        validate_choice=False)
    message = TextAreaField(
        "Your message",
        filters=[drop_control_characters],
        validators=[DataRequired("Enter your message"), MessageLength()],
        render_kw={"data-max-length": MESSAGE_MAX_LENGTH},  # contact.js counts down from it
    )
    message_max_length = MESSAGE_MAX_LENGTH
    consent = BooleanField(
        "I agree that Hope for Dystonia may store my message, which may include details about my "
        "health, so that the coach can reply to me.",
        validators=[DataRequired("Tick the box to agree that I may keep your message so I can reply")],
    )
    # Spam checks without barriers: a field people never see or fill, and when the form was shown.
    website = StringField("Leave this field empty")
    form_started = HiddenField()
    submission_token = HiddenField(filters=[issued_token_shape])

    def validate_topic(self, field) -> None:
        """Accept only the listed topics (or none)."""
        if field.data not in TOPIC_LABELS and field.data != "":
            raise ValidationError("Choose a topic from the list, or leave it as it is")

# --- The coach's inbox (admin_views.py) ---

REPLY_MAX_LENGTH = 10_000
NOTE_MAX_LENGTH = 10_000


class InquiryReplyForm(SiteForm):
    """The coach's reply to an inquiry, sent by email through the outbox (the view fills the subject)."""

    subject = StringField(
        "Subject",
        filters=[strip_text],
        validators=[
            DataRequired("Enter a subject for your reply"),
            Length(max=200, message="The subject must be 200 characters or fewer"),
            NoControlCharacters("Enter the subject on one line, without line breaks"),
        ],
    )
    body = TextAreaField(
        "Your reply",
        filters=[drop_control_characters],
        validators=[
            DataRequired("Enter your reply"),
            Length(max=REPLY_MAX_LENGTH,
                   message=f"Your reply must be {REPLY_MAX_LENGTH:,} characters or fewer: please shorten it"),
        ],
    )


class NoteForm(SiteForm):
    """A private note on an inquiry's timeline (only the coach sees it)."""

    note = TextAreaField(
        "Add a private note",
        filters=[drop_control_characters],
        validators=[
            DataRequired("Enter the note you want to keep"),
            Length(max=NOTE_MAX_LENGTH,
                   message=f"A note must be {NOTE_MAX_LENGTH:,} characters or fewer: please shorten it"),
        ],
    )


class EraseByEmailForm(SiteForm):
    """The address whose inquiries, emails and notes are to be erased (PRIV-02)."""

    email = EmailField(
        "Email address",
        filters=[strip_text],
        validators=email_validators("Enter the email address whose messages you want to erase"),
    )


class InboxSearchForm(SiteForm):
    """The inbox's search box: posted, and kept in the session rather than the URL."""

    q = SearchField("Search names, email addresses and messages", filters=[strip_text], validators=[
        Length(max=MAX_QUERY_LENGTH, message=f"Search for {MAX_QUERY_LENGTH} characters or fewer"),
    ])
