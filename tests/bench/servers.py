"""The processes the bench runs: gunicorn (the site, the bare "hello"), nginx, and SMTP servers; all stopped after.

Each server runs in its own process group, so stopping it stops its workers too, whatever they are doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from coaching.config import ROOT
from tests.nginx_site import nginx_command
from tests.smtp import free_port

GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
# What a server process inherits from the bench's own environment: nothing that configures the site.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


def base_environment() -> dict[str, str]:
    """The few variables a process needs to run, none of the site's settings (those are given explicitly)."""
    return {name: os.environ[name] for name in INHERITED if name in os.environ}


class Server:
    """A process started in its own group, logging to a file, stopped (group and all) when the block ends."""

    def __init__(self, name: str, command: list[str], log: Path, environment: dict | None = None):
        self.name, self.command, self.log, self.environment = name, command, log, environment
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.environment, stdout=output,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def wait_until_answering(self, url: str, expect: str, timeout: float = 30) -> None:
        """Poll url until it answers 200 with `expect` in its body while this process runs, so that a port
        another program took meanwhile is never measured; raise with the log's end if it dies or stalls."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200 and expect in response.read().decode("utf-8", "replace"):
                        time.sleep(0.2)  # a server that lost its port exits at once: look again
                        if self.running():
                            return
            except OSError:
                pass
            if not self.running() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start; the end of {self.log}:\n{self.log_tail()}")
            time.sleep(0.1)

    def running(self) -> bool:
        """Whether the process is still running."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace: float = 5) -> None:
        """SIGTERM to the whole group, then SIGKILL after `grace` seconds (a worker busy on SMTP may linger)."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the workers too, should the master have gone first
        self.process.wait(timeout=10)

    def worker_memory(self) -> list[tuple[int, int, int]]:
        """(pid, resident KiB, peak resident KiB) of each child process (gunicorn's workers), from /proc."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [(int(child), *_memory_kib(int(child))) for child in children]


def _memory_kib(pid: int) -> tuple[int, int]:
    """VmRSS and VmHWM of a process, in KiB (0 if it has gone)."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in {"VmRSS", "VmHWM"}:
                values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def gunicorn(name: str, app_spec: str, port: int, environment: dict, log: Path) -> Server:
    """`gunicorn -c deploy/gunicorn.conf.py APP` as production starts it, bound to 127.0.0.1:port instead of :8000."""
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), "--bind", f"127.0.0.1:{port}", app_spec]
    return Server(name, command, log, environment)


# --- SMTP ---


class CountingHandler:
    """An aiosmtpd handler that accepts every message after `delay` seconds and counts them."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.received = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        """Wait as told, then accept."""
        if self.delay:
            await asyncio.sleep(self.delay)
        self.received += 1
        return "250 2.0.0 OK"


@contextlib.contextmanager
def smtp_server(delay: float = 0.0):
    """A local SMTP server (aiosmtpd) on 127.0.0.1 answering each message after `delay` s: (port, handler)."""
    from aiosmtpd.controller import Controller

    handler = CountingHandler(delay)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, handler
    finally:
        controller.stop()


# --- nginx ---


def nginx(prefix: Path, config: Path, log: Path) -> Server:
    """nginx in the foreground with its own prefix, configuration, pid and error log (as nobody under root)."""
    return Server("nginx", nginx_command(prefix, config, "-g", "daemon off;"), log, base_environment())
