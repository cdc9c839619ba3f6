"""Delivering queued email to real SMTP servers (aiosmtpd, a hung listener, a closed port) and to files."""

from __future__ import annotations

import base64
import email
import email.policy
import logging
import os
import re
import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from sqlalchemy import select

from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries.models import Inquiry
from coaching.mail import outbox
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import deliver_pending, kick_delivery, new_message_id, resend, retry_delay
from tests.factories import add_inquiry
from tests.forms import submit_contact
from tests.smtp import SMTP_PASSWORD, SMTP_USERNAME

COACH = "coach@hopefordystonia.example"
VISITOR = "zoe.ohara@example.com"
SENDER = ("Hope for Dystonia website", COACH)
TIMEOUT_MARGIN = 1.5  # seconds allowed beyond MAIL_TIMEOUT for connecting, EHLO and closing
INQUIRY = {"name": "Zoë O'Hara", "email": VISITOR, "message": "I'd like to talk about my recovery.", "consent": "y"}


@pytest.fixture
def queue_message(app):
    """Queue an email for a new inquiry directly in the database: queue_message(subject=...) -> its id."""

    def _queue(**fields) -> int:
        inquiry_id = add_inquiry(app, email=VISITOR)
        values = {
            "kind": EmailKind.COACH_NOTIFICATION, "message_id": new_message_id(), "recipient": COACH,
            "reply_to": VISITOR, "subject": "New inquiry from Zoë O'Hara", "body_text": "Hello.\n",
            "body_html": "<p>Hello.</p>", **fields,
        }
        with app.app_context():
            message = OutboxMessage(inquiry_id=inquiry_id, **values)
            db.session.add(message)
            db.session.commit()
            return message.id

    return _queue


def rows(app) -> list[OutboxMessage]:
    """Every outbox row, in id order, detached for reading after the app context ends."""
    with app.app_context():
        found = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return found


def run_pass(app, **kwargs) -> outbox.DeliveryReport:
    """One delivery pass in the app's context."""
    with app.app_context():
        return deliver_pending(**kwargs)


def timed_pass(app, **kwargs) -> tuple[outbox.DeliveryReport, float]:
    """One delivery pass and how many seconds it took."""
    started = time.monotonic()
    report = run_pass(app, **kwargs)
    return report, time.monotonic() - started


def test_mail_server_down_keeps_every_message_pending(smtp_app, closed_port, queue_message):
    """REL-01: with the mail server down, is every message kept, pending, with an error and a retry time?"""
    app = smtp_app(closed_port)
    ids = [queue_message() for _ in range(3)]
    now = utcnow()
    report = run_pass(app, now=now)
    assert (report.sent, report.retried, report.failed) == (0, 3, 0)
    stored = rows(app)
    assert [row.id for row in stored] == ids
    for row in stored:
        assert row.status is OutboxStatus.PENDING
        assert row.attempts == 1
        assert row.last_error == "ConnectionRefusedError"
        assert row.next_attempt_at == now + timedelta(seconds=30)
        assert row.claimed_until is None and row.sent_at is None
    with app.app_context():
        assert len(db.session.scalars(select(Inquiry)).all()) == 3


@pytest.mark.parametrize("server", ["hung_smtp_server", "slow_smtp_server"])
def test_hung_mail_server_is_given_up_on_within_the_timeout(request, smtp_app, queue_message, server):
    """REL-02: does an attempt against a silent or stalling server give up within MAIL_TIMEOUT and reschedule?"""
    if server == "hung_smtp_server":
        port = request.getfixturevalue("hung_smtp_server")
    else:
        slow = request.getfixturevalue("smtp_server")
        slow.delay = 3.0
        port = slow.port
    app = smtp_app(port, MAIL_TIMEOUT=1)
    queue_message()
    now = utcnow()
    for attempt in (1, 2):
        report, elapsed = timed_pass(app, now=now)
        assert elapsed < 1 + TIMEOUT_MARGIN, f"attempt {attempt} took {elapsed:.2f} s"
        assert report.retried == 1
        [row] = rows(app)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, attempt)
        assert "no answer within 1 s" in row.last_error
        now = row.next_attempt_at


