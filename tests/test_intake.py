"""Recording an inquiry: one transaction for the inquiry and its emails; spam checks; the emails' text."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from coaching.extensions import db
from coaching.forms import ContactForm
from coaching.intake import _signer, prepare_new_form, record_inquiry, spam_reason
from coaching.models import EmailKind, Inquiry, OutboxMessage

FIELDS = {"name": "ねこ O'Hara", "email": "neko@example.org", "phone": "", "topic": "roadmap",
          "message": "My hands shake when I type. SECRET-HEALTH-TEXT", "consent": "y"}


def filled_form(**overrides) -> ContactForm:
    """A contact form filled in as a visitor would, inside a request context."""
    form = ContactForm(formdata=MultiDict({**FIELDS, **overrides}), meta={"csrf": False})
    prepare_new_form(form)
    return form


def test_inquiry_and_its_emails_are_one_transaction(app):
    """Are the inquiry and both emails written together, and all rolled back together?"""
    with app.test_request_context():
        record_inquiry(filled_form())
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Inquiry)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        result = record_inquiry(filled_form())
        db.session.commit()
        assert result.created
        kinds = {email.kind for email in result.inquiry.emails}
        assert kinds == {EmailKind.COACH_NOTIFICATION, EmailKind.VISITOR_ACKNOWLEDGEMENT}


def test_coach_notification_has_reply_to_subject_and_message(app):
    """REL-04: is the coach's email addressed to COACH_EMAIL, Reply-To the visitor, with the message?"""
    with app.test_request_context():
        inquiry = record_inquiry(filled_form()).inquiry
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
        inquiry = record_inquiry(filled_form()).inquiry
        coach = next(e for e in inquiry.emails if e.kind is EmailKind.COACH_NOTIFICATION)
        assert "SECRET-HEALTH-TEXT" not in coach.body_text + coach.body_html
        assert f"/admin/inquiries/{inquiry.id}" in coach.body_text


def test_acknowledgement_repeats_nothing_the_visitor_typed(app):
    """Does the visitor's acknowledgement hold none of their words (so the form can't relay spam)?"""
    with app.test_request_context():
        inquiry = record_inquiry(filled_form(name="Buy pills at spam.example")).inquiry
        ack = next(e for e in inquiry.emails if e.kind is EmailKind.VISITOR_ACKNOWLEDGEMENT)
        assert ack.recipient == "neko@example.org"
        for typed in ("Buy pills", "spam.example", "SECRET-HEALTH-TEXT"):
            assert typed not in ack.subject + ack.body_text + ack.body_html


def test_acknowledgement_can_be_turned_off(app_factory):
    """With SEND_ACKNOWLEDGEMENT off, is only the coach's email queued?"""
    app = app_factory(SEND_ACKNOWLEDGEMENT=False)
    with app.test_request_context():
        inquiry = record_inquiry(filled_form()).inquiry
        assert [e.kind for e in inquiry.emails] == [EmailKind.COACH_NOTIFICATION]


def test_spam_reasons(app_factory):
    """Is the honeypot caught, a too-quick send caught, and an unsigned start time given the benefit of the doubt?"""
    app = app_factory(CONTACT_MIN_FILL_SECONDS=3)
    with app.test_request_context():
        from coaching.database import utcnow

        now = utcnow()
        assert spam_reason(filled_form(website="x"), now) == "honeypot field filled"
        assert spam_reason(filled_form(), now) == "sent faster than a person can type"
        slow = filled_form()
        slow.form_started.data = _signer().sign(str(int(time.time()) - 3600)).decode()
        assert spam_reason(slow, now) is None
        forged = filled_form()
        forged.form_started.data = "1.forged"
        assert spam_reason(forged, now) is None


def test_same_token_returns_the_existing_inquiry(app):
    """REL-10: does recording the same submission token twice return the first inquiry?"""
    with app.test_request_context():
        form = filled_form()
        first = record_inquiry(form)
        db.session.commit()
        second = record_inquiry(form)
        assert not second.created and second.inquiry.id == first.inquiry.id
