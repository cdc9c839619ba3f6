"""A forgotten admin password, reset by email: a signed link that works once, for an hour.

The link is stateless: an itsdangerous token signed with SECRET_KEY under its own salt, holding
the admin's id and a fingerprint of the current password hash and session version. Setting a
new password (or signing out everywhere) changes the fingerprint, so a link stops working once
it has been used: single use without a table. The hour counts until the link is opened; the
page it opens then stays usable for another hour, so nobody loses the form while typing slowly.

The link is built from SITE_URL, never from the request's Host header outside development and
tests: a forged Host would otherwise email the coach a valid token pointing at someone else's
site. Production refuses to start without SITE_URL (config.py), so a link can always be built.

SEC-13: log lines name an admin by id only; never the token, the link, an address or a password.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from coaching.accounts import credentials
from coaching.accounts.models import AdminUser
from coaching.database import utcnow
from coaching.extensions import db
from coaching.mail.models import EmailKind
from coaching.mail.outbox import compose_email
from coaching.web.templating import absolute_url

log = logging.getLogger(__name__)

SALT = "admin-password-reset"
LINK_LIFETIME = timedelta(hours=1)  # from the email to opening the link
PAGE_LIFETIME = timedelta(hours=1)  # from opening the link to choosing the password
LONGEST_TOKEN = 300  # a real token is about 90 characters; anything longer is not kept in the session


class _ClockedSigner(TimestampSigner):
    """itsdangerous's timestamp signer, told what time it is (tests make old links without sleeping)."""

    def __init__(self, *args, now: datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now

    def get_timestamp(self) -> int:
        """The signing time: the given moment, else the clock."""
        return int(self.now.timestamp()) if self.now else super().get_timestamp()


def _serializer(now: datetime | None = None) -> URLSafeTimedSerializer:
    """The reset links' serializer: SECRET_KEY, this module's own salt."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT,
                                  signer=_ClockedSigner, signer_kwargs={"now": now})


def _fingerprint(user: AdminUser) -> str:
    """A keyed digest of the password hash and session version: changes when either does."""
    key = current_app.config["SECRET_KEY"]
    key = key if isinstance(key, bytes) else key.encode()
    state = f"{user.password_hash}\n{user.session_version}".encode()
    return hmac.new(key, state, hashlib.sha256).hexdigest()[:32]


def issue_token(user: AdminUser, now: datetime | None = None) -> str:
    """A reset token for this admin, as of now (or the given moment)."""
    return _serializer(now).dumps([user.id, _fingerprint(user)])


def request_reset(email: str, remote_address: str) -> bool:
    """Count the request and, if allowed and the address is an admin's, queue the email (the caller commits).

    Returns whether an email was queued; the page shows the same answer either way.
    """
    if not credentials.reset_request_throttle(email, remote_address).allowed:
        log.warning("password reset requests throttled from %s; nothing sent", remote_address)
        return False
    credentials.record_reset_request(email, remote_address)
    user = db.session.scalar(select(AdminUser).where(AdminUser.email == credentials.normalise_email(email)))
    if user is None:
        log.info("password reset asked for an address with no admin account; nothing sent")
        return False
    config = current_app.config
    db.session.add(compose_email(
        None, EmailKind.PASSWORD_RESET, user.email, None,
        f"Choose a new password for {config['SITE_NAME']}", "password_reset",
        reset_url=absolute_url("auth.reset_password_link", token=issue_token(user)),
        lifetime_minutes=int(LINK_LIFETIME.total_seconds() // 60),
    ))
    log.info("password reset email queued for admin %d", user.id)
    return True


def remember_link(token: str, now: datetime | None = None) -> dict:
    """What the session keeps of an opened link: the token (if not absurdly long) and when it was opened."""
    return {"token": token if len(token) <= LONGEST_TOKEN else "", "opened": (now or utcnow()).timestamp()}


def user_for_link(kept: dict | None, now: datetime | None = None) -> AdminUser | None:
    """The admin a kept link is for; None if it is forged, was opened too late, sat too long, or was used."""
    if not isinstance(kept, dict) or not isinstance(kept.get("token"), str):
        return None
    opened, now = kept.get("opened"), now or utcnow()
    if not isinstance(opened, int | float) or now.timestamp() - opened > PAGE_LIFETIME.total_seconds():
        return None
    try:
        (user_id, fingerprint), issued = _serializer().loads(kept["token"], return_timestamp=True)
    except (BadData, TypeError, ValueError):
        return None
    if opened - issued.timestamp() > LINK_LIFETIME.total_seconds() or not isinstance(user_id, int):
        return None
    user = db.session.get(AdminUser, user_id)
    if user is None or not isinstance(fingerprint, str) or not hmac.compare_digest(fingerprint, _fingerprint(user)):
        return None
    return user


def choose_new_password(user: AdminUser, password: str) -> None:
    """Set the new password (rules checked; every session signed out; the link spent); the caller commits.

    Raises credentials.PasswordRejected with a message saying how to fix it. The account's sign-in
    failures are forgotten too, so the new password works at once.
    """
    credentials.set_password(user, password)
    credentials.forget_failures(user.email)
    log.info("admin %d chose a new password with a reset link", user.id)