def test_temporary_refusals_are_retried_and_deliver_exactly_once(smtp_app, smtp_server, queue_message):
    """REL-03: after 451 twice, does exactly one email arrive, after backoff, with the row's Message-ID?"""
    smtp_server.data_failures = 2
    app = smtp_app(smtp_server.port)
    queue_message()
    [row] = rows(app)
    now = row.next_attempt_at
    outcomes = []
    for _ in range(3):
        assert run_pass(app, now=now - timedelta(microseconds=1)).retried == 0  # not due before its time
        report = run_pass(app, now=now)
        outcomes.append((report.sent, report.retried))
        [row] = rows(app)
        now = row.next_attempt_at
    assert outcomes == [(0, 1), (0, 1), (1, 0)]
    assert row.status is OutboxStatus.SENT and row.attempts == 3
    assert row.last_error is None and row.claimed_until is None and row.sent_at is not None
    assert len(smtp_server.received) == 1
    assert smtp_server.received[0].message["Message-ID"] == row.message_id
    assert run_pass(app, now=now + timedelta(days=1)).sent == 0  # a sent message stays sent


def test_retry_delay_doubles_and_caps_at_an_hour(app):
    """REL-03: does the retry delay start at OUTBOX_RETRY_SECONDS, double, and stop at 3600 s?"""
    with app.app_context():
        delays = [retry_delay(attempts).total_seconds() for attempts in range(1, 11)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_message_fails_after_the_last_attempt_and_can_be_resent(
    smtp_app, closed_port, smtp_server, queue_message
):
    """REL-03: after OUTBOX_MAX_ATTEMPTS failures is the message failed, and does Resend deliver it?"""
    down = smtp_app(closed_port, OUTBOX_MAX_ATTEMPTS=3)
    message_id = queue_message()
    now = utcnow()
    for expected in (OutboxStatus.PENDING, OutboxStatus.PENDING, OutboxStatus.FAILED):
        run_pass(down, now=now)
        [row] = rows(down)
        assert row.status is expected
        now = row.next_attempt_at
    assert row.attempts == 3 and row.last_error == "ConnectionRefusedError"
    assert run_pass(down, now=now + timedelta(days=1)).failed == 0  # failed is final until resent

    up = smtp_app(smtp_server.port)
    with up.app_context():
        message = db.session.get(OutboxMessage, message_id)
        resend(message)
        db.session.commit()
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
    assert run_pass(up).sent == 1
    assert len(smtp_server.received) == 1
    with up.app_context(), pytest.raises(ValueError, match="only a failed message"):
        resend(db.session.get(OutboxMessage, message_id))


def test_two_workers_never_send_a_message_twice(smtp_app, smtp_server, queue_message):
    """REL-03: do two delivery workers running at once send each of 20 messages exactly once?"""
    smtp_server.delay = 0.01  # long enough for the workers' claims to interleave
    app = smtp_app(smtp_server.port)
    ids = [queue_message() for _ in range(20)]
    start = threading.Barrier(2)
    reports, errors = [], []

    def worker() -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                reports.append(deliver_pending())
        except Exception as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sum(report.sent for report in reports) == 20
    received = Counter(mail.message["Message-ID"] for mail in smtp_server.received)
    stored = rows(app)
    assert received == Counter(row.message_id for row in stored)
    assert set(received.values()) == {1}
    assert [(row.id, row.status, row.attempts) for row in stored] == [(i, OutboxStatus.SENT, 1) for i in ids]


def test_an_abandoned_claim_is_taken_over_only_after_it_expires(smtp_app, smtp_server, queue_message):
    """REL-03: is a message left "sending" by a crashed worker retried, but only once its claim expires?"""
    app = smtp_app(smtp_server.port)
    message_id = queue_message()
    now = utcnow()
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        message.status, message.attempts, message.claimed_until = OutboxStatus.SENDING, 1, now
        db.session.commit()
    assert run_pass(app, now=now).sent == 0
    assert smtp_server.received == []
    assert run_pass(app, now=now + timedelta(seconds=1)).sent == 1
    [row] = rows(app)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)


