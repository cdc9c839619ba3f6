"""Upgrading as docs/deploy.md says (migrate, then a graceful reload) loses no inquiry sent meanwhile."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.parse

from sqlalchemy import create_engine, text

from coaching.config import ROOT
from tests.forms import contact_form_fields
from tests.gunicorn_site import served, site_environment


def _send_one(site, number: int) -> int:
    """One visitor opens the form and sends it: the status of the send."""
    page = site.get("/contact", {"X-Forwarded-For": f"198.51.100.{number % 200 + 1}"})
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    fields = contact_form_fields(page.body) | {"name": f"Visitor {number}", "email": f"v{number}@example.org",
                                               "phone": "", "topic": "coaching", "consent": "y", "website": "",
                                               "message": f"Message number {number}, sent during an upgrade."}
    sent = site.request("POST", "/contact", urllib.parse.urlencode(fields).encode(), cookie=cookie, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": f"198.51.100.{number % 200 + 1}"})
    return sent.status


def test_a_migration_and_reload_under_traffic_loses_no_inquiry(tmp_path):
    """While visitors keep sending, do `flask db upgrade` and two graceful reloads (HUP) leave every 303 stored?"""
    database = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    instance = tmp_path / "instance"
    with served(instance, database, WEB_CONCURRENCY="2", CONTACT_RATE_LIMIT="1000 per minute") as site:
        statuses: list[int | str] = []
        stop = threading.Event()

        def visitors():
            number = 0
            while not stop.is_set():
                try:
                    statuses.append(_send_one(site, number))
                except OSError as error:  # a refused or dropped connection would be a lost message
                    statuses.append(f"{type(error).__name__}")
                number += 1

        sender = threading.Thread(target=visitors)
        sender.start()
        try:
            time.sleep(1)
            spec = f"coaching:create_app(instance_path={str(instance)!r})"
            subprocess.run([sys.executable, "-m", "flask", "--app", spec, "db", "upgrade"], cwd=ROOT, check=True,
                           env=site_environment(site.port, database), capture_output=True, timeout=120)
            for _ in range(2):
                site.process.send_signal(signal.SIGHUP)  # what `systemctl reload` sends
                time.sleep(2)
        finally:
            stop.set()
            sender.join(timeout=60)
    engine = create_engine(database)
    try:
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM inquiries")).scalar()
    finally:
        engine.dispose()
    assert len(statuses) > 20
    assert set(statuses) == {303}, [status for status in statuses if status != 303][:5]
    assert stored == len(statuses)
    assert site.log.read_text().count("Handling signal: hup") == 2
