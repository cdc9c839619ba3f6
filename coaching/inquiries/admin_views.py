"""The coach's inbox: the list of inquiries, one inquiry (emails, timeline, reply), erasure and export.

Views parse the request, call inbox.py, commit, and redirect (post/redirect/get).
Everything that changes something is a POST with a CSRF token; erasing asks first.
"""

from __future__ import annotations

import logging

from flask import Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from coaching.admin import bp
from coaching.admin.after_save import confirm_in_section, draft_key, draft_saved
from coaching.admin.kept_forms import Pending
from coaching.admin.resume import restores
from coaching.database import utcnow
from coaching.extensions import db
from coaching.inquiries import erasure, inbox
from coaching.inquiries.forms import EraseByEmailForm, InboxSearchForm, InquiryReplyForm, NoteForm
from coaching.inquiries.inbox_rows import listed
from coaching.inquiries.intake import SPEED_EXPLANATION, unusual_speed
from coaching.inquiries.models import Inquiry, InquiryStatus, topic_label
from coaching.mail.models import OutboxMessage
from coaching.web.paging import page_cursor

log = logging.getLogger(__name__)

# The coach's search lives in her session, not the URL: it is often a visitor's name or address,
# and URLs end up in browser history and server logs (PRIV-03).
SEARCH_KEY = "inbox_search"


@bp.context_processor
def inbox_helpers() -> dict:
    """What the inbox templates use to describe inquiries and emails."""
    return {
        "preview": inbox.preview,
        "topic_label": topic_label,
        "notification_state": inbox.notification_state,
        "delivery_state": inbox.delivery_state,
        "status_labels": inbox.STATUS_LABELS,
        "email_labels": inbox.EMAIL_LABELS,
        "note_labels": inbox.NOTE_LABELS,
        "unusual_speed": unusual_speed,
        "speed_explanation": SPEED_EXPLANATION,
        "new_inquiry_count": inbox.count_new,  # called once, by the admin navigation
    }


def _get(inquiry_id: int) -> Inquiry:
    """The inquiry with this id, or 404."""
    return db.get_or_404(Inquiry, inquiry_id)


def _to_inquiry(inquiry: Inquiry, section: str | None = None):
    """See the inquiry again after a change (post/redirect/get), opened at a section if given."""
    return redirect(url_for("admin.inquiry", inquiry_id=inquiry.id, _anchor=section), code=303)


def _current_filter() -> inbox.InboxFilter:
    """The list's filter: the status from the URL, the search from the session."""
    return inbox.InboxFilter.from_request(request.args, session.get(SEARCH_KEY, ""))


def _list_page(inbox_filter: inbox.InboxFilter, search_form: InboxSearchForm | None = None, status: int = 200):
    """The inbox list for this filter at the page ?cursor= names, with the search form as given (carrying errors)
    or filled from the filter."""
    listing = inbox.inbox_listing(inbox_filter, page_cursor())
    # Without a search the counts are the kept ones, so the navigation's "(3 new)" needs no query of its own.
    known = {} if inbox_filter.query or listing.counts is None else {"new_inquiries": listing.counts["new"]}
    return render_template(
        "inquiries/admin/inquiries.html", page=listing.page, rows=listed(listing.page.items), counts=listing.counts,
        inbox_filter=inbox_filter, **known,
        search_form=search_form or InboxSearchForm(formdata=None, q=inbox_filter.query),
        statuses=list(InquiryStatus), count_limit=inbox.SEARCH_COUNT_LIMIT, inquiry_link_start=_inquiry_link_start(),
    ), status


def _inquiry_link_start() -> str:
    """What each row's link starts with ("/admin/inquiries/"), its id ending it: one url_for a page, not one a row."""
    return url_for("admin.inquiry", inquiry_id=0).removesuffix("0")


@bp.get("/", endpoint="inquiries")
@bp.get("/inquiries", endpoint="inquiries")
def inquiry_list():
    """Inquiries newest first, 25 a page (Newer and Older links carry a ?cursor=): all but spam, or one status;
    searchable. An old ?page=N link opens the first page."""
    return _list_page(_current_filter())