def test_a_pass_takes_the_longest_waiting_first_and_respects_its_limit(smtp_app, smtp_server, queue_message):
    """Does a pass deliver the messages that have waited longest first, and no more than its limit?"""
    app = smtp_app(smtp_server.port)
    now = utcnow()
    newer = queue_message(next_attempt_at=now - timedelta(minutes=1))
    older = queue_message(next_attempt_at=now - timedelta(minutes=5))
    assert run_pass(app, now=now, limit=1).sent == 1
    assert {row.id: row.status for row in rows(app)} == {older: OutboxStatus.SENT, newer: OutboxStatus.PENDING}


def test_the_email_is_right(smtp_app, smtp_server, queue_message):
    """REL-04: coach as envelope recipient, site as From, visitor as Reply-To, and ねこ, O'Hara, Zoë intact?"""
    app = smtp_app(smtp_server.port, MAIL_DEFAULT_SENDER=SENDER)
    subject = "New inquiry from Zoë O'Hara: ねこ"
    body_text = "Zoë O'Hara wrote:\n\nねこ の ことを 話したいです。\nThanks, Zoë\n"
    body_html = "<p>Zoë O&#x27;Hara wrote:</p>\n<p>ねこ の ことを 話したいです。</p>\n"
    queue_message(subject=subject, body_text=body_text, body_html=body_html)
    assert run_pass(app).sent == 1
    [mail] = smtp_server.received
    [row] = rows(app)
    assert mail.rcpt_tos == [COACH]
    assert mail.mail_from == COACH
    message = mail.message
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == SENDER
    assert [address.addr_spec for address in message["To"].addresses] == [COACH]
    assert [address.addr_spec for address in message["Reply-To"].addresses] == [VISITOR]
    assert message["Subject"] == subject
    assert message["Message-ID"] == row.message_id
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == body_text
    assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == body_html


def tls_app(smtp_app, port: int, mode: str, password: str = SMTP_PASSWORD):
    """An app mailing 127.0.0.1:port over STARTTLS ("starttls") or implicit TLS ("ssl"), logging in."""
    return smtp_app(port, MAIL_USE_TLS=mode == "starttls", MAIL_USE_SSL=mode == "ssl",
                    MAIL_USERNAME=SMTP_USERNAME, MAIL_PASSWORD=password)


def assert_inquiry_delivered_encrypted(app, server, mechanism: str = "PLAIN") -> None:
    """Submit an inquiry, make one pass, and check both its emails arrived over TLS after logging in."""
    assert submit_contact(app.test_client(), INQUIRY).status_code == 303
    report = run_pass(app)
    assert (report.sent, report.retried, report.failed) == (2, 0, 0)
    assert all(row.status is OutboxStatus.SENT and row.last_error is None for row in rows(app))
    [notification] = [mail for mail in server.received if mail.rcpt_tos == [COACH]]
    assert [address.addr_spec for address in notification.message["Reply-To"].addresses] == [VISITOR]
    assert len(server.received) == 2  # and the visitor's acknowledgement
    for mail in server.received:
        assert mail.tls_version in {"TLSv1.2", "TLSv1.3"}
        assert mail.login == SMTP_USERNAME
    assert server.logins_tried == [mechanism, mechanism]  # one connection, one login per email


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_an_inquiry_is_delivered_over_starttls_after_logging_in(smtp_app, tls_smtp_server, trust_test_ca, mechanism):
    """With MAIL_USE_TLS, does an inquiry reach a server demanding STARTTLS and a login (AUTH PLAIN or LOGIN)?"""
    server = tls_smtp_server("starttls", auth_exclude_mechanism={"PLAIN", "LOGIN"} - {mechanism})
    assert_inquiry_delivered_encrypted(tls_app(smtp_app, server.port, "starttls"), server, mechanism)


def test_an_inquiry_is_delivered_over_implicit_tls(smtp_app, tls_smtp_server, trust_test_ca):
    """With MAIL_USE_SSL, does an inquiry reach a server that speaks TLS from the first byte, logged in?"""
    server = tls_smtp_server("ssl")
    assert_inquiry_delivered_encrypted(tls_app(smtp_app, server.port, "ssl"), server)


