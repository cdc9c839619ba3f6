"""The contact form over HTTP: validation, no time limit, spam checks, limits, faults: nothing lost."""

from __future__ import annotations

import logging
import re
import time
from html import unescape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from coaching.extensions import db
from coaching.inquiries.models import Inquiry, InquiryStatus
from coaching.mail.models import EmailKind, OutboxMessage, OutboxStatus
from tests.factories import add_inquiry, row_count
from tests.forms import contact_form_fields, submit_contact

VALID = {
    "name": "Zoë O'Hara",
    "email": "zoe@example.org",
    "phone": "+44 20 7946 0000",
    "topic": "coaching",
    "message": "Hello,\r\nI have cervical dystonia and I'd love to talk about the Roadmap. ねこ",
    "consent": "y",
}


def body(response) -> str:
    """The response body as text, entities decoded."""
    return unescape(response.get_data(as_text=True))


def test_form_shows_every_field_with_consent_unchecked(client):
    """Does /contact show the heading, the named fields, an unchecked consent box and the privacy link?"""
    html = client.get("/contact").get_data(as_text=True)
    assert "I'd love to hear from you" in unescape(html)
    for name in ("name", "email", "phone", "topic", "message", "consent"):
        assert f'name="{name}"' in html, name
    consent = re.search(r'<input[^>]*name="consent"[^>]*>', html).group(0)
    assert "checked" not in consent
    assert 'href="/privacy"' in html
    assert 'autocomplete="email"' in html and 'autocomplete="name"' in html


@pytest.mark.parametrize("url", ["/", "/roadmap", "/blog/psychedelics-and-neuroplasticity", "/privacy", "/blog/"])
def test_every_page_links_to_the_contact_form(client, seeded, url):
    """Can a reader reach the contact form from the navigation of every page (and post ends)?"""
    html = client.get(url).get_data(as_text=True)
    assert 'href="/contact"' in html


def test_valid_message_is_stored_with_consent_and_emails_queued(app, client):
    """PRIV-01: is a valid message stored with consent time and notice version, its emails queued, then 303?"""
    response = submit_contact(client, VALID)
    assert response.status_code == 303
    assert response.headers["Location"] == "/contact/thanks"
    with app.app_context():
        inquiry = db.session.scalar(select(Inquiry))
        assert (inquiry.name, inquiry.email, inquiry.topic) == ("Zoë O'Hara", "zoe@example.org", "coaching")
        assert inquiry.message == VALID["message"]
        assert inquiry.consent_at is not None
        assert inquiry.privacy_notice_version == app.config["PRIVACY_NOTICE_VERSION"]
        assert inquiry.status is InquiryStatus.NEW
        emails = db.session.scalars(select(OutboxMessage)).all()
        assert {e.recipient for e in emails} == {app.config["COACH_EMAIL"], "zoe@example.org"}
        assert all(e.status is OutboxStatus.PENDING for e in emails)


def test_thanks_page_reassures_and_gives_a_fallback(client, app):
    """Does the thank-you page say it arrived, when to expect a reply, the email fallback and urgency?"""
    html = body(client.get("/contact/thanks"))
    assert "your message has arrived" in html
    assert app.config["REPLY_EXPECTATION"] in html
    assert app.config["PRACTICE_EMAIL"] in html
    assert "emergency" in html and 'role="status"' in html


