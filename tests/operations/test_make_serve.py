"""`make serve`: the site as production runs it, after `flask check-deploy`, with the email worker beside it."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coaching.config import ROOT
from tests.gunicorn_site import Served
from tests.smtp import free_port

VENV = Path(sys.executable).parent.parent


def _environment(instance: Path, port: int, **settings: str) -> dict[str, str]:
    """Production settings for `make serve` on this port, with the instance folder given by INSTANCE_PATH."""
    inherited = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return inherited | {
        "SECRET_KEY": secrets.token_hex(32), "COACH_EMAIL": "coach@hopefordystonia.com",
        "SITE_URL": f"https://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{instance / 'site.sqlite3'}", "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(free_port()), "WEB_CONCURRENCY": "1", "PROXY_FIX_HOPS": "1",
        "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}",
    } | settings


def _make_serve(environment: dict) -> subprocess.Popen:
    """`make serve` with this test's virtual environment, in its own process group."""
    if not shutil.which("make"):
        pytest.fail("make is needed for make serve")
    instance = Path(environment["DATABASE_URL"].removeprefix("sqlite:///")).parent
    instance.mkdir(parents=True, exist_ok=True)
    spec = f'coaching:create_app(instance_path="{instance}")'  # double quotes: make quotes it in single ones
    return subprocess.Popen(["make", "--no-print-directory", "-C", str(ROOT), "serve", f"VENV={VENV}",
                             f"SERVE_APP={spec}", f"SERVE_INSTANCE={instance}"],
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def test_an_unsafe_setting_stops_make_serve_before_the_site_starts(tmp_path):
    """With SITE_URL on plain http, does `make serve` stop at check-deploy, saying why, with nothing served?"""
    port = free_port()
    environment = _environment(tmp_path / "instance", port, SITE_URL=f"http://127.0.0.1:{port}")
    process = _make_serve(environment)
    output, _ = process.communicate(timeout=240)
    assert process.returncode != 0
    assert "SITE_URL" in output and "check-deploy:" in output
    assert "Booting worker" not in output


def test_make_serve_runs_gunicorn_and_the_email_worker(tmp_path):
    """With safe settings, does `make serve` serve the site and run `flask outbox run`, and stop both on Ctrl-C?"""
    instance, port = tmp_path / "instance", free_port()
    environment = _environment(instance, port)
    instance.mkdir()
    flask = [str(VENV / "bin" / "flask"), "--app", f"coaching:create_app(instance_path={str(instance)!r})"]
    subprocess.run([*flask, "db", "upgrade"], env=environment, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*flask, "backup"], env=environment, cwd=ROOT, check=True, capture_output=True)
    instance.chmod(0o750)
    process = _make_serve(environment)
    site = Served(port, tmp_path / "unused.log")
    try:
        deadline, answer = time.monotonic() + 120, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = site.get("/readyz")
                break
            except OSError:
                time.sleep(0.3)
        assert answer is not None and answer.status == 200, process.stdout.read() if process.poll() else answer
        workers = subprocess.run(["pgrep", "-f", "-s", str(os.getpgid(process.pid)), "outbox run"],
                                 capture_output=True, text=True)
        assert workers.stdout.strip(), "no `flask outbox run` beside gunicorn"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=60)  # waits, and closes the output pipe
    deadline = time.monotonic() + 45  # gunicorn's graceful_timeout is 30 s; the worker finishes its pass
    while subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "gunicorn or the email worker was still running 45 s after Ctrl-C"
        time.sleep(0.2)
