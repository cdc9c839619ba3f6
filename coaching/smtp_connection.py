"""Flask-Mail's SMTP connection, made safe for a web process: a socket timeout, verified TLS, no debug output.

Kept apart from the outbox, which decides what to send and records what happened; this module only talks SMTP.
"""

from __future__ import annotations

import smtplib
import ssl

from flask import current_app
from flask_mail import Connection


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
