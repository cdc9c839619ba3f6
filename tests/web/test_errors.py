"""Error pages: friendly, in the site's layout, and never a traceback."""

from __future__ import annotations

import logging
from html import unescape

import pytest
from flask import abort

from coaching.extensions import db


@pytest.mark.parametrize(("code", "heading"), [
    (400, "didn't make sense"), (403, "isn't open to you"), (404, "Page not found"),
    (405, "didn't work here"), (413, "too much to send"), (429, "wait a moment"),
])
def test_each_error_has_a_friendly_page(app, code, heading):
    """Does each HTTP error render its own explanation inside the site's layout?"""

    @app.get(f"/raise-{code}")
    def raise_error():
        abort(code)

    response = app.test_client().get(f"/raise-{code}")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == code
    assert heading in html
    assert 'href="#main"' in html and 'aria-label="Main"' in html


def test_unknown_page_is_a_friendly_404(client):
    """Does an unknown address get a helpful 404 page with ways onward?"""
    response = client.get("/no/such/page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Page not found" in html and 'href="/blog/"' in html


def test_wrong_method_is_a_friendly_405(client):
    """Does posting to a read-only page get the friendly 405 page, in the site's layout?"""
    response = client.post("/roadmap")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 405  # no route matched, so CSRF never looks at the request
    assert "That didn't work here" in html
    assert 'href="#main"' in html and 'aria-label="Main"' in html


def test_server_error_rolls_back_and_shows_an_incident_id(app, caplog):
    """Does an unhandled error roll back, log an incident id and show it without a traceback?"""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/explode")
    def explode():
        db.session.execute(db.text("SELECT 1"))
        raise RuntimeError("secret internals")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/explode")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 500
    assert "something went wrong on our side" in html
    assert "secret internals" not in html and "Traceback" not in html
    incident = html.split("<strong>")[1].split("</strong>")[0]
    assert len(incident) == 12
    assert any(incident in record.getMessage() for record in caplog.records)