def assert_kept_for_retry(app, message_id: int, error: str):
    """One delivery pass fails with this error and keeps the message pending for a retry 30 s on; the row."""
    now = utcnow()
    report = run_pass(app, now=now)
    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    [row] = rows(app)
    assert (row.id, row.status, row.attempts) == (message_id, OutboxStatus.PENDING, 1)
    assert row.last_error == error
    assert row.next_attempt_at == now + timedelta(seconds=30)
    assert row.claimed_until is None and row.sent_at is None
    return row


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_a_refused_login_keeps_the_message_and_never_shows_the_password(
    smtp_app, tls_smtp_server, trust_test_ca, queue_message, caplog, capsys, mode
):
    """REL-01, SEC-13: is a message refused at login kept pending with its SMTP code, the password in no log or row?"""
    wrong = "sentinel-wrong-password-x9"
    server = tls_smtp_server(mode)
    app = tls_app(smtp_app, server.port, mode, password=wrong)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="coaching")  # after create_app, which sets the app's logger to INFO
    row = assert_kept_for_retry(app, queue_message(), "SMTPAuthenticationError (SMTP 535)")
    assert server.received == []

    secrets = [wrong, base64.b64encode(wrong.encode()).decode(),  # as sent by AUTH LOGIN
               base64.b64encode(f"\0{SMTP_USERNAME}\0{wrong}".encode()).decode()]  # and by AUTH PLAIN
    formatter = logging.Formatter()
    ours = [formatter.format(record) for record in caplog.records if not record.name.startswith("mail.log")]
    printed = capsys.readouterr()
    for secret in secrets:
        assert secret not in row.last_error
        assert secret not in printed.out + printed.err
        for line in ours:
            assert secret not in line, line

    fixed = tls_app(smtp_app, server.port, mode)  # the right password: the kept message goes out on its retry
    assert run_pass(fixed, now=row.next_attempt_at).sent == 1
    [mail] = server.received
    assert mail.message["Message-ID"] == row.message_id and mail.login == SMTP_USERNAME


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
@pytest.mark.parametrize("certificate", ["unknown-to-the-system", "from-another-ca", "for-another-host"])
def test_an_unverifiable_certificate_stops_delivery_and_keeps_the_message(
    request, monkeypatch, smtp_app, tls_smtp_server, queue_message, mode, certificate
):
    """Is a server whose certificate is untrusted or names another host refused before login, the message kept?"""
    if certificate == "unknown-to-the-system":
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the system's trust store, as in production
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        server = tls_smtp_server(mode)
    elif certificate == "from-another-ca":
        request.getfixturevalue("trust_test_ca")
        server = tls_smtp_server(mode, ca=trustme.CA())
    else:
        request.getfixturevalue("trust_test_ca")
        server = tls_smtp_server(mode, hostname="mail.example.org")
    app = tls_app(smtp_app, server.port, mode)
    assert_kept_for_retry(app, queue_message(), "SSLCertVerificationError")
    assert server.received == [] and server.logins_tried == []  # the password never went to that server


def assert_header_injection_refused(smtp_app, smtp_server, queue_message, field, breaker) -> None:
    """Queue a message with the breaker in one header field and check it fails without being sent."""
    sending_app = smtp_app(smtp_server.port)
    queue_message(**{field: f"someone@example.com{breaker}Bcc: x@evil.example"})
    report = run_pass(sending_app)
    assert (report.sent, report.retried, report.failed) == (0, 0, 1)
    [row] = rows(sending_app)
    assert row.status is OutboxStatus.FAILED
    assert f"line break or NUL in {field}" in row.last_error
    assert smtp_server.received == []


@pytest.mark.parametrize("field", ["recipient", "reply_to", "subject"])
@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r"])
def test_header_injection_is_never_sent(smtp_app, smtp_server, queue_message, field, breaker):
    """SEC-06: is a message with CR or LF in an address or subject refused, failed and never sent?"""
    assert_header_injection_refused(smtp_app, smtp_server, queue_message, field, breaker)


