"""Settings: class defaults, then instance/config.py, then environment variables of the same name."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message says how to fix it."""


class Config:
    """Defaults for every setting; each can be overridden by an environment variable of its name."""

    # True for `make run` and local work: generates a secret key, relaxes production checks.
    DEVELOPMENT = False
    SECRET_KEY: str | None = None
    DATABASE_URL = "sqlite:///coaching.sqlite3"  # relative SQLite paths live in instance/
    SITE_NAME = "Hope for Dystonia"
    # The public address, e.g. https://hopefordystonia.com: every absolute link (emails, canonical, feed,
    # sitemap) is built on it. Required in production; development and tests use the request's host.
    SITE_URL: str | None = None
    # The hosts served (Flask's setting; others get the 400 page). Default in production: SITE_URL's host.
    TRUSTED_HOSTS: list[str] | None = None
    COACH_EMAIL: str | None = None  # where inquiries are sent; required in production
    PRACTICE_EMAIL: str | None = None  # shown to visitors; defaults to COACH_EMAIL
    POSTS_PER_PAGE = 10
    HSTS_ENABLED: bool | None = None  # default: on in production, off in development
    # Public pages (home, blog, posts, feed, sitemap, Roadmap, privacy) are kept per content version.
    PAGE_CACHE_ENABLED = True
    PUBLIC_PAGE_MAX_AGE = 10  # seconds a browser or shared cache (nginx, a CDN) may reuse a public page
    PUBLIC_PAGE_STALE_SECONDS = 60  # and may serve it stale while it checks back
    TIME_ZONE = "UTC"  # the practice's own IANA zone (e.g. Europe/London): admin and email times show in it
    COACH_NAME: str | None = None  # the From name of the coach's replies; defaults to SITE_NAME

    # Contact intake and email delivery.
    PRIVACY_NOTICE_VERSION = "2026-11-25"  # change when /privacy changes; stored with each consent
    REPLY_EXPECTATION = "within two working days"  # shown on the thank-you page
    CONTACT_MIN_FILL_SECONDS = 3  # faster than this is flagged to the coach (still delivered; never a maximum)
    CONTACT_SPAM_LINKS = 4  # a message with this many links goes to spam
    SPAM_DIGEST_HOUR = 18  # the hour (in TIME_ZONE) of the one daily "messages put in spam" email
    CONTACT_RATE_LIMIT = "5 per 10 minutes"  # messages sent per visitor address
    SEND_ACKNOWLEDGEMENT = True  # a short "message received" email to the visitor
    NOTIFY_INCLUDE_MESSAGE = True  # false: the coach's email holds only a link to the inquiry
    INQUIRY_RETENTION_DAYS = 365
    MAIL_TIMEOUT = 10  # seconds an SMTP connection may wait before giving up
    OUTBOX_RETRY_SECONDS = 30  # first retry delay; doubles each attempt, capped at an hour
    OUTBOX_MAX_ATTEMPTS = 10
    OUTBOX_POLL_SECONDS = 5  # how often `flask outbox run` looks for due messages
    OUTBOX_DELIVER_AFTER_REQUEST = True  # the web process also delivers right after a commit
    MAIL_FILE_DIR: str | None = None  # without MAIL_SERVER, emails are written here as .eml (default instance/mail/)
    PROXY_FIX_HOPS = 0  # proxies in front of the app that set X-Forwarded-For (e.g. 1 behind nginx)
    LOG_FORMAT = "text"  # or "json": one JSON object per line, for a log collector
    PERMANENT_SESSION_LIFETIME = 31 * 24 * 3600  # visitor sessions (and form tokens) outlive a browser restart
    RATELIMIT_STORAGE_URI = "memory://"  # use redis://… in production with several workers
    RATELIMIT_ENABLED = True
    # No X-RateLimit-* headers: each costs the limit store a read on every send. The contact form's
    # 429 says Retry-After itself (inquiries/views.py rate_limited).
    RATELIMIT_HEADERS_ENABLED = False

    # The coach's admin.
    ADMIN_IDLE_MINUTES = 30  # signed out after this long without a request
    ADMIN_SESSION_HOURS = 12  # and after this long in all, however active
    UPLOAD_MAX_BYTES = 5 * 1024 * 1024  # cover images
    REMEMBER_COOKIE_DURATION = 30 * 24 * 3600  # "remember me" is not offered; capped should it be

    # Flask and extension settings that are worth naming here so the environment can set them.
    SESSION_COOKIE_SECURE: bool | None = None  # default: on in production
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SEND_FILE_MAX_AGE_DEFAULT = 31_536_000  # static URLs carry a content hash, so cache for a year
    MAX_CONTENT_LENGTH = 1_048_576
    WTF_CSRF_TIME_LIMIT: int | None = None  # tokens live as long as the session: no time limit
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER: str | None = None
    # SQL errors must not carry a visitor's words into the logs (SEC-13).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}


