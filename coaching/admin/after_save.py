"""What the page after a save tells the coach and her browser (post/redirect/get carries it in the session).

Two things, each shown once, by the next admin page: a confirmation beside the section she lands
on (not only at the top of a long page), and which form's browser draft is now saved, so
static/js/drafts.js deletes it. A save that fails (an error, a lost connection, a session that
ended) never gets here, so its draft stays.
"""

from __future__ import annotations

from flask import g, session

from coaching.admin import bp

NEXT_PAGE_KEY = "admin_after_save"


def draft_key(kind: str, item_id: int | None = None) -> str:
    """The name of a form's browser draft: "post-new", "post-12", "reply-3", "note-3"."""
    return f"{kind}-{'new' if item_id is None else item_id}"


def _pending() -> dict:
    """What the last save left for the next page (kept until a page shows it)."""
    return session.setdefault(NEXT_PAGE_KEY, {"drafts": [], "sections": {}})


def draft_saved(key: str) -> None:
    """Tell the next page that this form was saved, so the browser forgets its draft."""
    pending = _pending()
    if key not in pending["drafts"]:
        pending["drafts"].append(key)
    session.modified = True


def confirm_in_section(section: str, message: str) -> None:
    """Show this confirmation inside the section (by id) that the next page opens at."""
    _pending()["sections"][section] = message
    session.modified = True


def _taken() -> dict:
    """The signals for this request's page, taken from the session the first time a template asks."""
    if "after_save" not in g:
        g.after_save = session.pop(NEXT_PAGE_KEY, None) or {"drafts": [], "sections": {}}
    return g.after_save


@bp.context_processor
def after_save_helpers() -> dict:
    """saved_drafts() for the layout, section_message(id) for the section she lands on, draft_key for forms."""
    return {
        "saved_drafts": lambda: _taken()["drafts"],
        "section_message": lambda section: _taken()["sections"].get(section),
        "draft_key": draft_key,
    }
