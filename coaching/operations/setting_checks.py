"""The checks of `flask check-deploy` on the app's settings: each takes the Deployment, returns an Outcome."""

from __future__ import annotations

import ipaddress
import os

from coaching.operations.deployment import Deployment, Finding, Outcome

MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_CHARACTERS = 8  # different characters: fewer means it was typed, not generated
# Keys copied from examples, tutorials and this project's tests: anyone can sign cookies with them.
WELL_KNOWN_SECRET_KEYS = {
    "dev", "development", "secret", "secret-key", "secretkey", "secret_key", "changeme", "change-me",
    "change_me", "changethis", "password", "default", "test", "testing", "flask", "replace-me", "your-secret-key",
    "you-will-never-guess", "super-secret", "supersecret", "super-secret-key", "dev-secret-key",
    "test-secret-key-not-for-production", "keep-it-secret", "insecure", "not-so-secret",
}
NEW_KEY = "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
# Domains reserved for examples and tests, where no mail is ever delivered (RFC 2606, RFC 6761).
RESERVED_DOMAINS = {"example.com", "example.org", "example.net", "localhost"}
RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost", ".example.com", ".example.org", ".example.net")


def check_start_up(deployment: Deployment) -> Outcome:
    """Would the app itself refuse these settings?"""
    outcome = Outcome("Start-up", fine="the settings pass the app's own production checks")
    for refusal in deployment.refusals:
        outcome.findings.append(Finding(
            f"The site would refuse to start (`gunicorn app:app` would stop at once), saying: {refusal}",
            "Fix the setting it names first; its own check below, if it has one, says more.",
        ))
    return outcome


def check_debug(deployment: Deployment) -> Outcome:
    """SEC-11: is Flask's debug mode on?"""
    outcome = Outcome("Debug mode", fine="off")
    if deployment.settings.get("DEBUG"):
        if "DEBUG" in os.environ or "DEBUG" in deployment.from_instance_file:
            where = deployment.source("DEBUG")
        else:  # Flask reads FLASK_DEBUG into DEBUG when the app is made
            where = f"from FLASK_DEBUG={os.environ.get('FLASK_DEBUG', '')} in the environment"
        outcome.findings.append(Finding(
            f"Debug mode is on (DEBUG, {where}). Flask then lets unexpected errors escape to gunicorn instead "
            "of showing the site's error page with an incident id, and `flask run` would serve Werkzeug's "
            "debugger, which runs any Python a visitor types into it.",
            "Unset FLASK_DEBUG and DEBUG in the site's environment and remove DEBUG from instance/config.py "
            "(or set them to 0 / False).",
        ))
    return outcome


def check_development(deployment: Deployment) -> Outcome:
    """Is local mode (DEVELOPMENT) or Flask's test mode (TESTING) on?"""
    outcome = Outcome("Production mode", fine="DEVELOPMENT and TESTING are off")
    for name, what in (("DEVELOPMENT", "local mode"), ("TESTING", "Flask's test mode")):
        if deployment.settings.get(name):
            outcome.findings.append(Finding(
                f"{name} is true ({deployment.source(name)}): the site runs in {what} and skips its production "
                "checks. It makes up a secret key and keeps it in instance/secret_key, sends cookies without "
                "Secure, sends no HSTS, and starts without COACH_EMAIL or SITE_URL, building links on whatever "
                "Host header a visitor sends.",
                f"Remove {name} from where it is set (or set {name}=false); `make run` sets DEVELOPMENT for "
                "local work only.",
            ))
    return outcome


def check_secret_key(deployment: Deployment) -> Outcome:
    """Is SECRET_KEY set, long, random-looking and not a well-known example?"""
    key = deployment.settings.get("SECRET_KEY")
    if isinstance(key, bytes):
        key = key.decode("utf-8", "replace")
    outcome = Outcome("Secret key", fine=f"SECRET_KEY is set ({len(key or '')} characters, not a known example)")
    fix = (f"Set SECRET_KEY in the site's environment to a long random value and keep it the same across "
           f"restarts: {NEW_KEY}. Changing it signs everyone out.")
    consequence = "with it anyone can sign a session cookie and be signed in as the coach, and forge form tokens."
    if not key:
        problem = "SECRET_KEY is not set: in production the site refuses to start (in development it makes one up)."
    elif key.strip().lower() in WELL_KNOWN_SECRET_KEYS:
        problem = f"SECRET_KEY is {key!r}, a well-known example value: {consequence}"
    elif len(key) < MIN_SECRET_KEY_LENGTH:
        problem = (f"SECRET_KEY is only {len(key)} characters long (at least {MIN_SECRET_KEY_LENGTH} are needed): "
                   f"a short key can be guessed offline against one of the site's cookies, and {consequence}")
    elif len(set(key)) < MIN_SECRET_KEY_CHARACTERS:
        problem = (f"SECRET_KEY uses only {len(set(key))} different characters, so it was typed, not generated, "
                   f"and can be guessed: {consequence}")
    else:
        return outcome
    outcome.findings.append(Finding(problem, fix))
    return outcome


