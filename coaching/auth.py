"""Signing the coach in and out of /admin: throttled, with an optional second factor."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from . import accounts
from .database import utcnow
from .extensions import db
from .forms import SecondFactorForm, SignInForm
from .models import AdminUser
from .security import no_store

bp = Blueprint("auth", __name__, url_prefix="/admin")
log = logging.getLogger(__name__)
PENDING_KEY = "pending_second_factor"
SIGNED_IN_AT_KEY, LAST_SEEN_KEY = "admin_since", "admin_seen"  # read by the admin guard (SEC-10)
PENDING_SUBMISSION_KEY = "pending_submission"  # a form kept while signed out (admin/resume.py)


def safe_next(target: str | None) -> str:
    """SEC-04: follow ?next= only to a path on this site, never to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin.inquiries")


bp.after_request(no_store)


def _throttled(form, throttle: accounts.Throttle, template: str):
    """The form again, with how long to wait before trying (nothing was checked)."""
    message = (f"Too many attempts. For your account's safety, please wait {throttle.minutes} "
               f"minute{'s' if throttle.minutes != 1 else ''}, then try again.")
    return (render_template(template, form=form, problem=message), 429)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with address and password; then the second factor if it is turned on."""
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = SignInForm()
    if not form.validate_on_submit():
        return (render_template("auth/login.html", form=form, problem=None),
                         200 if not form.errors else 400)
    address = request.remote_addr or "unknown"
    throttle = accounts.sign_in_throttle(form.email.data, address)
    if not throttle.allowed:
        return _throttled(form, throttle, "auth/login.html")
    user = accounts.check_password(form.email.data, form.password.data)
    if user is None:
        accounts.record_failure(form.email.data, address)
        db.session.commit()
        return (render_template(
            "auth/login.html", form=form,
            problem="The email address or password is not right. Check them and try again."), 400)
    accounts.forget_failures(form.email.data)
    db.session.commit()
    if user.totp_enabled:
        _fresh_session()
        session[PENDING_KEY] = {"user": user.get_id(), "at": utcnow().timestamp(),
                                "next": next_url}
        return redirect(url_for("auth.second_factor"))
    return _finish_sign_in(user, next_url)


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    """The second step: a code from the authenticator app, or a recovery code."""
    pending = session.get(PENDING_KEY)
    user = accounts.load_session_user(pending["user"]) if pending else None
    if user is None or utcnow().timestamp() - pending["at"] > 600:
        session.pop(PENDING_KEY, None)
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if not form.validate_on_submit():
        return (render_template("auth/second_factor.html", form=form, problem=None),
                         200 if not form.errors else 400)
    address = request.remote_addr or "unknown"
    throttle = accounts.sign_in_throttle(user.email, address)
    if not throttle.allowed:
        return _throttled(form, throttle, "auth/second_factor.html")
    if not accounts.second_factor_matches(user, form.code.data):
        accounts.record_failure(user.email, address)
        db.session.commit()
        return (render_template(
            "auth/second_factor.html", form=form,
            problem="That code is not right. Codes change every 30 seconds: enter the one showing now."), 400)
    db.session.commit()  # a recovery code is now spent
    return _finish_sign_in(user, pending["next"])


def _fresh_session() -> None:
    """Empty the session for a sign-in (SEC-10), keeping only the token of a form kept while signed out."""
    kept = session.get(PENDING_SUBMISSION_KEY)
    session.clear()
    if kept:
        session[PENDING_SUBMISSION_KEY] = kept


def start_admin_session(user: AdminUser, signed_in_at: float | None = None) -> None:
    """Log the admin in to this session and stamp when it began (or keep signed_in_at) and was last seen."""
    login_user(user, remember=False)
    now = utcnow().timestamp()
    session[SIGNED_IN_AT_KEY] = signed_in_at or now
    session[LAST_SEEN_KEY] = now


def _finish_sign_in(user: AdminUser, next_url: str):
    """SEC-10: start a new session for the signed-in admin and note when it began."""
    _fresh_session()
    start_admin_session(user)
    user.last_sign_in_at = utcnow()
    db.session.commit()
    log.info("admin %d signed in", user.id)
    return redirect(next_url)


@bp.post("/logout")
@login_required
def logout():
    """Sign out here and everywhere else (the session version moves on)."""
    user = db.session.get(AdminUser, current_user.id)
    accounts.end_other_sessions(user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))
