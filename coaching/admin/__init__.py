"""The coach's admin at /admin: one blueprint, guarded here for every view it holds.

Every view needs a signed-in admin (sign-in itself lives in accounts/); sessions end after
ADMIN_IDLE_MINUTES without a request and ADMIN_SESSION_HOURS in all (SEC-10); responses are
never cached (PRIV-03). The areas attach their admin views to `bp` from their own admin_views.py
(inquiries, blog, accounts), so this package imports none of them; a form sent after the session
ended is kept (pending.py) and brought back by resume.py.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from coaching.admin.session_keys import LAST_SEEN_KEY, SIGNED_IN_AT_KEY
from coaching.database import utcnow
from coaching.web.security import no_store

bp = Blueprint("admin", __name__, url_prefix="/admin")
# The last-seen time is rewritten only once it is this stale, so at worst a session ends this much early.
LAST_SEEN_STEP_SECONDS = 60


@bp.before_request
def require_signed_in_admin():
    """Send anyone not signed in (or whose session has run out) to the sign-in page, keeping what they sent."""
    if not current_user.is_authenticated:
        return _to_sign_in(_ended_session_admin_id(),
                           "Your sign-in here has ended (you signed out elsewhere, or the password was changed).")
    now = utcnow().timestamp()
    idle_limit = current_app.config["ADMIN_IDLE_MINUTES"] * 60
    total_limit = current_app.config["ADMIN_SESSION_HOURS"] * 3600
    since, seen = session.get(SIGNED_IN_AT_KEY, 0), session.get(LAST_SEEN_KEY, 0)
    if now - seen > idle_limit or now - since > total_limit:
        admin_id = current_user.id
        logout_user()
        session.clear()
        return _to_sign_in(admin_id, "For your security you were signed out after a while without activity.")
    if now - seen >= LAST_SEEN_STEP_SECONDS:  # rarer writes: an unchanged session is not re-signed and re-sent
        session[LAST_SEEN_KEY] = now
    return None


def _ended_session_admin_id() -> int | None:
    """The admin whose session this was, if it was one that has since been ended (signed out elsewhere)."""
    user_id, _, _version = str(session.get("_user_id") or "").partition(":")
    return int(user_id) if user_id.isdigit() else None


def _to_sign_in(admin_id: int | None, why: str):
    """Redirect to sign in; a form she posted is kept for her and comes back filled once she has."""
    if request.method == "POST" and admin_id is not None:
        resume.keep_submission(admin_id)
        flash(f"{why} What you sent has not been saved yet, but it is kept: sign in again and you will be "
              "back on the same form with everything you typed.", "info")
        return redirect(url_for("auth.login", next=url_for("admin.resume_submission")), code=303)
    if admin_id is not None:
        flash(f"{why} Please sign in again.", "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")),
                    code=303 if request.method == "POST" else 302)


def init_app(app: Flask) -> None:
    """Register the admin blueprint (after every area has attached its views) and keep /admin out of caches."""
    app.register_blueprint(bp)
    app.after_request(_never_stored)


def _never_stored(response):
    """PRIV-03: nothing under /admin (admin, sign-in and their error pages alike) may be kept by a browser or proxy."""
    if request.path == bp.url_prefix or request.path.startswith(bp.url_prefix + "/"):
        return no_store(response)
    return response


from coaching.admin import resume  # noqa: E402  (its views register on bp, which must exist first)