def check_coach_email(deployment: Deployment) -> Outcome:
    """Does COACH_EMAIL name a real mailbox (not unset, not at a domain reserved for examples)?"""
    outcome = Outcome("Coach's address", fine=f"COACH_EMAIL is {deployment.settings.get('COACH_EMAIL')}")
    fix = "Set COACH_EMAIL to the address the coach reads, e.g. COACH_EMAIL=coach@hopefordystonia.com."
    address = deployment.settings.get("COACH_EMAIL")
    if not address:
        outcome.findings.append(Finding(
            "COACH_EMAIL is not set: inquiries have no one to go to, and in production the site refuses to start.",
            fix))
    for name in ("COACH_EMAIL", "PRACTICE_EMAIL"):
        address = deployment.settings.get(name)
        if not address:
            continue
        domain = address.rpartition("@")[2].strip().rstrip(".").lower()
        who = "the coach would never hear of an inquiry" if name == "COACH_EMAIL" else "visitors are shown it"
        if "@" not in address:
            outcome.findings.append(Finding(f"{name} is {address!r}, which is not an email address.",
                                            fix.replace("COACH_EMAIL", name)))
        elif domain in RESERVED_DOMAINS or domain.endswith(RESERVED_SUFFIXES):
            outcome.findings.append(Finding(
                f"{name} is {address}, at {domain}, a domain reserved for examples and tests: mail to it is never "
                f"delivered, and {who}.", fix.replace("COACH_EMAIL", name)))
    return outcome


def check_mail_server(deployment: Deployment) -> Outcome:
    """Is there an SMTP server, or would every email be written to a file?"""
    server = deployment.settings.get("MAIL_SERVER")
    outcome = Outcome("Mail server", fine=f"MAIL_SERVER is {server}")
    if not server:
        folder = deployment.settings.get("MAIL_FILE_DIR") or deployment.instance_path / "mail"
        outcome.findings.append(Finding(
            f"MAIL_SERVER is not set: no email is sent. Every one (the coach's notice of each inquiry, her "
            f"replies, password-reset links) is written as a file into {folder} instead.",
            "Set MAIL_SERVER to your mail provider's SMTP host, with MAIL_PORT, MAIL_USE_TLS=true (or "
            "MAIL_USE_SSL=true), MAIL_USERNAME and MAIL_PASSWORD.",
        ))
    return outcome


def check_smtp_encryption(deployment: Deployment) -> Outcome:
    """Is mail to another machine sent over TLS?"""
    settings = deployment.settings
    server = settings.get("MAIL_SERVER")
    outcome = Outcome("Mail encryption", fine="no SMTP server to reach (see Mail server)")
    if not server:
        return outcome
    if settings.get("MAIL_USE_SSL") or settings.get("MAIL_USE_TLS"):
        how = "TLS (MAIL_USE_SSL)" if settings.get("MAIL_USE_SSL") else "STARTTLS (MAIL_USE_TLS)"
        outcome.fine = f"{server} is reached over {how}"
    elif _is_loopback(server):
        outcome.fine = f"{server} is this machine: mail travels unencrypted over loopback only"
    else:
        outcome.findings.append(Finding(
            f"MAIL_SERVER {server} is reached without encryption (MAIL_USE_TLS and MAIL_USE_SSL are both false): "
            "inquiries, which can describe someone's health, and MAIL_PASSWORD cross the network where anyone on "
            "the way can read them.",
            "Set MAIL_USE_TLS=true (STARTTLS, usually MAIL_PORT=587) or MAIL_USE_SSL=true (usually MAIL_PORT=465).",
        ))
    return outcome


