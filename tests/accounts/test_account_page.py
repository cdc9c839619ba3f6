"""The coach's account page: password change and the second factor."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import func, select

from coaching.accounts.models import AdminUser, SignInAttempt
from coaching.extensions import db
from tests.factories import ADMIN_PASSWORD
from tests.forms import csrf_token_of, post, sign_in

NEW_PASSWORD = "quiet-harbour-morning-tea"


def change_password(client, current=ADMIN_PASSWORD, new=NEW_PASSWORD, confirm=NEW_PASSWORD):
    """Submit the change-password form."""
    return post(client, csrf_token_of(client, "/admin/account"), "/admin/account/password",
                current_password=current, new_password=new, confirm_password=confirm)


def test_password_change_keeps_this_session_and_ends_others(app, admin_client):
    """SEC-10: does changing the password keep this device signed in and sign out the others?"""
    other = app.test_client()
    sign_in(other)
    assert other.get("/admin/").status_code == 200
    response = change_password(admin_client)
    assert response.status_code == 303
    assert admin_client.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 303


def test_password_change_explains_each_problem(admin_client):
    """A11Y-05: are a wrong current password, a mismatch and a common password each explained?"""
    assert "Your current password is not right" in change_password(admin_client, current="nope nope nope").get_data(
        as_text=True)
    assert "The two new passwords are different" in change_password(
        admin_client, confirm="something-else-entirely").get_data(as_text=True)
    common = change_password(admin_client, new="password123456", confirm="password123456")
    assert common.status_code == 400 and "too common" in common.get_data(as_text=True)


def test_turning_on_two_step_sign_in(app, admin_client, token):
    """Can the coach turn on TOTP with a server-drawn QR code and the key as text, and get recovery codes?"""
    assert post(admin_client, token, "/admin/account/two-factor/start").status_code == 303
    page = admin_client.get("/admin/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    qr = admin_client.get("/admin/account/two-factor/qr.svg")
    assert qr.mimetype == "image/svg+xml" and b"<svg" in qr.data and qr.headers["Cache-Control"] == "no-store"
    app.config["SITE_NAME"] = "Calm Steps Coaching"  # the name the authenticator app shows is SITE_NAME's
    wrong = post(admin_client, token, "/admin/account/two-factor", code="123456")
    assert wrong.status_code == 400 and "doesn&#39;t match" in wrong.get_data(as_text=True)
    assert "Check the app shows Calm Steps Coaching" in wrong.get_data(as_text=True)
    done = post(admin_client, token, "/admin/account/two-factor", code=pyotp.TOTP(secret).now())
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", done.get_data(as_text=True))
    assert len(codes) == 10
    with app.app_context():
        user = db.session.scalar(select(AdminUser))
        assert user.totp_enabled and user.totp_secret == secret
        assert all(code not in stored.code_hash for code in codes for stored in user.recovery_codes)


def test_turning_off_two_step_needs_the_password(app, admin_client, token):
    """Is turning TOTP off refused without the current password and done with it?"""
    with app.app_context():
        user = db.session.scalar(select(AdminUser))
        user.totp_enabled, user.totp_secret = True, pyotp.random_base32()
        db.session.commit()
    refused = post(admin_client, token, "/admin/account/two-factor/off", current_password="not it at all")
    assert refused.status_code == 400
    post(admin_client, token, "/admin/account/two-factor/off", current_password=ADMIN_PASSWORD)
    with app.app_context():
        assert not db.session.scalar(select(AdminUser)).totp_enabled


def test_account_page_tells_of_failed_sign_ins_since_the_last(app, admin_user):
    """Does the account page say how many sign-ins failed since she last signed in, and nothing when none did?"""
    client = app.test_client()
    sign_in(client)
    assert "failed sign-in" not in client.get("/admin/account").get_data(as_text=True)
    post(client, csrf_token_of(client, "/admin/inquiries"), "/admin/logout")
    client.delete_cookie("admin_device", path="/admin")  # a new browser: nothing trusted
    sign_in(client, password="not the password at all")
    sign_in(client)
    page = client.get("/admin/account").get_data(as_text=True)
    assert "1 failed sign-in attempt since you last signed in (the last at " in page
    with app.app_context():  # the right password on an untrusted browser forgets the account's failures
        assert db.session.scalar(select(func.count()).select_from(SignInAttempt)) == 0
