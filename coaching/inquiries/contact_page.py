"""The contact page; with a fresh form, rendered once per worker and settings, each visitor's values put in.

Rendering the form through its macros and WTForms widgets is most of what a contact GET costs, yet
one visitor's fresh form differs from another's only in three hidden values: the CSRF token, the
signed time the form was shown, and the submission token. So the fresh page is rendered once with a
placeholder for each, kept (per worker) under everything else that shapes it: the address it was
asked for and the settings in PAGE_SETTINGS; each request then puts in its own values, escaped as
WTForms escapes them. A form coming back (errors, a notice) is always rendered in full.
tests/inquiries/test_contact_page.py checks that no other setting changes the page.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from flask import current_app, render_template
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from coaching.inquiries.forms import ContactForm
from coaching.inquiries.intake import new_form_stamps

log = logging.getLogger(__name__)

# Every setting the page shows or that shapes its markup (read per request: a change shows at once).
PAGE_SETTINGS = ("SITE_NAME", "SITE_URL", "PRACTICE_EMAIL", "REPLY_EXPECTATION", "PRIVACY_NOTICE_VERSION",
                 "WTF_CSRF_ENABLED", "WTF_CSRF_FIELD_NAME")
KEPT_KEY = "coaching.inquiries.fresh_contact_pages"  # in app.extensions: {key: KeptPage}
MAX_KEPT = 16  # pages per worker (one per address and settings); a stranger's Host headers can't grow it further
# Unique to this process, and unchanged by HTML escaping (letters, digits and hyphens only).
_MARK = secrets.token_hex(8)
PLACEHOLDERS = {"csrf_token": f"csrf-{_MARK}", "form_started": f"started-{_MARK}",
                "submission_token": f"submission-{_MARK}"}


def render_contact_page(form: ContactForm, notice: str | None = None) -> str:
    """The contact page around the form as it stands, with an optional notice: the one full render."""
    return render_template("inquiries/contact.html", form=form, notice=notice)


@dataclass(frozen=True)
class KeptPage:
    """A fresh contact page split at its placeholders: parts[0], value of slots[0], parts[1], ..., parts[-1]."""

    parts: tuple[str, ...]
    slots: tuple[str, ...]


RENDER_IN_FULL = object()  # kept instead of a page when the placeholders didn't come out as expected


def fresh_contact_page(address: str) -> str:
    """The contact page with a fresh form for this visitor; `address` is the URL root it was asked for."""
    if _pages_may_change():
        return render_fresh_contact_page()
    config = current_app.config
    key = (address, *(config.get(name) for name in PAGE_SETTINGS))
    kept_pages = current_app.extensions.setdefault(KEPT_KEY, {})
    page = kept_pages.get(key)
    if page is None:
        page = _render_with_placeholders()
        if len(kept_pages) >= MAX_KEPT:
            kept_pages.clear()
        kept_pages[key] = page
    if page is RENDER_IN_FULL:
        return render_fresh_contact_page()
    started, token = new_form_stamps()
    values = {"form_started": started, "submission_token": token}
    if "csrf_token" in page.slots:
        values["csrf_token"] = generate_csrf()  # what the form's own field shows (and keeps in the session)
    pieces = [page.parts[0]]
    for slot, part in zip(page.slots, page.parts[1:], strict=True):
        pieces += [str(escape(values[slot])), part]
    return "".join(pieces)


def render_fresh_contact_page() -> str:
    """The contact page with a fresh form, rendered in full."""
    form = ContactForm()
    form.form_started.data, form.submission_token.data = new_form_stamps()
    return render_contact_page(form)


def _pages_may_change() -> bool:
    """Whether templates or static files may change while the app runs (debug, DEVELOPMENT): then render each time."""
    app = current_app
    return app.debug or app.config["DEVELOPMENT"] or app.jinja_env.auto_reload


def _render_with_placeholders() -> KeptPage | object:
    """The fresh page with placeholders for the visitor's values, split at them; RENDER_IN_FULL if one is missing."""
    form = ContactForm()
    form.form_started.data = PLACEHOLDERS["form_started"]
    form.submission_token.data = PLACEHOLDERS["submission_token"]
    expected = ["form_started", "submission_token"]
    if form.meta.csrf:
        getattr(form, form.meta.csrf_field_name).current_token = PLACEHOLDERS["csrf_token"]
        expected.append("csrf_token")
    html = render_contact_page(form)
    if any(html.count(PLACEHOLDERS[slot]) != 1 for slot in expected):
        log.warning("contact page: a hidden field is not shown exactly once; rendering the page in full each time")
        return RENDER_IN_FULL
    parts, start, slots = [], 0, []
    for position, slot in sorted((html.index(PLACEHOLDERS[slot]), slot) for slot in expected):
        parts.append(html[start:position])
        slots.append(slot)
        start = position + len(PLACEHOLDERS[slot])
    parts.append(html[start:])
    return KeptPage(tuple(parts), tuple(slots))
