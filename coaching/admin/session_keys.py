"""The keys of the coach's admin session, shared by sign-in (accounts) and the admin guard."""

from __future__ import annotations

SIGNED_IN_AT_KEY, LAST_SEEN_KEY = "admin_since", "admin_seen"  # read by the admin guard (SEC-10)
PENDING_SUBMISSION_KEY = "pending_submission"  # a form kept while signed out (admin/resume.py)
