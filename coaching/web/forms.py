"""The base of every form here, and the validators they share: messages that say what to do, never just "invalid"."""

from __future__ import annotations

import re

from flask import has_request_context, request
from flask_wtf import FlaskForm
from wtforms.validators import DataRequired, Email, Length, ValidationError

# The longest search the site reads: the blog's search box and the inbox's (longer is cut off, or refused by a form).
MAX_QUERY_LENGTH = 200


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


def drop_control_characters(value):
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
