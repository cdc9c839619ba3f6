"""Real SMTP servers (aiosmtpd) on 127.0.0.1 that record what they receive, with or without TLS and a login."""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (aiosmtpd's Controller cannot start on port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _UTF8Headers(email.policy.EmailPolicy):
    """The email package's default policy, reading header bytes as UTF-8 (RFC 6532) rather than as surrogates."""

    def header_fetch_parse(self, name, value):
        """A header as the default policy gives it, its raw bytes decoded as UTF-8 first."""
        if not hasattr(value, "name"):
            value = value.encode("ascii", "surrogateescape").decode("utf-8")
        return super().header_fetch_parse(name, value)


def parse_mail(content: bytes, utf8: bool = False):
    """An email's bytes parsed as a mail client reads them; utf8=True for UTF-8 headers (SMTPUTF8)."""
    return email.message_from_bytes(content, policy=_UTF8Headers() if utf8 else email.policy.default)


class ReceivedMail:
    """One message as a real SMTP server received it: the envelope, the raw bytes, and how it came."""

    def __init__(self, mail_from: str, rcpt_tos: list[str], content: bytes, tls_version: str | None = None,
                 login: str | None = None, smtputf8: bool = False):
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.content = content
        self.tls_version = tls_version  # e.g. "TLSv1.3" when the connection was encrypted, else None
        self.login = login  # the user name the client logged in as, else None
        self.smtputf8 = smtputf8  # whether MAIL FROM asked for SMTPUTF8 (non-ASCII addresses, RFC 6531)

    @property
    def message(self):
        """The raw bytes parsed by the email package, as a mail client would read them (UTF-8 headers too)."""
        return parse_mail(self.content, utf8=self.smtputf8)


class RecordingHandler:
    """An aiosmtpd handler that keeps every message it accepts and can be told to misbehave."""

    def __init__(self):
        self.port = 0
        self.received: list[ReceivedMail] = []
        self.data_failures = 0  # answer this many DATA commands with 451 before accepting
        self.delay = 0.0  # seconds to wait before answering DATA
        self.logins_tried: list[str] = []  # the AUTH mechanism of each login attempt (see accept_smtp_login)

    async def handle_DATA(self, server, session, envelope) -> str:
        """Accept (and record) the message, or refuse it for now, as told."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_failures > 0:
            self.data_failures -= 1
            return "451 4.3.0 Try again later"
        encryption = server.transport.get_extra_info("ssl_object")  # after STARTTLS too: the TLS transport
        self.received.append(ReceivedMail(
            envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
            tls_version=encryption.version() if encryption else None,
            login=session.auth_data if session.authenticated else None,
            smtputf8=envelope.smtp_utf8,
        ))
        return "250 2.0.0 OK"


@contextlib.contextmanager
def running_smtp_server(**options):
    """Run aiosmtpd on 127.0.0.1 with a RecordingHandler (which knows its .port) until the block ends.

    Options go to aiosmtpd's Controller and SMTP: ssl_context, tls_context, authenticator,
    enable_SMTPUTF8=False (aiosmtpd's Controller offers SMTPUTF8 unless told not to), ...
    """
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


SMTP_USERNAME = "website@hopefordystonia.example"
SMTP_PASSWORD = "sentinel-smtp-password-x9"


def accept_smtp_login(server, session, envelope, mechanism, auth_data):
    """aiosmtpd authenticator: accept SMTP_USERNAME with SMTP_PASSWORD (AUTH PLAIN or LOGIN), nothing else."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server.event_handler.logins_tried.append(mechanism)
    accepted = isinstance(auth_data, LoginPassword) and auth_data == (SMTP_USERNAME.encode(), SMTP_PASSWORD.encode())
    # handled=False: aiosmtpd itself answers a refusal with 535 (with True it would say nothing at all)
    return AuthResult(success=accepted, handled=False, auth_data=SMTP_USERNAME if accepted else None)


def server_tls_context(ca, hostname: str = "127.0.0.1"):
    """A server-side TLS context holding a certificate for hostname, issued by ca."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(hostname).configure_cert(context)
    return context
