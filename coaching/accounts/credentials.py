"""Admin accounts: passwords (argon2id), sign-in throttling and device cookies, sessions, the second factor."""

from __future__ import annotations

import gzip
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import delete, func, select

from coaching.accounts.models import AdminUser, RecoveryCode, SignInAttempt
from coaching.database import utcnow
from coaching.extensions import db

log = logging.getLogger(__name__)

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
FREE_FAILURES = 5  # per account and per address in an hour, before any waiting
FIRST_WAIT = timedelta(seconds=15)
LONGEST_WAIT = timedelta(minutes=15)  # the real coach is never locked out for longer
THROTTLE_WINDOW = timedelta(hours=1)
RECOVERY_CODE_COUNT = 10
DEVICE_COOKIE_SALT = "admin-device-cookie"
DEVICE_COOKIE_LIFETIME = timedelta(days=365)
DEVICE_FAILURES = 5  # wrong passwords or codes through one device cookie before it stops exempting
DEVICE_KEY_PREFIX = "device:"
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"

# argon2id with the library's defaults (64 MiB, 3 passes): SEC-09.
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to check unknown accounts against, so they take as long as real ones (made on first use)."""
    return _hasher.hash("not a real password, used to keep timing even")


class PasswordRejected(ValueError):
    """A new password breaks a rule; the message says which, and how to fix it."""


@cache
def common_passwords() -> frozenset[str]:
    """The list of common passwords (from Django), lower-cased."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def check_new_password(password: str, email: str = "") -> None:
    """Raise PasswordRejected unless the password is 12-128 characters and not a common one."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise PasswordRejected(f"Use at least {PASSWORD_MIN_LENGTH} characters. A few unrelated words work well.")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise PasswordRejected(f"Use at most {PASSWORD_MAX_LENGTH} characters.")
    if password.strip().lower() in common_passwords() or (email and password.lower() == email.lower()):
        raise PasswordRejected("That password is too common to be safe. Choose one that isn't on lists of "
                               "common passwords, such as a few unrelated words.")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    """The form an admin's address is stored and looked up in."""
    return email.strip().lower()


def create_or_reset_admin(email: str, password: str) -> tuple[AdminUser, bool]:
    """Create the admin account, or reset its password (signing out its sessions); the caller commits."""
    email = normalise_email(email)
    user = db.session.scalar(select(AdminUser).where(AdminUser.email == email))
    created = user is None
    if created:
        check_new_password(password, email)
        user = AdminUser(email=email, password_hash=hash_password(password))
        db.session.add(user)
    else:
        set_password(user, password)
    return user, created


def set_password(user: AdminUser, password: str) -> None:
    """Change a password: it must pass the rules, and every other session is signed out."""
    check_new_password(password, user.email)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_other_sessions(user)


def end_other_sessions(user: AdminUser) -> None:
    """Sign out every session of this account (the session id carries the version)."""
    user.session_version = (user.session_version or 1) + 1


def account_key(email: str) -> str:
    """A hash of the typed address, so throttling never stores addresses people type."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


@dataclass
class Throttle:
    """Whether a sign-in may be tried now, and if not, how long to wait."""

    wait: timedelta | None

    @property
    def allowed(self) -> bool:
        """True when the password may be checked now."""
        return self.wait is None

    @property
    def minutes(self) -> int:
        """The wait, rounded up to whole minutes, for messages."""
        return max(1, -(-int(self.wait.total_seconds()) // 60)) if self.wait else 0


def sign_in_throttle(email: str, remote_address: str, now: datetime | None = None,
                     device: str | None = None) -> Throttle:
    """SEC-07: after 5 failures in an hour (per account or address), wait 15 s, doubling to 15 min.

    A trusted device (the key from trusted_device) skips the account's wait, never the address's.
    """
    keys = [(SignInAttempt.remote_address, remote_address)]
    if device is None:
        keys.append((SignInAttempt.account_key, account_key(email)))
    return _throttle(keys, now)


def _throttle(keys, now: datetime | None) -> Throttle:
    """The longest wait any of these (column, value) keys owes: 5 free in an hour, then 15 s doubling."""
    now = now or utcnow()
    since = now - THROTTLE_WINDOW
    longest = None
    for column, value in keys:
        failures, latest = db.session.execute(
            select(func.count(), func.max(SignInAttempt.created_at))
            .where(column == value, SignInAttempt.created_at > since)
        ).one()
        if failures < FREE_FAILURES:
            continue
        wait = min(FIRST_WAIT * 2 ** (failures - FREE_FAILURES), LONGEST_WAIT)
        remaining = latest + wait - now
        if remaining > timedelta(0) and (longest is None or remaining > longest):
            longest = remaining
    return Throttle(wait=longest)


def record_failure(email: str, remote_address: str, now: datetime | None = None,
                   device: str | None = None) -> None:
    """Count a failed sign-in against the account, or a trusted device's own key (the caller commits)."""
    key = device or account_key(email)
    db.session.add(SignInAttempt(account_key=key, remote_address=remote_address, created_at=now or utcnow()))
    log.warning("sign-in failed for %s key %s… from %s", "device" if device else "account", key[:12],
                remote_address)


