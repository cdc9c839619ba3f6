"""A forgotten password in a real browser: by keyboard from the sign-in page to a new password, axe-clean."""

from __future__ import annotations

import re

import pytest

from tests.browser_support import assert_axe_clean, tab_to

pytestmark = pytest.mark.browser

NEW_PASSWORD = "slow-tide-willow-candle"
LINK = re.compile(r"https?://\S+/admin/reset-password/[A-Za-z0-9_.\-]+")


def add_account(live_app, email: str) -> None:
    """An admin account of its own for this test, so the shared coach's password never changes."""
    from coaching.accounts.credentials import hash_password
    from coaching.accounts.models import AdminUser
    from coaching.extensions import db

    with live_app.app_context():
        db.session.add(AdminUser(email=email, password_hash=hash_password("first-pass-phrase-for-test")))
        db.session.commit()


def emailed_link(live_app, live_mailbox, email: str) -> str:
    """Deliver the queued email to the live mailbox; the reset link in the newest one to this address."""
    from coaching.mail.outbox import deliver_pending

    with live_app.app_context():
        deliver_pending()
    [*_, mail] = [mail for mail in live_mailbox.received if mail.rcpt_tos == [email]]
    return LINK.search(mail.message.get_body(("plain",)).get_content()).group(0)


@pytest.mark.parametrize("width", [375, 1280])
def test_a_forgotten_password_is_replaced_by_keyboard_and_every_page_passes_axe(page, live_app, live_mailbox, width):
    """A11Y-02/09: from sign-in, by keyboard, can a new password be set, each page and error state axe-clean?"""
    email = f"reset-{width}@example.org"
    add_account(live_app, email)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin/login")
    link = page.get_by_role("link", name="Forgot your password?")
    assert link.bounding_box()["height"] >= 44
    tab_to(page, href="/admin/forgot-password")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/forgot-password")
    assert page.get_by_label("Email address").get_attribute("autocomplete") == "username"
    assert_axe_clean(page, f"forgot-password-{width}")

    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_selector("#error-summary")
    assert page.title().startswith("Error: ")
    assert_axe_clean(page, f"forgot-password-errors-{width}")

    tab_to(page, element_id="email")
    page.keyboard.type(email)
    tab_to(page, text="Send me a link")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/admin/forgot-password/sent")
    assert "within a few minutes" in page.content()
    assert_axe_clean(page, f"reset-email-sent-{width}")

    reset_link = emailed_link(live_app, live_mailbox, email)
    page.goto(reset_link)
    assert page.url.endswith("/admin/reset-password")  # the token left the address bar (and history)
    assert_axe_clean(page, f"reset-password-{width}")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill("not the same at all")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_selector("#error-summary")
    assert page.title().startswith("Error: ")
    assert_axe_clean(page, f"reset-password-errors-{width}")

    tab_to(page, element_id="new_password")
    page.keyboard.insert_text(NEW_PASSWORD)  # pasted, as from a password manager
    tab_to(page, element_id="confirm_password")
    page.keyboard.insert_text(NEW_PASSWORD)
    tab_to(page, text="Change password")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/admin/login")
    assert "Your password has been changed. Sign in with your new password." in page.content()

    page.goto(reset_link)
    assert "This link can't be used" in page.content()
    assert_axe_clean(page, f"reset-link-invalid-{width}")

    page.goto("/admin/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/inquiries")
