"""Database plumbing: SQLite tuned for a web server, a UTC datetime column type, and ids in URLs."""

from __future__ import annotations

import enum
import sqlite3
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

# The largest id an Integer primary key holds on every backend (PostgreSQL's INTEGER; SQLite's is 2^63 - 1).
MAX_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """<int:…> in the site's URLs: ASCII digits naming a possible row, so /admin/inquiries/9223372036854775808
    is a 404 page instead of an overflow inside the database (a 500)."""

    regex = r"[0-9]{1,10}"  # "\d" would also match other scripts' digits

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC on every backend and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        """Convert an aware datetime to naive UTC before it is stored."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        """Mark a stored naive value as UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


def _lower(text: str | None) -> str | None:
    """lower() for SQLite, with Python's Unicode case rules."""
    return text.lower() if isinstance(text, str) else text


# REL-07: no "BEGIN" is emitted when a session's transaction opens. The sqlite3 driver begins one
# just before the first write, so a read-then-write never holds a stale snapshot while waiting for
# the write lock, and busy_timeout can do its job; BEGIN-at-start would fail at once under
# contention (tests/test_database.py proves both).
@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _record) -> None:
    """REL-05: WAL, a busy timeout and foreign keys on every new SQLite connection; a Unicode-aware lower()."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # SQLite's own lower() folds only A-Z, so a search for "émilie" would miss "Émilie" there
    # while PostgreSQL finds it; Python's str.lower makes both databases agree.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def stored_by_value(enum_class: type[enum.Enum], name: str) -> Enum:
    """A column type that stores an enum's values ("new"), not its member names ("NEW")."""
    return Enum(enum_class, name=name, values_callable=lambda members: [member.value for member in members])