@pytest.mark.sqlite_only  # PostgreSQL refuses NUL in text columns, so no such row can exist there
@pytest.mark.parametrize("field", ["recipient", "reply_to", "subject"])
def test_nul_in_a_header_is_never_sent(smtp_app, smtp_server, queue_message, field):
    """SEC-06: is a message with NUL in an address or subject refused, failed and never sent?"""
    assert_header_injection_refused(smtp_app, smtp_server, queue_message, field, "\0")


def test_without_a_mail_server_messages_become_files(app_factory, tmp_path, queue_message, caplog):
    """Without MAIL_SERVER, is each message written to MAIL_FILE_DIR as an .eml that reads back right?"""
    caplog.set_level(logging.INFO, logger="coaching.mail.outbox")
    mail_dir = tmp_path / "mail"
    app = app_factory(MAIL_FILE_DIR=str(mail_dir), MAIL_DEFAULT_SENDER=SENDER)
    message_id = queue_message(subject="New inquiry from Zoë O'Hara")
    assert run_pass(app).sent == 1
    [path] = mail_dir.iterdir()
    assert re.fullmatch(rf"\d{{8}}T\d{{6}}Z-{message_id}-coach_notification\.eml", path.name)
    assert path.stat().st_mode & 0o077 == 0
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    [row] = rows(app)
    assert (message["Subject"], message["Message-ID"]) == ("New inquiry from Zoë O'Hara", row.message_id)
    assert [address.addr_spec for address in message["To"].addresses] == [COACH]
    assert [address.addr_spec for address in message["Reply-To"].addresses] == [VISITOR]
    assert row.status is OutboxStatus.SENT
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("mail:")]
    assert line == f"mail: no MAIL_SERVER set; wrote outbox message {message_id} to {mail_dir / path.name}"


def test_mail_files_default_to_instance_mail(app, queue_message, caplog):
    """Without MAIL_SERVER or MAIL_FILE_DIR, do message files go to instance/mail/, as the log says?"""
    caplog.set_level(logging.INFO, logger="coaching.mail.outbox")
    queue_message()
    assert run_pass(app).sent == 1
    [path] = (Path(app.instance_path) / "mail").iterdir()
    assert f"to instance/mail/{path.name}" in caplog.text


def test_delivery_logs_hold_no_addresses_subjects_or_bodies(
    smtp_app, closed_port, smtp_server, queue_message, caplog
):
    """SEC-13: do failing, refused and successful deliveries log ids and outcomes but no personal data?"""
    caplog.set_level(logging.DEBUG)
    sentinels = {
        "recipient": "sentinel-recipient-q7@example.com", "reply_to": "sentinel-visitor-q7@example.com",
        "subject": "Sentinel subject q7", "body_text": "Sentinel body q7", "body_html": "<p>Sentinel html q7</p>",
    }
    message_id = queue_message(**sentinels)
    queue_message(**{**sentinels, "recipient": "sentinel-recipient-q7@example.com\r\nBcc: x@evil.example"})
    now = utcnow()
    run_pass(smtp_app(closed_port, OUTBOX_MAX_ATTEMPTS=2), now=now)  # one retried, one refused
    run_pass(smtp_app(closed_port, OUTBOX_MAX_ATTEMPTS=1), now=now + timedelta(hours=1))  # gives up
    with smtp_app(smtp_server.port).app_context():
        resend(db.session.get(OutboxMessage, message_id))
        db.session.commit()
        assert deliver_pending().sent == 1
    ours = [record.getMessage() for record in caplog.records if not record.name.startswith("mail.log")]
    assert any(f"message {message_id} (coach_notification) sent" in line for line in ours)
    assert any("giving up: ConnectionRefusedError" in line for line in ours)
    for line in ours:
        for value in [*sentinels.values(), "sentinel", "Sentinel", "evil.example"]:
            assert value not in line, line


def test_flask_outbox_deliver_prints_the_counts(smtp_app, smtp_server, queue_message):
    """Does `flask outbox deliver` make one pass and print what it did?"""
    smtp_server.data_failures = 1
    app = smtp_app(smtp_server.port)
    queue_message()
    queue_message()
    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Outbox: 1 sent, 1 to retry, 0 failed."
    assert len(smtp_server.received) == 1


