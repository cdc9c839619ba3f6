"""How the site's log lines look: one line per event, as text or (LOG_FORMAT=json) JSON, with the request id.

gunicorn's own lines (its access log and errors) are formatted the same way by
coaching/operations/access_log.py, so a machine reading the journal sees one format.
"""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

from coaching.web.request_ids import RequestIdFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "request_id", "message")
LOG_FORMATS = ("text", "json")


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT: text lines, or JSON objects one per line (newlines escaped)."""
    if log_format == "json":
        return JsonFormatter(list(JSON_FIELDS), rename_fields={"asctime": "time", "levelname": "level",
                                                               "name": "logger"})
    return OneLineFormatter(TEXT_FORMAT)


class OneLineFormatter(logging.Formatter):
    """Text lines that stay one line each: a newline in a message or a traceback is written as \\n."""

    def format(self, record: logging.LogRecord) -> str:
        """The usual text, with line breaks escaped so no value can start a forged line."""
        return super().format(record).replace("\r", "\\r").replace("\n", "\\n")


def handler(log_format: str, stream=None) -> logging.Handler:
    """A handler writing the site's lines to stream (standard error by default), each with its request id."""
    made = logging.StreamHandler(stream)
    made.setFormatter(formatter(log_format))
    made.addFilter(RequestIdFilter())
    return made


def install(log_format: str) -> None:
    """Send INFO and above to standard error in this format, unless the process set up logging itself
    (as logging.basicConfig does: a program embedding the app, or an app built twice in one process)."""
    root = logging.getLogger()
    if root.handlers:
        return
    root.addHandler(handler(log_format))
    root.setLevel(logging.INFO)
