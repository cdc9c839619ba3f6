"""`make bench`: the site's pages under gunicorn as production runs them, as ratios of a bare Flask "hello"
measured in the same run (so the numbers compare across machines). Not a test: nothing fails.

It builds a throwaway site (50 posts, an admin, 100 then 100,000 inquiries), runs it and "hello" with
deploy/gunicorn.conf.py, drives each case of issue 11 with wrk, and, when nginx is installed, runs
deploy/nginx.conf in front of it beside a static copy of the post page. Each case's ratio is taken
against a short "hello" run just before it, so a machine whose load changes during the run (other work
on it) skews the ratios less than the rates. It prints a Markdown table and writes it to
test-artifacts/bench/. Exit status 0, or 1 when it could not run (the message says why).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import data, inbox, load, servers
from tests.bench.report import Report, memory_note
from tests.nginx_site import Ports, nginx_binary, write_config
from tests.smtp import free_port

WARM_UP, SECONDS = 2, 5
HELLO_SAMPLE = 1  # seconds of "hello" between each case's warm-up and its measured run
SLOW_SMTP_SECONDS = 5

_began = time.monotonic()


def step(message: str) -> None:
    """Say what the bench is doing, with the time since it began."""
    print(f"[{time.monotonic() - _began:5.0f} s] {message}", flush=True)


class CouldNotRun(Exception):
    """Something the bench needs is missing or would not start; the message says what to do."""


def site_environment(instance: Path, port: int, smtp_port: int, secret_key: str) -> dict[str, str]:
    """Production's settings (README, "Running in production"), pointed at the bench's folder and servers."""
    return servers.base_environment() | {
        "SECRET_KEY": secret_key,
        "COACH_EMAIL": data.ADMIN_EMAIL,
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{instance / 'bench.sqlite3'}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "TIME_ZONE": "Europe/London",
        "WEB_CONCURRENCY": "2",
        "PROXY_FIX_HOPS": "1",  # nginx in front, as in production (direct requests carry no X-Forwarded-For)
        # Every wrk connection comes from 127.0.0.1: the limit is counted as usual, just never reached.
        "CONTACT_RATE_LIMIT": "1000000 per minute",
    }


def database_count(instance: Path, sql: str) -> int:
    """One number from the bench's SQLite database."""
    with contextlib.closing(sqlite3.connect(instance / "bench.sqlite3", timeout=30)) as connection:
        return connection.execute(sql).fetchone()[0]


def started(stack: contextlib.ExitStack, server: servers.Server, url: str, expect: str) -> servers.Server:
    """Start a server (stopped when the stack closes) and wait until it answers url with `expect` in the body."""
    stack.enter_context(server)
    try:
        server.wait_until_answering(url, expect)
    except RuntimeError as exc:
        raise CouldNotRun(str(exc)) from exc
    return server


