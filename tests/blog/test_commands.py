"""The flask commands."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from coaching.blog.models import Post, PostRedirect, Tag
from coaching.extensions import db
from tests.factories import row_count


def counts(app) -> tuple[int, int, int]:
    """How many posts, tags and old addresses the database holds."""
    return tuple(row_count(app, model) for model in (Post, Tag, PostRedirect))


def test_seed_imports_the_practice_posts_once(app):
    """Does `flask seed` import the seed post, and running it again change and duplicate nothing?"""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "1 created" in first.output
    assert counts(app) == (1, 2, 1)
    with app.app_context():
        before = db.session.scalar(select(Post)).modified_at
    second = runner.invoke(args=["seed"])
    assert "0 created, 0 updated, 1 unchanged" in second.output
    assert counts(app) == (1, 2, 1)
    with app.app_context():
        assert db.session.scalar(select(Post)).modified_at == before


def test_seed_reports_a_bad_file_clearly(app, tmp_path, monkeypatch):
    """Does `flask seed` stop with the file's name and problem instead of a traceback?"""
    from coaching.blog import commands as cli

    (tmp_path / "broken.md").write_text("no front matter here")
    monkeypatch.setattr(cli, "CONTENT_DIR", tmp_path)
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code != 0
    assert "broken.md: it must start with front matter" in result.output


@pytest.mark.parametrize("front", ["- a\n- b", "42", "just text"], ids=["a list", "a number", "a string"])
def test_seed_refuses_front_matter_that_is_not_key_value_lines(app, tmp_path, monkeypatch, front):
    """Does `flask seed` name the file whose front matter is a list, a number or a string, and import nothing?"""
    from coaching.blog import commands as cli

    (tmp_path / "a-good.md").write_text("---\nslug: good\ntitle: Good\n---\nFine.\n")
    (tmp_path / "odd.md").write_text(f"---\n{front}\n---\nBody.\n")
    monkeypatch.setattr(cli, "CONTENT_DIR", tmp_path)
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert result.output == "Error: odd.md: the front matter must be 'key: value' lines.\n"
    assert counts(app) == (0, 0, 0)
