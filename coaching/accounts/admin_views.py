"""The coach's account: change the password, and turn the second factor (TOTP) on or off."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import qrcode
import qrcode.image.svg
from flask import Response, abort, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user

from coaching.accounts import credentials
from coaching.accounts.forms import ChangePasswordForm, ConfirmPasswordForm, SecondFactorForm
from coaching.accounts.models import AdminUser
from coaching.accounts.views import FAILURES_NOTICE_KEY, failures_notice, see_other_after_post, start_admin_session
from coaching.admin import bp
from coaching.admin.kept_forms import Pending
from coaching.admin.resume import restores
from coaching.admin.session_keys import SIGNED_IN_AT_KEY
from coaching.extensions import db

PENDING_SECRET_KEY = "pending_totp_secret"


def _me() -> AdminUser:
    """The signed-in admin, as a row of this request's session."""
    return db.session.get(AdminUser, current_user.id)


def _page(status: int = 200, **forms):
    """The account page with its three forms (any given ones carry errors or values)."""
    context = {
        "user": _me(),
        "failures": _failures_before_this_sign_in(),
        "password_form": forms.get("password_form") or ChangePasswordForm(formdata=None),
        "disable_form": forms.get("disable_form") or ConfirmPasswordForm(formdata=None),
    }
    return render_template("accounts/admin/account.html", **context), status


def _failures_before_this_sign_in() -> str | None:
    """The notice of sign-ins that failed between the last sign-in and this one, if any did."""
    kept = session.get(FAILURES_NOTICE_KEY)
    if not isinstance(kept, dict) or not kept.get("count"):
        return None
    return failures_notice(int(kept["count"]), datetime.fromtimestamp(kept["latest"], UTC))


@bp.get("/account")
def account():
    """The account page: password, second factor, recovery codes."""
    return _page()


@bp.post("/account/password")
def change_password():
    """Change the password; every other session is signed out, this one stays."""
    form = ChangePasswordForm()
    user = _me()
    if form.validate():
        if not credentials.password_matches(user, form.current_password.data):
            form.current_password.errors.append("Your current password is not right")
        else:
            try:
                credentials.set_password(user, form.new_password.data)
            except credentials.PasswordRejected as exc:
                form.new_password.errors.append(str(exc))
            else:
                db.session.commit()
                _stay_signed_in(user)
                flash("Your password has been changed. Any other signed-in devices have been signed out.", "info")
                return redirect(url_for("admin.account"), code=303)
    return _page(400, password_form=form)


@restores("admin.change_password", "admin.turn_off_two_factor", "admin.two_factor_setup", refills=False)
def _resume_account(pending: Pending):
    """The account page again: passwords and codes are never kept, so they are typed again."""
    return redirect(url_for("admin.account"), code=303)


def _stay_signed_in(user: AdminUser) -> None:
    """Re-issue this session's login with the new session version (others stay ended)."""
    start_admin_session(user, signed_in_at=session.get(SIGNED_IN_AT_KEY))


@bp.post("/account/two-factor/start")
def start_two_factor():
    """Begin turning on the second factor: a new secret, held in the session until confirmed."""
    session[PENDING_SECRET_KEY] = credentials.new_totp_secret()
    return redirect(url_for("admin.two_factor_setup"), code=303)


@bp.route("/account/two-factor", methods=["GET", "POST"])
def two_factor_setup():
    """Show the QR code and secret; turn the second factor on once a code from the app matches."""
    secret = session.get(PENDING_SECRET_KEY)
    if not secret:
        return see_other_after_post(url_for("admin.account"))
    form = SecondFactorForm()
    form.code.label.text = "The 6-digit code your app shows now"
    problem = None
    if form.validate_on_submit():
        if credentials.totp_matches(secret, form.code.data):
            user = _me()
            user.totp_secret = secret
            user.totp_enabled = True
            codes = credentials.new_recovery_codes(user)
            db.session.commit()
            session.pop(PENDING_SECRET_KEY, None)
            return render_template("accounts/admin/recovery_codes.html", codes=codes, just_enabled=True)
        problem = (f"That code doesn't match. Check the app shows {current_app.config['SITE_NAME']}, "
                   "and enter the code showing now.")
    return render_template("accounts/admin/two_factor_setup.html", form=form, secret=secret, problem=problem), (
        400 if problem or form.errors else 200)


@bp.get("/account/two-factor/qr.svg")
def two_factor_qr():
    """The QR code of the pending secret, drawn on the server as SVG (nothing leaves the site)."""
    secret = session.get(PENDING_SECRET_KEY)
    if not secret:
        abort(404)
    uri = credentials.totp_uri(_me(), secret, current_app.config["SITE_NAME"])
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return Response(buffer.getvalue(), mimetype="image/svg+xml")


@bp.post("/account/two-factor/recovery-codes")
def renew_recovery_codes():
    """Replace the recovery codes (the old ones stop working) and show the new ones once."""
    user = _me()
    if not user.totp_enabled:
        return redirect(url_for("admin.account"), code=303)
    codes = credentials.new_recovery_codes(user)
    db.session.commit()
    return render_template("accounts/admin/recovery_codes.html", codes=codes, just_enabled=False)


@bp.post("/account/two-factor/off")
def turn_off_two_factor():
    """Turn the second factor off, after the password is entered again."""
    form = ConfirmPasswordForm()
    user = _me()
    if form.validate() and credentials.password_matches(user, form.current_password.data):
        user.totp_enabled = False
        user.totp_secret = None
        user.recovery_codes.clear()
        db.session.commit()
        flash("Two-step sign-in is off. You can turn it on again at any time.", "info")
        return redirect(url_for("admin.account"), code=303)
    if form.current_password.data:
        form.current_password.errors.append("Your current password is not right")
    return _page(400, disable_form=form)
