"""The site's forms sent through the Flask test client: CSRF tokens, the contact form, signing in, the editor."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

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


# --- The post editor ---


class _FormReader(HTMLParser):
    """The fields of the editor form (<form class="post-form">) as a browser would submit them."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.in_form = False
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.in_form = "post-form" in (attributes.get("class") or "")
        elif self.in_form and tag == "input" and attributes.get("type") not in ("file", "submit"):
            if attributes.get("type") != "checkbox" or "checked" in attributes:
                self.fields[attributes["name"]] = attributes.get("value") or ""
        elif self.in_form and tag == "textarea":
            self.textarea = attributes["name"]
            self.fields[self.textarea] = ""

    def handle_endtag(self, tag):
        if tag == "textarea" and self.textarea:
            value = self.fields[self.textarea]
            self.fields[self.textarea] = value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            self.textarea = None
        elif tag == "form":
            self.in_form = False

    def handle_data(self, data):
        if self.textarea:
            self.fields[self.textarea] += data


def editor_fields(client, url: str) -> dict[str, str]:
    """What the editor form at this URL would send if submitted as it is."""
    reader = _FormReader()
    reader.feed(client.get(url).get_data(as_text=True))
    return reader.fields


def submit(client, url: str = "/admin/posts/new", action: str = "save", image=None, **changes):
    """Open the editor, change some fields (and choose an image: (bytes, filename)), then press a button."""
    data = {**editor_fields(client, url), **changes, "action": action}
    if image is not None:
        data["cover_file"] = (io.BytesIO(image[0]), image[1])
    return post_closing_body(client, url, data)


def post_closing_body(client, url: str, data: dict):
    """POST a form, then close the temporary file Werkzeug's test client spools a large body into."""
    response = client.post(url, data=data)
    response.request.environ["wsgi.input"].close()
    return response


def write_post(client, title: str = "Breathing room", body: str = "Some calm words.", **fields) -> int:
    """Create a draft through the editor and return its id."""
    response = submit(client, title=title, body=body, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.search(r"/admin/posts/(\d+)/edit", response.headers["Location"]).group(1))


def post_code(client, code: str):
    """Send a second-factor code on the code page."""
    return post(client, csrf_token_of(client, "/admin/login/code"), "/admin/login/code", code=code)
