"""Inquiries from addresses with non-ASCII letters, sent through the contact form to real SMTP servers (aiosmtpd).

A non-ASCII local part (tést@…) can only travel over SMTPUTF8 (RFC 6531); a non-ASCII domain alone
has an ASCII form (IDNA) that any server takes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries.models import Inquiry
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import deliver_pending
from tests.forms import submit_contact, text_of
from tests.smtp import parse_mail, running_smtp_server

COACH = "coach@hopefordystonia.example"
NAME = "ねこ Zoë O'Hara"
NEEDS_SMTPUTF8 = ["tést@exämple.com", "tést@example.com"]
NOT_SENT = "not sent: the address has characters the mail server can't carry (it doesn't offer SMTPUTF8)"
NO_REPLY_TO = ("sent without Reply-To: that address has characters the mail server can't carry "
               "(it doesn't offer SMTPUTF8)")


@pytest.fixture
def utf8_smtp_server():
    """A real SMTP server that offers SMTPUTF8 (aiosmtpd's Controller does by default)."""
    with running_smtp_server(enable_SMTPUTF8=True) as handler:
        yield handler


@pytest.fixture
def ascii_smtp_server():
    """A real SMTP server that doesn't offer SMTPUTF8, as many still don't."""
    with running_smtp_server(enable_SMTPUTF8=False) as handler:
        yield handler


def send_inquiry(app, address: str) -> int:
    """Send the contact form from this address, as a visitor would; the new inquiry's id."""
    response = submit_contact(app.test_client(), {"name": NAME, "email": address, "consent": "y",
                                                  "message": "I'd like to talk about my recovery."})
    assert response.status_code == 303, text_of(response)
    with app.app_context():
        return db.session.scalars(select(Inquiry.id).where(Inquiry.email == address)).one()


def emails_of(app, inquiry_id: int) -> dict[EmailKind, OutboxMessage]:
    """The inquiry's outbox rows by kind, detached for reading."""
    with app.app_context():
        found = db.session.scalars(select(OutboxMessage).where(OutboxMessage.inquiry_id == inquiry_id)).all()
        db.session.expunge_all()
        return {row.kind: row for row in found}


def run_pass(app, **kwargs):
    """One delivery pass in the app's context."""
    with app.app_context():
        return deliver_pending(**kwargs)


def addresses(message, header: str) -> list[str]:
    """The addr-specs in one header of a parsed message."""
    return [address.addr_spec for address in message[header].addresses]


def plain_and_html(message) -> tuple[str, str]:
    """The plain and HTML bodies of a parsed message."""
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


@pytest.mark.parametrize("address", NEEDS_SMTPUTF8)
def test_with_smtputf8_both_emails_arrive_with_the_exact_address(smtp_app, utf8_smtp_server, address):
    """Does a server offering SMTPUTF8 get both emails of a tést@… inquiry, the address and name exact?"""
    app = smtp_app(utf8_smtp_server.port)
    inquiry_id = send_inquiry(app, address)
    report = run_pass(app)
    assert (report.sent, report.retried, report.failed) == (2, 0, 0)
    rows = emails_of(app, inquiry_id)
    assert {row.status for row in rows.values()} == {OutboxStatus.SENT}
    assert all(row.attempts == 1 and row.last_error is None for row in rows.values())

    by_recipient = {tuple(mail.rcpt_tos): mail for mail in utf8_smtp_server.received}
    assert set(by_recipient) == {(COACH,), (address,)}
    assert all(mail.smtputf8 for mail in by_recipient.values())
    notification = by_recipient[(COACH,)].message
    assert addresses(notification, "To") == [COACH]
    assert addresses(notification, "Reply-To") == [address]
    assert notification["Subject"] == f"New inquiry from {NAME}"
    assert f"Email: {address}\n" in plain_and_html(notification)[0].replace("\r\n", "\n")
    acknowledgement = by_recipient[(address,)].message
    assert addresses(acknowledgement, "To") == [address]
    assert address.encode() in by_recipient[(address,)].content  # as UTF-8 (RFC 6532), not an encoded word
    message_ids = {row.recipient: row.message_id for row in rows.values()}
    for (recipient,), mail in by_recipient.items():
        assert mail.message["Message-ID"] == message_ids[recipient]


@pytest.mark.parametrize("address", NEEDS_SMTPUTF8)
def test_without_smtputf8_the_coach_is_still_told_and_the_acknowledgement_fails_at_once(
    smtp_app, ascii_smtp_server, admin_client, address
):
    """Without SMTPUTF8, does the coach's email go out (no Reply-To) and the visitor's fail at once, saying why?"""
    app = smtp_app(ascii_smtp_server.port)
    inquiry_id = send_inquiry(app, address)
    now = utcnow()
    report = run_pass(app, now=now)
    assert (report.sent, report.retried, report.failed) == (1, 0, 1)

    [mail] = ascii_smtp_server.received
    assert mail.rcpt_tos == [COACH] and not mail.smtputf8
    notification = mail.message
    assert notification["Reply-To"] is None
    assert notification["Subject"] == f"New inquiry from {NAME}"
    for body in plain_and_html(notification):
        assert address in body
        assert f"write to {address}" in body
        assert "Reply to this email" not in body

    rows = emails_of(app, inquiry_id)
    coach, visitor = rows[EmailKind.COACH_NOTIFICATION], rows[EmailKind.VISITOR_ACKNOWLEDGEMENT]
    assert (coach.status, coach.attempts, coach.last_error) == (OutboxStatus.SENT, 1, NO_REPLY_TO)
    assert (visitor.status, visitor.attempts, visitor.last_error) == (OutboxStatus.FAILED, 1, NOT_SENT)
    assert run_pass(app, now=now + timedelta(days=1)).failed == 0  # no pointless retries

    page = text_of(admin_client.get(f"/admin/inquiries/{inquiry_id}"))
    assert "Failed: not sent" in page
    assert NOT_SENT.replace("'", "&#39;") in page


def test_a_non_ascii_domain_alone_needs_no_smtputf8(smtp_app, ascii_smtp_server):
    """Does test@exämple.com reach a server without SMTPUTF8 (its domain in ASCII form), Reply-To kept?"""
    app = smtp_app(ascii_smtp_server.port)
    inquiry_id = send_inquiry(app, "test@exämple.com")
    assert run_pass(app).sent == 2
    assert {row.last_error for row in emails_of(app, inquiry_id).values()} == {None}
    by_recipient = {tuple(mail.rcpt_tos): mail for mail in ascii_smtp_server.received}
    assert set(by_recipient) == {(COACH,), ("test@xn--exmple-cua.com",)}
    assert addresses(by_recipient[(COACH,)].message, "Reply-To") == ["test@xn--exmple-cua.com"]
    assert "Reply to this email to answer" in plain_and_html(by_recipient[(COACH,)].message)[0]


def test_without_a_mail_server_such_emails_become_files(app_factory, tmp_path):
    """Without MAIL_SERVER, are both emails of a tést@exämple.com inquiry written as files, the address exact?"""
    mail_dir = tmp_path / "mail"
    app = app_factory(MAIL_FILE_DIR=str(mail_dir))
    address = NEEDS_SMTPUTF8[0]
    inquiry_id = send_inquiry(app, address)
    assert run_pass(app).sent == 2
    assert {row.status for row in emails_of(app, inquiry_id).values()} == {OutboxStatus.SENT}
    messages = [parse_mail(path.read_bytes(), utf8=True) for path in sorted(mail_dir.iterdir())]
    by_kind = {("coach" if addresses(m, "To") == [COACH] else "visitor"): m for m in messages}
    assert addresses(by_kind["coach"], "Reply-To") == [address]
    assert addresses(by_kind["visitor"], "To") == [address]
    assert by_kind["coach"]["Subject"] == f"New inquiry from {NAME}"
