"""Finding the admin inbox's deep page (80 % of the way down), however the inbox pages its list.

A numbered list (?page=) is asked for the page. A list with cursor links ("Older") is reached by making
that page's link from page 1's: the cursor of page 1's last inquiry (its id, its time) swapped for that
of the inquiry just before the deep page, checked by the inquiry the page then starts with. A cursor
the bench can't read is walked "Older" link by "Older" link, as the coach would, for a bounded time.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import html
import math
import re
import sqlite3
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.bench import load

DEEP_FRACTION = 0.8  # the page 3,200 of 4,000
WALK_SECONDS = 45


def inquiry_ids(page: str) -> list[int]:
    """The inquiries a list page links to, in order."""
    return list(dict.fromkeys(int(number) for number in re.findall(r'href="/admin/inquiries/(\d+)"', page)))


def searched_session(port: int, cookie: str, query: str) -> str:
    """A copy of the signed-in session with the inbox search set to query, as the search box sets it."""
    page = load.fetch(port, "/admin/", cookie=cookie)
    cookie = page.session_cookie() or cookie  # the page may have put its form token into the session
    answer = load.fetch(port, "/admin/inquiries/search", cookie=cookie,
                        form={"csrf_token": load.csrf_token(page.body), "q": query})
    searching = answer.session_cookie()
    if answer.status != 303 or not searching:
        raise RuntimeError(f"setting the inbox search failed: {answer.status} {answer.body[:300]}")
    return searching


def older_link(page: str) -> str | None:
    """The href of the link to older inquiries (rel="next", or a link whose text starts "Older")."""
    for attributes, text in re.findall(r"<a\s([^>]*)>(.*?)</a>", page, re.DOTALL):
        href = re.search(r'href="([^"]*)"', attributes)
        if href and ('rel="next"' in attributes or re.sub(r"<[^>]+>", "", text).strip().startswith("Older")):
            return html.unescape(href.group(1))
    return None


def _listed(instance: Path) -> list[tuple[int, str]]:
    """(id, created_at) of the inquiries the inbox's default view lists (all but spam), newest first."""
    with contextlib.closing(sqlite3.connect(instance / "bench.sqlite3")) as connection:
        return connection.execute("SELECT id, created_at FROM inquiries WHERE status != 'spam' "
                                  "ORDER BY created_at DESC, id DESC").fetchall()


def _spellings(row: tuple[int, str]) -> list[str]:
    """How a cursor may write an inquiry's time, then its id (times first: an id may sit inside one)."""
    moment = datetime.fromisoformat(row[1]).replace(tzinfo=UTC)
    naive = moment.replace(tzinfo=None)
    micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return [row[1], naive.isoformat(), moment.isoformat(), naive.isoformat(sep=" "), repr(moment.timestamp()),
            str(micros), str(int(moment.timestamp())), str(row[0])]


def _swap_plain(value: str, old: tuple[int, str], new: tuple[int, str]) -> str:
    """A cursor value with one inquiry's spellings replaced by another's."""
    for before, after in zip(_spellings(old), _spellings(new), strict=True):
        value = re.sub(rf"(?<![0-9]){re.escape(before)}(?![0-9])", after, value)
    return value


def _swap(value: str, old: tuple[int, str], new: tuple[int, str]) -> str:
    """_swap_plain on the value as it stands, or else inside its URL-safe base64 (an "opaque" cursor)."""
    swapped = _swap_plain(value, old, new)
    if swapped != value:
        return swapped
    try:
        plain = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return value
    swapped = _swap_plain(plain, old, new)
    if swapped == plain:
        return value
    encoded = base64.urlsafe_b64encode(swapped.encode("ascii")).decode("ascii")
    return encoded if value.endswith("=") else encoded.rstrip("=")


def _jump(port: int, cookie: str, link: str, listed: list, per_page: int, target: int) -> str | None:
    """Page `target`'s cursor link made from page 1's Older link, if it checks out; else None."""
    parts = urllib.parse.urlsplit(link)
    before, after = listed[per_page - 1], listed[(target - 1) * per_page - 1]
    query = [(key, _swap(value, before, after)) for key, value in urllib.parse.parse_qsl(parts.query)]
    if query == urllib.parse.parse_qsl(parts.query):
        return None
    deep = urllib.parse.urlunsplit(("", "", parts.path, urllib.parse.urlencode(query), ""))
    answer = load.fetch(port, deep, cookie=cookie)
    shown = inquiry_ids(answer.body)
    return deep if answer.status == 200 and shown and shown[0] == listed[(target - 1) * per_page][0] else None


def deep_page(port: int, cookie: str, instance: Path) -> tuple[str, str]:
    """The deep page's address, and how it was found (for the report)."""
    first = load.fetch(port, "/admin/", cookie=cookie).body
    listed = _listed(instance)
    per_page = len(inquiry_ids(first)) or 25
    pages = math.ceil(len(listed) / per_page)
    target = max(2, int(pages * DEEP_FRACTION))
    link = older_link(first)
    if link is None:
        return "/admin/", "no Older link on page 1, so page 1 again"
    parts = urllib.parse.urlsplit(link)
    query = urllib.parse.parse_qs(parts.query)
    if "page" in query:
        query["page"] = [str(target)]
        deep = urllib.parse.urlunsplit(("", "", parts.path, urllib.parse.urlencode(query, doseq=True), ""))
        return deep, f"page {target:,} of {pages:,} ({per_page} a page), asked for as {deep}"
    if inquiry_ids(first) == [row[0] for row in listed[:per_page]]:
        deep = _jump(port, cookie, link, listed, per_page, target)
        if deep:
            return deep, (f"page {target:,} of {pages:,} ({per_page} a page): page 1's Older link with the "
                          f"cursor of page {target - 1:,}'s last inquiry, {deep}")
    page, deadline = 1, time.monotonic() + WALK_SECONDS
    while page < target and time.monotonic() < deadline:
        following = older_link(load.fetch(port, link, cookie=cookie).body)
        if following is None:
            break
        link, page = following, page + 1
    return link, (f"page {page:,} of {pages:,} ({per_page} a page), reached by following {page - 1:,} Older links"
                  + (f" in {WALK_SECONDS} s (page {target:,} was the aim)" if page < target else ""))