def test_empty_form_gets_an_error_summary_and_field_errors(client):
    """A11Y-05: does an empty send list each problem in a focusable summary, worded as beside the field?"""
    response = submit_contact(client, {"name": "", "email": "", "message": "", "consent": None})
    html = body(response)
    assert response.status_code == 200
    assert "<title>Error: I'd love to hear from you" in html
    assert 'id="error-summary" tabindex="-1" autofocus' in html and "There is a problem" in html
    expected = {
        "name": "Enter your name so I know what to call you",
        "email": "Enter your email address so I can reply",
        "message": "Enter your message",
        "consent": "Tick the box to agree that I may keep your message so I can reply",
    }
    for field, message in expected.items():
        assert f'<li><a href="#{field}">{message}</a></li>' in html
        hidden_prefix = '<span class="visually-hidden">Error: </span>'
        assert f'<p class="error-message" id="{field}-error">{hidden_prefix}{message}</p>' in html
        tag = re.search(rf'<(?:input|textarea)[^>]*id="{field}"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in tag and f"{field}-error" in tag


def test_bad_email_keeps_everything_typed(client):
    """A11Y-06: after a validation error, is every typed value still in the form?"""
    data = dict(VALID, email="zoe at example")
    html = body(submit_contact(client, data))
    assert "Enter an email address in the correct format, like name@example.com" in html
    assert "value=\"Zoë O'Hara\"" in html  # body() has decoded the escaped apostrophe (&#39;)
    assert 'value="zoe at example"' in html
    assert 'value="+44 20 7946 0000"' in html
    assert re.search(r'<option selected value="coaching">|<option value="coaching" selected>', html)
    assert "I have cervical dystonia and I'd love to talk about the Roadmap. ねこ" in html
    assert re.search(r'<input[^>]*checked[^>]*name="consent"|<input[^>]*name="consent"[^>]*checked', html)


def test_over_long_message_says_by_how_much_and_keeps_the_text(client, app):
    """SEC-12: is a 6,000-character message refused with its length, the whole text kept, nothing stored?"""
    long_text = "word " * 1200
    html = body(submit_contact(client, dict(VALID, message=long_text)))
    assert "Your message must be 5,000 characters or fewer. It is 6,000 characters now" in html
    assert long_text.strip() in html
    assert row_count(app, Inquiry) == 0


def test_huge_request_gets_a_friendly_413(client):
    """SEC-12: does a request over MAX_CONTENT_LENGTH get the friendly 413 page, not a bare error?"""
    response = client.post("/contact", data={"message": "x" * 2_000_000})
    assert response.status_code == 413
    assert "too much to send" in body(response)


@pytest.mark.parametrize("token", [None, "", "tampered-token", "IjVmN2Y4In0.Zz.forged"])
def test_rejected_token_gives_the_form_back_filled(client, app, token):
    """A11Y-01, SEC-03: a missing or bad token → the form filled, a fresh token, a plain note, 0 rows."""
    response = submit_contact(client, VALID, csrf_token=token)
    html = body(response)
    assert response.status_code == 400
    assert "nothing you typed has been lost" in html
    assert "I have cervical dystonia" in html and 'value="zoe@example.org"' in html
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert fresh and fresh != token
    assert "Bad Request" not in html
    assert row_count(app, Inquiry) == 0
    retry = client.post("/contact", data=dict(contact_form_fields(html), **VALID))
    assert retry.status_code == 303


def test_form_opened_21_hours_ago_still_sends(client, monkeypatch):
    """A11Y-01: does a form whose token was made 21 hours ago still send (no CSRF time limit)?"""
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 21 * 3600)
    page = client.get("/contact")
    monkeypatch.setattr(time, "time", real_time)
    response = client.post("/contact", data=dict(contact_form_fields(page.get_data(as_text=True)), **VALID))
    assert response.status_code == 303


def test_visitor_session_survives_a_browser_restart(client):
    """A11Y-01: is the session cookie that holds the form token persistent (it has an expiry)?"""
    response = client.get("/contact")
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_honeypot_is_kept_as_spam_and_not_emailed(client, app):
    """Is a submission with the honeypot filled thanked, kept as spam, and emailed to nobody (only counted)?"""
    response = submit_contact(client, dict(VALID, website="http://spam.example"))
    assert response.status_code == 303
    with app.app_context():
        inquiry = db.session.scalar(select(Inquiry))
        assert inquiry.status is InquiryStatus.SPAM and inquiry.spam_reason == "honeypot field filled"
        assert inquiry.emails == []
        [digest] = db.session.scalars(select(OutboxMessage)).all()
        assert digest.kind is EmailKind.SPAM_DIGEST and digest.inquiry_id is None


def test_a_fast_send_is_delivered_not_hidden(app_factory):
    """Is a form sent faster than CONTACT_MIN_FILL_SECONDS kept as new and emailed, with its speed noted?"""
    from coaching.inquiries.intake import _signer

    app = app_factory(CONTACT_MIN_FILL_SECONDS=3)
    client = app.test_client()
    submit_contact(client, VALID)
    with app.test_request_context():
        three_days_ago = _signer().sign(str(int(time.time()) - 3 * 24 * 3600)).decode()
    submit_contact(client, dict(VALID, form_started=three_days_ago))
    with app.app_context():
        fast, slow = db.session.scalars(select(Inquiry).order_by(Inquiry.id))
        assert fast.status is slow.status is InquiryStatus.NEW
        assert fast.fill_seconds in (0, 1) and slow.fill_seconds >= 3 * 24 * 3600
        assert [e.kind for e in fast.emails] == [EmailKind.COACH_NOTIFICATION, EmailKind.VISITOR_ACKNOWLEDGEMENT]
        assert "after the page opened" in fast.emails[0].body_text
        assert "after the page opened" not in slow.emails[0].body_text


