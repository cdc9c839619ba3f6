"""Background delivery waits for a quiet moment in the web process (request_activity.py), against real SMTP."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from coaching.extensions import db
from coaching.mail import outbox, request_activity
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from coaching.mail.request_activity import RequestActivity
from tests.forms import submit_contact

QUIET = 0.3  # seconds: far longer than the gap between two test-client requests, even on a busy machine
VALID = {"name": "Zoë O'Hara", "email": "zoe.ohara@example.com", "topic": "roadmap",
         "message": "My neck turns when I write. QUIET-MOMENT-TEXT", "consent": "y"}


@pytest.fixture
def quiet_period(monkeypatch):
    """A longer quiet period than production's, so a burst of test requests never leaves a gap that long."""
    monkeypatch.setattr(request_activity, "QUIET_SECONDS", QUIET)
    return QUIET


def test_a_running_request_is_never_quiet():
    """Is the process quiet only when no request runs, and for as long as the last one has been over?"""
    activity = RequestActivity()
    assert activity.quiet_for() == float("inf")
    activity.started()
    time.sleep(0.02)
    assert activity.quiet_for() == 0.0
    activity.finished()
    time.sleep(0.02)
    assert 0.01 < activity.quiet_for() < 1


def test_waiting_lasts_while_requests_keep_coming():
    """Does wait_until_quiet return only after requests stop, and at once when there were none?"""
    activity = RequestActivity()
    began = time.monotonic()
    activity.wait_until_quiet(0.2)
    assert time.monotonic() - began < 0.1
    stop = threading.Event()

    def requests() -> None:
        while not stop.is_set():
            activity.started()
            time.sleep(0.01)
            activity.finished()
            time.sleep(0.005)

    thread = threading.Thread(target=requests)
    thread.start()
    waiter = threading.Thread(target=activity.wait_until_quiet, args=(0.2,))
    waiter.start()
    time.sleep(0.6)
    assert waiter.is_alive()  # still waiting: no 0.2 s gap yet
    stop.set()
    thread.join()
    stopped = time.monotonic()
    waiter.join(timeout=5)
    assert not waiter.is_alive()
    assert 0.15 < time.monotonic() - stopped < 2


def test_emails_wait_while_visitors_keep_coming_then_go_with_the_right_content(smtp_app, smtp_server, quiet_period):
    """Under a stream of requests, are the contact form's emails stored and held back, then sent, correct, after?"""
    app = smtp_app(smtp_server.port, OUTBOX_DELIVER_AFTER_REQUEST=True, RATELIMIT_ENABLED=False)
    client = app.test_client()
    assert submit_contact(client, VALID).status_code == 303
    busy_until = time.monotonic() + 4 * quiet_period
    while time.monotonic() < busy_until:  # visitors one after another: never a quiet moment
        assert client.get("/contact/thanks").status_code == 200
    assert smtp_server.received == []
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage.status)).all() == [OutboxStatus.PENDING] * 2
    deadline = time.monotonic() + 10
    while len(smtp_server.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    outbox._executor.submit(lambda: None).result(timeout=60)  # the pass has recorded what it sent
    coach_email = app.config["COACH_EMAIL"]
    coach, visitor = sorted((mail.message for mail in smtp_server.received), key=lambda m: m["To"] != coach_email)
    assert coach["To"] == coach_email and coach["Reply-To"] == VALID["email"]
    assert coach["Subject"] == "New inquiry from Zoë O'Hara"
    assert "QUIET-MOMENT-TEXT" in coach.get_body(("plain",)).get_content()
    assert visitor["To"] == VALID["email"] and "QUIET-MOMENT-TEXT" not in visitor.as_string()
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage.kind, OutboxMessage.status)).all()
    assert sorted(rows, key=lambda row: row.kind.value) == [
        (EmailKind.COACH_NOTIFICATION, OutboxStatus.SENT), (EmailKind.VISITOR_ACKNOWLEDGEMENT, OutboxStatus.SENT)]