def _is_loopback(host: str) -> bool:
    """Whether a host name or address is this machine (by name or address; nothing is looked up)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_rate_limits(deployment: Deployment) -> Outcome:
    """SEC-08: are rate limits on, and counted in one store for every gunicorn worker?"""
    uri = str(deployment.effective.get("RATELIMIT_STORAGE_URI") or "memory://")
    scheme = uri.partition("://")[0]
    workers = deployment.workers
    outcome = Outcome("Rate limits", fine=f"counted in {scheme}://, one store for every worker")
    limit = deployment.settings.get("CONTACT_RATE_LIMIT")
    if deployment.effective.get("RATELIMIT_ENABLED") is False:
        outcome.findings.append(Finding(
            f"RATELIMIT_ENABLED is false ({deployment.source('RATELIMIT_ENABLED')}): the contact form has no "
            "limit, so a program can fill the coach's inbox.",
            "Remove RATELIMIT_ENABLED (it is for load tests) or set RATELIMIT_ENABLED=true.",
        ))
    if scheme == "memory" and workers == 1:
        outcome.fine = "memory://, with one gunicorn worker"
    elif scheme == "memory":
        many = (f"gunicorn runs {workers} workers ({deployment.gunicorn.workers_source})" if workers
                else "gunicorn's worker count can't be read (see gunicorn bind)")
        outcome.findings.append(Finding(
            f"RATELIMIT_STORAGE_URI is memory:// and {many}: each worker counts on its own, so a visitor gets "
            f"the contact form's limit ({limit}) once per worker, and every restart forgets the counts.",
            "Run Redis, install its client (pip install redis) and set "
            "RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0; or run a single worker.",
        ))
    return outcome


def check_site_url(deployment: Deployment) -> Outcome:
    """Is SITE_URL set, on https?"""
    site_url = deployment.settings.get("SITE_URL")
    outcome = Outcome("Site address", fine=f"SITE_URL is {site_url}")
    fix = "Serve the site over HTTPS and set SITE_URL to its address, scheme and host only: " \
          "SITE_URL=https://hopefordystonia.com."
    if not site_url:
        outcome.findings.append(Finding(
            "SITE_URL is not set: in production the site refuses to start. Every link in the coach's emails, "
            "password-reset links, the feed and the sitemap is built on it.", fix))
    elif not str(site_url).lower().startswith("https://"):
        outcome.findings.append(Finding(
            f"SITE_URL is {site_url}, not https: links in emails (password-reset links too), the feed and the "
            "canonical tags send readers over plain HTTP, where anyone on the way can read or change the page.",
            fix))
    return outcome


def check_proxy_fix(deployment: Deployment) -> Outcome:
    """SEC-08: does the app see visitors' own addresses behind the proxy that must be in front of gunicorn?"""
    hops = deployment.effective.get("PROXY_FIX_HOPS") or 0
    outcome = Outcome("Visitors' addresses", fine=f"PROXY_FIX_HOPS is {hops}")
    local = [bound.address for bound in deployment.binds if bound.reach == "local"]
    if hops == 0 and deployment.binds and len(local) == len(deployment.binds):
        outcome.findings.append(Finding(
            f"PROXY_FIX_HOPS is 0 while gunicorn listens only on {', '.join(local)}, so visitors reach it through "
            "a proxy (nginx) on this machine: the site sees every visitor at the proxy's address, so they all "
            f"share one contact-form limit ({deployment.settings.get('CONTACT_RATE_LIMIT')}) and one sign-in "
            "wait, and one spammer locks everyone out, the coach included.",
            "Set PROXY_FIX_HOPS=1 (one nginx in front, with proxy_set_header X-Forwarded-For "
            "$proxy_add_x_forwarded_for and X-Forwarded-Proto $scheme).",
        ))
    elif hops == 0:
        outcome.fine = "PROXY_FIX_HOPS is 0 and gunicorn is not bound to this machine only"
    elif any(bound.reach == "public" for bound in deployment.binds):
        outcome.findings.append(Finding(
            f"PROXY_FIX_HOPS is {hops} while gunicorn can be reached directly (see gunicorn bind): anyone can "
            "send their own X-Forwarded-For header and escape the rate limits.",
            "Bind gunicorn to 127.0.0.1 behind nginx (see gunicorn bind).",
        ))
    return outcome


def check_cookies(deployment: Deployment) -> Outcome:
    """SEC-02: are the session and remember cookies Secure (and HttpOnly, SameSite=Lax)?"""
    effective = deployment.effective
    outcome = Outcome("Cookies", fine="the session cookie is Secure, HttpOnly and SameSite=Lax")
    secure = effective.get("SESSION_COOKIE_SECURE")
    if secure is None:
        secure = not deployment.development
    if not secure:
        where = deployment.source("SESSION_COOKIE_SECURE")
        where = "off because DEVELOPMENT or TESTING is on" if where == "the default" else where
        outcome.findings.append(Finding(
            f"SESSION_COOKIE_SECURE is false ({where}): the session cookie, which carries the coach's signed-in "
            "session, and the admin device cookie are also sent over plain HTTP, where anyone on the network "
            "can copy them.",
            "Remove SESSION_COOKIE_SECURE (production turns it on) or set SESSION_COOKIE_SECURE=true.",
        ))
    if deployment.settings.get("REMEMBER_COOKIE_SECURE") is False:
        outcome.findings.append(Finding(
            f"REMEMBER_COOKIE_SECURE is false ({deployment.source('REMEMBER_COOKIE_SECURE')}): Flask-Login's "
            "remember-me cookie, which signs its holder in, would travel over plain HTTP.",
            "Remove REMEMBER_COOKIE_SECURE or set REMEMBER_COOKIE_SECURE=true.",
        ))
    if effective.get("SESSION_COOKIE_HTTPONLY") is False:
        outcome.findings.append(Finding(
            "SESSION_COOKIE_HTTPONLY is false: any script on a page can read the session cookie.",
            "Remove SESSION_COOKIE_HTTPONLY or set SESSION_COOKIE_HTTPONLY=true."))
    if str(effective.get("SESSION_COOKIE_SAMESITE")).lower() not in {"lax", "strict"}:
        outcome.findings.append(Finding(
            f"SESSION_COOKIE_SAMESITE is {effective.get('SESSION_COOKIE_SAMESITE')!r}: other sites' pages can "
            "send requests that carry the coach's session.", "Set SESSION_COOKIE_SAMESITE=Lax (the default)."))
    return outcome


SETTING_CHECKS = (
    check_start_up, check_debug, check_development, check_secret_key, check_coach_email, check_mail_server,
    check_smtp_encryption, check_rate_limits, check_site_url, check_proxy_fix, check_cookies,
)