# --- Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies") ---
# After a full sign-in the browser gets a signed cookie naming the account and a random nonce.
# A sign-in presenting it skips the account's wait (so guesses elsewhere can't lock the coach
# out) but not the address's. Its failures are stored under a key of its own ("device:" + the
# nonce, hashed), not the account's; after DEVICE_FAILURES it no longer exempts, so a stolen
# cookie buys a few guesses at most. Nothing is stored until a device fails.


def _device_serializer() -> URLSafeTimedSerializer:
    """The device cookies' serializer: SECRET_KEY under its own salt."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_COOKIE_SALT)


def new_device_cookie(user: AdminUser) -> str:
    """A signed device-cookie value for this account (its id and address hash) with a fresh nonce."""
    return _device_serializer().dumps({"u": user.id, "a": account_key(user.email), "n": secrets.token_urlsafe(18)})


def device_for(cookie: str | None, email: str) -> str | None:
    """The device key of a genuine, unexpired device cookie for the account at this address, else None."""
    if not cookie or len(cookie) > 300:
        return None
    try:
        payload = _device_serializer().loads(cookie, max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()))
    except BadData:
        return None
    if not isinstance(payload, dict) or payload.get("a") != account_key(email) or not isinstance(payload.get("n"), str):
        return None
    user_id = db.session.scalar(select(AdminUser.id).where(AdminUser.email == normalise_email(email)))
    if user_id is None or payload.get("u") != user_id:
        return None
    return hashlib.sha256((DEVICE_KEY_PREFIX + payload["n"]).encode()).hexdigest()


def trusted_device(cookie: str | None, email: str) -> str | None:
    """The device key if this cookie may skip the account's wait (genuine, fewer than 5 failures), else None."""
    return still_trusted(device_for(cookie, email))


def still_trusted(device: str | None) -> str | None:
    """The device key (from device_for) while it has failed fewer than DEVICE_FAILURES times, else None."""
    if device is None:
        return None
    failures = db.session.scalar(select(func.count()).select_from(SignInAttempt)
                                 .where(SignInAttempt.account_key == device))
    return device if failures < DEVICE_FAILURES else None


def failures_since_last_sign_in(user: AdminUser, device: str | None = None) -> tuple[int, datetime | None]:
    """How many sign-ins failed for this account (and this device) since it last signed in, and the latest."""
    keys = [account_key(user.email)] + ([device] if device else [])
    query = select(func.count(), func.max(SignInAttempt.created_at)).where(SignInAttempt.account_key.in_(keys))
    if user.last_sign_in_at is not None:
        query = query.where(SignInAttempt.created_at > user.last_sign_in_at)
    count, latest = db.session.execute(query).one()
    return count, latest


# Password-reset requests and refused reset links are counted in the same table as failed
# sign-ins, under keys of their own: the account key hashes "reset:" + the address typed, and
# the network address is stored as "reset:<ip>" (requests) or "reset-link:<ip>" (bad links).
# sign_in_throttle looks only at its own keys, so asking for reset emails (or a stranger asking
# in the coach's name) never slows her ordinary sign-in, a successful sign-in never wipes the
# reset count, and her own requests never stop the link she was sent from opening.
RESET_REQUEST_PREFIX = "reset:"
RESET_LINK_PREFIX = "reset-link:"


def _prefixed_address(prefix: str, remote_address: str) -> str:
    """A network address under a counter's own prefix, cut to fit the column."""
    return (prefix + remote_address)[:64]


