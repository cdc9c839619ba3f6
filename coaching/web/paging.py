"""The ?page= number of a paginated list, shared by the blog and the admin inbox."""

from __future__ import annotations

import re

from flask import abort, request

MAX_PAGE = 100_000  # far past any real list; a larger number would overflow the database's OFFSET
# ASCII digits only: str.isdigit() also accepts "²" and "①", which int() then refuses (a 500).
PAGE_NUMBER = re.compile(r"[0-9]{1,6}")


def page_number() -> int:
    """The ?page= number; anything that is not a plausible whole number is a page that does not exist (404)."""
    raw = request.args.get("page", "1")
    if not PAGE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
        abort(404)
    return int(raw)