def test_flask_outbox_run_delivers(smtp_app, smtp_server, queue_message):
    """Does `flask outbox run --max-passes 1` say how to stop it, deliver, and stop?"""
    app = smtp_app(smtp_server.port)
    queue_message()
    result = app.test_cli_runner().invoke(args=["outbox", "run", "--max-passes", "1"])
    assert result.exit_code == 0, result.output
    assert "delivering due emails every 5 s; press Ctrl+C (or send SIGTERM) to stop" in result.output
    assert "Outbox: 1 sent, 0 to retry, 0 failed." in result.output
    assert "stopped after 1 pass." in result.output
    assert len(smtp_server.received) == 1


def test_flask_outbox_run_stops_cleanly_on_sigterm(smtp_app, smtp_server):
    """Does `flask outbox run` stop on SIGTERM without waiting out its poll, and restore the handler?"""
    app = smtp_app(smtp_server.port, OUTBOX_POLL_SECONDS=60)
    original = signal.getsignal(signal.SIGTERM)

    def terminate_once_listening() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if signal.getsignal(signal.SIGTERM) is not original:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.01)

    sender = threading.Thread(target=terminate_once_listening)
    sender.start()
    started = time.monotonic()
    result = app.test_cli_runner().invoke(args=["outbox", "run"])
    sender.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 10
    assert "stopped after 1 pass." in result.output
    assert signal.getsignal(signal.SIGTERM) is original


def test_kick_delivery_delivers_in_the_background(smtp_app, smtp_server, queue_message):
    """Does kick_delivery return at once and deliver in a background pass (and do nothing when turned off)?"""
    assert kick_delivery(smtp_app(smtp_server.port)) is None  # OUTBOX_DELIVER_AFTER_REQUEST off in tests
    app = smtp_app(smtp_server.port, OUTBOX_DELIVER_AFTER_REQUEST=True)
    queue_message()
    report = kick_delivery(app).result(timeout=10)
    assert report.sent == 1
    assert len(smtp_server.received) == 1


def test_kicks_while_a_pass_waits_share_it(smtp_app, smtp_server):
    """Do kicks that arrive while a pass is still waiting to start share that pass instead of queueing more?"""
    app = smtp_app(smtp_server.port, OUTBOX_DELIVER_AFTER_REQUEST=True)
    release = threading.Event()
    busy = outbox._executor.submit(release.wait, 10)  # occupy the single worker thread
    try:
        first, second = kick_delivery(app), kick_delivery(app)
        assert first is second
    finally:
        release.set()
    busy.result(timeout=10)
    assert first.result(timeout=10).sent == 0


def test_a_failing_background_pass_is_logged_not_lost(smtp_app, smtp_server, monkeypatch, caplog):
    """Is an exception inside a background pass logged (by class, without its text), never raised?"""
    caplog.set_level(logging.ERROR, logger="coaching.mail.outbox")

    def broken_pass(**_):
        raise RuntimeError("sentinel-visitor-q7@example.com")

    monkeypatch.setattr(outbox, "deliver_pending", broken_pass)
    future = kick_delivery(smtp_app(smtp_server.port, OUTBOX_DELIVER_AFTER_REQUEST=True))
    with pytest.raises(RuntimeError):
        future.result(timeout=10)
    deadline = time.monotonic() + 5
    while "background delivery pass failed" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)  # done-callbacks run just after the future's waiters wake
    assert "background delivery pass failed: RuntimeError at " in caplog.text
    assert "sentinel" not in caplog.text


def test_message_ids_use_the_sender_domain(app_factory):
    """Are Message-IDs unique and on the sending domain, whether the sender is a pair, a string or unset?"""
    paired = app_factory(MAIL_DEFAULT_SENDER=("Hope for Dystonia", "hello@hopefordystonia.example"))
    plain = app_factory(MAIL_DEFAULT_SENDER="Hope <news@example.org>")
    with paired.app_context():
        ids = {new_message_id() for _ in range(50)}
        assert all(re.fullmatch(r"<[^<>@\s]+@hopefordystonia\.example>", found) for found in ids)
        assert len(ids) == 50
    with plain.app_context():
        assert new_message_id().endswith("@example.org>")
    assert new_message_id().endswith("@hopefordystonia.local>")
    assert new_message_id("example.net").endswith("@example.net>")
