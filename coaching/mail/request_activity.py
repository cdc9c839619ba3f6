"""Whether this process is serving a request, so its outbox thread delivers only in a quiet moment.

A background delivery pass runs in the web process (OUTBOX_DELIVER_AFTER_REQUEST). Building,
claiming and recording a message takes CPU and the GIL from the worker's own requests, so before
each step the pass waits until no request has been running here for QUIET_SECONDS. Under load
the emails wait (stored, due) for a pause or for `flask outbox run` in another process; a visitor
never waits for them, however fast or slow the SMTP server is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

QUIET_SECONDS = 0.05  # a gap this long between requests is a quiet moment for one email
_POLL_CAP = 0.05  # how often a waiting pass looks again while requests keep coming


class RequestActivity:
    """Requests running in this process now, and when the last one ended."""

    def __init__(self) -> None:
        """No request yet: idle since long ago."""
        self._lock = threading.Lock()
        self._running = 0
        self._last_end = float("-inf")

    def started(self) -> None:
        """A request began."""
        with self._lock:
            self._running += 1

    def finished(self) -> None:
        """A request ended."""
        with self._lock:
            self._running -= 1
            self._last_end = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds with no request running (0 while one runs)."""
        with self._lock:
            return 0.0 if self._running else time.monotonic() - self._last_end

    def wait_until_quiet(self, quiet: float | None = None) -> None:
        """Return once no request has run here for `quiet` seconds (QUIET_SECONDS unless given)."""
        quiet = QUIET_SECONDS if quiet is None else quiet
        while (idle := self.quiet_for()) < quiet:
            # Polling, not a notification per request: a busy worker pays nothing for a waiting pass.
            time.sleep(min(quiet - idle, _POLL_CAP) if idle else _POLL_CAP)


activity = RequestActivity()  # one per process, like the outbox thread it serves


class TrackRequests:
    """WSGI middleware: count each request as running from its start until the app has answered."""

    def __init__(self, wsgi_app: Callable) -> None:
        """Wrap the app's WSGI callable."""
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Run the request, noting its start and end."""
        activity.started()
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            activity.finished()
