"""No silent spam: fast senders reach the coach, and what goes to spam is summed up once a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from coaching.extensions import db
from coaching.inquiries.models import Inquiry, InquiryStatus
from coaching.inquiries.spam_digest import next_digest_time
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import deliver_pending
from tests.forms import sign_in, submit_contact, text_of

REAL = {"name": "Zoë Paste", "email": "zoe@example.org", "message": "I wrote this in my notes app. MY-OWN-WORDS",
        "consent": "y"}
BOT = {"name": "Bot", "email": "bot@example.org", "message": "BOT-TEXT buy now", "consent": "y",
       "website": "http://filled.example"}


def test_a_pasted_message_reaches_the_coach_with_its_speed_explained(smtp_server, smtp_app, admin_user):
    """Is a message sent at once (pasted) emailed to the coach, saying plainly why it looks unusual?"""
    app = smtp_app(smtp_server.port, CONTACT_MIN_FILL_SECONDS=3)
    assert submit_contact(app.test_client(), REAL).status_code == 303
    with app.app_context():
        assert deliver_pending().sent == 2  # the coach's notification and the visitor's acknowledgement
    coach = [m for m in smtp_server.received if m.rcpt_tos == [app.config["COACH_EMAIL"]]]
    [notification] = coach
    text = notification.message.get_body(("plain",)).get_content()
    assert "MY-OWN-WORDS" in text
    assert "s after the page opened" in text and "probably pasted" in text
    client = app.test_client()
    sign_in(client)
    listing = text_of(client.get("/admin/inquiries"))
    assert "Zoë Paste" in listing and "after the page opened" in listing
    with app.app_context():
        inquiry_id = db.session.scalar(select(Inquiry.id))
    assert "Worth knowing:" in text_of(client.get(f"/admin/inquiries/{inquiry_id}"))


def test_spam_is_summed_up_in_one_email_a_day_without_its_text(smtp_server, smtp_app, admin_user):
    """Do three spam messages make one summary email at the digest hour, with a link and none of their text?"""
    app = smtp_app(smtp_server.port, TIME_ZONE="Europe/London", SPAM_DIGEST_HOUR=18)
    for _ in range(3):
        assert submit_contact(app.test_client(), BOT).status_code == 303
    with app.app_context():
        [digest] = db.session.scalars(select(OutboxMessage)).all()
        due = digest.next_attempt_at
        assert digest.kind is EmailKind.SPAM_DIGEST and due == next_digest_time(digest.created_at)
        assert deliver_pending(now=due - timedelta(minutes=1)).sent == 0  # not before its hour
        assert deliver_pending(now=due).sent == 1
    [mail] = smtp_server.received
    assert mail.rcpt_tos == [app.config["COACH_EMAIL"]]
    assert mail.message["Subject"] == "3 messages were put in spam on your website"
    text = mail.message.get_body(("plain",)).get_content()
    assert "/admin/inquiries?status=spam" in text
    for typed in ("BOT-TEXT", "Bot", "bot@example.org", "filled.example"):
        assert typed not in mail.message.as_string()


def test_a_later_spam_waits_for_the_next_day(smtp_server, smtp_app):
    """After a summary went out, does the next spam open a new summary for the next day, not a second today?"""
    app = smtp_app(smtp_server.port, TIME_ZONE="UTC", SPAM_DIGEST_HOUR=18)
    submit_contact(app.test_client(), BOT)
    with app.app_context():
        first = db.session.scalar(select(OutboxMessage))
        deliver_pending(now=first.next_attempt_at)
        first_due = first.next_attempt_at
    submit_contact(app.test_client(), BOT)
    with app.app_context():
        second = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)).one()
        assert second.next_attempt_at == first_due + timedelta(days=1)
        assert second.subject == "1 message was put in spam on your website"
    assert len(smtp_server.received) == 1


def test_not_spam_is_counted_only_when_put_in_spam(app):
    """Does a real message leave the summary alone (no summary email exists without spam)?"""
    submit_contact(app.test_client(), REAL)
    with app.app_context():
        kinds = {m.kind for m in db.session.scalars(select(OutboxMessage))}
        assert EmailKind.SPAM_DIGEST not in kinds
        assert db.session.scalar(select(Inquiry.status)) is InquiryStatus.NEW


def test_digest_hour_is_in_the_practice_time_zone(app_factory):
    """Is the summary due at SPAM_DIGEST_HOUR local time, today if that is still ahead, else tomorrow?"""
    app = app_factory(TIME_ZONE="Europe/London", SPAM_DIGEST_HOUR=18)
    with app.app_context():
        summer_morning = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 10:00 BST
        assert next_digest_time(summer_morning) == datetime(2026, 7, 1, 17, 0, tzinfo=UTC)
        winter_evening = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 19:00 GMT, past 18:00
        assert next_digest_time(winter_evening) == datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
