"""Flask-Mail's SMTP connection and message, made safe for a web process and for every valid address.

The connection has a socket timeout, verifies TLS and prints no debug output; the message can carry
an address whose local part isn't ASCII (tést@example.com), which needs SMTPUTF8 (RFC 6531, 6532).
Kept apart from the outbox, which decides what to send and records what happened; this module only talks SMTP.
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
import time
from email.utils import parseaddr

from flask import current_app
from flask_mail import BadHeaderError, Connection, Message, email_dispatched


def needs_smtputf8(address: str | None) -> bool:
    """Whether an address can only travel over SMTPUTF8: its local part isn't ASCII.

    A non-ASCII domain alone doesn't need it: it has an ASCII form (IDNA), which Flask-Mail writes.
    """
    local, _, domain = parseaddr(address or "")[1].rpartition("@")
    if not local.isascii():
        return True
    try:
        domain.encode("idna")
    except UnicodeError:  # no ASCII form (an empty or over-long label)
        return True
    return False


class OutgoingMessage(Message):
    """A Flask-Mail message whose To and Reply-To may hold addresses only SMTPUTF8 can carry.

    Flask-Mail writes every address through email.utils.formataddr, which raises UnicodeEncodeError
    for a non-ASCII local part. When an address needs it, this message writes To and Reply-To as
    UTF-8 (RFC 6532) instead; otherwise it is byte for byte Flask-Mail's. Recipients are strings.
    """

    @property
    def needs_smtputf8(self) -> bool:
        """Whether any recipient or the Reply-To can only travel over SMTPUTF8."""
        return any(needs_smtputf8(address) for address in [*self.send_to, self.reply_to])

    def _message(self):
        """Flask-Mail's MIME message, with the addresses written as UTF-8 when they need it."""
        if not self.needs_smtputf8:
            return super()._message()
        recipients, reply_to = self.recipients, self.reply_to
        self.recipients, self.reply_to = [], None  # kept away from Flask-Mail's formataddr
        try:
            message = super()._message()
        finally:
            self.recipients, self.reply_to = recipients, reply_to
        message.policy = email.policy.SMTPUTF8  # headers as UTF-8, not encoded words (invalid in an address)
        message.replace_header("To", ", ".join(recipients))
        if reply_to:
            message["Reply-To"] = reply_to
        return message


class TimeoutConnection(Connection):
    """Flask-Mail's SMTP connection with a socket timeout (MAIL_TIMEOUT), which Flask-Mail lacks.

    Unlike Flask-Mail's, it always connects (MAIL_SUPPRESS_SEND is not consulted: choosing
    SMTP or files is deliver_pending's job), and after a failure it closes the socket instead
    of saying QUIT, which against a hung server would wait out a second timeout.
    """

    def __enter__(self) -> TimeoutConnection:
        self.host = self.configure_host()
        self.num_emails = 0
        return self

    def __exit__(self, exc_type, exc_value, tb) -> None:
        if self.host is None:
            return
        if exc_type is not None:
            self.host.close()
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            # The message was accepted: a failed goodbye must not turn into a retry (a duplicate).
            self.host.close()

    def offers_smtputf8(self) -> bool:
        """Whether the server offers SMTPUTF8 (asked with EHLO, which smtplib otherwise sends at MAIL time)."""
        self.host.ehlo_or_helo_if_needed()
        return self.host.has_extn("smtputf8")

    def send(self, message: Message, envelope_from: str | None = None) -> None:
        """Flask-Mail's send; a message that needs SMTPUTF8 goes with it, its addresses as they are.

        Flask-Mail's own send writes the envelope through formataddr too, and passes no SMTPUTF8.
        smtplib raises SMTPNotSupportedError if the server doesn't offer it: check offers_smtputf8 first.
        """
        if not getattr(message, "needs_smtputf8", False):
            super().send(message, envelope_from)
            return
        if message.has_bad_headers():
            raise BadHeaderError
        if message.date is None:
            message.date = time.time()
        self.host.sendmail(
            parseaddr(envelope_from or message.sender)[1],
            [parseaddr(address)[1] for address in message.send_to],
            message.as_bytes(),
            ["SMTPUTF8", *message.mail_options],
            message.rcpt_options,
        )
        email_dispatched.send(current_app._get_current_object(), message=message)
        self.num_emails += 1

    def configure_host(self) -> smtplib.SMTP:
        """Connect with a timeout on every socket operation, then STARTTLS and log in if configured."""
        timeout = current_app.config["MAIL_TIMEOUT"]
        # Verified TLS: smtplib's own default context checks neither certificate nor host name.
        context = ssl.create_default_context() if self.mail.use_ssl or self.mail.use_tls else None
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout, context=context)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        # No set_debuglevel(MAIL_DEBUG): smtplib's debug output prints addresses and bodies (SEC-13).
        try:
            if self.mail.use_tls:
                host.starttls(context=context)
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host