def test_double_click_makes_one_inquiry_and_one_set_of_emails(client, app):
    """REL-10: does the same submission sent twice make one inquiry and one set of emails?"""
    page = client.get("/contact").get_data(as_text=True)
    data = dict(contact_form_fields(page), **VALID)
    first = client.post("/contact", data=data)
    second = client.post("/contact", data=data)
    assert first.status_code == second.status_code == 303
    assert row_count(app, Inquiry) == 1
    assert row_count(app, OutboxMessage) == 2


def test_database_fault_keeps_the_text_and_says_so(client, app, caplog):
    """REL-09: if the commit fails, does the form come back filled with a plain 503 message and a logged incident?"""
    page = client.get("/contact").get_data(as_text=True)
    with app.app_context():
        for table in ("inquiry_notes", "outbox_messages", "inquiries"):  # children first
            db.session.execute(text(f"DROP TABLE {table}"))
        db.session.commit()
    with caplog.at_level(logging.ERROR):
        response = client.post("/contact", data=dict(contact_form_fields(page), **VALID))
    html = body(response)
    assert response.status_code == 503
    assert "couldn't save your message" in html and "Nothing you typed has been lost" in html
    assert "I have cervical dystonia" in html and 'value="zoe@example.org"' in html
    incident = re.search(r"reference ([0-9a-f]{12})", html).group(1)
    assert any(incident in record.getMessage() for record in caplog.records)


def test_a_refused_insert_that_is_no_double_send_gives_the_form_back(client, app):
    """REL-09: does an integrity failure other than a stored token give the filled form and a 503, never thanks?"""
    add_inquiry(app, emails=(OutboxStatus.SENT,))  # an email to the coach already stored
    with app.app_context():  # the database now refuses a second email to the coach (a fault, as a test makes one)
        db.session.execute(text("CREATE UNIQUE INDEX one_per_recipient ON outbox_messages (recipient)"))
        db.session.commit()
    page = client.get("/contact").get_data(as_text=True)
    response = client.post("/contact", data=dict(contact_form_fields(page), **VALID))
    html = body(response)
    assert response.status_code == 503 and "couldn't save your message" in html
    assert "I have cervical dystonia" in html and 'value="zoe@example.org"' in html
    assert row_count(app, Inquiry) == 1  # only the one stored before: the failed send left nothing half-written


def test_logs_hold_none_of_what_was_typed(client, caplog):
    """SEC-13: do log lines leave out the submitted name, email, phone and message?"""
    sentinel = dict(VALID, name="Sentinelname Qx", email="sentinel-qx@example.org",
                    phone="+1 555 0199 999", message="SENTINEL-HEALTH-DETAIL-QX")
    with caplog.at_level(logging.DEBUG):
        submit_contact(client, sentinel)
        submit_contact(client, dict(sentinel, email="bad"))
        submit_contact(client, sentinel, csrf_token="bad")
    logged = "\n".join(record.getMessage() + str(record.exc_info or "") for record in caplog.records)
    assert caplog.records
    for value in ("Sentinelname", "sentinel-qx", "555 0199", "SENTINEL-HEALTH"):
        assert value not in logged


def test_sixth_message_in_ten_minutes_is_paused_with_text_kept(limited_app_factory):
    """SEC-08: after 5 sends, is the 6th refused (429) with the text kept and when to retry?"""
    client = limited_app_factory().test_client()
    for _ in range(3):  # validation errors don't use up the limit
        assert submit_contact(client, dict(VALID, email="bad")).status_code == 200
    for number in range(5):
        assert submit_contact(client, VALID).status_code == 303, number
    response = submit_contact(client, VALID)
    html = body(response)
    assert response.status_code == 429
    assert "Nothing you typed has been lost" in html and "press Send again after" in html
    assert "I have cervical dystonia" in html and 'value="zoe@example.org"' in html
    assert 0 < int(response.headers["Retry-After"]) <= 600


def test_limit_holds_across_workers_sharing_redis(app_factory, redis_url):
    """SEC-08: with a shared Redis store, do two app processes together allow only 5 sends?"""
    from coaching.extensions import limiter

    workers = [app_factory(RATELIMIT_STORAGE_URI=redis_url).test_client() for _ in range(2)]
    limiter.reset()
    statuses = [submit_contact(workers[number % 2], VALID).status_code for number in range(7)]
    assert statuses == [303] * 5 + [429] * 2


