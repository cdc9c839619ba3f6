"""Signing in and out of /admin: throttling, sessions, the second factor, safe redirects."""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from coaching.accounts import credentials
from coaching.accounts.models import AdminUser, SignInAttempt
from coaching.extensions import db
from tests.apps import PRODUCTION
from tests.factories import ADMIN_EMAIL, ADMIN_PASSWORD, enable_totp
from tests.forms import csrf_token_of, post, post_code, sign_in, text_of


def test_sign_in_page_is_accessible_and_not_cached(client):
    """A11Y-07: does the sign-in page use username/current-password autocomplete and no-store?"""
    response = client.get("/admin/login")
    html = response.get_data(as_text=True)
    assert 'autocomplete="username"' in html and 'autocomplete="current-password"' in html
    assert "onpaste" not in html
    assert response.headers["Cache-Control"] == "no-store"


def test_right_password_signs_in_and_goes_to_the_inbox(client, admin_user):
    """Does the right address and password sign the coach in and open the inbox?"""
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/inquiries"
    assert client.get("/admin/").status_code == 200


def test_address_is_not_case_sensitive(client, admin_user):
    """Does the address work in any letter case, with spaces around it?"""
    assert sign_in(client, email="  Coach@Example.ORG ").status_code == 303


@pytest.mark.parametrize(("email", "password"), [(ADMIN_EMAIL, "wrong password here"),
                                                 ("nobody@example.org", ADMIN_PASSWORD)])
def test_wrong_details_get_one_plain_message(client, admin_user, email, password):
    """Does a wrong password or unknown address get the same message, and no session?"""
    response = sign_in(client, email=email, password=password)
    assert response.status_code == 400
    assert "The email address or password is not right" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
])
def test_next_never_leads_off_site(client, admin_user, target):
    """SEC-04: does ?next= pointing off-site land on the inbox instead?"""
    response = sign_in(client, next_url=target)
    assert response.headers["Location"] == "/admin/inquiries"


def test_next_leads_back_to_the_page_asked_for(client, admin_user):
    """After being sent to sign in, does the coach land on the page she asked for?"""
    first = client.get("/admin/posts")
    assert first.status_code == 302 and "next=/admin/posts" in first.headers["Location"]
    assert sign_in(client, next_url="/admin/posts").headers["Location"] == "/admin/posts"


def test_sign_in_starts_a_new_session(client, admin_user):
    """SEC-10: does signing in discard whatever the session held before?"""
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].endswith(":1")


def test_sign_out_is_post_only_and_ends_other_copies_of_the_session(app, admin_client, token):
    """SEC-10: is sign-out POST-only, and does an old copy of the cookie stop working after it?"""
    assert admin_client.get("/admin/logout").status_code == 405
    stolen = admin_client.get_cookie("session").value
    response = post(admin_client, token, "/admin/logout")
    assert response.headers["Location"] == "/admin/login"
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/admin/").status_code == 302


@pytest.mark.parametrize(("method", "status"), [("GET", 302), ("POST", 303)])
def test_pages_with_nothing_to_do_answer_a_post_with_303(app, admin_client, token, method, status):
    """Do the pages taking GET and POST send a POST on with 303 (the browser then GETs) and a GET with 302?"""
    stranger = app.test_client()
    pages = [(admin_client, token, "/admin/login", "/admin/inquiries"),  # already signed in
             (admin_client, token, "/admin/account/two-factor", "/admin/account"),  # no secret pending
             (stranger, csrf_token_of(stranger, "/admin/login"), "/admin/login/code", "/admin/login")]  # no password
    for client, csrf, url, location in pages:
        response = client.open(url, method=method, data={"csrf_token": csrf} if method == "POST" else None)
        assert (response.status_code, response.headers["Location"]) == (status, location), url


