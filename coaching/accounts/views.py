"""Signing the coach in and out of /admin: throttled, with an optional second factor."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError

from coaching.accounts import credentials, password_reset
from coaching.accounts.forms import ForgotPasswordForm, ResetPasswordForm, SecondFactorForm, SignInForm
from coaching.accounts.models import AdminUser
from coaching.admin.kept_forms import kept_form
from coaching.admin.session_keys import LAST_SEEN_KEY, PENDING_SUBMISSION_KEY, SIGNED_IN_AT_KEY
from coaching.database import utcnow
from coaching.extensions import db
from coaching.web.templating import format_moment

bp = Blueprint("auth", __name__, url_prefix="/admin")
log = logging.getLogger(__name__)
PENDING_KEY = "pending_second_factor"
RESET_LINK_KEY = "password_reset_link"  # an opened reset link, kept here rather than in the address bar
FAILURES_NOTICE_KEY = "admin_failures_notice"  # failed sign-ins before this one, for the account page
DEVICE_COOKIE = "admin_device"  # OWASP device cookie: this browser has signed in (credentials.py)


def safe_next(target: str | None) -> str:
    """SEC-04: follow ?next= only to a path on this site, never to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin.inquiries")


def see_other_after_post(location: str):
    """A redirect for a route taking both methods: 303 after a POST (the browser then GETs), 302 after a GET."""
    return redirect(location, code=303 if request.method == "POST" else 302)


def _wait_message(throttle: credentials.Throttle) -> str:
    """How long to wait before trying again, in words."""
    return (f"Too many attempts. For your account's safety, please wait {throttle.minutes} "
            f"minute{'s' if throttle.minutes != 1 else ''}, then try again.")


def _sign_in_step(form, template: str, email: str, check: Callable[[], AdminUser | None],
                  wrong: str) -> tuple[AdminUser | None, tuple[str, int] | None]:
    """Throttle, check, count a wrong answer: (the user, None), or (None, the form again: 429 or 400)."""
    address = request.remote_addr or "unknown"
    device = credentials.trusted_device(request.cookies.get(DEVICE_COOKIE), email)
    throttle = credentials.sign_in_throttle(email, address, device=device)
    if not throttle.allowed:  # nothing is checked while the wait lasts, not even the right answer
        return None, (render_template(template, form=form, problem=_wait_message(throttle)), 429)
    user = check()
    if user is None:
        credentials.record_failure(email, address, device=device)
        db.session.commit()
        return None, (render_template(template, form=form, problem=wrong), 400)
    # What the check changed (a renewed password hash, a spent recovery code); the account's
    # failures are forgotten only once the whole sign-in succeeds (_finish_sign_in).
    db.session.commit()
    return user, None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with address and password; then the second factor if it is turned on."""
    # A form kept while she was signed out comes back first, however she reached this page.
    wanted = request.args.get("next") or (url_for("admin.resume_submission")
                                           if session.get(PENDING_SUBMISSION_KEY) else None)
    next_url = safe_next(wanted)
    if current_user.is_authenticated:
        return see_other_after_post(next_url)
    form = SignInForm()
    if not form.validate_on_submit():
        return (render_template("accounts/login.html", form=form, problem=None),
                200 if not form.errors else 400)
    user, refusal = _sign_in_step(
        form, "accounts/login.html", form.email.data,
        lambda: credentials.check_password(form.email.data, form.password.data),
        wrong="The email address or password is not right. Check them and try again.")
    if refusal:
        return refusal
    if user.totp_enabled:
        _fresh_session()
        session[PENDING_KEY] = {"user": user.get_id(), "at": utcnow().timestamp(),
                                "next": next_url}
        return redirect(url_for("auth.second_factor"), code=303)
    return _finish_sign_in(user, next_url)


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    """The second step: a code from the authenticator app, or a recovery code."""
    pending = session.get(PENDING_KEY)
    user = credentials.load_session_user(pending["user"]) if pending else None
    if user is None or utcnow().timestamp() - pending["at"] > 600:
        session.pop(PENDING_KEY, None)
        flash("Please sign in again.", "info")
        return see_other_after_post(url_for("auth.login"))
    form = SecondFactorForm()
    if not form.validate_on_submit():
        return (render_template("accounts/second_factor.html", form=form, problem=None),
                200 if not form.errors else 400)
    _, refusal = _sign_in_step(
        form, "accounts/second_factor.html", user.email,
        lambda: user if credentials.second_factor_matches(user, form.code.data) else None,
        wrong="That code is not right. Codes change every 30 seconds: enter the one showing now.")
    if refusal:
        return refusal
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
    """SEC-10: start a new session for the signed-in admin, say what failed meanwhile, trust this browser."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    device = credentials.device_for(cookie, user.email)  # the cookie is checked once
    failures, latest = credentials.failures_since_last_sign_in(user, device)
    if credentials.still_trusted(device) is None:
        # Only now, code included. A sign-in through a trusted device leaves the account's
        # failures alone, so whoever is guessing elsewhere stays slowed down.
        credentials.forget_failures(user.email)
    _fresh_session()
    start_admin_session(user)
    user.last_sign_in_at = utcnow()
    db.session.commit()
    if failures:
        session[FAILURES_NOTICE_KEY] = {"count": failures, "latest": latest.timestamp()}
        flash(failures_notice(failures, latest), "info")
    log.info("admin %d signed in", user.id)
    response = redirect(next_url, code=303)  # always the answer to a POST: the password or the code
    response.set_cookie(DEVICE_COOKIE, credentials.new_device_cookie(user), path="/admin",
                        max_age=int(credentials.DEVICE_COOKIE_LIFETIME.total_seconds()), httponly=True,
                        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]), samesite="Lax")
    return response


