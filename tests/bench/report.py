"""The bench's table (Markdown): each case's rate, its ratio to "hello" from the same run, latency and errors."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from coaching.config import ROOT
from tests.bench.load import CONNECTIONS, THREADS, Result

OUTPUT_FOLDER = ROOT / "test-artifacts" / "bench"  # ignored by git (.gitignore: test-artifacts/)


@dataclass
class Row:
    """One line of the table."""

    case: str
    rows: int | None  # inquiries in the database while it ran
    result: Result
    hello: Result | None  # the "hello" run just before it: the ratio's denominator
    goal: str = ""
    failures: int | None = None  # when "non-2xx" means more than wrk's count (the POST: anything but a 303)


@dataclass
class Report:
    """Everything the bench prints."""

    warm_up: float
    seconds: float
    hello: Result | None = None
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_at_start: str = field(default_factory=lambda: load_average())
    site: str = ""  # what the site held

    def add(self, case: str, rows: int | None, result: Result, hello: Result | None, goal: str = "",
            failures: int | None = None) -> Row:
        """Add a case's line (and return it)."""
        row = Row(case, rows, result, hello, goal, failures)
        self.rows.append(row)
        return row

    @staticmethod
    def ratio(row: Row) -> float:
        """The case's rate as a multiple of its hello's."""
        return row.result.per_second / row.hello.per_second if row.hello and row.hello.per_second else 0.0

    def markdown(self, elapsed: float) -> str:
        """The header, the table and the notes."""
        lines = [
            f"make bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {_commit()}: {_machine()}; "
            f"gunicorn 2 sync workers (deploy/gunicorn.conf.py, WEB_CONCURRENCY=2), {self.site}; "
            f"wrk -t{THREADS} -c{CONNECTIONS}, {self.warm_up:g} s warm-up then {self.seconds:g} s per case; "
            f"load average (1 min) {self.load_at_start} at the start, {load_average()} at the end; "
            f"the run took {elapsed:.0f} s.",
            "",
            "| case | inquiries | requests/s | × hello | hello's requests/s | p50 ms | p99 ms | non-2xx "
            "| socket errors | goal (× hello) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        if self.hello:
            lines.append(self._line(Row('bare Flask "hello", same gunicorn settings', None, self.hello, self.hello)))
        lines += [self._line(row) for row in self.rows]
        lines += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines) + "\n"

    def _line(self, row: Row) -> str:
        """A table line."""
        result = row.result
        failures = result.status_errors if row.failures is None else row.failures
        cells = [row.case, "" if row.rows is None else f"{row.rows:,}", f"{result.per_second:,.0f}",
                 f"{self.ratio(row):.2f}", f"{row.hello.per_second if row.hello else 0:,.0f}", f"{result.p50_ms:,.1f}",
                 f"{result.p99_ms:,.1f}", f"{failures:,}", f"{result.socket_errors:,}", row.goal]
        return "| " + " | ".join(cells) + " |"

    def write(self, text: str) -> Path:
        """Save the table as test-artifacts/bench/bench-<time>.md and latest.md; the first path."""
        OUTPUT_FOLDER.mkdir(parents=True, exist_ok=True)
        path = OUTPUT_FOLDER / f"bench-{datetime.now(UTC):%Y%m%d-%H%M%S}.md"
        path.write_text(text)
        (OUTPUT_FOLDER / "latest.md").write_text(text)
        return path


def _commit() -> str:
    """The checkout's commit, marked when the work tree has changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "unknown"
    return f"{commit}{' (with changes)' if dirty else ''}" if commit else "unknown"


def _machine() -> str:
    """Cores this process may use, the CPU's name, Python's version."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return f"{cores} cores ({model}), Python {platform.python_version()}"


def load_average() -> str:
    """The machine's 1-minute load average: other work on it skews the numbers (the ratios less)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def memory_note(label: str, workers: list[tuple[int, int, int]]) -> str:
    """Each worker's resident memory (and its peak) in MiB."""
    if not workers:
        return f"{label}: worker memory not readable from /proc"
    described = ", ".join(f"{rss / 1024:.0f} MiB (peak {peak / 1024:.0f})" for _, rss, peak in workers)
    return f"{label}: {described}"