def test_spoofed_forwarded_for_does_not_reset_the_limit(limited_app_factory):
    """SEC-08: without a trusted proxy, does a made-up X-Forwarded-For leave the limit in place?"""
    client = limited_app_factory().test_client()
    for number in range(5):
        submit_contact(client, VALID, headers={"X-Forwarded-For": f"203.0.113.{number}"})
    response = submit_contact(client, VALID, headers={"X-Forwarded-For": "198.51.100.77"})
    assert response.status_code == 429


def test_behind_a_proxy_each_visitor_has_their_own_limit(limited_app_factory):
    """SEC-08: with PROXY_FIX_HOPS=1, is the client address taken from the proxy's header?"""
    client = limited_app_factory(PROXY_FIX_HOPS=1).test_client()
    for _ in range(5):
        submit_contact(client, VALID, headers={"X-Forwarded-For": "203.0.113.5"})
    assert submit_contact(client, VALID, headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    assert submit_contact(client, VALID, headers={"X-Forwarded-For": "203.0.113.6"}).status_code == 303


def test_rate_limits_can_be_switched_off_for_load_tests(app_factory):
    """Does RATELIMIT_ENABLED=false let any number of messages through?"""
    client = app_factory(RATELIMIT_ENABLED=False).test_client()
    assert all(submit_contact(client, VALID).status_code == 303 for _ in range(7))


NASTY_TEXT = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\r", "\n", "\r\n", "\x00", "\x0b", "\u2028", "Bcc: x@evil.example", "%0d%0a",
                         "<script>", "ねこ", "Zoë", "'", '"', "@", "example.org"]),
    ),
    max_size=60,
).map("".join) | st.sampled_from(["", " ", "a" * 6000, "x@example.org\r\nBcc: victim@evil.example",
                     "Zoë\nBcc: victim@evil.example", "\x00"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NASTY_TEXT, email=NASTY_TEXT | st.just("fuzz@example.org"), phone=NASTY_TEXT,
       topic=NASTY_TEXT | st.sampled_from(["coaching", "other"]), message=NASTY_TEXT)
def test_fuzzed_fields_never_break_the_form_or_add_recipients(fuzz_app, name, email, phone, topic, message):
    """SEC-06: whatever is typed into any field, is it never a 500 and never an extra recipient?"""
    client = fuzz_app.test_client()
    response = submit_contact(client, {"name": name, "email": email, "phone": phone, "topic": topic,
                                       "message": message, "consent": "y"})
    assert response.status_code in (200, 303)
    with fuzz_app.app_context():
        for email_row in db.session.scalars(select(OutboxMessage)):
            assert email_row.recipient in {fuzz_app.config["COACH_EMAIL"], email_row.inquiry.email}
            for header in (email_row.recipient, email_row.reply_to or "", email_row.subject):
                assert not re.search(r"[\r\n\x00]", header)


def wait_for_background_delivery(app) -> None:
    """Let the web process's background delivery pass finish before the test's database goes away."""
    from coaching.mail.outbox import kick_delivery

    future = kick_delivery(app)
    if future is not None:
        future.result(timeout=60)


def test_fifty_messages_are_kept_while_smtp_is_down(smtp_app, closed_port):
    """REL-01: with the mail server down, do 50 sends all reach the thank-you page and all 50 stay queued?"""
    app = smtp_app(closed_port, OUTBOX_DELIVER_AFTER_REQUEST=True, RATELIMIT_ENABLED=False)
    client = app.test_client()
    for number in range(50):
        response = submit_contact(client, dict(VALID, message=f"Message number {number}"))
        assert response.status_code == 303
        assert client.get(response.headers["Location"]).status_code == 200
    wait_for_background_delivery(app)
    assert row_count(app, Inquiry) == 50
    with app.app_context():
        statuses = list(db.session.scalars(select(OutboxMessage.status)))
    assert len(statuses) == 100
    assert OutboxStatus.SENT not in statuses


def test_a_hung_mail_server_never_holds_up_the_visitor(smtp_app, hung_smtp_server):
    """REL-01/02: with a server that never answers, does the visitor still get the thank-you page at once?"""
    app = smtp_app(hung_smtp_server, OUTBOX_DELIVER_AFTER_REQUEST=True, MAIL_TIMEOUT=3)
    client = app.test_client()
    page = client.get("/contact").get_data(as_text=True)
    started = time.monotonic()
    response = client.post("/contact", data=dict(contact_form_fields(page), **VALID))
    answered_in = time.monotonic() - started
    assert response.status_code == 303
    assert answered_in < app.config["MAIL_TIMEOUT"]  # a bound on waiting, not a speed goal
    wait_for_background_delivery(app)
    with app.app_context():
        assert {row.status for row in db.session.scalars(select(OutboxMessage))} == {OutboxStatus.PENDING}
