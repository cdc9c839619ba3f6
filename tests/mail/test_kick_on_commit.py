"""A commit that stores an email starts its delivery (kick_on_commit.py), against a real SMTP server (aiosmtpd).

Nobody here calls kick_delivery to send: the apps deliver after commits (OUTBOX_DELIVER_AFTER_REQUEST on),
and the `kicks` fixture counts the passes the hook started through the real kick_delivery.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from coaching.accounts import password_reset
from coaching.database import utcnow
from coaching.extensions import csrf, db
from coaching.inquiries.models import Inquiry, InquiryStatus
from coaching.mail import outbox
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.outbox import compose_email, kick_delivery, new_message_id, resend
from tests.factories import ADMIN_EMAIL, add_inquiry
from tests.forms import csrf_token_of, post, sign_in, submit_contact

COACH = "coach@hopefordystonia.example"
VISITOR = "zoe.ohara@example.com"
VALID = {"name": "Zoë O'Hara", "email": VISITOR, "message": "I'd like to talk about my recovery.", "consent": "y"}
BOT = dict(VALID, name="Bot", email="bot@example.org", website="http://filled.example")
WAIT = 10  # seconds a background pass may take to deliver a message to the local server


@pytest.fixture
def delivering_app(smtp_app, smtp_server):
    """An app that delivers after commits (as production does) to smtp_server; waits for its passes at the end."""
    built = smtp_app(smtp_server.port, OUTBOX_DELIVER_AFTER_REQUEST=True, RATELIMIT_ENABLED=False)
    yield built
    wait_for_passes()  # before the test's database goes away


@pytest.fixture
def kicks(monkeypatch) -> list:
    """Each pass the commit hook started: its calls to kick_delivery, passed on to the real one, that started one."""
    calls = []

    def counted(app=None):
        future = kick_delivery(app)
        if future is not None:  # None: an app that doesn't deliver after commits (the `app` fixture)
            calls.append(future)
        return future

    monkeypatch.setattr(outbox, "kick_delivery", counted)
    return calls


def wait_for_passes() -> None:
    """Wait until every pass handed to the outbox thread so far has finished (it runs them in order)."""
    outbox._executor.submit(lambda: None).result(timeout=120)


def wait_for_mail(server, count: int) -> None:
    """Wait until the SMTP server has received this many messages (or WAIT seconds have passed)."""
    deadline = time.monotonic() + WAIT
    while len(server.received) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.received) >= count, f"{len(server.received)} of {count} emails arrived"


def an_email(subject: str = "Hello from the outbox", **fields) -> OutboxMessage:
    """A queued email to the coach, due now."""
    return OutboxMessage(kind=EmailKind.COACH_NOTIFICATION, message_id=new_message_id(), recipient=COACH,
                         reply_to=None, subject=subject, body_text="Hello.\n", **fields)


def store_email(app, **fields) -> int:
    """Store an email, due now, through `app` and return its id (the `app` fixture's commits start no pass)."""
    with app.app_context():
        message = an_email(**fields)
        db.session.add(message)
        db.session.commit()
        return message.id


def an_inquiry() -> Inquiry:
    """An inquiry row with no email."""
    now = utcnow()
    return Inquiry(name="Zoë", email=VISITOR, message="Hello.", consent_at=now, privacy_notice_version="2026-11-25",
                   submission_token=uuid.uuid4().hex, created_at=now)


def status_of(app, message_id: int) -> tuple[OutboxStatus, int]:
    """A stored email's status and attempts."""
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        return row.status, row.attempts


def queue_from_a_new_view(app) -> None:
    """A feature written after this hook: its view stores an email and commits, and says nothing of delivery."""

    @csrf.exempt
    def new_feature():
        db.session.add(compose_email(None, EmailKind.COACH_NOTIFICATION, COACH, None, "From a new feature",
                                     "visitor_acknowledgement"))
        db.session.commit()
        return "", 204

    app.add_url_rule("/a-new-feature", view_func=new_feature, methods=["POST"])
    assert app.test_client().post("/a-new-feature").status_code == 204


def queue_from_a_service_in_a_request(app) -> None:
    """A service called inside a request, then a commit: the password-reset email, with no view around it."""
    with app.test_request_context("/somewhere-new", method="POST"):
        assert password_reset.request_reset(ADMIN_EMAIL, "127.0.0.1")
        db.session.commit()


def queue_outside_any_request(app) -> None:
    """A row added and committed with no request at all (as a `flask` command would)."""
    with app.app_context():
        db.session.add(an_email())
        db.session.commit()


@pytest.mark.parametrize("queue", [queue_from_a_new_view, queue_from_a_service_in_a_request,
                                   queue_outside_any_request])
def test_an_email_any_code_commits_is_delivered(delivering_app, smtp_server, kicks, admin_user, queue):
    """Is an email stored by any code that commits (a new view, a service in a request, a command) delivered unasked?"""
    queue(delivering_app)
    wait_for_mail(smtp_server, 1)
    assert len(kicks) == 1
    wait_for_passes()
    with delivering_app.app_context():
        assert db.session.scalars(select(OutboxMessage.status)).all() == [OutboxStatus.SENT]


def contact_form(app) -> int:
    """Send the contact form: the coach's notification and the visitor's acknowledgement."""
    assert submit_contact(app.test_client(), VALID).status_code == 303
    return 2


def admin(app):
    """A client signed in as the coach, and a CSRF token for it."""
    client = app.test_client()
    assert sign_in(client).status_code == 303
    return client, csrf_token_of(client, "/admin/inquiries")


def reply(app) -> int:
    """The coach's reply to an inquiry."""
    inquiry_id = add_inquiry(app, status=InquiryStatus.READ)
    client, token = admin(app)
    response = post(client, token, f"/admin/inquiries/{inquiry_id}/reply", subject="Re: hello", body="Dear Zoë,")
    assert response.status_code == 303
    return 1


def not_spam(app) -> int:
    """"Not spam" on a held inquiry: the notification and acknowledgement that were held back."""
    inquiry_id = add_inquiry(app, status=InquiryStatus.SPAM)
    client, token = admin(app)
    assert post(client, token, f"/admin/inquiries/{inquiry_id}/status/not-spam").status_code == 303
    return 2


def resend_button(app) -> int:
    """Resend on a failed email: the same row made pending again."""
    inquiry_id = add_inquiry(app, emails=(OutboxStatus.FAILED,))
    with app.app_context():
        message_id = db.session.scalar(select(OutboxMessage.id))
    client, token = admin(app)
    assert post(client, token, f"/admin/inquiries/{inquiry_id}/emails/{message_id}/resend").status_code == 303
    return 1


def forgot_password(app) -> int:
    """A password-reset link asked for."""
    client = app.test_client()
    token = csrf_token_of(client, "/admin/forgot-password")
    assert post(client, token, "/admin/forgot-password", email=ADMIN_EMAIL).status_code == 303
    return 1


@pytest.mark.parametrize("use", [contact_form, reply, not_spam, resend_button, forgot_password])
def test_every_view_that_queues_email_has_it_delivered(delivering_app, smtp_server, kicks, admin_user, use):
    """Do the contact form, reply, "not spam", resend and forgot-password views still have their email delivered?"""
    expected = use(delivering_app)
    wait_for_mail(smtp_server, expected)
    assert len(kicks) == 1  # one commit stored them: one kick
    wait_for_passes()
    assert len(smtp_server.received) == expected


def rolled_back(session) -> None:
    """Flush an email, then roll back."""
    session.add(an_email("Never to be sent"))
    session.flush()
    session.rollback()


def failed_commit(session) -> None:
    """Flush an email, then a commit that fails (a duplicate submission token), then roll back."""
    session.add(an_email("Never to be sent"))
    session.flush()
    first, second = an_inquiry(), an_inquiry()
    second.submission_token = first.submission_token
    session.add_all([first, second])
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def closed_unfinished(session) -> None:
    """Flush an email, then close the session without committing."""
    session.add(an_email("Never to be sent"))
    session.flush()
    session.close()


@pytest.mark.parametrize("undo", [rolled_back, failed_commit, closed_unfinished])
def test_a_rolled_back_email_kicks_nothing(app, delivering_app, smtp_server, kicks, undo):
    """Does a transaction that flushed an email and was rolled back start no pass, even at the session's next commit?"""
    waiting = store_email(app)  # due now: a pass, had one started, would send it
    with delivering_app.app_context():
        undo(db.session)
        db.session.add(an_inquiry())
        db.session.commit()  # the same session's next transaction stores no email
        assert "Never to be sent" not in db.session.scalars(select(OutboxMessage.subject)).all()
    wait_for_passes()
    assert kicks == []
    assert smtp_server.received == []
    assert status_of(app, waiting) == (OutboxStatus.PENDING, 0)


def an_inquiry_alone(app, _waiting: int, _sent: int) -> None:
    """Commit an inquiry without any email."""
    with app.app_context():
        db.session.add(an_inquiry())
        db.session.commit()


def a_sent_email_changed(app, _waiting: int, sent: int) -> None:
    """Change an email that was already sent and commit."""
    with app.app_context():
        db.session.get(OutboxMessage, sent).body_text = "[removed]"
        db.session.commit()


def a_waiting_email_only_read(app, waiting: int, _sent: int) -> None:
    """Read a pending email (the inquiry page does) and commit without changing it."""
    with app.app_context():
        assert db.session.get(OutboxMessage, waiting).status is OutboxStatus.PENDING
        db.session.commit()


def a_waiting_email_set_as_it_was(app, waiting: int, _sent: int) -> None:
    """Set a pending email's subject to what it already was and commit (no change to flush)."""
    with app.app_context():
        row = db.session.get(OutboxMessage, waiting)
        row.subject = str(row.subject)
        db.session.commit()


@pytest.mark.parametrize("commit", [an_inquiry_alone, a_sent_email_changed, a_waiting_email_only_read,
                                    a_waiting_email_set_as_it_was])
def test_a_commit_that_stores_no_email_kicks_nothing(app, delivering_app, smtp_server, kicks, commit):
    """Does a commit that adds no email (nor makes one pending) start no pass?"""
    waiting = store_email(app)
    sent = store_email(app, status=OutboxStatus.SENT, attempts=1, sent_at=utcnow())
    commit(delivering_app, waiting, sent)
    wait_for_passes()
    assert kicks == []
    assert smtp_server.received == []
    assert status_of(app, waiting) == (OutboxStatus.PENDING, 0)


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_an_email_in_a_savepoint_waits_for_the_outer_commit(delivering_app, smtp_server, kicks, outcome):
    """Does an email stored in a savepoint start a pass only once the outer transaction commits (none on rollback)?"""
    with delivering_app.app_context():
        db.session.add(an_inquiry())
        db.session.flush()
        with db.session.begin_nested():
            db.session.add(an_email())
        wait_for_passes()
        assert kicks == []  # the savepoint is released, but nothing is committed yet
        getattr(db.session, outcome)()
    wait_for_passes()
    assert len(kicks) == len(smtp_server.received) == (1 if outcome == "commit" else 0)


def test_delivery_passes_start_no_pass_of_their_own(app, delivering_app, smtp_server, kicks):
    """Do the commits of `flask outbox run` and of a background pass (sending, retrying) start no further pass?"""
    smtp_server.data_failures = 1  # the first message is refused once (451): a retry is recorded too
    first, second = store_email(app), store_email(app)
    result = delivering_app.test_cli_runner().invoke(args=["outbox", "run", "--max-passes", "1"])
    assert "1 sent, 1 to retry" in result.output, result.output
    with delivering_app.app_context():
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))  # the retry is due now
        db.session.commit()
    assert kick_delivery(delivering_app).result(timeout=WAIT).sent == 1  # the real one, not counted
    wait_for_passes()
    assert kicks == []
    assert {status_of(app, first), status_of(app, second)} == {(OutboxStatus.SENT, 1), (OutboxStatus.SENT, 2)}
    assert len(smtp_server.received) == 2


