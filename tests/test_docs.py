"""The documentation keeps up with the suite: every check id a test cites is written up."""

from __future__ import annotations

import re

from coaching.config import ROOT

CHECK_ID = re.compile(r"\b(?:REL|SEC|PRIV|A11Y)-\d{2}\b")


def test_every_cited_check_id_is_in_docs_checks():
    """Is every REL/SEC/PRIV/A11Y id that a test cites explained in docs/checks.md?"""
    cited = {match for path in (ROOT / "tests").rglob("*.py") for match in CHECK_ID.findall(path.read_text())}
    documented = set(re.findall(r"^\| ((?:REL|SEC|PRIV|A11Y)-\d{2}) \|", (ROOT / "docs" / "checks.md").read_text(),
                                re.MULTILINE))
    assert len(cited) >= 30
    assert cited - documented == set()


def test_every_test_file_docs_checks_names_exists():
    """Does every test file that docs/checks.md points a newcomer to exist (paths under tests/)?"""
    named = set(re.findall(r"`((?:[a-z_]+/)*test_[a-z_]+\.py)`", (ROOT / "docs" / "checks.md").read_text()))
    assert len(named) >= 20
    missing = {name for name in named
               if not (ROOT / "tests" / name).is_file() and not (ROOT / name).is_file()}
    assert missing == set()
