"""The rows of the inbox list in the words they show, worked out in Python once a row.

A template's function calls and lookups cost several times what the same calls cost here, and a page
has 25 rows of eight or so each: the list template only prints what these rows hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Row

from coaching.inquiries.inbox import STATUS_LABELS, notification_state, preview
from coaching.inquiries.intake import unusual_speed
from coaching.inquiries.models import topic_label
from coaching.web.templating import format_moment


@dataclass(frozen=True, slots=True)
class ListedInquiry:
    """One row of the inbox list: its link's id and everything it says, as text."""

    id: int
    name: str
    status: str  # the status's value: "new", "read", ...
    status_label: str
    topic_label: str
    received_at: str  # ISO 8601, for <time datetime>
    received: str  # as the coach reads it, in the practice's time zone
    notification: str
    unusual: str | None
    preview: str


def listed(rows: Iterable[Row]) -> list[ListedInquiry]:
    """The list's rows (inbox.LIST_COLUMNS and coach_notified) as the page shows them."""
    return [ListedInquiry(
        id=row.id, name=row.name, status=row.status.value, status_label=STATUS_LABELS[row.status],
        topic_label=topic_label(row.topic),
        received_at=row.created_at.isoformat(), received=format_moment(row.created_at),
        notification=notification_state(row),
        unusual=unusual_speed(row),
        preview=preview(row.message),
    ) for row in rows]