class Bench:
    """One run: the throwaway site, its servers, and the report they fill."""

    def __init__(self, folder: Path, stack: contextlib.ExitStack, report: Report):
        folder.chmod(0o755)  # nginx's workers (nobody) read the static copy inside
        self.folder, self.stack, self.report = folder, stack, report
        self.instance = folder / "instance"
        self.instance.mkdir()
        self.fast_smtp, self.fast_handler = stack.enter_context(servers.smtp_server())
        self.slow_smtp, self.slow_handler = stack.enter_context(servers.smtp_server(delay=SLOW_SMTP_SECONDS))
        self.port, self.hello_port = free_port(), free_port()
        self.url, self.hello_url = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.hello_port}/"
        self.secret_key = secrets.token_hex(32)
        self.environment = site_environment(self.instance, self.port, self.fast_smtp, self.secret_key)
        self.memory: list[str] = []
        self.server: servers.Server | None = None  # the site's gunicorn while it runs

    def site(self, stack: contextlib.ExitStack, log: str, environment: dict | None = None) -> servers.Server:
        """The site under gunicorn, answering."""
        self.server = started(stack, servers.gunicorn("site", data.site_app_spec(self.instance), self.port,
                                                      environment or self.environment, self.folder / log),
                              self.url + "/", f'href="{self.url}/"')  # the canonical link: this very site
        return self.server

    def case(self, case: str, rows: int | None, path: str, goal: str, headers: dict | None = None,
             port: int | None = None, connections: int = load.CONNECTIONS) -> load.Result:
        """Warm up, sample "hello", measure one GET case (on the site, or on port), and add it to the report."""
        port = port or self.port
        url = f"http://127.0.0.1:{port}{path}"
        load.run_wrk(url, WARM_UP, headers, connections=connections)
        hello = load.run_wrk(self.hello_url, HELLO_SAMPLE)
        result = load.run_wrk(url, SECONDS, headers, connections=connections)
        if not self.server.running():
            raise CouldNotRun(f"the site stopped during {case!r}; the end of its log:\n{self.server.log_tail()}")
        self.report.add(case, rows, result, hello, goal)
        if result.status_errors:
            sample = load.fetch(port, path, headers=headers)
            self.report.notes.append(f"{case}: {result.status_errors:,} answers with an error status; one more "
                                     f"request answered {sample.status}.")
        return result

    def run(self) -> None:
        """Every case, in an order that keeps each one's conditions as stated."""
        step("building the site: migrations, posts, the admin, 100 inquiries")
        password = data.build_site(self.instance, self.environment)
        small = data.add_inquiries(self.instance, self.environment, data.SMALL_INQUIRIES)
        posts = database_count(self.instance, "SELECT count(*) FROM posts WHERE status = 'published'")
        self.report.site = f"SQLite in WAL, {posts} published posts"

        step('measuring the bare Flask "hello" (it keeps running: each case is compared with a sample of it)')
        hello = started(self.stack, servers.gunicorn("hello", "tests.bench.hello:app", self.hello_port,
                                                     servers.base_environment() | {"WEB_CONCURRENCY": "2"},
                                                     self.folder / "hello.log"), self.hello_url, "hello")
        self.report.hello = load.measure(self.hello_url, WARM_UP, SECONDS)

        step(f"measuring the site with {small:,} inquiries")
        with contextlib.ExitStack() as stack:
            self.site(stack, "site-small.log")
            cookie = load.sign_in(self.port, data.ADMIN_EMAIL, password)
            self.case("a post page", small, data.PRACTICE_POST, "≥ 0.9")
            self.case("admin inbox, page 1", small, "/admin/", "≥ 0.2", {"Cookie": cookie})

        step(f"adding inquiries up to {data.INQUIRIES:,}")
        rows = data.add_inquiries(self.instance, self.environment, data.INQUIRIES)
        step(f"measuring the site with {rows:,} inquiries")
        with contextlib.ExitStack() as stack:
            site = self.site(stack, "site.log")
            contact_get = self.public_pages(rows)
            self.admin_pages(rows, cookie)
            self.through_nginx(rows)
            step("measuring the contact POST")
            fast = self.contact_posts("contact POST (stored, emails queued)", "≥ 0.25", contact_get.per_second, 0)
            self.memory.append(memory_note(f"site workers after every case above ({rows:,} inquiries)",
                                           site.worker_memory()))

        step(f"measuring the contact POST while SMTP takes {SLOW_SMTP_SECONDS} s a message")
        with contextlib.ExitStack() as stack:
            site = self.site(stack, "site-slow-smtp.log",
                             site_environment(self.instance, self.port, self.slow_smtp, self.secret_key))
            slow = self.contact_posts(f"contact POST, SMTP taking {SLOW_SMTP_SECONDS} s a message",
                                      "≥ 0.25, p99 no worse than with a fast server", contact_get.per_second,
                                      1_000_000)
            self.memory.append(memory_note("site workers after the slow-SMTP case", site.worker_memory()))
        self.memory.append(memory_note('"hello" workers at the end', hello.worker_memory()))
        self.closing_notes(fast, slow)

    def closing_notes(self, fast: load.Result, slow: load.Result) -> None:
        """What the table alone does not say."""
        pending = database_count(self.instance, "SELECT count(*) FROM outbox_messages WHERE status = 'pending'")
        self.report.notes.append(
            f"p99 of the contact POST: {slow.p99_ms:,.0f} ms with SMTP taking {SLOW_SMTP_SECONDS} s a message, "
            f"{fast.p99_ms:,.0f} ms with a fast one. The fast SMTP server received {self.fast_handler.received:,} "
            f"messages, the slow one {self.slow_handler.received:,}; {pending:,} were still queued at the end "
            "(the outbox worker, `flask outbox run`, would send them).")
        samples = sorted(row.hello.per_second for row in self.report.rows)
        self.report.notes.append(
            f'"× hello" divides each case\'s rate by a {HELLO_SAMPLE} s "hello" run just before it; those ran at '
            f"{samples[0]:,.0f} to {samples[-1]:,.0f} requests/s (median {statistics.median(samples):,.0f}). "
            "A wide spread means other work on the machine came and went: read single rows with care.")
        self.report.notes.append("Worker memory (resident, from /proc/<pid>/status): " + "; ".join(self.memory) + ".")

    def public_pages(self, rows: int) -> load.Result:
        """The public cases; the contact form GET's result."""
        post = load.fetch(self.port, data.PRACTICE_POST)
        self.case("a post page", rows, data.PRACTICE_POST, "≥ 0.9")
        if post.header("ETag"):
            self.case("the same post, If-None-Match (304)", rows, data.PRACTICE_POST, "≥ 1.0",
                      {"If-None-Match": post.header("ETag")})
        else:
            self.report.notes.append("The post page sends no ETag: the 304 case was not run.")
        for case, path, goal in (("blog list", "/blog/", "≥ 0.8"), ("home", "/", "≥ 0.8"),
                                 ("feed", "/blog/feed.xml", "≥ 0.8"),
                                 ("search", "/blog/search?q=neuroplasticity", "≥ 0.5")):
            self.case(case, rows, path, goal)
        return self.case("contact form GET", rows, "/contact", "≥ 0.4")

    def admin_pages(self, rows: int, cookie: str) -> None:
        """The inbox's first and deep pages and an inquiry, signed in."""
        admin = {"Cookie": cookie}
        self.case("admin inbox, page 1", rows, "/admin/", "≥ 0.2", admin)
        deep, how = inbox.deep_page(self.port, cookie, self.instance)
        self.report.notes.append(f"admin inbox, deep page: {how}.")
        self.case("admin inbox, deep page", rows, deep, "≥ 0.2, within 10% of page 1", admin)
        newest = inbox.inquiry_ids(load.fetch(self.port, "/admin/", cookie=cookie).body)
        if newest:
            self.case("inquiry detail", rows, f"/admin/inquiries/{newest[0]}", "≥ 0.3", admin)
        else:
            self.report.notes.append("No inquiry link on the inbox's first page: the inquiry detail case was not run.")
        # A search's time is what the coach waits for: measured with one connection per worker, not 32 queued.
        for what, query in (("a name, one match", f"Visitor {rows // 2}"), ("a word in thousands", "posture")):
            searching = inbox.searched_session(self.port, cookie, query)
            self.case(f"admin inbox, search for {what} (wrk -c2)", rows, "/admin/", "p99 < 100 ms",
                      {"Cookie": searching}, connections=2)

    def through_nginx(self, rows: int) -> None:
        """The post page through deploy/nginx.conf, beside nginx serving a static copy of it."""
        if not nginx_binary():
            self.report.notes.append("nginx is not installed (Debian: apt-get install nginx-light): "
                                     "its cases were not run.")
            return
        step("measuring nginx: a static copy of the post page, and the site through deploy/nginx.conf")
        prefix, static = self.folder / "nginx", self.folder / "static-copy"
        static.mkdir(mode=0o755)
        post_page = load.fetch(self.port, data.PRACTICE_POST).body
        (static / "post.html").write_text(post_page)
        (static / "post.html").chmod(0o644)
        ports, static_port = Ports(app=self.port, http=free_port(), https=free_port()), free_port()
        config = write_config(prefix, ports, extra=f"""    server {{
        listen 127.0.0.1:{static_port};
        root {static};
    }}""")
        with contextlib.ExitStack() as stack:
            started(stack, servers.nginx(prefix, config, self.folder / "nginx.log"),
                    f"http://127.0.0.1:{static_port}/post.html", post_page[-200:])
            copy = self.case("nginx: a static copy of the post page", None, "/post.html", "", port=static_port)
            through = self.case("a post page through deploy/nginx.conf", rows, data.PRACTICE_POST,
                                "≥ 0.5× the static copy", port=ports.https)
            cache = load.fetch(ports.https, data.PRACTICE_POST).header("X-Cache-Status")
        ratio = through.per_second / copy.per_second if copy.per_second else 0
        self.report.notes.append(f"The post page through nginx is {ratio:.3f}× nginx serving its static copy "
                                 f"(goal ≥ 0.5); nginx's X-Cache-Status for it after the run: {cache or 'none'}.")

    def contact_posts(self, case: str, goal: str, forms_per_second: float, first_visitor: int) -> load.Result:
        """Real submissions with wrk, each a form opened by its own visitor; then rows stored against 303s.

        The warm-up's forms are opened at the rate the form's GET was served (a POST costs more); the measured
        run's at the larger of twice the warm-up's POST rate and the GET's rate (an upper bound: a warm-up slowed
        by background delivery must not leave too few), so wrk's time runs out before the forms do.
        """
        script, url = load.contact_post_script(self.folder), self.url + "/contact"
        warm_up_forms, measured_forms = self.folder / "forms-warm-up.txt", self.folder / "forms.txt"
        opened = load.fetch_contact_forms(self.port, math.ceil(forms_per_second * WARM_UP) + 20, warm_up_forms,
                                          first_visitor)
        warm_up = load.run_wrk(url, WARM_UP, script=script, script_args=(warm_up_forms, load.THREADS))
        measured = math.ceil(max(warm_up.per_second * 2, forms_per_second, 40) * SECONDS) + 100
        load.fetch_contact_forms(self.port, measured, measured_forms, first_visitor + opened)
        log = self.server.log
        load.wait_until_quiet(log)
        hello = load.run_wrk(self.hello_url, HELLO_SAMPLE)
        rows_before = database_count(self.instance, "SELECT count(*) FROM inquiries")
        log_offset = log.stat().st_size
        result = load.run_wrk(url, SECONDS, script=script, script_args=(measured_forms, load.THREADS))
        load.wait_until_quiet(log)
        stored = database_count(self.instance, "SELECT count(*) FROM inquiries") - rows_before
        with log.open("rb") as lines:
            lines.seek(log_offset)
            logged = len(re.findall(rb'"POST /contact HTTP/1\.[01]" 303 ', lines.read()))
        counts = result.extra
        self.report.add(case, rows_before, result, hello, goal, failures=counts.get("other", 0))
        self.report.notes.append(
            f"{case}: {counts.get('see_other', 0):,} 303s reached wrk; gunicorn's access log shows {logged:,} 303s "
            f"to POST /contact and {stored:,} inquiries were stored ({'equal' if stored == logged else 'NOT EQUAL'}); "
            f"{logged - counts.get('see_other', 0):,} were still in flight when wrk's time ran out; "
            f"{counts.get('other', 0):,} answers other than 303"
            + ("; the prefetched forms ran out before the time did, so the rate is a lower bound"
               if counts.get("ran_out") else "") + ".")
        return result


def main() -> int:
    """Run the bench; print and save the table."""
    if not load.wrk_binary():
        print("make bench needs wrk, the HTTP load generator: apt-get install wrk (Debian/Ubuntu).", file=sys.stderr)
        return 1
    # Only errors from the libraries running in this process (aiosmtpd logs every SMTP command at INFO).
    # The site's app built here for the bulk inserts warns of memory:// rate limits: not news in a bench.
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger().handlers[0].setLevel(logging.ERROR)
    logging.getLogger("coaching").addHandler(logging.NullHandler())
    global _began
    began = _began = time.monotonic()
    report = Report(WARM_UP, SECONDS)
    with tempfile.TemporaryDirectory(prefix="coaching-bench-") as folder, contextlib.ExitStack() as stack:
        try:
            Bench(Path(folder), stack, report).run()
        except (CouldNotRun, RuntimeError) as exc:
            print(f"make bench could not run: {exc}", file=sys.stderr)
            return 1
    text = report.markdown(time.monotonic() - began)
    path = report.write(text)
    print("\n" + text)
    print(f"(written to {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
