"""The "I'd love to hear from you" form: whatever goes wrong, the visitor keeps every word."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, current_app, make_response, redirect, render_template, request, session, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from coaching.extensions import db, limiter
from coaching.inquiries.contact_page import fresh_contact_page, render_contact_page, render_fresh_contact_page
from coaching.inquiries.forms import ContactForm
from coaching.inquiries.intake import already_recorded, record_inquiry
from coaching.web.errors import log_incident
from coaching.web.templating import format_clock

bp = Blueprint("contact", __name__)
log = logging.getLogger(__name__)


def _contact_limit() -> str:
    """The sending limit from settings (read per request, so tests and deployments can change it)."""
    return current_app.config["CONTACT_RATE_LIMIT"]


def render_form(form: ContactForm, notice: str | None = None, status: int = 200):
    """The contact page with the form as the visitor left it, and an optional notice."""
    session.permanent = True  # the form's token outlives a browser restart: no time limit
    return render_contact_page(form, notice), status


def show_fresh_form():
    """The contact page with an empty form: the kept page with this visitor's values, unless a message waits."""
    session.permanent = True
    if "_flashes" in session:  # shown once, to this visitor only: not on a page kept for everyone
        return render_fresh_contact_page()
    return fresh_contact_page(request.url_root)


@bp.route("/contact", methods=["GET", "POST"])
@limiter.limit(_contact_limit, methods=["POST"], deduct_when=lambda response: response.status_code == 303)
def form():
    """Show the contact form; on a valid send, store the inquiry and its emails, then thank."""
    if request.method != "POST":
        return show_fresh_form()
    form = ContactForm()
    if not form.validate():
        return render_form(form)
    try:
        result = record_inquiry(form)
        db.session.commit()
    except IntegrityError as error:
        # Most often the same submission token, committed by a parallel request or an earlier send
        # (a burst of clicks, a resent page): thank again. Anything else must not pass for success.
        db.session.rollback()
        if _recorded_already(form):
            return redirect(url_for("contact.thanks"), code=303)
        return _not_stored(form, error)
    except SQLAlchemyError as error:
        return _not_stored(form, error)
    log.info("inquiry %d recorded (%s)", result.inquiry_id, result.status.value)
    return redirect(url_for("contact.thanks"), code=303)


def _recorded_already(form: ContactForm) -> bool:
    """Whether the form's token is stored (a failure to read counts as no: the form comes back)."""
    try:
        return already_recorded(form)
    except SQLAlchemyError:
        db.session.rollback()
        return False


def _not_stored(form: ContactForm, error: Exception):
    """The form back, as typed, saying the message wasn't saved, with an incident reference."""
    db.session.rollback()
    incident = log_incident("could not store an inquiry", error)
    return render_form(form, notice=(
        "Sorry, I couldn't save your message just now because of a problem on the site. "
        "Nothing you typed has been lost: please press Send again in a minute. If it keeps "
        f"happening, email me at {current_app.config['PRACTICE_EMAIL']} "
        f"(reference {incident})."
    ), status=503)


@bp.get("/contact/thanks")
def thanks():
    """Tell the visitor their message arrived, when to expect a reply, and what to do if urgent."""
    return render_template("inquiries/thanks.html")


@bp.errorhandler(CSRFError)
def token_rejected(error: CSRFError):
    """A rejected form token: give the form back, filled, with a fresh token and a plain word."""
    log.info("contact form token rejected: %s", error.description)
    return render_form(ContactForm(), notice=(
        "For your security, I couldn't accept the form that time, but nothing you typed has been "
        "lost. Please check your message and press Send again."
    ), status=400)


@bp.errorhandler(RateLimitExceeded)
def rate_limited(error: RateLimitExceeded):
    """Too many messages from one address: keep the text and say when sending works again."""
    retry_at = _retry_time()
    when = f"after {format_clock(retry_at)}" if retry_at else "in a few minutes"
    response = make_response(render_form(ContactForm(), notice=(
        "You've sent several messages in a short time, so I've paused sending from your connection "
        f"for a few minutes. Nothing you typed has been lost: please press Send again {when}."
    ), status=429))
    if retry_at:
        response.headers["Retry-After"] = str(max(1, int((retry_at - datetime.now(UTC)).total_seconds())))
    return response


def _retry_time() -> datetime | None:
    """When the visitor's sending limit resets, if Flask-Limiter can tell."""
    limit = limiter.current_limit
    if limit is None:
        return None
    return datetime.fromtimestamp(limit.reset_at, UTC)
