"""A request id on every response and every log line of its request; log lines one per event, text or JSON."""

from __future__ import annotations

import io
import json
import logging
import re
from html import unescape

import pytest

from coaching import create_app, logs
from coaching.config import ConfigError
from coaching.extensions import db
from tests.forms import submit_contact

VISITOR = {"name": "Ada Visitor", "email": "ada@example.org", "phone": "", "topic": "coaching",
           "message": "I would like to talk about coaching.", "consent": "y", "website": ""}


@pytest.fixture
def log_lines():
    """Every line the site's log handler writes during the test, as text (read with lines(format))."""
    stream = io.StringIO()
    installed: list[logging.Handler] = []

    def lines(log_format: str = "text") -> list[str]:
        if not installed:
            installed.append(logs.handler(log_format, stream))
            logging.getLogger().addHandler(installed[0])
            logging.getLogger().setLevel(logging.INFO)
        return stream.getvalue().splitlines()

    yield lines
    for handler in installed:
        logging.getLogger().removeHandler(handler)


def test_every_response_carries_its_own_request_id(client):
    """Does each response, a kept public page's too, carry an X-Request-ID of its own?"""
    ids = [client.get(path).headers.get("X-Request-ID") for path in ("/contact", "/contact", "/", "/", "/")]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{12}", value) for value in ids)


@pytest.mark.parametrize("path", ["/contact", "/"])  # rendered per request, and a kept public page
def test_a_trusted_proxys_request_id_is_used(app_factory, path):
    """Behind a trusted proxy, is its X-Request-ID used, and anything but a plain token replaced?"""
    app = app_factory(PROXY_FIX_HOPS=1)
    client = app.test_client()
    client.get(path)  # a public page is kept after this
    assert client.get(path, headers={"X-Request-ID": "abc-123.DEF_456"}).headers["X-Request-ID"] == "abc-123.DEF_456"
    for forged in ("two words", "a\tb", "x" * 129, "<script>"):
        answered = client.get(path, headers={"X-Request-ID": forged}).headers["X-Request-ID"]
        assert answered != forged and re.fullmatch(r"[0-9a-f]{12}", answered)


def test_without_a_trusted_proxy_the_clients_request_id_is_ignored(client):
    """With no proxy in front (PROXY_FIX_HOPS=0), is a client's X-Request-ID ignored (it could poison the logs)?"""
    answered = client.get("/contact", headers={"X-Request-ID": "chosen-by-a-stranger"}).headers["X-Request-ID"]
    assert answered != "chosen-by-a-stranger"


def test_every_log_line_of_a_request_carries_its_id(client, log_lines):
    """Does the line the contact form logs for a new inquiry carry the id sent back in the header?"""
    log_lines()
    response = submit_contact(client, VISITOR)
    assert response.status_code == 303
    request_id = response.headers["X-Request-ID"]
    recorded = [line for line in log_lines() if "recorded" in line]
    assert recorded and all(f"[{request_id}]" in line for line in recorded)
    assert all("Ada" not in line and "ada@" not in line for line in log_lines())  # SEC-13


def test_json_lines_hold_the_fields_and_stay_one_line(app, client, log_lines):
    """With LOG_FORMAT=json, is each line a JSON object with time, level, logger, request id and message,
    a message with line breaks included?"""
    log_lines("json")
    response = submit_contact(client, VISITOR)
    with app.test_request_context():
        logging.getLogger("coaching.test").warning("first line\nforged: second line\r\nthird")
    lines = log_lines()
    records = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "request_id", "message"} <= set(records[0])
    assert any(record["request_id"] == response.headers["X-Request-ID"] and "recorded" in record["message"]
               for record in records)
    assert not any(line.startswith("forged") for line in lines)
    assert any(record["message"] == "first line\nforged: second line\r\nthird" for record in records)


def test_text_lines_escape_line_breaks(app, log_lines):
    """In text lines, is a line break in a message written as \\n, so no one can forge a line?"""
    log_lines("text")
    logging.getLogger("coaching.test").warning("first\nforged line")
    lines = log_lines()
    assert any(line.endswith("[-]: first\\nforged line") for line in lines)
    assert not any(line.startswith("forged") for line in lines)


def test_the_500_page_shows_the_request_id(app, caplog):
    """Is the reference on the 500 page the request's id, the one in its response header and log line?"""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/explode")
    def explode():
        raise RuntimeError("secret internals")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/explode")
    reference = unescape(response.get_data(as_text=True)).split("<strong>")[1].split("</strong>")[0]
    assert reference == response.headers["X-Request-ID"]
    assert any(reference in record.getMessage() for record in caplog.records)
    with app.app_context():
        db.session.rollback()


def test_an_unknown_log_format_is_refused_by_name(tmp_path):
    """Does LOG_FORMAT=xml stop the app at start with a message naming the setting and its choices?"""
    with pytest.raises(ConfigError, match="LOG_FORMAT must be text or json"):
        create_app({"TESTING": True, "LOG_FORMAT": "xml"}, instance_path=tmp_path)