def _reset_account_key(email: str) -> str:
    """The account key reset requests for this address are counted under (never sign-in's own)."""
    return account_key(RESET_REQUEST_PREFIX + normalise_email(email))


def reset_request_throttle(email: str, remote_address: str, now: datetime | None = None) -> Throttle:
    """Whether a reset email may be asked for now: 5 an hour per account and per address, then waits."""
    return _throttle(((SignInAttempt.account_key, _reset_account_key(email)),
                      (SignInAttempt.remote_address, _prefixed_address(RESET_REQUEST_PREFIX, remote_address))), now)


def record_reset_request(email: str, remote_address: str, now: datetime | None = None) -> None:
    """Count a reset request, whether or not the address has an account (the caller commits)."""
    db.session.add(SignInAttempt(account_key=_reset_account_key(email),
                                 remote_address=_prefixed_address(RESET_REQUEST_PREFIX, remote_address),
                                 created_at=now or utcnow()))


def reset_link_throttle(remote_address: str, now: datetime | None = None) -> Throttle:
    """Whether reset links may be tried from this address now (5 refused links an hour, then waits)."""
    return _throttle(((SignInAttempt.remote_address, _prefixed_address(RESET_LINK_PREFIX, remote_address)),), now)


def record_bad_reset_link(remote_address: str, now: datetime | None = None) -> None:
    """Count a forged, expired or used reset link (the caller commits); logged without the link."""
    stored = _prefixed_address(RESET_LINK_PREFIX, remote_address)
    db.session.add(SignInAttempt(account_key=account_key(stored), remote_address=stored,
                                 created_at=now or utcnow()))
    log.warning("password reset link refused (forged, expired or used) from %s", remote_address)


def forget_failures(email: str) -> None:
    """After a successful sign-in, clear the account's failures (not the address's)."""
    db.session.execute(delete(SignInAttempt).where(SignInAttempt.account_key == account_key(email)))


def check_password(email: str, password: str) -> AdminUser | None:
    """The account if the address and password match, else None (timing alike either way)."""
    user = db.session.scalar(select(AdminUser).where(AdminUser.email == normalise_email(email)))
    return user if password_matches(user, password) else None


def _hash_matches(stored_hash: str, secret: str) -> bool:
    """Whether the secret is the one this argon2 hash was made from."""
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def password_matches(user: AdminUser | None, password: str) -> bool:
    """Whether this is the account's password (no account: a dummy check, for even timing); renews old hashes."""
    # Checked before asking whether the account exists, so an unknown address takes as long.
    matched = _hash_matches(user.password_hash if user else _dummy_hash(), password)
    if not matched or user is None:
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


def load_session_user(session_user_id: str) -> AdminUser | None:
    """Flask-Login's user loader: "id:version", valid only while the version is current."""
    user_id, _, version = session_user_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(AdminUser, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user


# --- The optional second factor (TOTP) and its recovery codes ---


def new_totp_secret() -> str:
    """A fresh base32 secret for an authenticator app."""
    return pyotp.random_base32()


def totp_uri(user: AdminUser, secret: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def totp_matches(secret: str, code: str) -> bool:
    """Whether a 6-digit code is right now (or one step either side, for slow fingers and clocks)."""
    code = "".join(code.split())
    return code.isdigit() and pyotp.TOTP(secret).verify(code, valid_window=1)


def new_recovery_codes(user: AdminUser) -> list[str]:
    """Replace the account's recovery codes with new ones; returns them (shown once, stored hashed)."""
    user.recovery_codes.clear()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    user.recovery_codes.extend(RecoveryCode(code_hash=hash_password(code)) for code in codes)
    return codes


def use_recovery_code(user: AdminUser, code: str) -> bool:
    """Spend a matching unused recovery code; False if none matches."""
    code = code.strip().lower()
    for stored in user.recovery_codes:
        if stored.used_at is None and _hash_matches(stored.code_hash, code):
            stored.used_at = utcnow()
            return True
    return False


def second_factor_matches(user: AdminUser, code: str) -> bool:
    """A current TOTP code, or (anything not shaped like one) an unused recovery code."""
    if "".join(code.split()).isdigit():
        # Recovery codes are hex-hex with a hyphen: six digits can only be a TOTP code, and
        # skipping the recovery codes saves ten argon2 checks (seconds) on every mistyped code.
        return bool(user.totp_secret) and totp_matches(user.totp_secret, code)
    return use_recovery_code(user, code)
