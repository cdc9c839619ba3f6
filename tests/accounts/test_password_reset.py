"""A forgotten password, reset by an emailed link: delivered for real over SMTP, once, for an hour."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from coaching.accounts import credentials, password_reset
from coaching.accounts.models import AdminUser
from coaching.database import utcnow
from coaching.extensions import db
from coaching.mail.models import EmailKind, OutboxMessage
from coaching.mail.outbox import deliver_pending
from tests.apps import PRODUCTION, TEST_SECRET_KEY
from tests.factories import ADMIN_EMAIL, ADMIN_PASSWORD, add_admin, row_count
from tests.forms import csrf_token_of, post, sign_in, text_of

NEW_PASSWORD = "quiet-harbour-morning-tea"
SENT_PAGE = "/admin/forgot-password/sent"
FORM_PAGE = "/admin/reset-password"
LINK = re.compile(r"https?://[^\s<>\"]+/admin/reset-password/[A-Za-z0-9_.\-]+")


def ask_for_link(client, email: str = ADMIN_EMAIL, **request_options):
    """Open the forgot-password page and ask for a link for this address (headers=, environ_overrides=...)."""
    page = client.get("/admin/forgot-password", **request_options)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text_of(page)).group(1)
    return client.post("/admin/forgot-password", data={"csrf_token": token, "email": email}, **request_options)


def delivered_links(app, server) -> list[str]:
    """Deliver what is queued to the real SMTP server; the reset link in each email it holds."""
    with app.app_context():
        deliver_pending()
    links = []
    for mail in server.received:
        [link] = LINK.findall(mail.message.get_body(("plain",)).get_content())
        assert link in mail.message.get_body(("html",)).get_content()
        links.append(link)
    return links


def open_link(client, link: str):
    """Open a reset link as the coach's mail client would (only its path reaches the test app)."""
    return client.get(urlsplit(link).path)


def choose_password(client, password: str = NEW_PASSWORD, again: str | None = None):
    """Fill the new-password page (opened by a link) and send it."""
    token = csrf_token_of(client, FORM_PAGE)
    return post(client, token, FORM_PAGE, new_password=password,
                confirm_password=password if again is None else again)


def token_for(app, user_id: int, **kwargs) -> str:
    """A reset token for this admin made directly (now=... for an old one)."""
    with app.app_context():
        return password_reset.issue_token(db.session.get(AdminUser, user_id), **kwargs)


def enable_totp(app, user_id: int) -> str:
    """Turn the second factor on for an account; its secret."""
    with app.app_context():
        user = db.session.get(AdminUser, user_id)
        user.totp_secret, user.totp_enabled = credentials.new_totp_secret(), True
        db.session.commit()
        return user.totp_secret


def assert_link_refused(client, response) -> None:
    """The link's redirect leads to the plain "can't be used" page, with a way to ask for a new one."""
    assert response.status_code == 303 and response.headers["Location"] == FORM_PAGE
    page = client.get(FORM_PAGE)
    html = text_of(page)
    assert page.status_code == 400 and page.headers["Cache-Control"] == "no-store"
    assert "This link can't be used" in html and 'href="/admin/forgot-password"' in html
    assert "new_password" not in html


@pytest.fixture
def mail_app(smtp_app, smtp_server):
    """An app that mails the real SMTP server, with the coach's account in it."""
    app = smtp_app(smtp_server.port)
    app.admin_id = add_admin(app)
    return app


