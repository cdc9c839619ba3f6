"""Forms, with messages that say what to do (the GOV.UK pattern), never just "invalid"."""

from __future__ import annotations

import base64
import hashlib
import re

from flask import has_request_context, request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SearchField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

MESSAGE_MAX_LENGTH = 5000
NAME_MAX_LENGTH = 200
TOPIC_LABELS = {
    "coaching": "A coaching inquiry",
    "roadmap": "The Recovery Roadmap",
    "speaking": "Speaking or media",
    "other": "Something else",
}


def topic_label(topic: str | None) -> str:
    """The topic's label from the form's list ("Not given" when empty; any other value as stored)."""
    return TOPIC_LABELS.get(topic or "") or topic or "Not given"


TOPICS = [SelectChoice("", "Choose a topic (optional)")] + [
    SelectChoice(value, label) for value, label in TOPIC_LABELS.items()
]


class SiteForm(FlaskForm):
    """The base of every form here: filled from posted fields (and files), never from a JSON body.

    Flask-WTF reads a JSON body as the form: malformed JSON then fails inside the contact form's
    token handler (a 500), and lists or objects arrive where text is expected. Nothing here posts JSON.
    """

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            """Flask-WTF's reading of the request (formdata not given), except a JSON body is no form data."""
            reading_request = formdata is not None and not hasattr(formdata, "getlist")
            if reading_request and has_request_context() and request.is_json:
                return None
            return super().wrap_formdata(form, formdata)


# Control characters (CR, LF, NUL, ...) have no place in a name, email or phone number: they are
# how email headers get injected.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class NoControlCharacters:
    """Refuse line breaks and other control characters in a one-line field."""

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field) -> None:
        """Raise the field's message if the value holds a control character."""
        if field.data and CONTROL_CHARACTERS.search(field.data):
            raise ValidationError(self.message)


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


def _drop_control_characters(value):
    """Remove invisible control characters (NUL and the like) from a message, keeping tabs and line breaks."""
    if not isinstance(value, str):
        return value
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value)


def strip_text(value):
    """Trim surrounding whitespace from text input (not from the message body's inside)."""
    return value.strip() if isinstance(value, str) else value


def email_validators(required_message: str) -> list:
    """Required, one line, at most 254 characters, and shaped like an address (no DNS lookup)."""
    format_message = "Enter an email address in the correct format, like name@example.com"
    return [
        DataRequired(required_message),
        NoControlCharacters(format_message),
        Length(max=254, message=format_message),
        Email(format_message, check_deliverability=False, granular_message=False),
    ]


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
        filters=[_drop_control_characters],
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


class SignInForm(SiteForm):
    """The coach's sign-in: address and password (paste allowed, no puzzles)."""

    email = EmailField("Email address", filters=[strip_text],
                       validators=[DataRequired("Enter the email address of your account")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


class SecondFactorForm(SiteForm):
    """The 6-digit code from an authenticator app, or a recovery code."""

    code = StringField("Code from your authenticator app, or a recovery code", filters=[strip_text],
                       validators=[DataRequired("Enter the 6-digit code from your authenticator app")])


class ChangePasswordForm(SiteForm):
    """Change the admin password: the current one, then the new one twice."""

    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password")])
    new_password = PasswordField("New password", validators=[DataRequired("Enter a new password")])
    confirm_password = PasswordField("New password again",
                                     validators=[DataRequired("Enter the new password again")])

    def validate_confirm_password(self, field) -> None:
        """The two new passwords must match."""
        if field.data != self.new_password.data:
            raise ValidationError("The two new passwords are different. Type the same password in both boxes")


class ConfirmPasswordForm(SiteForm):
    """Re-enter the password before a security change (turning off the second factor)."""

    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password")])



class ForgotPasswordForm(SiteForm):
    """Ask for a link to choose a new password: the address of the admin account."""

    email = EmailField("Email address", filters=[strip_text],
                       validators=email_validators("Enter the email address of your account"))


class ResetPasswordForm(SiteForm):
    """Choose a new password from a reset link: twice, to catch a slip of the finger (paste allowed)."""

    new_password = PasswordField("New password", validators=[DataRequired("Enter a new password")])
    confirm_password = PasswordField("New password again",
                                     validators=[DataRequired("Enter the new password again")])
    validate_confirm_password = ChangePasswordForm.validate_confirm_password

# --- The coach's inbox (coaching/admin/inbox.py) ---

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
        filters=[_drop_control_characters],
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
        filters=[_drop_control_characters],
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

    q = SearchField("Search names, email addresses and messages", filters=[strip_text],
                    validators=[Length(max=200, message="Search for 200 characters or fewer")])


# --- The post editor (admin/posts.py) ---
