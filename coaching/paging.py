"""The ?page= number of a paginated list, shared by the blog and the admin inbox."""

from __future__ import annotations

from flask import abort, request

MAX_PAGE = 100_000  # far past any real list; a larger number would overflow the database's OFFSET


def page_number() -> int:
    """The ?page= number; anything that is not a plausible whole number is a page that does not exist (404)."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        abort(404)
    return int(raw)
