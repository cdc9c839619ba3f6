"""Nothing the coach types is lost to the end of a session or a stale form token.

A form posted after her session ended is kept (kept_forms.py) and, once she has
signed in again, /admin/resume puts her back on the same form, filled, with a notice. A form whose
token is rejected while she is signed in (say, posted from a tab opened before she signed in again)
comes straight back filled. Each area says how to refill its forms with @restores.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import NotFound

from coaching.admin import bp, kept_forms
from coaching.admin.kept_forms import Pending
from coaching.admin.session_keys import PENDING_SUBMISSION_KEY
from coaching.extensions import db

RESTORERS: dict[str, tuple[Callable[[Pending], object], bool]] = {}
NOT_SAVED = "Nothing has been saved yet, and nothing you typed was lost: it is all below. Check it and send it again."
NOT_DONE = "Nothing was changed, so please do that again."


def restores(*endpoints: str, refills: bool = True):
    """Register a function that shows the form of these endpoints again (filled with what was sent, if refills)."""

    def register(function: Callable[[Pending], object]):
        for endpoint in endpoints:
            RESTORERS[endpoint] = (function, refills)
        return function

    return register


def _had_file() -> bool:
    """Whether the request carried a chosen file (files can't be kept)."""
    return any(upload.filename for upload in request.files.values())


def keep_submission(admin_id: int) -> None:
    """Keep this POST for the admin whose session just ended, and remember its token in the new session."""
    token = kept_forms.keep(admin_id, request.endpoint or "", request.view_args or {}, request.form,
                                     _had_file())
    db.session.commit()
    session[PENDING_SUBMISSION_KEY] = token


def bring_back(pending: Pending, why: str):
    """The form the submission came from, filled with it, under a notice saying why nothing was saved."""
    restorer, refills = RESTORERS.get(pending.endpoint, (back_to_its_page, False))
    notice = f"{why} {NOT_SAVED if refills else NOT_DONE}"
    if pending.had_file:
        notice += " The file you chose couldn't be kept: please choose it again."
    flash(notice, "info")
    try:
        return restorer(pending)
    except NotFound:  # what it was about has been erased or deleted since
        return redirect(url_for("admin.inquiries"), code=303)


def back_to_its_page(pending: Pending):
    """For a one-button form (archive, publish, …): the page it was on, to press the button again."""
    if "inquiry_id" in pending.view_args:
        return redirect(url_for("admin.inquiry", inquiry_id=pending.view_args["inquiry_id"]), code=303)
    if "post_id" in pending.view_args:
        return redirect(url_for("admin.edit_post", post_id=pending.view_args["post_id"]), code=303)
    return redirect(url_for("admin.inquiries"), code=303)


@bp.get("/resume")
def resume_submission():
    """After signing in again: the form she sent when her session had ended, filled with what she sent."""
    pending = kept_forms.take(session.pop(PENDING_SUBMISSION_KEY, None), current_user.id)
    db.session.commit()
    if pending is None:
        return redirect(url_for("admin.inquiries"), code=303)
    return bring_back(pending, "You were signed out before this could be saved.")


@bp.errorhandler(CSRFError)
def token_rejected(error: CSRFError):
    """A rejected form token: signed in, the form comes back filled; signed out, she sees what she typed."""
    if current_user.is_authenticated:
        pending = Pending(request.endpoint or "", request.view_args or {},
                          kept_forms.kept_form(request.form), _had_file())
        response = make_response(bring_back(pending, "For your security the site couldn't accept that form (it "
                                                     "was opened before you last signed in)."))
        if response.status_code == 200:
            response.status_code = 400  # refused, and shown again to send once more
        return response
    typed = [(name, value) for name, value in kept_forms.kept_fields(request.form) if value.strip()]
    return render_template("admin/signed_out.html", typed=typed), 400