# Settings whose default is None (or which an extension adds later) but which are booleans.
BOOLEAN_SETTINGS = {
    "HSTS_ENABLED", "SESSION_COOKIE_SECURE", "RATELIMIT_ENABLED", "MAIL_SUPPRESS_SEND",
    "WTF_CSRF_ENABLED", "WTF_CSRF_SSL_STRICT", "REMEMBER_COOKIE_SECURE", "REMEMBER_COOKIE_HTTPONLY",
}
INTEGER_SETTINGS = {"WTF_CSRF_TIME_LIMIT"}
LIST_SETTINGS = {"TRUSTED_HOSTS"}  # comma-separated in the environment


def _coerce(name: str, raw: str, default: object) -> object:
    """Turn an environment string into the type of the setting's default."""
    if name in LIST_SETTINGS:
        return [item.strip() for item in raw.split(",") if item.strip()] or None
    if isinstance(default, bool) or name in BOOLEAN_SETTINGS:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{name} must be true or false, not {raw!r}.")
    if isinstance(default, int) or name in INTEGER_SETTINGS:
        if name in INTEGER_SETTINGS and raw.strip().lower() in {"", "none"}:
            return None
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from exc
    return raw


def apply_environment(config: dict, environ: Mapping[str, str]) -> None:
    """Override every known setting (ours, Flask's, its extensions') from the environment."""
    for name in list(config):
        if name.isupper() and name in environ:
            config[name] = _coerce(name, environ[name], config[name])
    # Extension settings that are not in the mapping until their extension starts.
    for name, raw in environ.items():
        if name.startswith(("RATELIMIT_", "WTF_", "MAIL_", "REMEMBER_COOKIE_")) and name not in config:
            config[name] = _coerce(name, raw, None)


def finalise(config: dict, instance_path: Path) -> None:
    """Derive dependent settings and refuse unsafe production ones."""
    development = config["DEVELOPMENT"] or config.get("TESTING")
    config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(config["DATABASE_URL"])
    if not config.get("SECRET_KEY"):
        if not development:
            raise ConfigError(
                "SECRET_KEY is not set. In production, set it to a long random value, e.g. "
                "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'). "
                "For local work use `make run` (or set DEVELOPMENT=true)."
            )
        config["SECRET_KEY"] = _development_secret_key(instance_path)
    if not development and not config.get("COACH_EMAIL"):
        raise ConfigError("COACH_EMAIL is not set: set it to the address that receives inquiries.")
    _check_site_url(config, development)
    if not config.get("COACH_EMAIL"):
        config["COACH_EMAIL"] = "coach@hopefordystonia.example"
    if not config.get("PRACTICE_EMAIL"):
        config["PRACTICE_EMAIL"] = config["COACH_EMAIL"]
    if not config.get("MAIL_DEFAULT_SENDER"):
        config["MAIL_DEFAULT_SENDER"] = (f"{config['SITE_NAME']} website", config["COACH_EMAIL"])
    if not config.get("COACH_NAME"):
        config["COACH_NAME"] = config["SITE_NAME"]
    try:
        ZoneInfo(config["TIME_ZONE"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"TIME_ZONE {config['TIME_ZONE']!r} is not a known time zone: use an IANA name such as Europe/London."
        ) from exc
    if config["LOG_FORMAT"] not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be text or json, not {config['LOG_FORMAT']!r}.")
    if config["HSTS_ENABLED"] is None:
        config["HSTS_ENABLED"] = not development
    if config["SESSION_COOKIE_SECURE"] is None:
        config["SESSION_COOKIE_SECURE"] = not development


def _check_site_url(config: dict, development: bool) -> None:
    """Require SITE_URL in production, shaped like https://host, and serve only its host unless told otherwise.

    Without it, links in emails, canonical tags, the feed and the sitemap would be built on whatever
    Host header a stranger sends (a poisoned cache, a coach's email pointing at another site).
    """
    site_url = config.get("SITE_URL")
    example = "e.g. SITE_URL=https://hopefordystonia.com"
    if not site_url:
        if not development:
            raise ConfigError(
                f"SITE_URL is not set. In production, set it to the site's public address ({example}): "
                "every link in emails, the feed and the sitemap is built on it, and only its host is served. "
                "For local work use `make run` (or set DEVELOPMENT=true)."
            )
        config["SITE_URL"] = None
        return
    parts = urlsplit(site_url)
    if not _is_site_address(parts):
        raise ConfigError(f"SITE_URL {site_url!r} is not a web address with only a scheme and host ({example}).")
    config["SITE_URL"] = f"{parts.scheme}://{parts.netloc}"
    if config.get("TRUSTED_HOSTS") is None and not development:
        config["TRUSTED_HOSTS"] = [parts.hostname]


def _is_site_address(parts) -> bool:
    """Whether a split URL is http(s)://host[:port], with nothing else (a trailing slash is allowed)."""
    try:
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError:
        return False
    return (parts.scheme in {"http", "https"} and bool(parts.hostname) and parts.username is None
            and parts.path in {"", "/"} and not parts.query and not parts.fragment)


def _normalise_database_url(url: str) -> str:
    """Accept the common postgres:// spellings and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _development_secret_key(instance_path: Path) -> str:
    """Read the development secret key from instance/, creating it once so sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()
