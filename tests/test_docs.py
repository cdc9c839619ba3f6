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
