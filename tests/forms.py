"""The site's forms sent through the Flask test client: CSRF tokens, the contact form, signing in."""

from __future__ import annotations

import re

from tests.factories import ADMIN_EMAIL, ADMIN_PASSWORD


def text_of(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


# --- The contact form over HTTP ---

_KEEP_TOKEN = object()


def contact_form_fields(html: str) -> dict[str, str]:
    """The hidden fields of a rendered contact form (CSRF token, start time, submission token)."""
    fields = {}
    for name in ("csrf_token", "form_started", "submission_token"):
        match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or re.search(
            rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html)
        fields[name] = match.group(1) if match else ""
    return fields


def submit_contact(client, data: dict, csrf_token=_KEEP_TOKEN, headers: dict | None = None):
    """Open /contact as a visitor would, then send it with these values (None leaves a field out)."""
    page = client.get("/contact", headers=headers).get_data(as_text=True)
    form = contact_form_fields(page)
    if csrf_token is not _KEEP_TOKEN:
        form["csrf_token"] = csrf_token
    form.update(data)
    return client.post("/contact", data={k: v for k, v in form.items() if v is not None}, headers=headers)


# --- Signing in to the admin ---


def post(client, token: str, url: str, **data):
    """POST a form with the session's CSRF token."""
    return client.post(url, data={"csrf_token": token, **data})


def csrf_token_of(client, url: str) -> str:
    """A valid CSRF token for this client's session, read from a page that has a form."""
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def sign_in(client, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, next_url: str | None = None):
    """Open the sign-in page and sign in with these details; returns the POST's response."""
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    return post(client, csrf_token_of(client, "/admin/login"), url, email=email, password=password)
