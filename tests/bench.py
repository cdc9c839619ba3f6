"""`make bench`: requests a second for the site's pages, as ratios of a bare Flask baseline
measured in the same run (so the numbers compare across machines). Not a test: nothing fails."""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

from flask import Flask

from coaching import create_app
from coaching.blog.post_files import CONTENT_DIR, import_post_files
from coaching.extensions import db

REQUESTS = 2000
PAGES = {
    "post": "/blog/psychedelics-and-neuroplasticity",
    "post (304)": "/blog/psychedelics-and-neuroplasticity",
    "blog list": "/blog/",
    "home": "/",
    "search": "/blog/search?q=neuroplasticity",
    "feed": "/blog/feed.xml",
}


def requests_per_second(client, url: str, headers: dict | None = None) -> float:
    """How many GETs of url the app answers per second, in process."""
    client.get(url, headers=headers)  # warm up
    start = time.perf_counter()
    for _ in range(REQUESTS):
        response = client.get(url, headers=headers)
        response.close()
    return REQUESTS / (time.perf_counter() - start)


def peak_kib(client, url: str) -> float:
    """Peak Python memory allocated while answering one request, in KiB."""
    tracemalloc.start()
    client.get(url).close()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1024


def main() -> None:
    """Measure the baseline, then each page, and print the ratios."""
    baseline_app = Flask("baseline")
    baseline_app.add_url_rule("/", "hello", lambda: "hello")
    baseline = requests_per_second(baseline_app.test_client(), "/")

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "HSTS_ENABLED": True,
                          "DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.sqlite3'}"},
                         instance_path=folder)
        with app.app_context():
            db.create_all()
            import_post_files(CONTENT_DIR)
            db.session.commit()
        client = app.test_client()
        etag = client.get(PAGES["post"]).headers["ETag"]
        print(f"baseline (bare Flask 'hello'): {baseline:,.0f} requests/s, {REQUESTS} requests each")
        print(f"{'page':<12} {'req/s':>9} {'× baseline':>11} {'peak KiB':>9}")
        for name, url in PAGES.items():
            headers = {"If-None-Match": etag} if "304" in name else None
            rate = requests_per_second(client, url, headers)
            print(f"{name:<12} {rate:>9,.0f} {rate / baseline:>11.2f} {peak_kib(client, url):>9.0f}")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
