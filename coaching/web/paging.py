"""Paging: the ?page= number of a numbered list (the blog), and keyset pages newest first (the admin inbox).

A keyset page starts next to a row, named by a cursor, instead of after an OFFSET: page 3,200 costs what
page 1 costs, and nothing counts the whole list.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import abort, request
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from coaching.database import MAX_ID
from coaching.extensions import db

MAX_PAGE = 100_000  # far past any real list; a larger number would overflow the database's OFFSET
# ASCII digits only: str.isdigit() also accepts "²" and "①", which int() then refuses (a 500).
PAGE_NUMBER = re.compile(r"[0-9]{1,6}")


def page_number() -> int:
    """The ?page= number; anything that is not a plausible whole number is a page that does not exist (404)."""
    raw = request.args.get("page", "1")
    if not PAGE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
        abort(404)
    return int(raw)


# --- Keyset pages, newest first by (created_at, id) ---

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
ENCODED_CURSOR = re.compile(r"[A-Za-z0-9_-]{4,44}")
DECODED_CURSOR = re.compile(r"([on])(-?[0-9]{1,18})\.([0-9]{1,10})")


@dataclass(frozen=True)
class Cursor:
    """A place in a list kept newest first by (created_at, id): the row a page starts next to, and which way.

    In a URL it is opaque (`encode()`); `decode()` takes back only what encode() could have made. It names a
    position, nothing more, so a cursor edited by hand can only show another part of the same list.
    """

    created_at: datetime
    id: int
    older: bool = True  # the page holds the rows after this one (older); False: the rows before it (newer)

    def encode(self) -> str:
        """The cursor as URL-safe text: base64 of the direction, microseconds since 1970 and the id."""
        micros = (self.created_at - EPOCH) // ONE_MICROSECOND
        plain = f"{'o' if self.older else 'n'}{micros}.{self.id}"
        return base64.urlsafe_b64encode(plain.encode("ascii")).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor this text encodes, or None if it is missing, malformed or out of range."""
        if not text or not ENCODED_CURSOR.fullmatch(text):
            return None
        try:
            plain = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            return None
        match = DECODED_CURSOR.fullmatch(plain)
        if not match or not 1 <= int(match[3]) <= MAX_ID:
            return None
        try:
            created_at = EPOCH + int(match[2]) * ONE_MICROSECOND
        except OverflowError:  # before year 1 or after 9999
            return None
        return cls(created_at, int(match[3]), older=match[1] == "o")


def page_cursor() -> Cursor | None:
    """The ?cursor= of a keyset list: None (the first page) when there is none or it is not one the site made.

    An old ?page=N link has no cursor, so it opens the first page.
    """
    return Cursor.decode(request.args.get("cursor"))


@dataclass(frozen=True)
class KeysetPage:
    """One page of a list newest first, and the cursors of the pages either side (None: there is none)."""

    items: Sequence
    newer: Cursor | None
    older: Cursor | None

    @property
    def is_first(self) -> bool:
        """Whether this is the first (newest) page."""
        return self.newer is None


def newest_first_page(statement: Select, created_at: InstrumentedAttribute, row_id: InstrumentedAttribute,
                      cursor: Cursor | None, per_page: int) -> KeysetPage:
    """The page of `statement`'s rows (ordered here by created_at, then id, both descending) that the cursor names.

    One query a page, whatever its depth: the rows next to the cursor, read from an index on (…, created_at, id),
    plus one more to tell whether there is a page beyond. Going newer with fewer rows left than a page (rows
    were erased meanwhile), or older with none (a cursor past the end), shows the first page instead.
    """
    key = tuple_(created_at, row_id)
    if cursor is None:
        rows = _rows(statement.order_by(created_at.desc(), row_id.desc()), per_page + 1)
        return KeysetPage(rows[:per_page], newer=None, older=_older_than(rows, per_page))
    position = (cursor.created_at, cursor.id)  # bound with the columns' types (UTCDateTime stores naive UTC)
    if cursor.older:
        rows = _rows(statement.where(key < position).order_by(created_at.desc(), row_id.desc()), per_page + 1)
        if not rows:
            return newest_first_page(statement, created_at, row_id, None, per_page)
        return KeysetPage(rows[:per_page], newer=_cursor(rows[0], older=False), older=_older_than(rows, per_page))
    rows = _rows(statement.where(key > position).order_by(created_at.asc(), row_id.asc()), per_page + 1)
    if len(rows) < per_page:
        return newest_first_page(statement, created_at, row_id, None, per_page)
    items = rows[:per_page][::-1]
    return KeysetPage(items, newer=_cursor(items[0], older=False) if len(rows) > per_page else None,
                      older=_cursor(items[-1], older=True))


def _rows(statement: Select, limit: int) -> list:
    """The first `limit` objects the statement selects (one entity), or rows (several columns, among them
    created_at and id)."""
    result = db.session.execute(statement.limit(limit))
    return list(result.scalars() if len(statement.column_descriptions) == 1 else result)


def _cursor(row, older: bool) -> Cursor:
    """The cursor next to this row."""
    return Cursor(row.created_at, row.id, older=older)


def _older_than(rows: list, per_page: int) -> Cursor | None:
    """The cursor of the next older page, if more rows were found than a page holds."""
    return _cursor(rows[per_page - 1], older=True) if len(rows) > per_page else None
