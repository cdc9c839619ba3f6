"""Recording an inquiry: one transaction for the inquiry and its emails; spam checks; the emails' text."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from coaching.extensions import db
from coaching.inquiries.forms import ContactForm
from coaching.inquiries.intake import (
    _signer,
    already_recorded,
    fill_seconds,
    prepare_new_form,
    record_inquiry,
    spam_reason,
)
from coaching.inquiries.models import Inquiry
from coaching.mail.models import EmailKind, OutboxMessage
from coaching.web.templating import absolute_url

FIELDS = {"name": "ねこ O'Hara", "email": "neko@example.org", "phone": "", "topic": "roadmap",
          "message": "My hands shake when I type. SECRET-HEALTH-TEXT", "consent": "y"}


def filled_form(**overrides) -> ContactForm:
    """A contact form filled in as a visitor would, inside a request context."""
    form = ContactForm(formdata=MultiDict({**FIELDS, **overrides}), meta={"csrf": False})
    prepare_new_form(form)
    return form


def stored(result) -> Inquiry:
    """The inquiry a recording stored, as the database holds it."""
    return db.session.get(Inquiry, result.inquiry_id)


def test_inquiry_and_its_emails_are_one_transaction(app):
    """Are the inquiry and both emails written together, and all rolled back together?"""
    with app.test_request_context():
        record_inquiry(filled_form())
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Inquiry)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        result = record_inquiry(filled_form())
        db.session.commit()
        kinds = {email.kind for email in stored(result).emails}
        assert kinds == {EmailKind.COACH_NOTIFICATION, EmailKind.VISITOR_ACKNOWLEDGEMENT}


def test_coach_notification_has_reply_to_subject_and_message(app):
    """REL-04: is the coach's email addressed to COACH_EMAIL, Reply-To the visitor, with the message?"""
    with app.test_request_context():
        inquiry = stored(record_inquiry(filled_form()))
        coach = next(e for e in inquiry.emails if e.kind is EmailKind.COACH_NOTIFICATION)
        assert coach.recipient == app.config["COACH_EMAIL"]
        assert coach.reply_to == "neko@example.org"
        assert coach.subject == "New inquiry from ねこ O'Hara"
        assert "SECRET-HEALTH-TEXT" in coach.body_text and "The Recovery Roadmap" in coach.body_text
        assert "SECRET-HEALTH-TEXT" in coach.body_html and "O&#39;Hara" in coach.body_html


def test_notification_can_carry_only_a_link(app_factory):
    """PRIV-03: with NOTIFY_INCLUDE_MESSAGE off, does the coach's email hold a link and not the message?"""
    app = app_factory(NOTIFY_INCLUDE_MESSAGE=False)
    with app.test_request_context():
        inquiry = stored(record_inquiry(filled_form()))
        coach = next(e for e in inquiry.emails if e.kind is EmailKind.COACH_NOTIFICATION)
        assert "SECRET-HEALTH-TEXT" not in coach.body_text + coach.body_html
        assert f"/admin/inquiries/{inquiry.id}" in coach.body_text


def test_notification_links_to_the_inquiry_it_is_about(app_factory):
    """Do both bodies of the coach's link-only email link to this very inquiry (rendered before its id was known)?"""
    app = app_factory(NOTIFY_INCLUDE_MESSAGE=False)
    with app.test_request_context():
        record_inquiry(filled_form(message="first"))
        inquiry = stored(record_inquiry(filled_form(message="second")))
        coach = next(e for e in inquiry.emails if e.kind is EmailKind.COACH_NOTIFICATION)
        link = absolute_url("admin.inquiry", inquiry_id=inquiry.id)
        assert link in coach.body_text and f'href="{link}"' in coach.body_html
        assert "inquiry-link-" not in coach.body_text + coach.body_html


def test_acknowledgement_repeats_nothing_the_visitor_typed(app):
    """Does the visitor's acknowledgement hold none of their words (so the form can't relay spam)?"""
    with app.test_request_context():
        inquiry = stored(record_inquiry(filled_form(name="Buy pills at spam.example")))
        ack = next(e for e in inquiry.emails if e.kind is EmailKind.VISITOR_ACKNOWLEDGEMENT)
        assert ack.recipient == "neko@example.org"
        for typed in ("Buy pills", "spam.example", "SECRET-HEALTH-TEXT"):
            assert typed not in ack.subject + ack.body_text + ack.body_html


def test_acknowledgement_can_be_turned_off(app_factory):
    """With SEND_ACKNOWLEDGEMENT off, is only the coach's email queued?"""
    app = app_factory(SEND_ACKNOWLEDGEMENT=False)
    with app.test_request_context():
        inquiry = stored(record_inquiry(filled_form()))
        assert [e.kind for e in inquiry.emails] == [EmailKind.COACH_NOTIFICATION]


MARKUP = "link markup for another website (BBCode or HTML)"


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"website": "x"}, "honeypot field filled"),
    ({"message": "Cheap pills [url=http://pills.example]here[/url]"}, MARKUP),
    ({"message": 'Click <a href="http://pills.example">here</a>'}, MARKUP),
    ({"message": "http://a.example http://b.example www.c.example https://d.example"}, "4 links in the message"),
])
def test_strong_signals_are_spam(app, overrides, reason):
    """Are a filled honeypot, link markup and a link-stuffed message put in spam, each with its reason?"""
    with app.test_request_context():
        assert spam_reason(filled_form(**overrides)) == reason


@pytest.mark.parametrize("message", [
    "This article helped me: https://pubmed.example/123 and www.dystonia.example/support",
    "I use <b>no</b> markup, and 3 < 4 > 2. Email me at a@b.example.",
    "My neurologist (https://clinic.example) suggested the Roadmap; see also https://x.example/a, https://y.example/b",
])
def test_what_people_write_is_not_spam(app, message):
    """Are a few links, angle brackets and an address in a real message kept out of spam?"""
    with app.test_request_context():
        assert spam_reason(filled_form(message=message)) is None


def test_fill_time_is_measured_and_never_a_spam_reason(app_factory):
    """Is the time from page to send recorded (None for a forged stamp), and does speed alone never mean spam?"""
    app = app_factory(CONTACT_MIN_FILL_SECONDS=3)
    with app.test_request_context():
        from coaching.database import utcnow

        now = utcnow()
        fast = filled_form()
        assert spam_reason(fast) is None and fill_seconds(fast, now) in (0, 1)
        slow = filled_form()
        slow.form_started.data = _signer().sign(str(int(time.time()) - 3600)).decode()
        assert 3599 <= fill_seconds(slow, now) <= 3601
        forged = filled_form()
        forged.form_started.data = "1.forged"
        assert fill_seconds(forged, now) is None


def test_same_token_is_refused_by_the_database_and_found(app):
    """REL-10: does a second insert with the same submission token fail, with the first inquiry found by it?"""
    with app.test_request_context():
        form = filled_form()
        assert not already_recorded(form)
        record_inquiry(form)
        db.session.commit()
        with pytest.raises(IntegrityError):
            record_inquiry(form)
        db.session.rollback()
        assert already_recorded(form)
        assert db.session.scalar(select(func.count()).select_from(Inquiry)) == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