@bp.post("/inquiries/search")
def search_inquiries():
    """Save (or, when empty, clear) the inbox search in the session, then show the list from page 1."""
    form = InboxSearchForm()
    inbox_filter = _current_filter()
    clearing = "clear" in request.form
    if not clearing and not form.validate():
        return _list_page(inbox_filter, form, 400)
    query = "" if clearing else inbox.clean_query(form.q.data or "")
    if query:
        session[SEARCH_KEY] = query
    else:
        session.pop(SEARCH_KEY, None)
    return redirect(url_for("admin.inquiries", **inbox_filter.url_args()), code=303)


@bp.get("/inquiries/export.csv")
def export_inquiries():
    """The list as filtered (every page) as a CSV file for a spreadsheet."""
    body = inbox.export_csv(_current_filter())
    log.info("inquiries exported as CSV by admin %d", current_user.id)
    return Response(body.encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="inquiries-{utcnow():%Y-%m-%d}.csv"',
    })


def _detail(inquiry: Inquiry, reply_form: InquiryReplyForm | None = None, note_form: NoteForm | None = None,
            status: int = 200):
    """The inquiry page, with the reply and note forms as given (carrying errors) or fresh."""
    reply_form = reply_form or InquiryReplyForm(formdata=None, subject=inbox.default_reply_subject())
    html = render_template(
        "inquiries/admin/inquiry.html", inquiry=inquiry, reply_form=reply_form,
        note_form=note_form or NoteForm(formdata=None),
        timeline=inquiry.notes, actions=inbox.available_actions(inquiry.status),
        mailto=inbox.mailto_link(inquiry, inbox.default_reply_subject()),
        coach_email=current_app.config["COACH_EMAIL"],
    )
    return html, status


@bp.get("/inquiries/<int:inquiry_id>")
def inquiry(inquiry_id: int):
    """One inquiry: every field, consent, its emails, the timeline; opening a new one marks it read."""
    item = _get(inquiry_id)
    if inbox.open_inquiry(item, current_user.id):
        db.session.commit()
    return _detail(item)


@bp.post("/inquiries/<int:inquiry_id>/status/<action>")
def inquiry_action(inquiry_id: int, action: str):
    """Mark replied, archive, move back, mark as spam, or not spam (which sends the held notification)."""
    if action not in inbox.ACTIONS:
        abort(404)
    item = _get(inquiry_id)
    message, _queued = inbox.apply_action(item, action, current_user.id)
    db.session.commit()  # an email it queued starts on its way at the commit (coaching/mail/kick_on_commit.py)
    flash(message, "info")
    return _to_inquiry(item)


@restores("admin.reply_to_inquiry", "admin.add_inquiry_note")
def _resume_inquiry_form(pending: Pending):
    """The inquiry page with the reply or note that was sent after the session ended, filled in."""
    item = _get(pending.view_args["inquiry_id"])
    if pending.endpoint == "admin.reply_to_inquiry":
        return _detail(item, reply_form=InquiryReplyForm(formdata=pending.formdata))
    return _detail(item, note_form=NoteForm(formdata=pending.formdata))


@restores("admin.search_inquiries")
def _resume_search(pending: Pending):
    """The inbox with the search that was sent after the session ended, typed in."""
    return _list_page(_current_filter(), InboxSearchForm(formdata=pending.formdata))


@restores("admin.erase_by_address")
def _resume_erase_by_address(pending: Pending):
    """The erase-by-address page with the address that was typed."""
    return render_template("inquiries/admin/erase_address.html", form=EraseByEmailForm(formdata=pending.formdata))


