"""The coach in a real browser: signing in and out by keyboard, and every admin page passing axe."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.test_accessibility import AXE_OPTIONS, failing_violations, summarise
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, focused, press_tab, save_screenshot

pytestmark = pytest.mark.browser


def assert_axe_clean(page, name: str) -> None:
    """Screenshot the page and check axe finds nothing."""
    save_screenshot(page, name)
    assert failing_violations(summarise(Axe().run(page, options=AXE_OPTIONS))) == [], name


def test_coach_signs_in_and_out_by_keyboard(page):
    """A11Y-02/07: can the coach sign in and out with the keyboard alone (password paste allowed)?"""
    page.goto("/admin/login")
    for _ in range(20):
        if press_tab(page)["id"] == "email":
            break
    page.keyboard.type(ADMIN_EMAIL)
    assert press_tab(page)["id"] == "password"
    page.keyboard.insert_text(ADMIN_PASSWORD)  # as a password manager's paste would
    assert press_tab(page)["text"] == "Sign in"
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/inquiries")
    for _ in range(20):
        if press_tab(page)["text"] == "Sign out":
            break
    assert focused(page)["text"] == "Sign out"
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/login")
    assert "You have signed out." in page.content()


@pytest.mark.parametrize("width", [375, 1280])
def test_sign_in_states_have_no_axe_violations(page, width):
    """A11Y-09: are the sign-in page and its error state free of axe violations?"""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin/login")
    assert_axe_clean(page, f"admin-login-{width}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#error-summary")
    assert_axe_clean(page, f"admin-login-errors-{width}")


@pytest.mark.parametrize("width", [375, 1280])
def test_account_pages_have_no_axe_violations(admin_page, width):
    """A11Y-09: are the account page and the two-step set-up page free of axe violations?"""
    page = admin_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin/account")
    assert_axe_clean(page, f"admin-account-{width}")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.wait_for_url("**/admin/account/two-factor")
    assert_axe_clean(page, f"admin-two-factor-{width}")