def test_cookies_are_httponly_lax_and_secure_in_production(app_factory, admin_user):
    """SEC-02: is the session cookie HttpOnly and SameSite=Lax, and Secure in production?"""
    app = app_factory(**PRODUCTION)
    response = app.test_client().get("/admin/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert app.config["REMEMBER_COOKIE_DURATION"] <= 30 * 24 * 3600


def test_idle_session_ends_after_30_minutes(admin_client):
    """SEC-10: after 30 minutes without a request, is the coach asked to sign in again?"""
    with admin_client.session_transaction() as session:
        session["admin_seen"] -= 31 * 60
    response = admin_client.get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    assert "signed out after a while" in admin_client.get("/admin/login").get_data(as_text=True)


def test_last_seen_is_written_only_once_it_is_a_minute_old(admin_client):
    """SEC-10: is the session left unchanged (no new cookie) within a minute, and its last-seen time moved after?"""
    admin_client.get("/admin/")
    with admin_client.session_transaction() as session:
        session["admin_seen"] -= 30
        seen = session["admin_seen"]
    response = admin_client.get("/admin/")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    with admin_client.session_transaction() as session:
        assert session["admin_seen"] == seen
        session["admin_seen"] -= 31
    response = admin_client.get("/admin/")
    assert response.status_code == 200 and "Set-Cookie" in response.headers
    with admin_client.session_transaction() as session:
        assert session["admin_seen"] > seen
        session["admin_seen"] -= 31 * 60  # the idle limit still counts from the last write
    assert admin_client.get("/admin/").status_code == 302


def test_session_ends_after_12_hours_however_active(admin_client):
    """SEC-10: does a session end 12 hours after sign-in even if used all along?"""
    with admin_client.session_transaction() as session:
        session["admin_since"] -= 12 * 3600 + 60
    assert admin_client.get("/admin/").status_code == 302


def test_guessing_is_slowed_then_the_right_password_works_again(app, client, admin_user, caplog):
    """SEC-07: after 5 failures, are tries refused unevaluated until the wait passes, then work?"""
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            assert sign_in(client, password="wrong guess number").status_code == 400
    refused = sign_in(client)  # even the right password waits
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert ADMIN_PASSWORD not in caplog.text and "wrong guess" not in caplog.text and ADMIN_EMAIL not in caplog.text
    with app.app_context():
        later = credentials.utcnow() + timedelta(seconds=16)
        assert credentials.sign_in_throttle(ADMIN_EMAIL, "127.0.0.1", now=later).allowed
        attempts = db.session.scalars(select(credentials.SignInAttempt)).all()
        for attempt in attempts:
            attempt.created_at -= timedelta(seconds=16)
        db.session.commit()
    assert sign_in(client).status_code == 303


def test_waits_grow_but_never_pass_15_minutes(app, admin_user):
    """SEC-07: do waits double from 15 s and cap at 15 minutes, keeping failures under 100 an hour?"""
    with app.app_context():
        now = credentials.utcnow()
        for number in range(30):
            credentials.record_failure(ADMIN_EMAIL, "192.0.2.1", now=now - timedelta(seconds=30 - number))
        db.session.commit()
        throttle = credentials.sign_in_throttle(ADMIN_EMAIL, "192.0.2.9", now=now)
        assert timedelta(minutes=14) < throttle.wait <= timedelta(minutes=15)
        assert credentials.sign_in_throttle(ADMIN_EMAIL, "192.0.2.9", now=now + timedelta(minutes=16)).allowed


def test_address_throttle_covers_many_accounts(app, admin_user):
    """SEC-07: does one address guessing across many accounts get slowed too?"""
    with app.app_context():
        for number in range(6):
            credentials.record_failure(f"user{number}@example.org", "198.51.100.7")
        db.session.commit()
        assert not credentials.sign_in_throttle(ADMIN_EMAIL, "198.51.100.7").allowed
        assert credentials.sign_in_throttle(ADMIN_EMAIL, "198.51.100.8").allowed


def test_second_factor_is_asked_for_and_checked(app, client, admin_user):
    """SEC-10: with TOTP on, does a password alone not sign in, a wrong code fail and the right one work?"""
    secret, _ = enable_totp(app, admin_user)
    response = sign_in(client)
    assert response.headers["Location"] == "/admin/login/code"
    assert client.get("/admin/").status_code == 302
    page = client.get("/admin/login/code").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page
    assert post_code(client, "000000").status_code == 400
    assert post_code(client, pyotp.TOTP(secret).now()).status_code == 303
    assert client.get("/admin/").status_code == 200


def test_recovery_code_works_once(app, client, admin_user):
    """Does a recovery code stand in for the app once, and not a second time?"""
    _, codes = enable_totp(app, admin_user)
    sign_in(client)
    assert post_code(client, codes[0]).status_code == 303
    other = app.test_client()
    sign_in(other)
    assert post_code(other, codes[0]).status_code == 400


def test_create_admin_command_creates_and_resets(app):
    """Does `flask create-admin` create an account from a piped password, and reset it later?"""
    runner = app.test_cli_runner()
    created = runner.invoke(args=["create-admin", "Owner@Example.org"], input="calm-morning-walk-by-sea\n")
    assert created.exit_code == 0, created.output
    assert "Created the admin account owner@example.org" in created.output
    reset = runner.invoke(args=["create-admin", "owner@example.org"], input="another-long-pass-phrase\n")
    assert "Reset the password" in reset.output
    with app.app_context():
        user = db.session.scalar(select(AdminUser).where(AdminUser.email == "owner@example.org"))
        assert user.session_version == 2
        assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(("password", "message"), [
    ("short", "at least 12 characters"), ("password1234", "too common"), ("x" * 129, "at most 128"),
])
def test_create_admin_refuses_weak_passwords(app, password, message):
    """SEC-09: are short, over-long and common passwords refused with a reason?"""
    result = app.test_cli_runner().invoke(args=["create-admin", "a@example.org"], input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output


def test_more_than_one_admin_can_exist(app, admin_user):
    """Can a second admin account be created beside the first?"""
    result = app.test_cli_runner().invoke(args=["create-admin", "helper@example.org"],
                                          input="second-admin-long-phrase\n")
    assert result.exit_code == 0
    with app.app_context():
        assert len(db.session.scalars(select(AdminUser)).all()) == 2


def test_hash_is_argon2id_and_strong():
    """SEC-09: are passwords hashed with argon2id at 64 MiB or more?"""
    hashed = credentials.hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert int(re.search(r"m=(\d+)", hashed).group(1)) >= 65536


def from_address(app, address: str):
    """A new test client whose requests come from this network address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def failures_stored(app, email: str = ADMIN_EMAIL) -> int:
    """How many failed sign-ins are stored under this address's account key."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SignInAttempt)
                                 .where(SignInAttempt.account_key == credentials.account_key(email)))


def let_the_wait_pass(app, email: str = ADMIN_EMAIL, address: str = "192.0.2.250") -> None:
    """Move every stored failure back by the account's current wait (plus a second), as if it had been sat out."""
    with app.app_context():
        wait = credentials.sign_in_throttle(email, address).wait or timedelta(0)
        for attempt in db.session.scalars(select(SignInAttempt)):
            attempt.created_at -= wait + timedelta(seconds=1)
        db.session.commit()


def test_the_right_password_does_not_reset_wrong_codes(app, admin_user):
    """SEC-07: password then 5 wrong codes from 6 addresses, each as the wait ends: do the codes keep counting?"""
    enable_totp(app, admin_user)
    checked = []
    for number in range(6):
        let_the_wait_pass(app)
        client = from_address(app, f"203.0.113.{number + 1}")
        assert sign_in(client).status_code == 303  # the right password, once the wait is over
        checked.append([post_code(client, "000000").status_code for _ in range(5)].count(400))
    # 5 free, then one code per wait (15 s, 30 s, ...): not 5 more after every right password.
    assert checked == [5, 1, 1, 1, 1, 1] and failures_stored(app) == 10


def test_the_code_page_waits_per_account(app, admin_user):
    """SEC-07: after 5 wrong codes from one address, does a code from another address wait too?"""
    secret, _ = enable_totp(app, admin_user)
    first, second = from_address(app, "203.0.113.1"), from_address(app, "203.0.113.2")
    assert sign_in(first).status_code == 303 and sign_in(second).status_code == 303
    for _ in range(5):
        assert post_code(first, "000000").status_code == 400
    assert post_code(second, pyotp.TOTP(secret).now()).status_code == 429


DEVICE_COOKIE = "admin_device"


def keep_the_account_waiting(app) -> None:
    """An attacker's 5 wrong guesses from their own address: the account's wait starts."""
    attacker = from_address(app, "198.51.100.66")
    for _ in range(5):
        assert sign_in(attacker, password="a wrong guess here").status_code == 400


def test_a_browser_she_signed_in_on_is_let_in_during_an_attack(app, admin_user):
    """SEC-07: while guesses keep the account waiting, does her own browser (device cookie) still get in?"""
    coach = from_address(app, "192.0.2.10")
    assert sign_in(coach).status_code == 303
    assert coach.get_cookie(DEVICE_COOKIE, path="/admin") is not None
    post(coach, csrf_token_of(coach, "/admin/inquiries"), "/admin/logout")
    keep_the_account_waiting(app)
    stranger = sign_in(from_address(app, "192.0.2.11"))  # the right password, from a new browser
    assert stranger.status_code == 429 and "Too many attempts" in text_of(stranger)
    coach.environ_base["REMOTE_ADDR"] = "192.0.2.12"  # her browser, from a new network too
    assert sign_in(coach).status_code == 303
    assert failures_stored(app) == 5  # the attacker's wait goes on: her sign-in did not reset it
    notice = "5 failed sign-in attempts since you last signed in"
    assert notice in text_of(coach.get("/admin/inquiries"))  # said once, as she arrives
    page = html.unescape(text_of(coach.get("/admin/account")))
    assert notice in page and "(the last at " in page


def test_a_device_cookie_is_signed_for_one_account_and_httponly(app, admin_user):
    """Is the device cookie HttpOnly, SameSite=Lax, kept a year, and useless for another address or if forged?"""
    coach = from_address(app, "192.0.2.10")
    response = sign_in(coach)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(DEVICE_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
    assert ADMIN_EMAIL not in cookie
    value = coach.get_cookie(DEVICE_COOKIE, path="/admin").value
    keep_the_account_waiting(app)
    for forged in (value[:-2] + ("AA" if not value.endswith("AA") else "BB"), "nonsense"):
        thief = from_address(app, "192.0.2.13")
        thief.set_cookie(DEVICE_COOKIE, forged, path="/admin")
        assert sign_in(thief).status_code == 429
    with app.app_context():
        assert credentials.device_for(value, "someone.else@example.org") is None
        assert credentials.device_for(value, ADMIN_EMAIL) is not None


def test_device_cookie_is_secure_in_production(app_factory, admin_user):
    """SEC-02: is the device cookie Secure when the session cookie is (production)?"""
    app = app_factory(SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    response = sign_in(client)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(DEVICE_COOKIE + "="))
    assert "Secure" in cookie


def test_a_stolen_device_cookie_allows_only_a_few_guesses(app, admin_user):
    """OWASP device cookies: do wrong passwords through a device cookie use it up, leaving the account's wait?"""
    coach = from_address(app, "192.0.2.10")
    sign_in(coach)
    stolen = coach.get_cookie(DEVICE_COOKIE, path="/admin").value
    keep_the_account_waiting(app)
    statuses = []
    for number in range(8):
        thief = from_address(app, f"203.0.113.{100 + number}")
        thief.set_cookie(DEVICE_COOKIE, stolen, path="/admin")
        statuses.append(sign_in(thief, password=f"guess number {number} here").status_code)
    assert statuses == [400] * 5 + [429] * 3
    assert failures_stored(app) == 5  # the device's failures are its own, not the account's


def test_a_device_cookie_does_not_skip_the_address_wait(app, admin_user):
    """SEC-07: with a device cookie, does guessing from her address at other accounts still make it wait?"""
    coach = from_address(app, "192.0.2.10")
    sign_in(coach)
    post(coach, csrf_token_of(coach, "/admin/inquiries"), "/admin/logout")
    for number in range(5):
        assert sign_in(coach, email=f"user{number}@example.org").status_code == 400
    assert sign_in(coach).status_code == 429


def test_device_cookie_skips_the_wait_on_the_code_page_too(app, admin_user):
    """With two-step on, does her device get past the account's wait on the code page as well?"""
    secret, _ = enable_totp(app, admin_user)
    coach = from_address(app, "192.0.2.10")
    sign_in(coach)
    assert post_code(coach, pyotp.TOTP(secret).now()).status_code == 303
    post(coach, csrf_token_of(coach, "/admin/inquiries"), "/admin/logout")
    keep_the_account_waiting(app)
    assert sign_in(coach).headers["Location"] == "/admin/login/code"
    assert post_code(coach, pyotp.TOTP(secret).now()).status_code == 303