@bp.post("/inquiries/<int:inquiry_id>/notes")
def add_inquiry_note(inquiry_id: int):
    """Keep a private, dated note on the inquiry's timeline."""
    item = _get(inquiry_id)
    form = NoteForm()
    if not form.validate():
        return _detail(item, note_form=form, status=400)
    inbox.add_note(item, form.note.data, current_user.id)
    db.session.commit()
    draft_saved(draft_key("note", item.id))
    confirm_in_section("timeline", "Your note has been added to the timeline.")
    return _to_inquiry(item, "timeline")


@bp.post("/inquiries/<int:inquiry_id>/reply")
def reply_to_inquiry(inquiry_id: int):
    """Send the coach's reply through the outbox and mark the inquiry replied."""
    item = _get(inquiry_id)
    form = InquiryReplyForm()
    if not form.validate():
        return _detail(item, reply_form=form, status=400)
    inbox.send_reply(item, form.subject.data, form.body.data, current_user.id)
    db.session.commit()
    draft_saved(draft_key("reply", item.id))
    confirm_in_section("reply", "Your reply is on its way. You can follow it under Emails below.")
    return _to_inquiry(item, "reply")


@bp.post("/inquiries/<int:inquiry_id>/emails/<int:message_id>/resend")
def resend_inquiry_email(inquiry_id: int, message_id: int):
    """Try a failed email of this inquiry again."""
    item = _get(inquiry_id)
    message = db.get_or_404(OutboxMessage, message_id)
    if message.inquiry_id != item.id:
        return _to_inquiry(item)
    if inbox.resend_email(item, message, current_user.id):
        db.session.commit()
        flash("The email will be sent again in a moment.", "info")
    else:
        flash("Only an email that failed can be sent again; this one has not failed.", "info")
    return _to_inquiry(item)


# --- Erasure (PRIV-02): a confirmation page first, then a POST ---


def _confirm_page(inquiry_list: list[Inquiry], action: str, address: str | None = None):
    """The "are you sure?" page: what would go, counted, and the button that erases it."""
    emails, notes = erasure.erasure_counts(inquiry_list, address)
    return render_template("inquiries/admin/erase_confirm.html", inquiries=inquiry_list, action=action,
                           address=address, emails=emails, notes=notes)


@bp.get("/inquiries/<int:inquiry_id>/confirm-erase")
def confirm_erase_inquiry(inquiry_id: int):
    """Ask before erasing one inquiry."""
    item = _get(inquiry_id)
    return _confirm_page([item], url_for("admin.erase_inquiry", inquiry_id=item.id))


@bp.post("/inquiries/<int:inquiry_id>/erase")
def erase_inquiry(inquiry_id: int):
    """Erase one inquiry with its emails and notes; an audit record keeps only ids and counts."""
    record = erasure.erase_inquiry(_get(inquiry_id), current_user.id)
    db.session.commit()
    flash(f"Inquiry {record.inquiry_ids} has been erased, with {record.emails} emails and {record.notes} notes.",
          "info")
    return redirect(url_for("admin.inquiries"), code=303)


@bp.route("/inquiries/erase-by-address", methods=["GET", "POST"])
def erase_by_address():
    """Ask for an address, then show everything held about it before anything is erased.

    The address travels in the POST body, never in a URL (PRIV-03).
    """
    form = EraseByEmailForm()
    if request.method == "GET" or not form.validate():
        status = 400 if form.errors else 200
        return render_template("inquiries/admin/erase_address.html", form=form), status
    address = form.email.data
    return _confirm_page(erasure.inquiries_from(address), url_for("admin.erase_by_address_confirm"), address)


@bp.post("/inquiries/erase-by-address/confirm")
def erase_by_address_confirm():
    """Erase every inquiry from the address, with their emails and notes."""
    form = EraseByEmailForm()
    if not form.validate():
        return render_template("inquiries/admin/erase_address.html", form=form), 400
    record = erasure.erase_address(form.email.data, current_user.id)
    db.session.commit()
    flash(f"Erased everything held about that address: {record.inquiries} inquiries, {record.emails} emails "
          f"and {record.notes} notes.", "info")
    return redirect(url_for("admin.inquiries"), code=303)
