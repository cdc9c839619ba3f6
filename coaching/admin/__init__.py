"""The coach's admin at /admin: one blueprint, guarded here for every view it holds.

Every view needs a signed-in admin (sign-in itself lives in auth.py); sessions end after
ADMIN_IDLE_MINUTES without a request and ADMIN_SESSION_HOURS in all (SEC-10); responses are
never cached (PRIV-03). The views live in inbox.py, posts.py and account.py.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from ..auth import LAST_SEEN_KEY, SIGNED_IN_AT_KEY
from ..database import utcnow
from ..security import no_store

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def require_signed_in_admin():
    """Send anyone not signed in (or whose session has run out) to the sign-in page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    now = utcnow().timestamp()
    idle_limit = current_app.config["ADMIN_IDLE_MINUTES"] * 60
    total_limit = current_app.config["ADMIN_SESSION_HOURS"] * 3600
    since, seen = session.get(SIGNED_IN_AT_KEY, 0), session.get(LAST_SEEN_KEY, 0)
    if now - seen > idle_limit or now - since > total_limit:
        logout_user()
        session.clear()
        flash("For your security you were signed out after a while without activity. Please sign in again.",
              "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    session[LAST_SEEN_KEY] = now
    return None


bp.after_request(no_store)


from . import account, inbox, posts  # noqa: E402,F401  (views register on bp)