def test_a_resent_email_is_delivered(app, delivering_app, smtp_server, kicks):
    """Does resending a failed email (a row made pending again, not a new one) start a pass that delivers it?"""
    failed = store_email(app, status=OutboxStatus.FAILED, attempts=10, last_error="ConnectionRefusedError")
    with delivering_app.app_context():
        resend(db.session.get(OutboxMessage, failed))
        db.session.commit()
    wait_for_mail(smtp_server, 1)
    assert len(kicks) == 1
    wait_for_passes()
    assert status_of(app, failed) == (OutboxStatus.SENT, 1)


def test_spam_counted_into_a_due_digest_sends_it(app, delivering_app, smtp_server, kicks):
    """Does a spam message counted into a summary already due start the pass that sends it, as the form's kick did?"""
    assert submit_contact(delivering_app.test_client(), BOT).status_code == 303  # opens a summary due at 18:00
    wait_for_passes()
    assert smtp_server.received == []
    with app.app_context():  # its hour has come, but nothing has sent it yet (no `flask outbox run`)
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    assert submit_contact(delivering_app.test_client(), BOT).status_code == 303  # counted into that summary
    wait_for_mail(smtp_server, 1)
    assert len(kicks) == 2
    [mail] = smtp_server.received
    assert mail.message["Subject"] == "2 messages were put in spam on your website"


def test_a_failing_kick_never_fails_the_commit(delivering_app, monkeypatch, caplog):
    """SEC-13: if starting a pass raises, is the commit still kept and the failure logged by class, not its text?"""
    caplog.set_level(logging.ERROR, logger="coaching.mail.kick_on_commit")

    def broken(app=None):
        raise RuntimeError("sentinel-visitor-q7@example.com")

    monkeypatch.setattr(outbox, "kick_delivery", broken)
    message_id = store_email(delivering_app)
    assert status_of(delivering_app, message_id) == (OutboxStatus.PENDING, 0)
    assert "could not start a delivery pass after a commit: RuntimeError" in caplog.text
    assert "sentinel" not in caplog.text
