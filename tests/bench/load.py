"""Driving the servers: wrk for the load (bounded in time, after a warm-up), http.client for everything else.

wrk is Debian's package (`apt-get install wrk`); it runs on 127.0.0.1 only, with the Lua scripts beside
this file. http.client is used, not a cookie jar, because production's session cookie is Secure and a
jar would not send it back over the bench's plain http.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import http.cookies
import re
import shutil
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from tests.forms import contact_form_fields

HERE = Path(__file__).resolve().parent
SUMMARY_SCRIPT = HERE / "summary.lua"
CONTACT_POST_SCRIPT = HERE / "contact_post.lua"
THREADS, CONNECTIONS = 2, 32  # the wrk -t2 -c32


def wrk_binary() -> str | None:
    """wrk's path, if installed."""
    return shutil.which("wrk")


@dataclass
class Answer:
    """One HTTP response: status, headers (a list of pairs) and the body as text."""

    status: int
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str | None:
        """The first header of this name (case-insensitive), or None."""
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def session_cookie(self) -> str | None:
        """The `session=...` pair its Set-Cookie gives, or None."""
        for key, value in self.headers:
            if key.lower() == "set-cookie":
                cookie = http.cookies.SimpleCookie()
                cookie.load(value)
                if "session" in cookie:
                    return f"session={cookie['session'].value}"
        return None


def fetch(port: int, path: str, cookie: str | None = None, form: dict | None = None,
          headers: dict | None = None) -> Answer:
    """GET path on 127.0.0.1:port (or POST the form), without following redirects."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    request_headers = dict(headers or {})
    if cookie:
        request_headers["Cookie"] = cookie
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        request_headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request("POST" if form is not None else "GET", path, body=body, headers=request_headers)
        response = connection.getresponse()
        return Answer(response.status, response.getheaders(), response.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def sign_in(port: int, email: str, password: str) -> str:
    """Post the real sign-in form, as the coach's browser does: the signed-in session's Cookie value."""
    page = fetch(port, "/admin/login")
    cookie = page.session_cookie()
    answer = fetch(port, "/admin/login", cookie=cookie,
                   form={"csrf_token": csrf_token(page.body), "email": email, "password": password})
    signed_in = answer.session_cookie()
    if answer.status != 303 or not signed_in:
        raise RuntimeError(f"signing in failed: {answer.status} {answer.body[:300]}")
    check = fetch(port, "/admin/", cookie=signed_in)
    if check.status != 200:
        raise RuntimeError(f"the signed-in session does not open the inbox: {check.status}")
    return signed_in


def _one_contact_form(port: int, number: int) -> str:
    """Open /contact as a new visitor and fill it in: a line for contact_post.lua (Cookie, tab, body)."""
    page = fetch(port, "/contact")
    cookie = page.session_cookie()
    if page.status != 200 or not cookie:
        raise RuntimeError(f"/contact answered {page.status} without a session cookie")
    fields = contact_form_fields(page.body) | {
        "name": f"Bench visitor {number}", "email": f"visitor{number}@mailbox.net", "phone": "", "topic": "coaching",
        "message": "I have had cervical dystonia for six years and would like to talk about coaching. "
                   "Mornings are the hardest; could we find a time after lunch?",
        "consent": "y", "website": "",
    }
    if not all(fields[name] for name in ("csrf_token", "form_started", "submission_token")):
        raise RuntimeError("the contact form lacks its hidden fields")
    return f"{cookie}\t{urllib.parse.urlencode(fields)}"


def fetch_contact_forms(port: int, count: int, path: Path, first_number: int = 0, workers: int = 8) -> int:
    """Open `count` contact forms, each as its own visitor, and write them to path for contact_post.lua."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        lines = list(pool.map(lambda number: _one_contact_form(port, number),
                              range(first_number, first_number + count)))
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


@dataclass
class Result:
    """What wrk measured for one case."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    status_errors: int  # responses with a status above 399 (wrk's "Non-2xx or 3xx responses")
    socket_errors: int
    extra: dict = field(default_factory=dict)  # contact_post.lua's counts

    @property
    def per_second(self) -> float:
        """Requests a second."""
        return self.requests / self.seconds if self.seconds else 0.0


def _parse(output: str) -> Result:
    """The BENCH lines summary.lua (and contact_post.lua) print."""
    values: dict[str, dict[str, int]] = {}
    for line in output.splitlines():
        tag, _, rest = line.partition(" ")
        if tag in {"BENCH", "BENCH-POST"}:
            values[tag] = {key: int(value) for key, value in (item.split("=") for item in rest.split())}
    if "BENCH" not in values:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    summary = values["BENCH"]
    return Result(
        requests=summary["requests"], seconds=summary["duration_us"] / 1e6,
        p50_ms=summary["p50_us"] / 1000, p99_ms=summary["p99_us"] / 1000, status_errors=summary["status_errors"],
        socket_errors=sum(summary[key] for key in ("connect", "read", "write", "timeout")),
        extra=values.get("BENCH-POST", {}),
    )


def run_wrk(url: str, seconds: float, headers: dict | None = None, script: Path = SUMMARY_SCRIPT,
            script_args: tuple = (), connections: int = CONNECTIONS) -> Result:
    """One wrk run of `seconds` against url (-t2 -c32 unless told, 30 s timeout: gunicorn's), parsed."""
    command = [wrk_binary(), f"-t{THREADS}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s",
               "-s", str(script)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command += [url, "--", *map(str, script_args)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr or completed.stdout}")
    return _parse(completed.stdout)


def measure(url: str, warm_up: float, seconds: float, headers: dict | None = None) -> Result:
    """A warm-up run (its numbers dropped), then the measured one."""
    if warm_up:
        run_wrk(url, warm_up, headers)
    return run_wrk(url, seconds, headers)


def contact_post_script(folder: Path) -> Path:
    """summary.lua and contact_post.lua as one script (wrk takes one)."""
    script = folder / "contact_post_run.lua"
    script.write_text(SUMMARY_SCRIPT.read_text() + "\n" + CONTACT_POST_SCRIPT.read_text())
    return script


def wait_until_quiet(log: Path, settle: float = 0.5, timeout: float = 10) -> None:
    """Wait until a server's log has stopped growing for `settle` s: the requests wrk left in flight are done."""
    deadline = time.monotonic() + timeout
    size, since = log.stat().st_size, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = log.stat().st_size
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= settle:
            return