def test_sign_in_page_offers_a_forgotten_password_page(client):
    """A11Y-07: does sign-in link to a no-store forgot-password page with one username-autocomplete field?"""
    assert 'href="/admin/forgot-password">Forgot your password?</a>' in text_of(client.get("/admin/login"))
    response = client.get("/admin/forgot-password")
    html = text_of(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert html.count("<input") == 2 and 'autocomplete="username"' in html  # the email and the CSRF token


def test_the_email_reaches_exactly_the_admin_with_a_link_that_works(mail_app, smtp_server):
    """Does the email arrive to the admin's address only, with a link that sets a new password?"""
    client = mail_app.test_client()
    response = ask_for_link(client, email="  Coach@Example.ORG ")
    assert response.status_code == 303 and response.headers["Location"] == SENT_PAGE
    [link] = delivered_links(mail_app, smtp_server)
    [mail] = smtp_server.received
    assert mail.rcpt_tos == [ADMIN_EMAIL]
    assert [address.addr_spec for address in mail.message["To"].addresses] == [ADMIN_EMAIL]
    assert mail.message["Subject"] == "Choose a new password for Hope for Dystonia"
    assert "1 hour, and only once" in mail.message.get_body(("plain",)).get_content()
    [row] = db_rows(mail_app)
    assert row.kind is EmailKind.PASSWORD_RESET and row.inquiry_id is None

    opened = open_link(client, link)
    assert opened.status_code == 303 and opened.headers["Location"] == FORM_PAGE  # the token leaves the address
    assert opened.headers["Cache-Control"] == "no-store"
    form = client.get(FORM_PAGE)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert text_of(form).count('autocomplete="new-password"') == 2 and "onpaste" not in text_of(form)
    done = choose_password(client)
    assert done.status_code == 303 and done.headers["Location"] == "/admin/login"
    assert client.get("/admin/").status_code == 302  # not signed in by the reset
    assert "Your password has been changed. Sign in with your new password." in text_of(client.get("/admin/login"))
    assert sign_in(client, password=ADMIN_PASSWORD).status_code == 400
    assert sign_in(client, password=NEW_PASSWORD).status_code == 303


def db_rows(app) -> list[OutboxMessage]:
    """Every outbox row, detached for reading."""
    with app.app_context():
        found = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return found


def test_an_unknown_address_gets_the_same_answer_and_no_email(mail_app, smtp_server):
    """Is the answer for an address with no account the same as for the coach's, with nothing sent?"""
    answers = []
    for email in ("nobody@example.org", ADMIN_EMAIL):
        client = mail_app.test_client()
        response = ask_for_link(client, email=email)
        page = client.get(response.headers["Location"])
        assert page.headers["Cache-Control"] == "no-store"
        answers.append((response.status_code, response.headers["Location"], page.status_code, text_of(page)))
        if email != ADMIN_EMAIL:
            assert delivered_links(mail_app, smtp_server) == []
    assert answers[0] == answers[1]
    status, location, page_status, html = answers[0]
    assert (status, location, page_status) == (303, SENT_PAGE, 200)
    assert "Check your email" in html and "within a few minutes" in html and "1 hour" in html
    assert 'href="/admin/forgot-password"' in html
    assert len(delivered_links(mail_app, smtp_server)) == 1


def test_an_address_typed_wrongly_gets_a_field_error_that_keeps_it(client):
    """A11Y-05/06: does a malformed address come back with the error summary, the message and the text?"""
    response = ask_for_link(client, email="coach at example")
    html = text_of(response)
    assert response.status_code == 400
    assert "<title>Error: " in html and "There is a problem" in html
    assert "Enter an email address in the correct format, like name@example.com" in html
    assert 'aria-invalid="true"' in html and 'value="coach at example"' in html


def test_the_link_works_once_and_not_twice(mail_app, smtp_server):
    """Once the new password is set, does the same link show the plain "can't be used" page?"""
    client = mail_app.test_client()
    ask_for_link(client)
    [link] = delivered_links(mail_app, smtp_server)
    open_link(client, link)
    assert choose_password(client).status_code == 303
    assert_link_refused(client, open_link(client, link))
    second = mail_app.test_client()
    assert_link_refused(second, open_link(second, link))


@pytest.mark.parametrize(("age", "works"), [(timedelta(minutes=59), True), (timedelta(minutes=61), False)])
def test_the_link_works_for_an_hour(app, client, admin_user, age, works):
    """Does a link made 59 minutes ago open, and one made 61 minutes ago not?"""
    token = token_for(app, admin_user, now=utcnow() - age)
    opened = client.get(f"/admin/reset-password/{token}")
    if works:
        assert client.get(FORM_PAGE).status_code == 200
    else:
        assert_link_refused(client, opened)


@pytest.mark.parametrize(("typing", "works"), [(timedelta(minutes=50), True), (timedelta(minutes=61), False)])
def test_an_opened_page_gives_an_hour_to_type_then_asks_for_a_new_link(app, client, admin_user, typing, works):
    """A11Y-01: is a link opened at minute 59 still usable 50 minutes later, but not 61 minutes later?"""
    token = token_for(app, admin_user, now=utcnow() - timedelta(minutes=59) - typing)
    client.get(f"/admin/reset-password/{token}")
    with client.session_transaction() as session:
        kept = dict(session["password_reset_link"])
        kept["opened"] -= typing.total_seconds()  # it was opened that long ago, 59 minutes after it was sent
        session["password_reset_link"] = kept
    assert client.get(FORM_PAGE).status_code == (200 if works else 400)


@pytest.mark.parametrize("change", ["password", "signed out everywhere"])
def test_the_link_stops_working_once_the_password_changes(app, client, admin_user, change):
    """Is a link refused once the password was changed (or every session ended) after it was sent?"""
    token = token_for(app, admin_user)
    with app.app_context():
        user = db.session.get(AdminUser, admin_user)
        if change == "password":
            credentials.set_password(user, "another-long-pass-phrase")
        else:
            credentials.end_other_sessions(user)
        db.session.commit()
    assert_link_refused(client, client.get(f"/admin/reset-password/{token}"))


def forged_links(app, user_id: int) -> list[str]:
    """Links that must be refused: nonsense, a cut-off token, another salt, another key, an absurd length."""
    real = token_for(app, user_id)
    with app.app_context():
        user = db.session.get(AdminUser, user_id)
        payload = [user.id, password_reset._fingerprint(user)]
    return ["not-a-token", real[:-3], real + "x",
            URLSafeTimedSerializer(TEST_SECRET_KEY, salt="contact-form-started").dumps(payload),
            URLSafeTimedSerializer("another-key", salt=password_reset.SALT).dumps(payload),
            URLSafeTimedSerializer(TEST_SECRET_KEY, salt=password_reset.SALT).dumps({"id": 1}),
            "A" * 2000]


def test_forged_and_mangled_links_get_the_plain_page_never_an_error(app, admin_user):
    """Is every forged, cut or oversized link answered with the plain page, never a bare 400 or a 500?"""
    for number, link in enumerate(forged_links(app, admin_user)):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{number}"  # each from its own address: no waiting
        assert_link_refused(client, client.get(f"/admin/reset-password/{link}"))
    client = app.test_client()
    assert "This link can't be used" in text_of(client.get(FORM_PAGE))  # no link opened at all


def test_the_new_password_ends_every_other_session(app, admin_client, admin_user):
    """SEC-10: after a reset, is a client signed in with the old password signed out?"""
    assert admin_client.get("/admin/").status_code == 200
    client = app.test_client()
    client.get(f"/admin/reset-password/{token_for(app, admin_user)}")
    assert choose_password(client).status_code == 303
    response = admin_client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_with_two_step_sign_in_the_code_is_still_asked_for_after_a_reset(app, client, admin_user):
    """SEC-10: with TOTP on, does signing in with the new password still ask for the code?"""
    secret = enable_totp(app, admin_user)
    client.get(f"/admin/reset-password/{token_for(app, admin_user)}")
    assert choose_password(client).headers["Location"] == "/admin/login"
    assert client.get("/admin/").status_code == 302
    response = sign_in(client, password=NEW_PASSWORD)
    assert response.headers["Location"] == "/admin/login/code"
    assert client.get("/admin/").status_code == 302
    code = pyotp.TOTP(secret).now()
    assert post(client, csrf_token_of(client, "/admin/login/code"), "/admin/login/code", code=code).status_code == 303


def common_long_password() -> str:
    """A password from the common list that is long enough, so only its commonness is wrong."""
    return next(word for word in sorted(credentials.common_passwords()) if 12 <= len(word) <= 20 and word.isalnum())


@pytest.mark.parametrize(("password", "again", "message"), [
    ("short-one", "short-one", "Use at least 12 characters"),
    ("x" * 129, "x" * 129, "Use at most 128 characters"),
    (None, None, "That password is too common to be safe"),
    (NEW_PASSWORD, NEW_PASSWORD + "!", "The two new passwords are different"),
    ("", "", "Enter a new password"),
])
def test_a_refused_new_password_says_how_to_fix_it(app, client, admin_user, password, again, message):
    """A11Y-05: is a short, long, common or mismatched password refused with the summary, nothing echoed?"""
    password = common_long_password() if password is None else password
    client.get(f"/admin/reset-password/{token_for(app, admin_user)}")
    response = choose_password(client, password, again)
    html = text_of(response)
    assert response.status_code == 400
    assert "<title>Error: " in html and "There is a problem" in html and message in html
    assert 'aria-invalid="true"' in html
    assert not password or f'value="{password}' not in html
    assert client.get(FORM_PAGE).status_code == 200  # the link is not spent
    with app.app_context():
        assert credentials.password_matches(db.session.get(AdminUser, admin_user), ADMIN_PASSWORD)


def test_requests_are_throttled_without_saying_so_and_sign_in_still_works(mail_app, smtp_server, caplog):
    """SEC-07: after 5 requests, is nothing more sent, the same answer shown, and the coach's sign-in untouched?"""
    client = mail_app.test_client()
    for _ in range(5):
        assert ask_for_link(client).headers["Location"] == SENT_PAGE
    assert len(delivered_links(mail_app, smtp_server)) == 5
    with caplog.at_level(logging.WARNING):
        for email in (ADMIN_EMAIL, "nobody@example.org"):
            response = ask_for_link(client, email=email)
            assert response.status_code == 303 and response.headers["Location"] == SENT_PAGE
    assert "throttled" in caplog.text
    assert len(delivered_links(mail_app, smtp_server)) == 5
    assert sign_in(client).status_code == 303  # reset requests are not sign-in failures


def test_requests_from_many_addresses_are_limited_per_account(mail_app, smtp_server):
    """SEC-07: are requests for one account limited even when they come from many network addresses?"""
    for number in range(7):
        client = mail_app.test_client()
        ask_for_link(client, environ_overrides={"REMOTE_ADDR": f"198.51.100.{number}"})
    assert len(delivered_links(mail_app, smtp_server)) == 5


def test_bad_links_are_counted_and_then_refused_for_a_while(app, admin_user):
    """SEC-07: after 5 refused links from one address, is even a good link made to wait, but sign-in not?"""
    for number in range(5):
        client = app.test_client()
        assert_link_refused(client, client.get(f"/admin/reset-password/guess-{number}"))
        client.get(FORM_PAGE)  # reloading the refusal is not counted again
    client = app.test_client()
    client.get(f"/admin/reset-password/{token_for(app, admin_user)}")
    waiting = client.get(FORM_PAGE)
    assert waiting.status_code == 429 and "Too many attempts" in text_of(waiting)
    assert "<title>Error: " in text_of(waiting)
    assert sign_in(app.test_client()).status_code == 303
    with app.app_context():
        later = utcnow() + timedelta(seconds=16)
        assert credentials.reset_link_throttle("127.0.0.1", now=later).allowed


def test_logs_hold_no_token_link_address_or_password(mail_app, smtp_server, caplog):
    """SEC-13: through asking, a bad link, a refused password and a reset, does no log line hold a secret?"""
    client = mail_app.test_client()
    with caplog.at_level(logging.DEBUG):
        ask_for_link(client)
        ask_for_link(client, email="stranger@example.org")
        [link] = delivered_links(mail_app, smtp_server)
        open_link(client, link + "tampered")
        client.get(FORM_PAGE)
        open_link(client, link)
        choose_password(client, "short-pass", "short-pass")
        choose_password(client)
        open_link(client, link)
        client.get(FORM_PAGE)
    token = link.rsplit("/", 1)[1]
    ours = [record.getMessage() for record in caplog.records if not record.name.startswith("mail.log")]
    assert any("password reset email queued for admin" in line for line in ours)
    assert any("password reset link refused" in line for line in ours)
    for line in ours:  # the test SMTP server's own debug log (mail.log) shows what it received, as it should
        for secret in (token, token[:20], ADMIN_EMAIL, "stranger@example.org", NEW_PASSWORD, "short-pass"):
            assert secret not in line, line


def test_production_refuses_a_forged_host_and_sends_nothing(app_factory):
    """In production, is a reset asked for under a forged Host refused (the 400 page) with no email queued?"""
    app = app_factory(**PRODUCTION)
    add_admin(app)
    client = app.test_client()
    token = csrf_token_of(client, "/admin/forgot-password")
    response = client.post("/admin/forgot-password", data={"csrf_token": token, "email": ADMIN_EMAIL},
                           headers={"Host": "evil.example"})
    assert response.status_code == 400 and "make sense" in text_of(response)
    assert row_count(app, OutboxMessage) == 0


def test_production_links_use_site_url_not_the_host_header(app_factory):
    """With SITE_URL set, does the emailed link point at it even when the request names another (trusted) host?"""
    app = app_factory(**{**PRODUCTION, "SITE_URL": "https://hopefordystonia.example",
                         "TRUSTED_HOSTS": ["hopefordystonia.example", "other.example"]})
    add_admin(app)
    ask_for_link(app.test_client(), headers={"Host": "other.example"})
    [row] = db_rows(app)
    assert LINK.findall(row.body_text)[0].startswith("https://hopefordystonia.example/admin/reset-password/")
    assert "other.example" not in row.body_text and "other.example" not in (row.body_html or "")
