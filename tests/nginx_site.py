"""deploy/nginx.conf made runnable in a temporary prefix: high ports on 127.0.0.1, this checkout's static/,
and either no TLS (`make bench`) or a test certificate; the main nginx.conf around it; and how to start
nginx unprivileged. Used by tests/operations/test_deploy_files.py and tests/bench/.

The production file stays plain nginx an operator reads and copies. Each value changed here must appear
in it exactly as expected, so a change there that the bench and the test would no longer follow fails
loudly instead of being silently left out.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from coaching.config import ROOT

SITE_FILE = ROOT / "deploy" / "nginx.conf"
APP_ADDRESS = "server 127.0.0.1:8000;"
STATIC_FOLDER = "/srv/hopefordystonia/static/"
CACHE_FOLDER = "/var/cache/nginx/hopefordystonia"
ACME_FOLDER = "/var/www/letsencrypt"
LOG_FOLDER = "/var/log/nginx/"
CERTIFICATE = "/etc/letsencrypt/live/hopefordystonia.com/fullchain.pem"
CERTIFICATE_KEY = "/etc/letsencrypt/live/hopefordystonia.com/privkey.pem"


@dataclass
class Ports:
    """Where the rendered site listens, and the gunicorn it passes requests to."""

    app: int
    http: int  # the port-80 server (certbot's challenge, the redirect to HTTPS)
    https: int  # the port-443 server: the site itself (plain HTTP when rendered without TLS)


def _replace(text: str, old: str, new: str, count: int) -> str:
    """text with `old` replaced by `new`; it must occur exactly `count` times."""
    found = text.count(old)
    if found != count:
        raise ValueError(f"deploy/nginx.conf: expected {old!r} {count} time(s), found it {found}")
    return text.replace(old, new)


def render_site(prefix: Path, ports: Ports, tls: tuple[Path, Path] | None = None, text: str | None = None) -> str:
    """deploy/nginx.conf for a temporary prefix; with tls (certificate, key) the 443 server keeps TLS."""
    text = SITE_FILE.read_text() if text is None else text
    text = re.sub(r"(?m)^\s*#.*\n", "", text)  # comments name the production paths too
    text = _replace(text, APP_ADDRESS, f"server 127.0.0.1:{ports.app};", 1)
    text = _replace(text, STATIC_FOLDER, f"{prefix / 'static'}/", 1)  # a copy: nobody may not reach the checkout
    text = _replace(text, CACHE_FOLDER, str(prefix / "cache"), 1)
    text = _replace(text, ACME_FOLDER, str(prefix / "acme"), 1)
    text = _replace(text, LOG_FOLDER, f"{prefix / 'logs'}/", 2)
    text = _replace(text, "    listen [::]:80;\n", "", 1)
    text = _replace(text, "    listen 80;", f"    listen 127.0.0.1:{ports.http};", 1)
    text = re.sub(r"    listen \[::\]:443 .*\n", "", text)
    listen = re.compile(r"    listen 443 ssl http2;.*")
    if len(listen.findall(text)) != 1:
        raise ValueError("deploy/nginx.conf: expected one `listen 443 ssl http2;`")
    if tls:
        text = listen.sub(f"    listen 127.0.0.1:{ports.https} ssl http2;", text)
        text = _replace(text, CERTIFICATE, str(tls[0]), 1)
        text = _replace(text, CERTIFICATE_KEY, str(tls[1]), 1)
    else:
        text = listen.sub(f"    listen 127.0.0.1:{ports.https};", text)
        text = re.sub(r"    ssl_\w+ .*\n", "", text)
    return text


def write_config(prefix: Path, ports: Ports, tls: tuple[Path, Path] | None = None, extra: str = "") -> Path:
    """Write a main nginx.conf (like Debian's) that includes the rendered site file, in prefix; its path.

    `extra` is more configuration for the http block (the bench's static server).
    """
    for folder in ("logs", "cache", "acme", "temp"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    # nginx runs as nobody under root, and a checkout may sit in a private folder (mktemp's are 0700).
    shutil.copytree(ROOT / "static", prefix / "static", dirs_exist_ok=True)
    site = prefix / "hopefordystonia.conf"
    site.write_text(render_site(prefix, ports, tls))
    temp = prefix / "temp"
    config = prefix / "nginx.conf"
    config.write_text(f"""worker_processes auto;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'logs' / 'error.log'};
events {{
    worker_connections 768;
}}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix / 'logs' / 'access.log'};
    gzip on;
    client_body_temp_path {temp / 'body'};
    proxy_temp_path {temp / 'proxy'};
    fastcgi_temp_path {temp / 'fastcgi'};
    uwsgi_temp_path {temp / 'uwsgi'};
    scgi_temp_path {temp / 'scgi'};
    include {site};
{extra}
}}
""")
    return config


def nginx_binary() -> str | None:
    """nginx's path, if installed (Debian: apt-get install nginx-light)."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def nginx_command(prefix: Path, config: Path, *options: str) -> list[str]:
    """nginx with its own prefix, configuration and error log; run as `nobody` (owning the prefix) under root."""
    command = [nginx_binary(), "-p", f"{prefix}/", "-c", str(config), "-e", str(prefix / "logs" / "error.log"),
               *options]
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return command
    nobody = pwd.getpwnam("nobody")
    for folder, _, files in os.walk(prefix):
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        for file in files:
            os.chown(Path(folder) / file, nobody.pw_uid, nobody.pw_gid)
    return ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", *command]


@contextlib.contextmanager
def nginx_prefix() -> Iterator[Path]:
    """A fresh folder for nginx's prefix that `nobody` can reach (pytest's tmp_path sits in a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="coaching-nginx-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
