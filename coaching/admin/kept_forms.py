"""What the coach sent after her session ended, kept server-side until she signs in again.

A form posted to /admin once the session has run out (idle, 12 hours, or signed out elsewhere) is
not lost: its text is stored against her account, with a token kept in her browser's session, and
after signing in she lands back on the same form, filled. The row serves that sign-in only: it is
erased when shown, and anything older than a day is erased whenever another is kept or taken.
Passwords and codes are never kept; files can't be.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from werkzeug.datastructures import MultiDict

from coaching.admin.models import PendingSubmission
from coaching.database import utcnow
from coaching.extensions import db

KEEP_FOR = timedelta(days=1)
# Secrets and one-time codes are never stored, and the form token is stale by the time she's back.
NEVER_KEPT = re.compile(r"password|^code$|csrf", re.IGNORECASE)


@dataclass(frozen=True)
class Pending:
    """A kept submission, ready to fill its form again."""

    endpoint: str
    view_args: dict
    formdata: MultiDict
    had_file: bool


def _hash(token: str) -> str:
    """The stored form of a browser's token (a database reader can't use it to claim the row)."""
    return hashlib.sha256(token.encode()).hexdigest()


def kept_fields(form: MultiDict) -> list[list[str]]:
    """The submitted fields worth keeping, in order: everything but passwords, codes and the CSRF token."""
    return [[name, value] for name, value in form.items(multi=True) if not NEVER_KEPT.search(name)]


def kept_form(form: MultiDict) -> MultiDict:
    """The submitted form without what is never kept (to fill a form again)."""
    return MultiDict(kept_fields(form))


def keep(admin_id: int, endpoint: str, view_args: dict, form: MultiDict, had_file: bool,
         now: datetime | None = None) -> str:
    """Store a submission for this admin and return the token her browser holds for it (the caller commits)."""
    now = now or utcnow()
    purge_old(now)
    token = secrets.token_urlsafe(32)
    db.session.add(PendingSubmission(
        admin_id=admin_id, token_hash=_hash(token), endpoint=endpoint, view_args=json.dumps(view_args),
        fields=json.dumps(kept_fields(form)), had_file=had_file, created_at=now,
    ))
    return token


def take(token: str | None, admin_id: int, now: datetime | None = None) -> Pending | None:
    """The submission this browser kept for this admin, erased as it is handed back; None if there is none."""
    now = now or utcnow()
    purge_old(now)
    if not token:
        return None
    row = db.session.scalar(select(PendingSubmission).where(
        PendingSubmission.token_hash == _hash(token), PendingSubmission.admin_id == admin_id))
    if row is None:
        return None
    pending = Pending(row.endpoint, json.loads(row.view_args), MultiDict(json.loads(row.fields)), row.had_file)
    db.session.delete(row)
    return pending


def purge_old(now: datetime | None = None) -> int:
    """Erase kept submissions older than a day; how many went."""
    cutoff = (now or utcnow()) - KEEP_FOR
    return db.session.execute(delete(PendingSubmission).where(PendingSubmission.created_at < cutoff)).rowcount
