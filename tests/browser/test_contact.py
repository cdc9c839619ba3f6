"""A visitor writing in a real browser: by keyboard alone, through errors, with a double-click."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from coaching.inquiries.models import Inquiry
from coaching.mail.outbox import deliver_pending
from tests.browser_support import (
    assert_axe_clean,
    focused,
    press_tab,
    save_screenshot,
    submit_contact_in_browser,
    tab_to,
)
from tests.factories import row_count

pytestmark = pytest.mark.browser

MESSAGE = "I have writer's cramp, so typing takes me a while. Could coaching help? — Zoë"


def test_keyboard_only_visitor_sends_a_message_that_reaches_the_coach(page, live_app, live_mailbox):
    """A11Y-02: with Tab, typing, arrows, Space and Enter alone, does a message reach the coach's mailbox?"""
    page.goto("/")
    tab_to(page, "/contact")
    page.keyboard.press("Enter")
    page.wait_for_url("**/contact")
    tab_to(page, element_id="name")
    page.keyboard.type("Zoë O'Hara")
    assert press_tab(page)["id"] == "email"
    page.keyboard.type("zoe.keyboard@example.org")
    assert press_tab(page)["id"] == "phone"  # optional, left empty
    assert press_tab(page)["id"] == "topic"
    page.keyboard.press("ArrowDown")
    assert press_tab(page)["id"] == "message"
    page.keyboard.type(MESSAGE)
    assert press_tab(page)["href"] == "/privacy"
    assert press_tab(page)["id"] == "consent"
    page.keyboard.press("Space")
    assert press_tab(page)["text"] == "Send my message"
    page.keyboard.press("Enter")
    page.wait_for_url("**/contact/thanks")
    assert "your message has arrived" in page.get_by_role("heading", level=1).inner_text()
    with live_app.app_context():
        deliver_pending()
    received = [mail.message for mail in live_mailbox.received]
    to_coach = [m for m in received if m["To"] == live_app.config["COACH_EMAIL"]
                and "zoe.keyboard@example.org" in (m["Reply-To"] or "")]
    assert len(to_coach) == 1
    assert MESSAGE in to_coach[0].get_body(("plain",)).get_content()


def test_visitor_fixes_errors_without_retyping(page, live_app):
    """A11Y-05/06: after errors, does focus go to the summary, its links reach the fields, and the text stay?"""
    before = row_count(live_app, Inquiry)
    page.goto("/contact")
    page.get_by_label("Your name").fill("Sam")
    page.get_by_label("Your email address").fill("sam at example")
    page.get_by_label("Your message").fill(MESSAGE)
    page.get_by_role("button", name="Send my message").click()
    page.wait_for_selector("#error-summary")
    assert page.title().startswith("Error: ")
    assert focused(page)["id"] == "error-summary"
    save_screenshot(page, "contact-errors-flow")
    page.get_by_role("link", name="Enter an email address in the correct format, like name@example.com").click()
    assert focused(page)["id"] == "email"
    assert page.get_by_label("Your name").input_value() == "Sam"
    assert page.get_by_label("Your message").input_value() == MESSAGE
    page.get_by_label("Your email address").fill("sam@example.org")
    page.get_by_label("I agree that Hope for Dystonia may store my message").check()
    page.get_by_role("button", name="Send my message").click()
    page.wait_for_url("**/contact/thanks")
    assert row_count(live_app, Inquiry) == before + 1


def test_double_click_sends_one_message(page, live_app):
    """REL-10: does a double-click on Send make exactly one inquiry?"""
    before = row_count(live_app, Inquiry)
    page.goto("/contact")
    submit_contact_in_browser(page, click="dblclick")
    page.wait_for_url("**/contact/thanks")
    assert row_count(live_app, Inquiry) == before + 1


def test_draft_survives_a_reload_and_is_cleared_after_sending(page):
    """Is what the visitor typed kept through a reload, and forgotten once the message has arrived?"""
    page.goto("/contact")
    page.get_by_label("Your name").fill("Alex")
    page.get_by_label("Your message").fill("A long message, typed slowly.")
    page.wait_for_timeout(600)  # the draft is saved after a short pause in typing
    page.reload()
    assert page.get_by_label("Your name").input_value() == "Alex"
    assert page.get_by_label("Your message").input_value() == "A long message, typed slowly."
    page.get_by_label("Your email address").fill("alex@example.org")
    page.get_by_label("I agree that Hope for Dystonia may store my message").check()
    page.get_by_role("button", name="Send my message").click()
    page.wait_for_url("**/contact/thanks")
    page.goto("/contact")
    assert page.get_by_label("Your name").input_value() == ""


def test_character_count_says_what_remains(page):
    """A11Y-05: does the message field show how many characters remain?"""
    page.goto("/contact")
    page.get_by_label("Your message").fill("Hello")
    assert page.locator("#message-count").inner_text() == "You have 4,995 characters remaining"
    # Announced once typing pauses (expect() polls without eval, which the CSP forbids).
    expect(page.locator("#message-count-live")).to_have_text("You have 4,995 characters remaining")


@pytest.mark.parametrize("width", [375, 1280])
def test_contact_states_have_no_axe_violations(page, width):
    """A11Y-09: are the form with errors, the thank-you page and the privacy page free of axe violations?"""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/contact")
    page.get_by_role("button", name="Send my message").click()
    page.wait_for_selector("#error-summary")
    states = {"contact-errors": None, "contact-thanks": "/contact/thanks", "privacy": "/privacy",
              "contact-token-rejected": "tamper"}
    for name, url in states.items():
        if url == "tamper":
            page.goto("/contact")
            page.evaluate("() => { document.querySelector('[name=csrf_token]').value = 'tampered'; }")
            submit_contact_in_browser(page)
            page.wait_for_selector(".notice")
        elif url:
            page.goto(url)
        assert_axe_clean(page, f"{name}-{width}")


def test_message_sends_without_javascript(browser, live_server, live_app):
    """Does the form work, errors and all, with JavaScript switched off?"""
    before = row_count(live_app, Inquiry)
    context = browser.new_context(java_script_enabled=False, base_url=live_server)
    page = context.new_page()
    page.goto("/contact")
    page.get_by_label("Your name").fill("No Script")
    page.get_by_role("button", name="Send my message").click()
    page.wait_for_selector("#error-summary")
    assert page.get_by_label("Your name").input_value() == "No Script"
    submit_contact_in_browser(page)
    page.wait_for_url("**/contact/thanks")
    context.close()
    assert row_count(live_app, Inquiry) == before + 1