def failures_notice(count: int, latest: datetime) -> str:
    """ "3 failed sign-in attempts since you last signed in (the last at …)", for the flash and account page."""
    return (f"{count} failed sign-in attempt{'s' if count != 1 else ''} since you last signed in "
            f"(the last at {format_moment(latest)}).")


@bp.post("/logout")
def logout():
    """Sign out here and everywhere else (the session version moves on); already signed out, just to sign-in."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"), code=303)
    user = db.session.get(AdminUser, current_user.id)
    credentials.end_other_sessions(user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"), code=303)


# --- A forgotten password: a link by email (the service is password_reset.py) ---


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    """Ask for a link to choose a new password; every address gets the same answer (no enumeration)."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return (render_template("accounts/forgot_password.html", form=form),
                200 if not form.errors else 400)
    password_reset.request_reset(form.email.data, request.remote_addr or "unknown")
    db.session.commit()
    return redirect(url_for("auth.reset_email_sent"), code=303)


@bp.get("/forgot-password/sent")
def reset_email_sent():
    """Check your email: the same page whether or not the address has an account."""
    return render_template("accounts/reset_email_sent.html",
                           lifetime_minutes=int(password_reset.LINK_LIFETIME.total_seconds() // 60))


@bp.get("/reset-password/<token>")
def reset_password_link(token: str):
    """The emailed link: keep its token in the session and leave the address at once (history, Referer)."""
    session[RESET_LINK_KEY] = password_reset.remember_link(token)
    return redirect(url_for("auth.reset_password"), code=303)


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password():
    """Choose a new password with an opened link; then sign in again, second factor and all."""
    address = request.remote_addr or "unknown"
    throttle = credentials.reset_link_throttle(address)
    if not throttle.allowed:
        return render_template("accounts/reset_link_invalid.html", problem=_wait_message(throttle)), 429
    user = password_reset.user_for_link(session.get(RESET_LINK_KEY))
    if user is None:
        if session.pop(RESET_LINK_KEY, None) is not None:  # counted once, not on every reload
            credentials.record_bad_reset_link(address)
            db.session.commit()
        return render_template("accounts/reset_link_invalid.html", problem=None), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            password_reset.choose_new_password(user, form.new_password.data)
        except credentials.PasswordRejected as exc:
            form.new_password.errors.append(str(exc))
        else:
            db.session.commit()
            logout_user()
            _fresh_session()  # the link is spent, and no session of the old password lives on here
            flash("Your password has been changed. Sign in with your new password.", "info")
            return redirect(url_for("auth.login"), code=303)
    return (render_template("accounts/reset_password.html", form=form),
            200 if not form.errors else 400)


@bp.errorhandler(CSRFError)
def token_rejected(error: CSRFError):
    """A rejected form token (say, the browser was closed): the same form again, with the address typed."""
    log.info("sign-in form token rejected: %s", error.description)
    typed = kept_form(request.form)
    notice = ("For your security the page had to be opened afresh, so nothing was sent yet. "
              "Please check it and send it again.")
    if request.endpoint == "auth.forgot_password":
        return render_template("accounts/forgot_password.html", form=ForgotPasswordForm(formdata=typed),
                               problem=notice), 400
    return render_template("accounts/login.html", form=SignInForm(formdata=typed), problem=notice), 400
